package triggers

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/netguard"
)

// PayPal publishes no test vector that verifies offline (its certificates
// chain to public roots and sign live deliveries only), so these tests make
// a CA and a leaf named like PayPal's (CN messageverificationcerts.paypal.com,
// the name PayPal-Java-SDK SSLUtil.validateCertificateChain checks) and sign
// "transmission id|time|webhook id|crc32(body)" with SHA256withRSA as
// PayPal-Java-SDK Event.validateReceivedEvent verifies it.

type testPKI struct {
	roots  *x509.CertPool
	chain  []byte // leaf + CA, PEM, as PayPal serves it
	other  []byte // a self-signed leaf under PayPal's name: no chain
	wrongN []byte // chains, but another subject
	key    *rsa.PrivateKey
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Root CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(cn string, parent *x509.Certificate, signer *rsa.PrivateKey) []byte {
		tpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(12 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
		if parent == nil {
			parent = tpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tpl, parent, &leafKey.PublicKey, signer)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	p := &testPKI{roots: x509.NewCertPool(), key: leafKey}
	p.roots.AddCert(caCert)
	p.chain = append(mk("messageverificationcerts.paypal.com", caCert, caKey), caPEM...)
	p.other = mk("messageverificationcerts.paypal.com", nil, leafKey)
	p.wrongN = append(mk("www.example.com", caCert, caKey), caPEM...)
	return p
}

func (p *testPKI) sign(t testing.TB, id, when, webhookID, body string) string {
	t.Helper()
	sum := sha256.Sum256(PayPalMessage(id, when, webhookID, []byte(body)))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// certServer serves the PKI's files on 127.0.0.1 over TLS and counts fetches.
func certServer(t testing.TB, p *testPKI) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		switch r.URL.Path {
		case paypalCertPath + "CERT-good":
			w.Write(p.chain)
		case paypalCertPath + "CERT-selfsigned":
			w.Write(p.other)
		case paypalCertPath + "CERT-wrongname":
			w.Write(p.wrongN)
		case paypalCertPath + "CERT-redirect":
			http.Redirect(w, r, "https://example.com/", http.StatusFound)
		case paypalCertPath + "CERT-big":
			w.Write([]byte(strings.Repeat("x", maxCertBytes+10)))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// testSource is the production source pointed at the test server: its host
// allowed, the guard opened for 127.0.0.1 only, the test CA as root.
func testSource(srv *httptest.Server, p *testPKI) *certSource {
	host := strings.TrimPrefix(srv.URL, "https://")
	cs := newCertSource([]string{host}, []string{"messageverificationcerts.paypal.com"},
		netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}))
	tr := cs.client.Transport.(*http.Transport)
	tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	cs.roots = p.roots
	return cs
}

func TestVerifyPayPal(t *testing.T) {
	p := newTestPKI(t)
	srv, fetches := certServer(t, p)
	const (
		webhookID = "8PT597110X687430LKGECATA"
		txID      = "69cd13f0-d67a-11e5-baa3-778b53f4ae55"
		txTime    = "2016-02-18T20:01:35Z"
		body      = `{"id":"WH-2WR32451HC0233532-67976317FL4543714","event_type":"PAYMENT.CAPTURE.COMPLETED"}`
	)
	sig := p.sign(t, txID, txTime, webhookID, body)
	headers := func(certURL string, kv ...string) map[string]string {
		return withHeaders(map[string]string{"content-type": "application/json", "paypal-transmission-id": txID, "paypal-transmission-time": txTime,
			"paypal-transmission-sig": sig, "paypal-cert-url": certURL, "paypal-auth-algo": "SHA256withRSA"}, kv...)
	}
	good := srv.URL + paypalCertPath + "CERT-good"
	secrets := map[string]any{"WEBHOOK_ID": webhookID, "OLD": "1JE4291016473214C"}
	tests := []struct {
		name      string
		secret    string
		headers   map[string]string
		body      string
		wantErr   string
		wantFetch int32 // fetches this request makes
	}{
		{name: "valid (first request fetches the certificate)", headers: headers(good), wantFetch: 1},
		{name: "valid again: cached", headers: headers(good)},
		{name: "rotation: list of webhook ids", secret: "{{ [secrets.OLD, secrets.WEBHOOK_ID] }}", headers: headers(good)},
		{name: "wrong webhook id", secret: "{{ secrets.OLD }}", headers: headers(good), wantErr: "no signature matched"},
		{name: "tampered body", headers: headers(good), body: strings.Replace(body, "COMPLETED", "REFUNDED", 1), wantErr: "no signature matched"},
		{name: "tampered transmission id", headers: headers(good, "paypal-transmission-id", "69cd13f0-0000"), wantErr: "no signature matched"},
		{name: "tampered transmission time", headers: headers(good, "paypal-transmission-time", "2016-02-18T20:01:36Z"), wantErr: "no signature matched"},
		{name: "missing signature", headers: headers(good, "paypal-transmission-sig", ""), wantErr: "missing PAYPAL-TRANSMISSION-SIG header"},
		{name: "missing cert url", headers: headers(good, "paypal-cert-url", ""), wantErr: "missing PAYPAL-CERT-URL header"},
		{name: "other algorithm", headers: headers(good, "paypal-auth-algo", "SHA1withRSA"), wantErr: "malformed PAYPAL-AUTH-ALGO header"},
		{name: "signature not base64", headers: headers(good, "paypal-transmission-sig", "!!"), wantErr: "malformed PAYPAL-TRANSMISSION-SIG header"},
		{name: "cert on another host: never fetched", headers: headers("https://evil.example.com" + paypalCertPath + "CERT-good"), wantErr: "is not PayPal's"},
		{name: "cert over http", headers: headers(strings.Replace(good, "https://", "http://", 1)), wantErr: "not an https URL"},
		{name: "cert URL with a query", headers: headers(good + "?x=1"), wantErr: "not an https URL"},
		{name: "cert outside the certificate path", headers: headers(srv.URL + "/v1/other"), wantErr: "not a certificate path"},
		{name: "self-signed certificate in PayPal's name", headers: headers(srv.URL + paypalCertPath + "CERT-selfsigned"), wantErr: "certificate chain", wantFetch: 1},
		{name: "self-signed again: failure remembered", headers: headers(srv.URL + paypalCertPath + "CERT-selfsigned"), wantErr: "failed less than a minute ago"},
		{name: "certificate for another name", headers: headers(srv.URL + paypalCertPath + "CERT-wrongname"), wantErr: "not PayPal's message verification", wantFetch: 1},
		{name: "redirect refused", headers: headers(srv.URL + paypalCertPath + "CERT-redirect"), wantErr: "redirected", wantFetch: 1},
		{name: "oversized file", headers: headers(srv.URL + paypalCertPath + "CERT-big"), wantErr: "over 64 KiB", wantFetch: 1},
		{name: "not found", headers: headers(srv.URL + paypalCertPath + "CERT-none"), wantErr: "HTTP 404", wantFetch: 1},
	}
	old := paypalCerts
	paypalCerts = testSource(srv, p)
	t.Cleanup(func() { paypalCerts = old })
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			secret := tc.secret
			if secret == "" {
				secret = "{{ secrets.WEBHOOK_ID }}"
			}
			b := tc.body
			if b == "" {
				b = body
			}
			before := fetches.Load()
			ev, err := receive(t, Verify{Scheme: "paypal", Secret: secret}, tc.headers, nil, b, time.Now(), secrets)
			if got := fetches.Load() - before; got != tc.wantFetch {
				t.Errorf("%d certificate fetches, want %d", got, tc.wantFetch)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Receive: %v", err)
				}
				if ev.DedupeKey != "WH-2WR32451HC0233532-67976317FL4543714" {
					t.Errorf("dedupe key = %q, want the event id", ev.DedupeKey)
				}
				return
			}
			if !errors.Is(err, engine.ErrSignature) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want ErrSignature containing %q", err, tc.wantErr)
			}
		})
	}
}

