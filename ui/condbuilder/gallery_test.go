package condbuilder_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/flows"
	"github.com/hookflow/hookflow/ui/condbuilder"
)

// conditions lists a flow document's conditions: when, if and cases' when.
func conditions(v any, out map[string]string, path string) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			p := path + "." + k
			if s, ok := c.(string); ok && (k == "when" || k == "if") {
				out[p] = s
				continue
			}
			conditions(c, out, p)
		}
	case []any:
		for i, c := range x {
			conditions(c, out, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// TestGalleryConditionsFitTheBuilder: the everyday flows of the gallery
// open with every condition as builder rows (no expression to read), and
// every other condition either fits or is one the builder cannot show.
func TestGalleryConditionsFitTheBuilder(t *testing.T) {
	everyday := map[string]bool{"stripe-payment-receipt.json": true, "form-lead.json": true, "github-issue-discord.json": true}
	files, err := fs.Glob(flows.FS, "*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("gallery: %v", err)
	}
	for _, name := range files {
		b, _ := fs.ReadFile(flows.FS, name)
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		conds := map[string]string{}
		conditions(doc, conds, strings.TrimSuffix(name, ".json"))
		for where, src := range conds {
			c, ok := condbuilder.Parse(src)
			if !ok {
				if everyday[name] {
					t.Errorf("%s: %s is code, want builder rows", where, src)
				} else {
					t.Logf("%s: %s stays code", where, src)
				}
				continue
			}
			if _, err := condbuilder.Build(c); err != nil {
				t.Errorf("%s: %s reads as rows that do not build: %v", where, src, err)
			}
		}
	}
}
