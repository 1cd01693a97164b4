package triggers

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/secrets"
)

// Verification schemes.
const (
	SchemeStripe   = "stripe"
	SchemeGitHub   = "github"
	SchemeShopify  = "shopify"
	SchemeSlack    = "slack"
	SchemeStandard = "standard"
	SchemeHMAC     = "hmac"
	SchemeBasic    = "basic"
	SchemeToken    = "token"
)

// Schemes lists the verification schemes, in the order the editor offers
// them: the first five, the provider presets (verify_*.go), then the generic ones.
var Schemes = append(append([]string{SchemeStripe, SchemeGitHub, SchemeShopify, SchemeSlack, SchemeStandard},
	presetSchemes()...), SchemeHMAC, SchemeBasic, SchemeToken)

// DefaultTolerance is how far a signed timestamp may lie from now when
// verify.tolerance is not set.
const DefaultTolerance = 5 * time.Minute

// maxSignatures bounds the signatures read from one header (secret rotation
// needs two or three).
const maxSignatures = 16

// secretScope is what verify's templates may use.
var secretScope = []string{"secrets"}

// Verify checks that a webhook comes from who it claims, on the exact bytes
// received, before the body is parsed. A request that fails gets 401.
type Verify struct {
	// Scheme is how the sender signs: "stripe", "github", "shopify", "slack",
	// "standard" (Standard Webhooks, also Svix), a provider preset (Presets:
	// "paypal", "paddle", "twilio" …), "hmac" (any HMAC in a header), "basic"
	// (HTTP Basic auth) or "token" (a shared token in a header or the query).
	Scheme string `json:"scheme"`
	// Secret is the signing secret or token, usually {{ secrets.NAME }}:
	// Stripe's whsec_… endpoint secret, GitHub's webhook secret, Shopify's app
	// client secret, Slack's signing secret, Standard Webhooks' whsec_… secret;
	// PayPal's webhook id, SendGrid's public verification key, Adyen's hex HMAC
	// key, Braintree's private key, Twilio's Auth Token. While rotating, a list of secrets ({{ [secrets.OLD, secrets.NEW] }}) is
	// accepted: any one may match.
	Secret string `json:"secret,omitempty"`
	// Tolerance is how old (and for slack, standard and the opt-in schemes
	// zendesk, mailgun, sendgrid also how far in the future) a signed
	// timestamp may be, for the schemes that sign one. Default 5m (calendly
	// 3m; zendesk, mailgun and sendgrid: unchecked unless set).
	Tolerance engine.Duration `json:"tolerance,omitempty"`
	// Header names the header that carries the signature (hmac, required) or
	// the token (token; default Authorization with a Bearer token).
	Header string `json:"header,omitempty"`
	// Algorithm is the hmac scheme's hash: sha256 (default), sha1 or sha512.
	Algorithm string `json:"algorithm,omitempty"`
	// Encoding is how the hmac scheme's signature is written: hex (default) or base64.
	Encoding string `json:"encoding,omitempty"`
	// Prefix is text before the signature or token in its header, e.g.
	// "sha256=" (hmac) or "Token " (token); it is required and removed.
	Prefix string `json:"prefix,omitempty"`
	// Username is the expected HTTP Basic user name (basic).
	Username string `json:"username,omitempty"`
	// Password is the expected HTTP Basic password (basic), usually {{ secrets.NAME }}.
	Password string `json:"password,omitempty"`
	// URL is the flow URL exactly as entered in the provider's dashboard
	// (twilio, square: they sign it), e.g. https://hooks.example.com/hooks/sms.
	URL string `json:"url,omitempty"`
	// Query names the query parameter that carries the token (token scheme),
	// for senders that cannot set headers (Jotform: ?token=…). Its value is
	// redacted from the run's trigger.query.
	Query string `json:"query,omitempty"`

	secret, username, password *engine.Template
	newHash                    func() hash.Hash
	defTol                     time.Duration // the preset's default tolerance
}

