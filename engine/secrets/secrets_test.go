package secrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

var ctx = context.Background()

// memMeta is an in-memory engine.MetaStore and engine.SecretStore.
type memMeta struct {
	mu   sync.Mutex
	meta map[string][]byte
	sec  map[string][]byte
}

func newMem() *memMeta { return &memMeta{meta: map[string][]byte{}, sec: map[string][]byte{}} }

func (m *memMeta) GetMeta(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.meta[name]
	if !ok {
		return nil, fmt.Errorf("get meta %q: %w", name, engine.ErrNotFound)
	}
	return bytes.Clone(v), nil
}

func (m *memMeta) PutMeta(_ context.Context, name string, v []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.meta[name] = bytes.Clone(v)
	return nil
}

func (m *memMeta) PutSecret(_ context.Context, name string, v []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sec[name] = bytes.Clone(v)
	return nil
}

func (m *memMeta) GetSecret(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.sec[name]
	if !ok {
		return nil, engine.ErrNotFound
	}
	return bytes.Clone(v), nil
}

func (m *memMeta) ListSecrets(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []string
	for n := range m.sec {
		names = append(names, n)
	}
	return names, nil
}

func (m *memMeta) DeleteSecret(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sec, name)
	return nil
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestKeyringRoundtrip(t *testing.T) {
	meta := newMem()
	k, err := NewKeyring(ctx, meta, key(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := meta.GetMeta(ctx, MetaDataKey); err != nil {
		t.Fatalf("data key not stored: %v", err)
	}
	tests := []struct {
		name, secret string
	}{
		{"STRIPE_WHSEC", "whsec_abc123"},
		{"EMPTY", ""},
		{"BIG", strings.Repeat("z", 100000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sealed, err := k.Seal(tc.name, []byte(tc.secret))
			if err != nil {
				t.Fatal(err)
			}
			if tc.secret != "" && bytes.Contains(sealed, []byte(tc.secret)) {
				t.Fatal("sealed value contains the plaintext")
			}
			// A second keyring on the same meta (a restart) opens it.
			k2, err := NewKeyring(ctx, meta, key(1))
			if err != nil {
				t.Fatal(err)
			}
			got, err := k2.Open(tc.name, sealed)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.secret {
				t.Fatalf("opened %q", got)
			}
		})
	}
	a, _ := k.Seal("X", []byte("same"))
	b, _ := k.Seal("X", []byte("same"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
}

func TestKeyringStoreHelpers(t *testing.T) {
	st := newMem()
	k, err := NewKeyring(ctx, st, key(3))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.PutSecret(ctx, st, "A", []byte("alpha-value")); err != nil {
		t.Fatal(err)
	}
	if err := k.PutSecret(ctx, st, "B", []byte("beta-value")); err != nil {
		t.Fatal(err)
	}
	if raw, _ := st.GetSecret(ctx, "A"); bytes.Contains(raw, []byte("alpha")) {
		t.Fatal("stored secret is plaintext")
	}
	all, err := k.All(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(all, map[string]string{"A": "alpha-value", "B": "beta-value"}) {
		t.Fatalf("All = %v", all)
	}
	_, err = k.GetSecret(ctx, st, "C")
	if !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("missing secret: %v", err)
	}
}

func TestKeyringWrongMasterKey(t *testing.T) {
	meta := newMem()
	if _, err := NewKeyring(ctx, meta, key(1)); err != nil {
		t.Fatal(err)
	}
	_, err := NewKeyring(ctx, meta, key(2))
	if !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("error = %v, want ErrKeyMismatch", err)
	}
	if !strings.Contains(err.Error(), "does not match the one this data dir was created with") {
		t.Fatalf("message %q", err)
	}
	if _, err := NewKeyring(ctx, meta, []byte("short")); err == nil {
		t.Fatal("short master key accepted")
	}
	broken := newMem()
	_ = broken.PutMeta(ctx, MetaDataKey, []byte("garbage"))
	if _, err := NewKeyring(ctx, broken, key(1)); err == nil || errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("malformed stored data key: %v", err)
	}
}

func TestKeyringOpenFailures(t *testing.T) {
	k, err := NewKeyring(ctx, newMem(), key(1))
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewKeyring(ctx, newMem(), key(1)) // same master, other data key
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := k.Seal("TOKEN", []byte("s3cret-value"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 1
		return c
	}
	tests := []struct {
		name   string
		kr     *Keyring
		secret string
		sealed []byte
	}{
		{"tampered ciphertext", k, "TOKEN", flip(len(sealed) - 20)},
		{"tampered tag", k, "TOKEN", flip(len(sealed) - 1)},
		{"tampered nonce", k, "TOKEN", flip(1)},
		{"wrong version", k, "TOKEN", flip(0)},
		{"wrong name", k, "OTHER", sealed},
		{"other data key", other, "TOKEN", sealed},
		{"truncated", k, "TOKEN", sealed[:10]},
		{"empty", k, "TOKEN", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.kr.Open(tc.secret, tc.sealed)
			if !errors.Is(err, ErrDecrypt) || got != nil {
				t.Fatalf("Open = %q, %v; want ErrDecrypt", got, err)
			}
		})
	}
}

func TestLoadKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := LoadKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != KeySize {
		t.Fatalf("key length %d", len(k1))
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) {
		t.Fatal("second LoadKey made a new key")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("data dir holds %d files, want only the key file", len(entries))
	}

	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, KeyFile), []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(bad, ""); err == nil {
		t.Fatal("malformed key file accepted")
	}
}

