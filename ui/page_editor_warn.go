package ui

// Warnings before the first run: what will fail although the flow saves —
// a secret used but not set, a call to an address the SSRF guard refuses.
// (A schedule left in UTC while the browser's zone differs is found by the
// browser: the trigger card carries the zone for app.js to compare.)

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/hookflow/hookflow/ui/views"
)

var secretRefRe = regexp.MustCompile(`secrets(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*["']([^"']+)["']\s*\])`)

// walkStrings calls f with every string in v and its path.
func walkStrings(path string, v any, f func(path, s string)) {
	switch x := v.(type) {
	case string:
		f(path, x)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			walkStrings(p, x[k], f)
		}
	case []any:
		for i, it := range x {
			walkStrings(fmt.Sprintf("%s[%d]", path, i), it, f)
		}
	}
}

// warnings lists the draft's problems that do not block saving.
func (s *Server) warnings(doc map[string]any, secretNames []string, labels map[string]string, anchors map[string]string) []views.WarningView {
	have := map[string]bool{}
	for _, n := range secretNames {
		have[n] = true
	}
	var out []views.WarningView
	seen := map[string]bool{}
	add := func(path, text string) {
		if seen[text] {
			return
		}
		seen[text] = true
		owner := ""
		for p := range labels {
			if len(p) > len(owner) && (path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[")) {
				owner = p
			}
		}
		w := views.WarningView{Text: text, Anchor: anchors[owner]}
		if l := labels[owner]; l != "" {
			w.Text = l + ": " + text
		}
		out = append(out, w)
	}
	walkStrings("", doc, func(path, str string) {
		if s.Secrets != nil {
			for _, m := range secretRefRe.FindAllStringSubmatch(str, -1) {
				name := m[1] + m[2]
				if !have[name] {
					add(path, fmt.Sprintf("uses the secret %s, which is not set yet. Add it on the Secrets page before the first run.", name))
				}
			}
		}
		if s.NetCheck != nil {
			if msg, ok := addressWarning(str, s.NetCheck); ok {
				add(path, msg)
			}
		}
	})
	return out
}

// addressWarning says why an http(s) URL with a literal host will be refused.
func addressWarning(raw string, check func(netip.Addr) error) (string, bool) {
	if !strings.HasPrefix(raw, "http://") && !strings.HasPrefix(raw, "https://") {
		return "", false
	}
	if i := strings.Index(raw, "{{"); i >= 0 {
		raw = raw[:i] // the host must come before any placeholder
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return "", false
	}
	host := u.Hostname()
	var ip netip.Addr
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		ip = netip.MustParseAddr("127.0.0.1")
	} else if ip, err = netip.ParseAddr(host); err != nil {
		return "", false
	}
	if err := check(ip); err != nil {
		if ip.IsLinkLocalUnicast() {
			return fmt.Sprintf("calls %s, which Hookflow always refuses (%v).", host, err), true
		}
		return fmt.Sprintf("calls %s, which Hookflow refuses (%v). To allow it, start the server with --allow-nets %s (or HOOKFLOW_ALLOW_NETS).", host, err, netip.PrefixFrom(ip, ip.BitLen()).String()), true
	}
	return "", false
}
