package actions

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/netguard"
)

// testCert returns a self-signed certificate for 127.0.0.1 and its PEM.
func testCert(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "hookflow test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// received is one message the test server accepted.
type received struct {
	From     string
	To       []string
	Data     []byte
	User     string
	TLS      bool
	AuthUsed bool
}

// smtpBackend is an in-process mail server: user "ann" with password "pw",
// recipients at refused.example are refused (550), at busy.example deferred (451).
type smtpBackend struct {
	mu   sync.Mutex
	msgs []received
}

func (b *smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &smtpSession{b: b, tls: isTLS}, nil
}

func (b *smtpBackend) last() (received, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.msgs) == 0 {
		return received{}, 0
	}
	return b.msgs[len(b.msgs)-1], len(b.msgs)
}

type smtpSession struct {
	b   *smtpBackend
	tls bool
	cur received
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != "ann" || password != "pw" {
			return smtp.ErrAuthFailed
		}
		s.cur.User = username
		s.cur.AuthUsed = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.cur.From = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	switch {
	case strings.HasSuffix(to, "@refused.example"):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox " + to + " does not exist"}
	case strings.HasSuffix(to, "@busy.example"):
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	s.cur.TLS = s.tls
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset() {
	user, auth := s.cur.User, s.cur.AuthUsed
	s.cur = received{User: user, AuthUsed: auth}
}

func (s *smtpSession) Logout() error { return nil }

// startSMTP serves the backend on 127.0.0.1; mode is "plain", "starttls" or "tls".
func startSMTP(t *testing.T, mode string, cert tls.Certificate) (*smtpBackend, int) {
	t.Helper()
	be := &smtpBackend{}
	s := smtp.NewServer(be)
	s.Domain = "127.0.0.1"
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	s.AllowInsecureAuth = mode == "plain"
	s.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	switch mode {
	case "starttls":
		s.TLSConfig = cfg
	case "tls":
		s.TLSConfig = cfg
		ln = tls.NewListener(ln, cfg)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return be, ln.Addr().(*net.TCPAddr).Port
}

// parts reads a received message: its headers and its text and HTML bodies.
func parts(t *testing.T, data []byte) (mail.Header, string, string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, _ := io.ReadAll(m.Body)
		return m.Header, string(b), ""
	}
	var text, html string
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	return m.Header, text, html
}

func TestEmail(t *testing.T) {
	cert, certPEM := testCert(t)
	caJSON, _ := json.Marshal(certPEM)
	ca := `,"ca_cert":` + string(caJSON)
	type server struct {
		be   *smtpBackend
		port int
	}
	servers := map[string]server{}
	for _, mode := range []string{"plain", "starttls", "tls"} {
		be, port := startSMTP(t, mode, cert)
		servers[mode] = server{be, port}
	}
	const msg = `"from":"Shop <shop@example.com>","to":"ann@example.com, bob@example.com","cc":["cat@example.com"],` +
		`"bcc":"hidden@example.com","reply_to":"help@example.com","subject":"Order 42 – thanks","text":"Plain body ✓","html":"<p>HTML body</p>"`
	tests := []struct {
		name     string
		server   string // key of servers
		with     string // settings besides host/port/message
		class    string
		errHas   string
		wantUser string
		wantTLS  bool
	}{
		{name: "plain no auth", server: "plain", with: `"tls":"none"`, class: "ok"},
		{name: "plain with auth", server: "plain", with: `"tls":"none","username":"ann","password":"pw"`, class: "ok", wantUser: "ann"},
		{name: "starttls with auth", server: "starttls", with: `"tls":"starttls","username":"ann","password":"pw"` + ca, class: "ok", wantUser: "ann", wantTLS: true},
		{name: "implicit tls with auth", server: "tls", with: `"tls":"tls","username":"ann","password":"pw"` + ca, class: "ok", wantUser: "ann", wantTLS: true},
		{name: "wrong password", server: "starttls", with: `"tls":"starttls","username":"ann","password":"hunter2-wrong"` + ca,
			class: "permanent", errHas: "535"},
		{name: "starttls to a server without it", server: "plain", with: `"tls":"starttls"`, class: "permanent", errHas: "STARTTLS"},
		{name: "untrusted certificate", server: "tls", with: `"tls":"tls"`, class: "permanent", errHas: "certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := servers[tc.server]
			_, before := srv.be.last()
			with := `{"host":"127.0.0.1","port":` + itoa(srv.port) + `,` + tc.with + `,` + msg + `}`
			out, err := run(t, emailKind, testSC(t), with)
			checkErr(t, err, tc.class, tc.errHas)
			if err != nil {
				if strings.Contains(err.Error(), "hunter2-wrong") {
					t.Fatalf("error shows the password: %v", err)
				}
				if _, after := srv.be.last(); after != before {
					t.Fatal("a message was delivered despite the error")
				}
				return
			}
			o := asJSON(t, out)
			wantID := messageID("run_1:step_1", "shop@example.com")
			if o["message_id"] != wantID || o["accepted"] != true {
				t.Fatalf("output %v", o)
			}
			if got, _ := json.Marshal(o["to"]); string(got) != `["ann@example.com","bob@example.com"]` {
				t.Fatalf("output to %s", got)
			}
			got, n := srv.be.last()
			if n != before+1 {
				t.Fatalf("server received %d messages, want %d", n, before+1)
			}
			if got.User != tc.wantUser || got.TLS != tc.wantTLS {
				t.Fatalf("user %q tls %v, want %q %v", got.User, got.TLS, tc.wantUser, tc.wantTLS)
			}
			if got.From != "shop@example.com" {
				t.Fatalf("MAIL FROM %q", got.From)
			}
			if strings.Join(got.To, ",") != "ann@example.com,bob@example.com,cat@example.com,hidden@example.com" {
				t.Fatalf("RCPT TO %v", got.To)
			}
			h, text, html := parts(t, got.Data)
			dec := new(mime.WordDecoder)
			subject, _ := dec.DecodeHeader(h.Get("Subject"))
			checks := map[string][2]string{
				"From":       {h.Get("From"), `"Shop" <shop@example.com>`},
				"To":         {h.Get("To"), "<ann@example.com>, <bob@example.com>"},
				"Cc":         {h.Get("Cc"), "<cat@example.com>"},
				"Bcc":        {h.Get("Bcc"), ""},
				"Reply-To":   {h.Get("Reply-To"), "<help@example.com>"},
				"Subject":    {subject, "Order 42 – thanks"},
				"Message-ID": {h.Get("Message-ID"), "<" + wantID + ">"},
				"text":       {strings.TrimSpace(text), "Plain body ✓"},
				"html":       {strings.TrimSpace(html), "<p>HTML body</p>"},
			}
			for name, c := range checks {
				if c[0] != c[1] {
					t.Errorf("%s = %q, want %q", name, c[0], c[1])
				}
			}
		})
	}
}

func TestEmailFailures(t *testing.T) {
	cert, _ := testCert(t)
	be, port := startSMTP(t, "plain", cert)
	// silent accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	tests := []struct {
		name    string
		addr    string // host:port
		to      string
		timeout time.Duration
		blocked bool
		class   string
		errHas  string
	}{
		{name: "refused recipient", addr: "127.0.0.1:" + itoa(port), to: "ann@example.com, nobody@refused.example",
			class: "permanent", errHas: "nobody@refused.example"},
		{name: "deferred recipient", addr: "127.0.0.1:" + itoa(port), to: "x@busy.example", class: "retryable", errHas: "451"},
		{name: "dead port", addr: deadAddr(t), to: "ann@example.com", class: "plain", errHas: "refused"},
		{name: "server never answers", addr: silent.Addr().String(), to: "ann@example.com", timeout: 300 * time.Millisecond,
			class: "plain", errHas: "timed out"},
		{name: "blocked address", addr: "127.0.0.1:" + itoa(port), to: "ann@example.com", blocked: true,
			class: "permanent", errHas: "blocked address 127.0.0.1"},
		{name: "bad address", addr: "127.0.0.1:" + itoa(port), to: "not an address", class: "permanent", errHas: `"not an address" is not an email address`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, before := be.last()
			host, p, _ := net.SplitHostPort(tc.addr)
			with := `{"host":"` + host + `","port":` + p + `,"tls":"none","from":"shop@example.com","to":"` + tc.to + `","subject":"s","text":"t"}`
			sc := testSC(t)
			if tc.blocked {
				sc.Dial = netguard.New(nil).DialContext
			}
			a, err := decodeStrict(emailKind, with)
			if err == nil {
				ctx, cancel := contextWithTimeout(tc.timeout)
				start := time.Now()
				_, err = a.Run(ctx, sc)
				cancel()
				if tc.timeout > 0 && time.Since(start) > 5*time.Second {
					t.Fatalf("took %v despite a %v timeout", time.Since(start), tc.timeout)
				}
			} else {
				err = engine.Permanent(err)
			}
			checkErr(t, err, tc.class, tc.errHas)
			if _, after := be.last(); after != before {
				t.Fatal("a message was delivered despite the error")
			}
		})
	}
}
