package actions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// tokenCache keeps OAuth 2.0 client-credentials access tokens until shortly
// before they expire, keyed by a hash of the token URL and credentials. It is
// the package's one piece of shared state: a cache, safe to lose.
var tokenCache = struct {
	sync.Mutex
	m map[string]cachedToken
}{m: map[string]cachedToken{}}

const maxCachedTokens = 1000

type cachedToken struct {
	token   string
	expires time.Time
}

func tokenKey(a *Auth) string {
	h := sha256.New()
	for _, s := range []string{a.TokenURL, a.ClientID, a.ClientSecret, strings.Join(a.Scopes, " "), a.ClientAuth} {
		fmt.Fprintf(h, "%d:%s|", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func dropToken(a *Auth) {
	tokenCache.Lock()
	delete(tokenCache.m, tokenKey(a))
	tokenCache.Unlock()
}

// oauthToken returns an access token for a, from the cache when it is still
// valid (fromCache) or from the token endpoint.
func oauthToken(ctx context.Context, sc *engine.StepContext, client *http.Client, a *Auth) (token string, fromCache bool, err error) {
	key := tokenKey(a)
	t := now(sc)
	tokenCache.Lock()
	c, ok := tokenCache.m[key]
	tokenCache.Unlock()
	if ok && t.Before(c.expires) {
		return c.token, true, nil
	}

	op := "oauth2 token request to " + a.TokenURL
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(a.Scopes) > 0 {
		form.Set("scope", strings.Join(a.Scopes, " "))
	}
	if a.ClientAuth == "body" {
		form.Set("client_id", a.ClientID)
		form.Set("client_secret", a.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", false, engine.Permanent(fmt.Errorf("%s: %s", op, redact(err.Error(), a.secrets())))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if a.ClientAuth != "body" {
		// RFC 6749 §2.3.1: both parts form-encoded, then HTTP Basic.
		req.SetBasicAuth(url.QueryEscape(a.ClientID), url.QueryEscape(a.ClientSecret))
	}
	ans, err := send(sc, client, req, op, 1<<20, a.secrets())
	if err != nil {
		return "", false, err
	}
	var body struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(ans.Raw, &body); err != nil || body.AccessToken == "" {
		return "", false, engine.Permanent(fmt.Errorf("%s: answer has no access_token", op))
	}
	if body.TokenType != "" && !strings.EqualFold(body.TokenType, "bearer") {
		return "", false, engine.Permanent(fmt.Errorf("%s: token_type %q is not bearer", op, body.TokenType))
	}
	if secs := expiresIn(body.ExpiresIn); secs > 0 {
		life := time.Duration(secs) * time.Second
		// Renew a little early so a token does not expire in flight.
		margin := min(30*time.Second, life/10)
		tokenCache.Lock()
		if len(tokenCache.m) >= maxCachedTokens {
			for k, v := range tokenCache.m {
				if !t.Before(v.expires) || len(tokenCache.m) >= maxCachedTokens {
					delete(tokenCache.m, k)
				}
			}
		}
		tokenCache.m[key] = cachedToken{token: body.AccessToken, expires: t.Add(life - margin)}
		tokenCache.Unlock()
	}
	return body.AccessToken, false, nil
}

// expiresIn reads expires_in, a number or (from some servers) a string.
func expiresIn(raw json.RawMessage) int64 {
	if len(raw) == 0 {
		return 0
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err == nil {
		return int64(n)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		var v int64
		if _, err := fmt.Sscan(s, &v); err == nil {
			return v
		}
	}
	return 0
}
