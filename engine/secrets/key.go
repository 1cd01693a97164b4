package secrets

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the master key file's name inside the data dir.
const KeyFile = "secret.key"

// LoadKey returns the 32-byte master key. When fromEnv (the value of
// HOOKFLOW_SECRET_KEY or --secret-key) is not empty the key comes from it: 64
// hex characters or the base64 of 32 bytes are used as they are, any other
// string is hashed with SHA-256. Otherwise the key is read from
// <dataDir>/secret.key (64 hex characters), which is created with a random key
// and mode 0600 when missing; a key file in another format is refused.
func LoadKey(dataDir, fromEnv string) ([]byte, error) {
	if s := strings.TrimSpace(fromEnv); s != "" {
		return keyFromString(s), nil
	}
	path := filepath.Join(dataDir, KeyFile)
	key, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKeyFile(dataDir, path)
	}
	return key, err
}

// keyFromString decodes a configured key: hex, base64, or a passphrase.
func keyFromString(s string) []byte {
	if len(s) == 2*KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k
		}
	}
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// readKeyFile reads and checks a key file.
func readKeyFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	s := strings.TrimSpace(string(data))
	k, err := hex.DecodeString(s)
	if err != nil || len(k) != KeySize {
		return nil, fmt.Errorf("key file %s: want %d hex characters (a key made by hookflow), found something else", path, 2*KeySize)
	}
	return k, nil
}

// createKeyFile writes a new random key to path, mode 0600. The file appears
// complete or not at all; if another process created it first, that key wins.
func createKeyFile(dataDir, path string) ([]byte, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	tmp, err := os.CreateTemp(dataDir, ".secret.key-*")
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if _, err := tmp.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	// Link fails when path exists: no key is ever replaced.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyFile(path)
		}
		// No hard links here: create the file exclusively instead.
		if err := writeExclusive(path, hex.EncodeToString(key)+"\n"); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return readKeyFile(path)
			}
			return nil, fmt.Errorf("create key file: %w", err)
		}
	}
	if d, err := os.Open(dataDir); err == nil {
		_ = d.Sync() // make the new name durable
		d.Close()
	}
	return key, nil
}

// writeExclusive creates path (mode 0600, failing when it exists) with data.
func writeExclusive(path, data string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