// compile checks the settings and compiles the templates; paths are relative
// to trigger.with.
func (v *Verify) compile(ps *engine.Problems) {
	v.Scheme = strings.ToLower(strings.TrimSpace(v.Scheme))
	known := false
	for _, s := range Schemes {
		known = known || s == v.Scheme
	}
	if !known {
		if v.Scheme == "" {
			ps.Add("verify.scheme", "required (one of %s)", strings.Join(Schemes, ", "))
		} else {
			ps.Add("verify.scheme", "unknown scheme %q (one of %s)", v.Scheme, strings.Join(Schemes, ", "))
		}
		return
	}
	notUsed := func(path, val string) {
		if val != "" {
			ps.Add("verify."+path, "not used by the %s scheme", v.Scheme)
		}
	}
	tpl := func(path, src string) *engine.Template {
		t, err := engine.CompileString(src, secretScope)
		if err != nil {
			ps.Add("verify."+path, "%s", oneLine(err))
		}
		return t
	}
	if v.Scheme == SchemeBasic {
		notUsed("secret", v.Secret)
		if v.Username == "" && v.Password == "" {
			ps.Add("verify.password", "required for the basic scheme (with username)")
		}
		v.username, v.password = tpl("username", v.Username), tpl("password", v.Password)
	} else {
		notUsed("username", v.Username)
		notUsed("password", v.Password)
		if strings.TrimSpace(v.Secret) == "" {
			ps.Add("verify.secret", "required for the %s scheme, e.g. {{ secrets.NAME }}", v.Scheme)
		} else {
			v.secret = tpl("secret", v.Secret)
		}
	}
	switch {
	case v.Scheme == SchemeStripe || v.Scheme == SchemeSlack || v.Scheme == SchemeStandard || providers[v.Scheme].tol != tolNone:
		if v.Tolerance < 0 {
			ps.Add("verify.tolerance", "must not be negative")
		}
	default:
		if v.Tolerance != 0 {
			ps.Add("verify.tolerance", "not used by the %s scheme (it signs no timestamp)", v.Scheme)
		}
	}
	v.defTol = providers[v.Scheme].defTol
	if p, ok := providers[v.Scheme]; ok && p.needsURL {
		v.compileURL(ps)
	} else {
		notUsed("url", v.URL)
	}
	v.Query = strings.TrimSpace(v.Query)
	if v.Scheme != SchemeToken {
		notUsed("query", v.Query)
	} else if v.Query != "" && (v.Header != "" || v.Prefix != "") {
		ps.Add("verify.query", "the token comes from a header or from the query, not both")
	}
	v.Header = strings.ToLower(strings.TrimSpace(v.Header))
	switch v.Scheme {
	case SchemeHMAC:
		if v.Header == "" {
			ps.Add("verify.header", "required for the hmac scheme, e.g. x-signature")
		}
		switch strings.ToLower(v.Algorithm) {
		case "", "sha256":
			v.newHash = sha256.New
		case "sha1":
			v.newHash = sha1.New
		case "sha512":
			v.newHash = sha512.New
		default:
			ps.Add("verify.algorithm", "unknown algorithm %q (sha256, sha1 or sha512)", v.Algorithm)
		}
		switch strings.ToLower(v.Encoding) {
		case "", "hex", "base64":
		default:
			ps.Add("verify.encoding", "unknown encoding %q (hex or base64)", v.Encoding)
		}
	case SchemeToken:
		notUsed("algorithm", v.Algorithm)
		notUsed("encoding", v.Encoding)
	default:
		notUsed("header", v.Header)
		notUsed("algorithm", v.Algorithm)
		notUsed("encoding", v.Encoding)
		notUsed("prefix", v.Prefix)
	}
	if v.Scheme == SchemeStandard && v.secret != nil && !v.secret.HasExpr() {
		if _, err := standardKey(v.Secret); err != nil {
			ps.Add("verify.secret", "%s", err.Error())
		}
	}
	if p, ok := providers[v.Scheme]; ok && p.checkKey != nil && v.secret != nil && !v.secret.HasExpr() {
		if err := p.checkKey(v.Secret); err != nil {
			ps.Add("verify.secret", "%s", err.Error())
		}
	}
}

func oneLine(err error) string { return engine.OneLine(err) }

func sigErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{engine.ErrSignature}, args...)...)
}

var errNoMatch = sigErr("no signature matched")

func (v *Verify) tolerance() time.Duration {
	if v.Tolerance > 0 {
		return v.Tolerance.D()
	}
	if v.defTol > 0 {
		return v.defTol
	}
	return DefaultTolerance
}