func TestLoadKeyConcurrentFirstStart(t *testing.T) {
	dir := t.TempDir()
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := LoadKey(dir, "")
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) {
			t.Fatal("concurrent first starts produced different keys")
		}
	}
}

func TestLoadKeyFromEnv(t *testing.T) {
	raw := key(7)
	sum := func(s string) []byte {
		h := sha256.Sum256([]byte(s))
		return h[:]
	}
	tests := []struct {
		name string
		env  string
		want []byte
	}{
		{"hex", hex.EncodeToString(raw), raw},
		{"hex with spaces", "  " + hex.EncodeToString(raw) + "\n", raw},
		{"base64", base64.StdEncoding.EncodeToString(raw), raw},
		{"base64 url raw", base64.RawURLEncoding.EncodeToString(raw), raw},
		{"passphrase", "correct horse battery staple", sum("correct horse battery staple")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			got, err := LoadKey(dir, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) || len(got) != KeySize {
				t.Fatalf("key = %x, want %x", got, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, KeyFile)); !os.IsNotExist(err) {
				t.Fatal("a key file was written although the key came from the environment")
			}
		})
	}
	// A passphrase is hashed, not used raw, and differs from other passphrases.
	if a, b := keyFromString("one passphrase"), keyFromString("two passphrase"); bytes.Equal(a, b) {
		t.Fatal("different passphrases gave one key")
	}
}

func TestRedactorString(t *testing.T) {
	r := NewRedactor([]string{"sk_live_123456", "abc", "sk_live", "p@ss/w+rd", "overlapXY", "XYZW"})
	tests := []struct {
		name, in, want string
	}{
		{"plain", "token sk_live_123456 used", "token [redacted] used"},
		{"longest first", "sk_live_123456 and sk_live", "[redacted] and [redacted]"},
		{"short ignored", "abc is fine", "abc is fine"},
		{"repeated", "sk_live_123456sk_live_123456", "[redacted][redacted]"},
		{"url escaped", "GET /?key=p%40ss%2Fw%2Brd", "GET /?key=[redacted]"},
		{"overlap", "overlapXYZW!", "[redacted]!"},
		{"nothing", "hello world", "hello world"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.String(tc.in); got != tc.want {
				t.Fatalf("String(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	var nilR *Redactor
	if nilR.String("sk_live_123456") != "sk_live_123456" || nilR.Value(1) != 1 {
		t.Fatal("nil Redactor changed its input")
	}
}

func TestRedactorValue(t *testing.T) {
	r := NewRedactor([]string{"hunter22"})
	in := map[string]any{
		"password": "hunter22",
		"nested": []any{
			map[string]any{"auth": "Bearer hunter22", "n": 3.0, "ok": true, "nil": nil},
			"x-hunter22-y",
		},
		"hunter22": "key too",
		"headers":  map[string]string{"authorization": "Basic hunter22"},
		"list":     []string{"hunter22", "fine"},
		"struct":   struct{ Token string }{Token: "hunter22"},
	}
	want := map[string]any{
		"password": "[redacted]",
		"nested": []any{
			map[string]any{"auth": "Bearer [redacted]", "n": 3.0, "ok": true, "nil": nil},
			"x-[redacted]-y",
		},
		"[redacted]": "key too",
		"headers":    map[string]string{"authorization": "Basic [redacted]"},
		"list":       []string{"[redacted]", "fine"},
		"struct":     map[string]any{"Token": "[redacted]"},
	}
	got := r.Value(in)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Value =\n%#v\nwant\n%#v", got, want)
	}
	if in["password"] != "hunter22" || in["nested"].([]any)[1] != "x-hunter22-y" {
		t.Fatal("Value modified its input")
	}
}

func TestRedactorConcurrent(t *testing.T) {
	r := NewRedactor([]string{"secret-1", "secret-2"})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if got := r.String("a secret-1 b secret-2"); got != "a [redacted] b [redacted]" {
					t.Errorf("got %q", got)
					return
				}
			}
		}()
	}
	wg.Wait()
}
