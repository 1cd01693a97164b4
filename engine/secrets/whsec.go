package secrets

import (
	"encoding/base64"
	"errors"
	"strings"
)

// ErrBadWhsec: a Standard Webhooks secret that is not "whsec_" + base64 of a
// non-empty key.
var ErrBadWhsec = errors.New(`a Standard Webhooks secret is "whsec_" followed by the base64 of a non-empty key`)

// WhsecKey decodes a Standard Webhooks secret ("whsec_" + base64) into the
// HMAC key. An empty key is refused: it would let anyone sign.
func WhsecKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return nil, ErrBadWhsec
	}
	return key, nil
}