// keys renders the secret template: one secret, or several while rotating.
func (v *Verify) keys(rc *engine.ReceiveContext) ([]string, error) {
	if v.secret == nil {
		return nil, sigErr("no secret configured")
	}
	var secrets map[string]any
	if rc != nil {
		secrets = rc.Secrets
	}
	out, err := v.secret.Eval(map[string]any{"secrets": secrets})
	if err != nil {
		return nil, sigErr("secret: %v", err)
	}
	var keys []string
	switch x := out.(type) {
	case []any:
		for _, k := range x {
			if s := engine.Stringify(k); s != "" {
				keys = append(keys, s)
			}
		}
	case []string:
		for _, s := range x {
			if s != "" {
				keys = append(keys, s)
			}
		}
	default:
		if s := engine.Stringify(x); s != "" {
			keys = []string{s}
		}
	}
	if len(keys) == 0 {
		return nil, sigErr("the verification secret is empty (is the secret set?)")
	}
	return keys, nil
}

// check verifies a request. Errors wrap engine.ErrSignature, say which check
// failed and never show an expected value.
func (v *Verify) check(in *engine.Inbound, rc *engine.ReceiveContext, now time.Time) error {
	switch v.Scheme {
	case SchemeBasic:
		return v.checkBasic(in, rc)
	case SchemeToken:
		return v.checkToken(in, rc)
	}
	keys, err := v.keys(rc)
	if err != nil {
		return err
	}
	switch v.Scheme {
	case SchemeStripe:
		return verifyStripe(in.Headers, in.Raw, keys, now, v.tolerance())
	case SchemeGitHub:
		return verifyGitHub(in.Headers, in.Raw, keys)
	case SchemeShopify:
		return verifyShopify(in.Headers, in.Raw, keys)
	case SchemeSlack:
		return verifySlack(in.Headers, in.Raw, keys, now, v.tolerance())
	case SchemeStandard:
		return verifyStandard(in.Headers, in.Raw, keys, now, v.tolerance())
	case SchemeHMAC:
		return v.verifyHMAC(in.Headers, in.Raw, keys)
	}
	if p, ok := providers[v.Scheme]; ok {
		return p.verify(v, in, keys, now)
	}
	return sigErr("unknown scheme %q", v.Scheme)
}

