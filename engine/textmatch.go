package engine

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// TextMatcher finds a text, ignoring case, in the JSON of a trigger body —
// the run search (`q`) of every store.
type TextMatcher struct {
	plain, escaped []byte
	ascii          bool
}

// NewTextMatcher returns nil for an empty text (no filter).
func NewTextMatcher(text string) *TextMatcher {
	if text == "" {
		return nil
	}
	m := &TextMatcher{plain: bytes.ToLower([]byte(text))}
	if q, err := json.Marshal(text); err == nil && len(q) >= 2 {
		m.escaped = bytes.ToLower(q[1 : len(q)-1])
	}
	m.ascii = utf8.RuneCount(m.plain) == len(m.plain) && utf8.RuneCount(m.escaped) == len(m.escaped)
	return m
}

// In reports whether the text occurs in js, ignoring case; buf is reused
// for the lower-cased copy and returned.
func (m *TextMatcher) In(js, buf []byte) (bool, []byte) {
	if m.ascii { // ASCII needles only match ASCII bytes: lower-case those alone
		buf = append(buf[:0], js...)
		for i, c := range buf {
			if 'A' <= c && c <= 'Z' {
				buf[i] = c + 'a' - 'A'
			}
		}
	} else {
		buf = append(buf[:0], bytes.ToLower(js)...)
	}
	return bytes.Contains(buf, m.plain) || (m.escaped != nil && bytes.Contains(buf, m.escaped)), buf
}
