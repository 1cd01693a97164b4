package engine

import "strings"

// TemplatePart is a piece of a template string: text, or a {{ }}
// placeholder with its expression and its raw text as written.
type TemplatePart struct {
	Text, Expr, Raw string
}

// SplitTemplate cuts a template string into text and placeholders by the
// rules CompileString uses ("}}" inside a string literal does not close);
// ok is false when a {{ is not closed. The editor shows placeholders as pills.
func SplitTemplate(s string) (parts []TemplatePart, ok bool) {
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				parts = append(parts, TemplatePart{Text: rest})
			}
			return parts, true
		}
		if i > 0 {
			parts = append(parts, TemplatePart{Text: rest[:i]})
		}
		end := closingBraces(rest[i+2:])
		if end < 0 {
			return nil, false
		}
		parts = append(parts, TemplatePart{Expr: strings.TrimSpace(rest[i+2 : i+2+end]), Raw: rest[i : i+2+end+2]})
		rest = rest[i+2+end+2:]
	}
}