// mac returns HMAC(key, parts...).
func mac(h func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(h, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// anyMatch compares every signature with every expected MAC in constant time
// per comparison.
func anyMatch(expected [][]byte, sigs [][]byte) bool {
	ok := false
	for _, e := range expected {
		for _, s := range sigs {
			if hmac.Equal(e, s) {
				ok = true
			}
		}
	}
	return ok
}

// checkTimestamp enforces a replay window; future says whether timestamps
// ahead of now are refused too.
func checkTimestamp(ts int64, now time.Time, tol time.Duration, future bool) error {
	age := now.Unix() - ts
	switch {
	case age > int64(tol/time.Second):
		return sigErr("timestamp outside the tolerance of %s (too old)", tol)
	case future && -age > int64(tol/time.Second):
		return sigErr("timestamp outside the tolerance of %s (too new)", tol)
	}
	return nil
}

// --- Stripe -----------------------------------------------------------------

// ParseStripeSignature reads a Stripe-Signature header
// "t=<unix>,v1=<hex>[,v1=<hex>…]". As stripe-go does, v1 values that are not
// hex are skipped and other schemes (v0) ignored; a header without t or with
// no usable v1 is an error.
func ParseStripeSignature(h string) (ts int64, sigs [][]byte, err error) {
	return ParseKeyValueSignature(h, ',', "t", "v1")
}

func verifyStripe(h map[string]string, raw []byte, keys []string, now time.Time, tol time.Duration) error {
	hv := h["stripe-signature"]
	if hv == "" {
		return sigErr("missing Stripe-Signature header")
	}
	ts, sigs, err := ParseStripeSignature(hv)
	if err != nil {
		return sigErr("malformed Stripe-Signature header: %v", err)
	}
	if err := checkTimestamp(ts, now, tol, false); err != nil {
		return err
	}
	var tb [24]byte
	prefix := append(strconv.AppendInt(tb[:0], ts, 10), '.')
	return matchKeys(sha256.New, keys, sigs, prefix, raw)
}

// --- GitHub -----------------------------------------------------------------

// ParseGitHubSignature reads an X-Hub-Signature-256 header "sha256=<64 hex digits>".
func ParseGitHubSignature(h string) ([]byte, error) { return parseHexSHA256(h, "sha256=") }

// parseHexSHA256 reads "<prefix><64 hex digits>", the form of GitHub's and
// Slack's signature headers.
func parseHexSHA256(h, prefix string) ([]byte, error) {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(h), prefix)
	if !ok {
		return nil, fmt.Errorf("want %q and a hex digest", prefix)
	}
	b, err := hex.DecodeString(hexSig)
	if err != nil {
		return nil, errors.New("signature is not hex")
	}
	if len(b) != sha256.Size {
		return nil, fmt.Errorf("signature is %d bytes, want %d", len(b), sha256.Size)
	}
	return b, nil
}

func verifyGitHub(h map[string]string, raw []byte, keys []string) error {
	hv := h["x-hub-signature-256"]
	if hv == "" {
		return sigErr("missing X-Hub-Signature-256 header")
	}
	sig, err := ParseGitHubSignature(hv)
	if err != nil {
		return sigErr("malformed X-Hub-Signature-256 header: %v", err)
	}
	return matchKeys(sha256.New, keys, [][]byte{sig}, raw)
}

func matchKeys(h func() hash.Hash, keys []string, sigs [][]byte, parts ...[]byte) error {
	expected := make([][]byte, len(keys))
	for i, k := range keys {
		expected[i] = mac(h, []byte(k), parts...)
	}
	if !anyMatch(expected, sigs) {
		return errNoMatch
	}
	return nil
}

// --- Shopify ----------------------------------------------------------------

// ParseShopifySignature reads an X-Shopify-Hmac-SHA256 header: the base64 of
// a 32-byte HMAC-SHA256.
func ParseShopifySignature(h string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h))
	if err != nil {
		return nil, errors.New("signature is not base64")
	}
	if len(b) != sha256.Size {
		return nil, fmt.Errorf("signature is %d bytes, want %d", len(b), sha256.Size)
	}
	return b, nil
}

func verifyShopify(h map[string]string, raw []byte, keys []string) error {
	hv := h["x-shopify-hmac-sha256"]
	if hv == "" {
		return sigErr("missing X-Shopify-Hmac-SHA256 header")
	}
	sig, err := ParseShopifySignature(hv)
	if err != nil {
		return sigErr("malformed X-Shopify-Hmac-SHA256 header: %v", err)
	}
	return matchKeys(sha256.New, keys, [][]byte{sig}, raw)
}

// --- Slack ------------------------------------------------------------------

// ParseSlackSignature reads an X-Slack-Signature header "v0=<64 hex digits>".
func ParseSlackSignature(h string) ([]byte, error) { return parseHexSHA256(h, "v0=") }

// ParseTimestamp reads a unix-seconds timestamp header (Slack's
// X-Slack-Request-Timestamp, Standard Webhooks' webhook-timestamp).
func ParseTimestamp(h string) (int64, error) {
	ts, err := strconv.ParseInt(strings.TrimSpace(h), 10, 64)
	if err != nil || ts < 0 {
		return 0, errors.New("not a unix time in seconds")
	}
	return ts, nil
}

func verifySlack(h map[string]string, raw []byte, keys []string, now time.Time, tol time.Duration) error {
	hv := h["x-slack-signature"]
	if hv == "" {
		return sigErr("missing X-Slack-Signature header")
	}
	tsv := h["x-slack-request-timestamp"]
	if tsv == "" {
		return sigErr("missing X-Slack-Request-Timestamp header")
	}
	ts, err := ParseTimestamp(tsv)
	if err != nil {
		return sigErr("malformed X-Slack-Request-Timestamp header: %v", err)
	}
	sig, err := ParseSlackSignature(hv)
	if err != nil {
		return sigErr("malformed X-Slack-Signature header: %v", err)
	}
	// Slack's SDKs refuse |now - ts| > 5 minutes: too old and too new alike.
	if err := checkTimestamp(ts, now, tol, true); err != nil {
		return err
	}
	return matchKeys(sha256.New, keys, [][]byte{sig}, []byte("v0:"+strings.TrimSpace(tsv)+":"), raw)
}