// The certificate fetch goes through the SSRF guard: a PayPal-looking source
// whose guard has no allow list cannot reach 127.0.0.1, and the production
// source names only PayPal's hosts.
func TestPayPalCertFetchGuarded(t *testing.T) {
	p := newTestPKI(t)
	srv, fetches := certServer(t, p)
	host := strings.TrimPrefix(srv.URL, "https://")
	cs := newCertSource([]string{host}, []string{"messageverificationcerts.paypal.com"}, netguard.New(nil))
	_, err := cs.key(srv.URL+paypalCertPath+"CERT-good", time.Now())
	if !errors.Is(err, engine.ErrBlockedAddress) && (err == nil || !strings.Contains(err.Error(), "loopback")) {
		t.Errorf("err = %v, want the guard to refuse loopback", err)
	}
	if fetches.Load() != 0 {
		t.Errorf("the server was reached %d times", fetches.Load())
	}
	for _, u := range []string{
		"https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
		"https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77",
	} {
		if err := paypalCerts.checkURL(u); err != nil {
			t.Errorf("checkURL(%s) = %v", u, err)
		}
	}
	for _, u := range []string{
		"https://api.paypal.com.evil.com/v1/notifications/certs/X",
		"https://paypal.com@evil.com/v1/notifications/certs/X",
		"https://www.paypal.com/v1/notifications/certs/X",
		"https://api.paypal.com/v1/notifications/certs/../../oauth2/token",
		srv.URL + paypalCertPath + "CERT-good",
	} {
		if err := paypalCerts.checkURL(u); err == nil {
			t.Errorf("checkURL(%s) accepted", u)
		}
	}
}

// BenchmarkPayPalCached is a PayPal delivery once the certificate is cached:
// one RSA-2048 verification and no network.
func BenchmarkPayPalCached(b *testing.B) {
	p := newTestPKI(b)
	srv, _ := certServer(b, p)
	old := paypalCerts
	paypalCerts = testSource(srv, p)
	defer func() { paypalCerts = old }()
	const body = `{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED"}`
	h := map[string]string{"content-type": "application/json", "paypal-transmission-id": "t1", "paypal-transmission-time": "2016-02-18T20:01:35Z",
		"paypal-transmission-sig": p.sign(b, "t1", "2016-02-18T20:01:35Z", "WID", body), "paypal-cert-url": srv.URL + paypalCertPath + "CERT-good", "paypal-auth-algo": "SHA256withRSA"}
	w := &Webhook{Verify: &Verify{Scheme: "paypal", Secret: "WID"}}
	in := &engine.Inbound{Method: "POST", Headers: h, Raw: []byte(body)}
	rc := &engine.ReceiveContext{Now: time.Now()}
	if _, err := w.Receive(in, rc); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Receive(in, rc); err != nil {
			b.Fatal(err)
		}
	}
}
