package secrets

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/hookflow/hookflow/engine"
)

// Vault is the secrets users store ({{ secrets.NAME }}): sealed at rest by the
// Keyring, decrypted once into memory for the engine, and redacted from
// everything the engine records. It implements engine.Secrets and the
// server's secret manager.
type Vault struct {
	store engine.SecretStore
	kr    *Keyring

	mu     sync.RWMutex
	values map[string]any
	red    *Redactor
	// extra are values hidden although they are not secrets: connections'
	// keys and tokens, by group (SetExtra).
	extra map[string][]string
}

// NewVault loads and decrypts every stored secret.
func NewVault(ctx context.Context, store engine.SecretStore, kr *Keyring) (*Vault, error) {
	v := &Vault{store: store, kr: kr}
	if err := v.reload(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

// Reload re-reads every secret: another node sharing the store changed one
// (the engine calls it on engine.NoticeSecrets).
func (v *Vault) Reload(ctx context.Context) error { return v.reload(ctx) }

// changed re-reads the secrets after this process changed one and, on a
// store shared by several nodes, tells the others to re-read theirs.
func (v *Vault) changed(ctx context.Context, name string) error {
	if err := v.reload(ctx); err != nil {
		return err
	}
	if c, ok := v.store.(engine.Cluster); ok {
		if err := c.Publish(ctx, engine.Notice{Kind: engine.NoticeSecrets, ID: name}); err != nil {
			return fmt.Errorf("secret %s is stored, but the other nodes were not told (they see it at their next reconnect or restart): %w", name, err)
		}
	}
	return nil
}

func (v *Vault) reload(ctx context.Context) error {
	all, err := v.kr.All(ctx, v.store)
	if err != nil {
		return fmt.Errorf("load secrets: %w", err)
	}
	values := make(map[string]any, len(all))
	for n, val := range all {
		values[n] = val
	}
	v.mu.Lock()
	v.values = values
	v.red = NewRedactor(v.plainLocked(nil))
	v.mu.Unlock()
	return nil
}

// plainLocked lists the secret values, the extra ones and more; the caller
// holds mu.
func (v *Vault) plainLocked(more []string) []string {
	plain := make([]string, 0, len(v.values)+len(more))
	for _, x := range v.values {
		if s, ok := x.(string); ok {
			plain = append(plain, s)
		}
	}
	for _, vs := range v.extra {
		plain = append(plain, vs...)
	}
	return append(plain, more...)
}

// SetExtra replaces the group's values that are redacted like secrets
// although expressions cannot read them (connections' keys and tokens).
func (v *Vault) SetExtra(group string, values []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.extra == nil {
		v.extra = map[string][]string{}
	}
	v.extra[group] = append([]string(nil), values...)
	v.red = NewRedactor(v.plainLocked(nil))
}

// Seal encrypts plaintext under name with the keyring (connections' secret parts).
func (v *Vault) Seal(name string, plaintext []byte) ([]byte, error) {
	return v.kr.Seal(name, plaintext)
}

// Open decrypts a value Seal sealed under name.
func (v *Vault) Open(name string, sealed []byte) ([]byte, error) { return v.kr.Open(name, sealed) }

// Set stores a secret encrypted (insert or replace).
func (v *Vault) Set(ctx context.Context, name, value string) error {
	if err := v.kr.PutSecret(ctx, v.store, name, []byte(value)); err != nil {
		return fmt.Errorf("store secret %s: %w", name, err)
	}
	return v.changed(ctx, name)
}

// Delete removes a secret.
func (v *Vault) Delete(ctx context.Context, name string) error {
	if err := v.store.DeleteSecret(ctx, name); err != nil {
		return fmt.Errorf("delete secret %s: %w", name, err)
	}
	return v.changed(ctx, name)
}

// Names lists the secrets' names, sorted; values are never read back.
func (v *Vault) Names(ctx context.Context) ([]string, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]string, 0, len(v.values))
	for n := range v.values {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// Values returns the decrypted secrets (a shared read-only map).
func (v *Vault) Values() map[string]any {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.values
}

// RedactString replaces secret values in s with [redacted].
func (v *Vault) RedactString(s string) string {
	v.mu.RLock()
	r := v.red
	v.mu.RUnlock()
	return r.String(s)
}

// RedactValue returns v with secret values replaced, deeply.
func (v *Vault) RedactValue(x any) any {
	v.mu.RLock()
	r := v.red
	v.mu.RUnlock()
	return r.Value(x)
}

// With returns a redaction that also hides extra: the values one run
// derived from secrets (a base64 of "user:" + secret, an upper-cased key).
func (v *Vault) With(extra []string) engine.Redaction {
	v.mu.RLock()
	plain := v.plainLocked(extra)
	v.mu.RUnlock()
	return NewRedactor(plain)
}

var (
	_ engine.Secrets       = (*Vault)(nil)
	_ engine.Sealer        = (*Vault)(nil)
	_ engine.ExtraRedactor = (*Vault)(nil)
)
