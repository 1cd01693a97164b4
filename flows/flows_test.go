package flows_test

import (
	"io/fs"
	"testing"

	"github.com/hookflow/hookflow/actions"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/flows"
	"github.com/hookflow/hookflow/triggers"
)

// TestExamplesValidate: every shipped example decodes strictly and validates,
// and its file name is its id.
func TestExamplesValidate(t *testing.T) {
	reg := engine.NewRegistry()
	triggers.Register(reg)
	actions.Register(reg)
	files, err := fs.Glob(flows.FS, "*.json")
	if err != nil || len(files) < 5 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			b, err := fs.ReadFile(flows.FS, name)
			if err != nil {
				t.Fatal(err)
			}
			f, err := engine.DecodeFlow(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range engine.Validate(f, reg) {
				t.Errorf("%s", p)
			}
			if f.ID+".json" != name {
				t.Errorf("id %q does not match the file name", f.ID)
			}
			if f.Description == "" {
				t.Error("examples need a description for the template gallery")
			}
		})
	}
}
