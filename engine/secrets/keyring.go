// Package secrets keeps secret values encrypted at rest and out of what
// Hookflow shows.
//
// Envelope encryption: a 32-byte master key comes from HOOKFLOW_SECRET_KEY or
// the key file <data dir>/secret.key (LoadKey). It only seals a random data
// key, stored in the store's meta; the data key seals every secret value
// (Keyring). Both layers use AES-256-GCM with a random nonce; a secret's name
// is its additional data, so a sealed value moved to another name does not
// open. A master key other than the one the data dir was created with fails
// with ErrKeyMismatch, and the server refuses to start.
//
// Sealed format: one version byte (1), the 12-byte nonce, then the GCM
// ciphertext with its 16-byte tag.
//
// Redactor replaces secret values with [redacted] in strings and JSON-like
// data before they reach runs, logs, errors or metrics.
package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/hookflow/hookflow/engine"
)

// KeySize is the length of master and data keys: AES-256.
const KeySize = 32

// MetaDataKey is the meta entry holding the data key sealed by the master key.
const MetaDataKey = "secrets.data_key"

const (
	sealVersion = 1
	nonceSize   = 12
	tagSize     = 16
)

// dataKeyAAD binds the sealed data key to its purpose.
var dataKeyAAD = []byte("hookflow data key v1")

var (
	// ErrKeyMismatch: the master key cannot open the data key stored in this
	// data dir, so it is not the key the data dir was created with.
	ErrKeyMismatch = errors.New("the secret key does not match the one this data dir was created with")
	// ErrDecrypt: a sealed value is malformed, tampered with, or sealed under
	// another name or key.
	ErrDecrypt = errors.New("cannot decrypt sealed value")
)

// Keyring seals and opens secret values with the data dir's data key. It is
// safe for concurrent use.
type Keyring struct {
	aead cipher.AEAD
}

// NewKeyring returns the keyring of the store behind meta. On first use it
// generates a random data key and stores it sealed by masterKey; afterwards it
// unseals that data key, failing with an error wrapping ErrKeyMismatch when
// masterKey is not the key it was sealed with.
func NewKeyring(ctx context.Context, meta engine.MetaStore, masterKey []byte) (*Keyring, error) {
	master, err := newAEAD(masterKey)
	if err != nil {
		return nil, fmt.Errorf("open keyring: master key: %w", err)
	}
	sealed, err := meta.GetMeta(ctx, MetaDataKey)
	switch {
	case errors.Is(err, engine.ErrNotFound):
		dataKey := make([]byte, KeySize)
		if _, err := rand.Read(dataKey); err != nil {
			return nil, fmt.Errorf("open keyring: generate data key: %w", err)
		}
		sealed, err := seal(master, dataKey, dataKeyAAD)
		if err != nil {
			return nil, fmt.Errorf("open keyring: %w", err)
		}
		if err := meta.PutMeta(ctx, MetaDataKey, sealed); err != nil {
			return nil, fmt.Errorf("open keyring: store data key: %w", err)
		}
		return newKeyring(dataKey)
	case err != nil:
		return nil, fmt.Errorf("open keyring: read data key: %w", err)
	}
	if len(sealed) != 1+nonceSize+KeySize+tagSize || sealed[0] != sealVersion {
		return nil, fmt.Errorf("open keyring: the data key stored in meta %q is malformed", MetaDataKey)
	}
	dataKey, err := open(master, sealed, dataKeyAAD)
	if err != nil {
		return nil, fmt.Errorf("open keyring: %w (set HOOKFLOW_SECRET_KEY or restore %s of this data dir; a hookflow.db copied from another data dir needs that dir's key)", ErrKeyMismatch, KeyFile)
	}
	return newKeyring(dataKey)
}

func newKeyring(dataKey []byte) (*Keyring, error) {
	aead, err := newAEAD(dataKey)
	if err != nil {
		return nil, fmt.Errorf("open keyring: data key: %w", err)
	}
	return &Keyring{aead: aead}, nil
}

// newAEAD returns AES-256-GCM for a 32-byte key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("want %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts plaintext for the secret called name.
func (k *Keyring) Seal(name string, plaintext []byte) ([]byte, error) {
	out, err := seal(k.aead, plaintext, []byte(name))
	if err != nil {
		return nil, fmt.Errorf("seal secret %q: %w", name, err)
	}
	return out, nil
}

// Open decrypts a value sealed for the secret called name; a value that was
// tampered with, sealed under another name or by another key fails with an
// error wrapping ErrDecrypt.
func (k *Keyring) Open(name string, sealed []byte) ([]byte, error) {
	out, err := open(k.aead, sealed, []byte(name))
	if err != nil {
		return nil, fmt.Errorf("open secret %q: %w", name, err)
	}
	return out, nil
}

// PutSecret seals value and stores it in st under name.
func (k *Keyring) PutSecret(ctx context.Context, st engine.SecretStore, name string, value []byte) error {
	sealed, err := k.Seal(name, value)
	if err != nil {
		return err
	}
	return st.PutSecret(ctx, name, sealed)
}

// GetSecret reads the secret name from st and opens it.
func (k *Keyring) GetSecret(ctx context.Context, st engine.SecretStore, name string) ([]byte, error) {
	sealed, err := st.GetSecret(ctx, name)
	if err != nil {
		return nil, err
	}
	return k.Open(name, sealed)
}

// All opens every secret of st: name → value (for expressions' secrets.NAME
// and for NewRedactor).
func (k *Keyring) All(ctx context.Context, st engine.SecretStore) (map[string]string, error) {
	names, err := st.ListSecrets(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(names))
	for _, name := range names {
		v, err := k.GetSecret(ctx, st, name)
		if err != nil {
			return nil, err
		}
		out[name] = string(v)
	}
	return out, nil
}

func seal(aead cipher.AEAD, plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	return aead.Seal(out, out[1:1+nonceSize], plaintext, aad), nil
}

func open(aead cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 1+nonceSize+tagSize || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: bad format", ErrDecrypt)
	}
	out, err := aead.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return out, nil
}