// --- Standard Webhooks ------------------------------------------------------

// ParseStandardSignature reads a webhook-signature header: space-separated
// "v1,<base64>" entries. Other versions (v1a, ed25519) and entries that are
// not base64 are skipped; a header with no usable v1 entry is an error.
func ParseStandardSignature(h string) ([][]byte, error) {
	var sigs [][]byte
	for _, e := range strings.Fields(h) {
		ver, val, ok := strings.Cut(e, ",")
		if !ok || ver != "v1" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(val)
		if err != nil || len(sigs) >= maxSignatures {
			continue
		}
		sigs = append(sigs, b)
	}
	if len(sigs) == 0 {
		return nil, errors.New("no v1 signature")
	}
	return sigs, nil
}

// standardKey decodes a Standard Webhooks secret: "whsec_" + base64.
func standardKey(secret string) ([]byte, error) {
	b, err := secrets.WhsecKey(secret)
	if err != nil {
		return nil, errors.New(`a Standard Webhooks secret is "whsec_" followed by base64`)
	}
	return b, nil
}

// header returns the first of the names present.
func header(h map[string]string, names ...string) string {
	for _, n := range names {
		if v := h[n]; v != "" {
			return v
		}
	}
	return ""
}

func verifyStandard(h map[string]string, raw []byte, keys []string, now time.Time, tol time.Duration) error {
	id := header(h, "webhook-id", "svix-id")
	if id == "" {
		return sigErr("missing webhook-id header")
	}
	tsv := header(h, "webhook-timestamp", "svix-timestamp")
	if tsv == "" {
		return sigErr("missing webhook-timestamp header")
	}
	sv := header(h, "webhook-signature", "svix-signature")
	if sv == "" {
		return sigErr("missing webhook-signature header")
	}
	ts, err := ParseTimestamp(tsv)
	if err != nil {
		return sigErr("malformed webhook-timestamp header: %v", err)
	}
	sigs, err := ParseStandardSignature(sv)
	if err != nil {
		return sigErr("malformed webhook-signature header: %v", err)
	}
	if err := checkTimestamp(ts, now, tol, true); err != nil {
		return err
	}
	prefix := []byte(id + "." + strings.TrimSpace(tsv) + ".")
	expected := make([][]byte, 0, len(keys))
	for _, k := range keys {
		key, err := standardKey(k)
		if err != nil {
			return sigErr("%v", err)
		}
		expected = append(expected, mac(sha256.New, key, prefix, raw))
	}
	if !anyMatch(expected, sigs) {
		return errNoMatch
	}
	return nil
}

// --- generic HMAC -----------------------------------------------------------

// ParseHMACSignature reads a generic signature header: one or more
// signatures separated by commas or spaces, each starting with prefix (which
// is removed) and written in encoding ("hex" or "base64"). Entries that do not
// decode are skipped; a header with none usable is an error.
func ParseHMACSignature(h, prefix, encoding string) ([][]byte, error) {
	var sigs [][]byte
	for _, e := range strings.FieldsFunc(h, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		val, ok := strings.CutPrefix(e, prefix)
		if !ok {
			continue
		}
		var b []byte
		var err error
		if strings.EqualFold(encoding, "base64") {
			b, err = base64.StdEncoding.DecodeString(val)
		} else {
			b, err = hex.DecodeString(val)
		}
		if err != nil || len(sigs) >= maxSignatures {
			continue
		}
		sigs = append(sigs, b)
	}
	if len(sigs) == 0 {
		if prefix != "" {
			return nil, fmt.Errorf("no %s signature after %q", encodingName(encoding), prefix)
		}
		return nil, fmt.Errorf("no %s signature", encodingName(encoding))
	}
	return sigs, nil
}

func encodingName(e string) string {
	if strings.EqualFold(e, "base64") {
		return "base64"
	}
	return "hex"
}

func (v *Verify) verifyHMAC(h map[string]string, raw []byte, keys []string) error {
	hv := h[v.Header]
	if hv == "" {
		return sigErr("missing %s header", v.Header)
	}
	sigs, err := ParseHMACSignature(hv, v.Prefix, v.Encoding)
	if err != nil {
		return sigErr("malformed %s header: %v", v.Header, err)
	}
	newHash := v.newHash
	if newHash == nil {
		newHash = sha256.New
	}
	return matchKeys(newHash, keys, sigs, raw)
}

