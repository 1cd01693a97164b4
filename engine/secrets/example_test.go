package secrets_test

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/secrets"
)

// memStore stands in for the server's store (boltstore.Store in production).
type memStore struct{ meta, sec map[string][]byte }

func (m *memStore) GetMeta(_ context.Context, name string) ([]byte, error) {
	if v, ok := m.meta[name]; ok {
		return v, nil
	}
	return nil, engine.ErrNotFound
}
func (m *memStore) PutMeta(_ context.Context, name string, v []byte) error {
	m.meta[name] = v
	return nil
}
func (m *memStore) PutSecret(_ context.Context, name string, v []byte) error {
	m.sec[name] = v
	return nil
}
func (m *memStore) GetSecret(_ context.Context, name string) ([]byte, error) {
	if v, ok := m.sec[name]; ok {
		return v, nil
	}
	return nil, engine.ErrNotFound
}
func (m *memStore) ListSecrets(context.Context) ([]string, error) {
	var names []string
	for n := range m.sec {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}
func (m *memStore) DeleteSecret(_ context.Context, name string) error {
	delete(m.sec, name)
	return nil
}

// The server loads the master key, opens the keyring on its store, seals
// secret values before storing them and redacts them from what it shows.
func Example() {
	dir, _ := os.MkdirTemp("", "hookflow-example")
	defer os.RemoveAll(dir)
	store := &memStore{meta: map[string][]byte{}, sec: map[string][]byte{}}
	ctx := context.Background()

	master, _ := secrets.LoadKey(dir, "") // creates dir/secret.key at first start
	keyring, err := secrets.NewKeyring(ctx, store, master)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = keyring.PutSecret(ctx, store, "STRIPE_WHSEC", []byte("whsec_s3cr3t"))
	value, _ := keyring.GetSecret(ctx, store, "STRIPE_WHSEC")
	fmt.Println(string(value))

	all, _ := keyring.All(ctx, store)
	r := secrets.NewRedactor([]string{all["STRIPE_WHSEC"]})
	fmt.Println(r.String("verify with whsec_s3cr3t failed"))

	// Another master key for the same data is refused.
	_, err = secrets.NewKeyring(ctx, store, make([]byte, secrets.KeySize))
	fmt.Println(err)
	// Output:
	// whsec_s3cr3t
	// verify with [redacted] failed
	// open keyring: the secret key does not match the one this data dir was created with (set HOOKFLOW_SECRET_KEY or restore secret.key of this data dir; a hookflow.db copied from another data dir needs that dir's key)
}

func ExampleRedactor_Value() {
	r := secrets.NewRedactor([]string{"hunter22", "ab"}) // "ab" is too short to hide
	fmt.Println(r.Value(map[string]any{
		"headers": map[string]any{"authorization": "Bearer hunter22"},
		"items":   []any{"ab", 42.0},
	}))
	// Output:
	// map[headers:map[authorization:Bearer [redacted]] items:[ab 42]]
}
