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
}

// NewVault loads and decrypts every stored secret.
func NewVault(ctx context.Context, store engine.SecretStore, kr *Keyring) (*Vault, error) {
	v := &Vault{store: store, kr: kr}
	if err := v.reload(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *Vault) reload(ctx context.Context) error {
	all, err := v.kr.All(ctx, v.store)
	if err != nil {
		return fmt.Errorf("load secrets: %w", err)
	}
	values := make(map[string]any, len(all))
	plain := make([]string, 0, len(all))
	for n, val := range all {
		values[n] = val
		plain = append(plain, val)
	}
	v.mu.Lock()
	v.values, v.red = values, NewRedactor(plain)
	v.mu.Unlock()
	return nil
}

// Set stores a secret encrypted (insert or replace).
func (v *Vault) Set(ctx context.Context, name, value string) error {
	if err := v.kr.PutSecret(ctx, v.store, name, []byte(value)); err != nil {
		return fmt.Errorf("store secret %s: %w", name, err)
	}
	return v.reload(ctx)
}

// Delete removes a secret.
func (v *Vault) Delete(ctx context.Context, name string) error {
	if err := v.store.DeleteSecret(ctx, name); err != nil {
		return fmt.Errorf("delete secret %s: %w", name, err)
	}
	return v.reload(ctx)
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
	plain := make([]string, 0, len(v.values)+len(extra))
	for _, x := range v.values {
		if s, ok := x.(string); ok {
			plain = append(plain, s)
		}
	}
	v.mu.RUnlock()
	return NewRedactor(append(plain, extra...))
}

var _ engine.Secrets = (*Vault)(nil)