// --- basic and token --------------------------------------------------------

// ParseBasicAuth reads an Authorization header "Basic base64(user:password)".
func ParseBasicAuth(h string) (user, password string, err error) {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "basic") {
		return "", "", errors.New(`want "Basic" credentials`)
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", errors.New("credentials are not base64")
	}
	user, password, ok = strings.Cut(string(b), ":")
	if !ok {
		return "", "", errors.New("credentials without ':'")
	}
	return user, password, nil
}

// ParseToken reads a token header: with the default Authorization header a
// "Bearer <token>" value (the scheme is matched case-insensitively); with
// prefix set, the value must start with it and the rest is the token;
// otherwise the whole value is the token.
func ParseToken(h string, authorization bool, prefix string) (string, error) {
	h = strings.TrimSpace(h)
	switch {
	case prefix != "":
		t, ok := strings.CutPrefix(h, prefix)
		if !ok {
			return "", fmt.Errorf("value does not start with %q", prefix)
		}
		return strings.TrimSpace(t), nil
	case authorization:
		scheme, t, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "bearer") {
			return "", errors.New(`want "Bearer" and a token`)
		}
		return strings.TrimSpace(t), nil
	}
	return h, nil
}

// equalSecret compares two secrets in constant time whatever their lengths.
func equalSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return hmac.Equal(g[:], w[:])
}

func (v *Verify) tokenHeader() string {
	if v.Header == "" {
		return "authorization"
	}
	return v.Header
}

func (v *Verify) checkToken(in *engine.Inbound, rc *engine.ReceiveContext) error {
	keys, err := v.keys(rc)
	if err != nil {
		return err
	}
	var tok string
	if v.Query != "" {
		if vals := in.Query[v.Query]; len(vals) > 0 {
			tok = vals[0]
		}
		if tok == "" {
			return sigErr("missing %s query parameter", v.Query)
		}
	} else {
		name := v.tokenHeader()
		hv := in.Headers[name]
		if hv == "" {
			return sigErr("missing %s header", name)
		}
		tok, err = ParseToken(hv, name == "authorization", v.Prefix)
		if err != nil {
			return sigErr("malformed %s header: %v", name, err)
		}
	}
	ok := false
	for _, k := range keys {
		if equalSecret(tok, k) {
			ok = true
		}
	}
	if !ok {
		return sigErr("token does not match")
	}
	return nil
}

func (v *Verify) checkBasic(in *engine.Inbound, rc *engine.ReceiveContext) error {
	hv := in.Headers["authorization"]
	if hv == "" {
		return sigErr("missing Authorization header")
	}
	user, pass, err := ParseBasicAuth(hv)
	if err != nil {
		return sigErr("malformed Authorization header: %v", err)
	}
	var secrets map[string]any
	if rc != nil {
		secrets = rc.Secrets
	}
	env := map[string]any{"secrets": secrets}
	wantUser, err := evalOpt(v.username, env)
	if err != nil {
		return sigErr("username: %v", err)
	}
	wantPass, err := evalOpt(v.password, env)
	if err != nil {
		return sigErr("password: %v", err)
	}
	if wantUser == "" && wantPass == "" {
		return sigErr("the expected credentials are empty (is the secret set?)")
	}
	// Both comparisons always run: the time taken says nothing about which failed.
	okUser := equalSecret(user, wantUser)
	okPass := equalSecret(pass, wantPass)
	if !okUser || !okPass {
		return sigErr("username or password does not match")
	}
	return nil
}

func evalOpt(t *engine.Template, env map[string]any) (string, error) {
	if t == nil {
		return "", nil
	}
	return t.EvalString(env)
}

// credentialHeader is the header whose value is the credential itself (basic
// and token schemes); it is redacted from the run's trigger data.
func (v *Verify) credentialHeader() string {
	switch v.Scheme {
	case SchemeBasic:
		return "authorization"
	case SchemeToken:
		if v.Query != "" {
			return ""
		}
		return v.tokenHeader()
	}
	return ""
}
