package actions

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/hookflow/hookflow/engine"
)

var emailKind = engine.ActionKind{
	Spec: engine.Spec{
		Kind:    "email",
		Title:   "Send email",
		Summary: "Send an email through your SMTP server.",
		Group:   "action",
		Fields: []engine.Field{
			{Name: "host", Label: "SMTP host", Type: engine.FieldText, Required: true, Placeholder: "smtp.example.com"},
			{Name: "port", Label: "Port", Type: engine.FieldNumber,
				Help: "Default 587 for starttls, 465 for tls, 25 for none."},
			{Name: "tls", Label: "Encryption", Type: engine.FieldSelect, Default: "starttls",
				Options: []string{"starttls", "tls", "none"},
				Help:    "starttls: upgrade a plain connection (port 587, required). tls: encrypted from the start (port 465). none: no encryption."},
			{Name: "username", Label: "User name", Type: engine.FieldText, Help: "Leave empty when the server needs no login."},
			{Name: "password", Label: "Password", Type: engine.FieldSecret, Placeholder: "{{ secrets.SMTP_PASSWORD }}"},
			{Name: "from", Label: "From", Type: engine.FieldText, Required: true, Placeholder: "Shop <orders@example.com>"},
			{Name: "to", Label: "To", Type: engine.FieldList, Required: true,
				Help: "One address, a comma-separated list, or a list."},
			{Name: "cc", Label: "Cc", Type: engine.FieldList},
			{Name: "bcc", Label: "Bcc", Type: engine.FieldList, Help: "Receive the message without being shown to others."},
			{Name: "reply_to", Label: "Reply to", Type: engine.FieldList},
			{Name: "subject", Label: "Subject", Type: engine.FieldText, Required: true},
			{Name: "text", Label: "Text body", Type: engine.FieldTextarea, Help: "Plain text. Give text, HTML or both."},
			{Name: "html", Label: "HTML body", Type: engine.FieldTextarea, Help: "Sent as an alternative to the text body."},
			{Name: "ca_cert", Label: "Trusted certificate (PEM)", Type: engine.FieldTextarea, Advanced: true,
				Help: "Trust this CA or self-signed certificate, for a private mail server."},
		},
		Example: `{"host":"smtp.example.com","port":587,"tls":"starttls","username":"orders@example.com",` +
			`"password":"{{ secrets.SMTP_PASSWORD }}","from":"Shop <orders@example.com>",` +
			`"to":"{{ trigger.body.email }}","subject":"Thanks for your order",` +
			`"text":"We received order {{ trigger.body.id }}.","html":"<p>We received order <b>{{ trigger.body.id }}</b>.</p>"}`,
	},
	New: func() engine.Action { return new(Email) },
}

// Email sends one message through an SMTP server and returns
// {message_id, to, accepted}. A refused recipient, a failed login or a refused
// message fails the step for good; a temporary refusal (4xx) is retried.
type Email struct {
	// Host is the SMTP server's name.
	Host string `json:"host"`
	// Port defaults to 587 (starttls), 465 (tls) or 25 (none).
	Port int `json:"port,omitempty"`
	// TLS is starttls (default), tls (implicit TLS) or none.
	TLS string `json:"tls,omitempty"`
	// Username and Password log in when set.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// From is the sender, "Name <address>" or an address.
	From string `json:"from"`
	// To, Cc, Bcc and ReplyTo are addresses: one, a comma-separated list, or a list.
	To      engine.StringList `json:"to"`
	Cc      engine.StringList `json:"cc,omitempty"`
	Bcc     engine.StringList `json:"bcc,omitempty"`
	ReplyTo engine.StringList `json:"reply_to,omitempty"`
	// Subject is the subject line.
	Subject string `json:"subject"`
	// Text and HTML are the bodies; with both, HTML is the alternative.
	Text string `json:"text,omitempty"`
	HTML string `json:"html,omitempty"`
	// CACert is a PEM certificate to trust besides the system's (a private server).
	CACert string `json:"ca_cert,omitempty"`
}

// Validate checks the settings that do not depend on templates.
func (e *Email) Validate() error {
	if e.Host == "" {
		return errors.New("host is required")
	}
	if !oneOf(e.TLS, "", "none", "starttls", "tls") {
		return fmt.Errorf("tls %q is not none, starttls or tls", e.TLS)
	}
	if e.Port < 0 || e.Port > 65535 {
		return fmt.Errorf("port %d is out of range", e.Port)
	}
	if e.From == "" {
		return errors.New("from is required")
	}
	if len(e.To) == 0 {
		return errors.New("to is required")
	}
	if e.Text == "" && e.HTML == "" {
		return errors.New("text or html is required")
	}
	for _, list := range []struct {
		name  string
		addrs []string
	}{{"from", []string{e.From}}, {"to", e.To}, {"cc", e.Cc}, {"bcc", e.Bcc}, {"reply_to", e.ReplyTo}} {
		for _, a := range list.addrs {
			if isTemplate(a) {
				continue
			}
			if _, err := mail.ParseAddress(a); err != nil {
				return fmt.Errorf("%s: %q is not an email address", list.name, a)
			}
		}
	}
	if e.CACert != "" && !isTemplate(e.CACert) {
		if !x509.NewCertPool().AppendCertsFromPEM([]byte(e.CACert)) {
			return errors.New("ca_cert holds no PEM certificate")
		}
	}
	return nil
}

// Run connects, logs in when a user name is set, and sends the message.
func (e *Email) Run(ctx context.Context, sc *engine.StepContext) (any, error) {
	if err := e.Validate(); err != nil {
		return nil, engine.Permanent(fmt.Errorf("email: %w", err))
	}
	if sc == nil || sc.Dial == nil {
		return nil, engine.Permanent(errors.New("email: no dialer configured for actions"))
	}
	mode := e.TLS
	if mode == "" {
		mode = "starttls"
	}
	port := e.Port
	if port == 0 {
		port = map[string]int{"none": 25, "starttls": 587, "tls": 465}[mode]
	}
	// An IPv6 literal may come with or without brackets ("::1", "[::1]").
	host := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(e.Host), "["), "]")
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	op := "email via " + addr
	secrets := []string{e.Password}

	tlsConf := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if e.CACert != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(e.CACert)) {
			return nil, engine.Permanent(fmt.Errorf("%s: ca_cert holds no PEM certificate", op))
		}
		tlsConf.RootCAs = pool
	}

	msg, id, err := e.message(sc)
	if err != nil {
		return nil, engine.Permanent(fmt.Errorf("%s: %w", op, err))
	}

	// The connection is closed when ctx ends (the step's timeout), whatever
	// the SMTP exchange is waiting for.
	var stops []func() bool
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	// go-mail joins host and port with a bare ":" (wrong for IPv6 literals):
	// dial the address built above instead of the one it passes.
	dial := func(dctx context.Context, network, _ string) (net.Conn, error) {
		c, err := sc.Dial(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		stops = append(stops, context.AfterFunc(ctx, func() { c.Close() }))
		if mode != "tls" {
			return c, nil
		}
		tc := tls.Client(c, tlsConf)
		if err := tc.HandshakeContext(dctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		return tc, nil
	}

	timeout := 60 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	opts := []gomail.Option{
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(tlsConf),
		gomail.WithTimeout(timeout),
	}
	switch mode {
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case "tls":
		// The dialer above does the TLS handshake; WithSSL stops go-mail from
		// trying STARTTLS on top of it.
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if e.Username != "" {
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
				gomail.SMTPAuthCramMD5, gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(e.Username), gomail.WithPassword(e.Password))
	}
	opts = append(opts, gomail.WithPort(port))
	client, err := gomail.NewClient(host, opts...)
	if err != nil {
		return nil, engine.Permanent(fmt.Errorf("%s: %s", op, redact(err.Error(), secrets)))
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return nil, smtpError(ctx, op, err, secrets)
	}
	return map[string]any{"message_id": id, "to": stringsToAny(e.To), "accepted": true}, nil
}

// message builds the MIME message and returns it with its Message-ID, which
// is derived from the idempotency key (without the attempt number) so a retry
// or a re-run carries the same id.
func (e *Email) message(sc *engine.StepContext) (*gomail.Msg, string, error) {
	m := gomail.NewMsg()
	if err := m.From(e.From); err != nil {
		return nil, "", fmt.Errorf("from: %w", err)
	}
	if err := m.To(e.To...); err != nil {
		return nil, "", fmt.Errorf("to: %w", err)
	}
	if len(e.Cc) > 0 {
		if err := m.Cc(e.Cc...); err != nil {
			return nil, "", fmt.Errorf("cc: %w", err)
		}
	}
	if len(e.Bcc) > 0 {
		if err := m.Bcc(e.Bcc...); err != nil {
			return nil, "", fmt.Errorf("bcc: %w", err)
		}
	}
	if len(e.ReplyTo) > 0 {
		if err := m.SetAddrHeader(gomail.HeaderReplyTo, e.ReplyTo...); err != nil {
			return nil, "", fmt.Errorf("reply_to: %w", err)
		}
	}
	m.Subject(e.Subject)
	m.SetDateWithValue(now(sc))
	id := messageID(messageKey(sc), e.From)
	m.SetMessageIDWithValue(id)
	switch {
	case e.Text != "" && e.HTML != "":
		m.SetBodyString(gomail.TypeTextPlain, e.Text)
		m.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	case e.HTML != "":
		m.SetBodyString(gomail.TypeTextHTML, e.HTML)
	default:
		m.SetBodyString(gomail.TypeTextPlain, e.Text)
	}
	return m, id, nil
}

// messageID is "<hash of the idempotency key>@<sender's domain>" (without the
// angle brackets).
func messageID(key, from string) string {
	domain := "hookflow.invalid"
	if a, err := mail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 && i < len(a.Address)-1 {
			domain = a.Address[i+1:]
		}
	}
	sum := sha256.Sum256([]byte("hookflow-email:" + key))
	return "hookflow." + hex.EncodeToString(sum[:16]) + "@" + domain
}

// smtpError names what failed and classifies it: SMTP 4xx replies are
// retryable, 5xx replies (refused recipient, failed login) and blocked
// addresses permanent; network errors stay plain.
func smtpError(ctx context.Context, op string, err error, secrets []string) error {
	msg := redact(err.Error(), secrets)
	var ne net.Error
	if ctx.Err() == context.DeadlineExceeded || (errors.As(err, &ne) && ne.Timeout()) {
		msg = "timed out: " + msg
	}
	e := &redactedError{msg: op + ": " + msg, err: err}
	var se *gomail.SendError
	if errors.As(err, &se) {
		if se.IsTemp() {
			return engine.Retryable(e, 0)
		}
		return engine.Permanent(e)
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		if te.Code >= 400 && te.Code < 500 {
			return engine.Retryable(e, 0)
		}
		return engine.Permanent(e)
	}
	if errors.Is(err, engine.ErrBlockedAddress) {
		return engine.Permanent(e)
	}
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) || strings.Contains(err.Error(), "does not support STARTTLS") {
		return engine.Permanent(e)
	}
	return e
}

func stringsToAny(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

var (
	_ engine.Action    = (*Email)(nil)
	_ engine.Validator = (*Email)(nil)
)
