package triggers

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

// Every trigger kind is described (DESIGN §2): title, summary, labelled fields
// matching the config's json tags, and an example that decodes strictly and
// compiles.
func TestRegisteredKinds(t *testing.T) {
	r := engine.NewRegistry()
	Register(r)
	for _, name := range []string{"webhook", "manual"} {
		if _, ok := r.Trigger(name); !ok {
			t.Errorf("trigger kind %q is not registered", name)
		}
	}
	for _, k := range r.Triggers() {
		t.Run(k.Spec.Kind, func(t *testing.T) {
			if k.Spec.Title == "" || k.Spec.Summary == "" || k.Spec.Group != "trigger" {
				t.Errorf("spec lacks title, summary or group: %+v", k.Spec)
			}
			cfg := k.New()
			checkFields(t, "", k.Spec.Fields, reflect.TypeOf(cfg).Elem())
			dec := json.NewDecoder(strings.NewReader(k.Spec.Example))
			dec.DisallowUnknownFields()
			if err := dec.Decode(cfg); err != nil {
				t.Fatalf("example does not decode: %v", err)
			}
			if c, ok := cfg.(engine.Compiler); ok {
				if ps := c.Compile(); len(ps) > 0 {
					t.Errorf("example has problems: %v", ps)
				}
			}
		})
	}
}

func checkFields(t *testing.T, path string, fields []engine.Field, typ reflect.Type) {
	t.Helper()
	tags := map[string]reflect.Type{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		tags[name] = f.Type
	}
	seen := map[string]bool{}
	for _, f := range fields {
		seen[f.Name] = true
		ft, ok := tags[f.Name]
		if !ok {
			t.Errorf("spec field %s%s has no config field", path, f.Name)
			continue
		}
		if f.Label == "" {
			t.Errorf("spec field %s%s lacks a label", path, f.Name)
		}
		if f.Type == engine.FieldObject {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			checkFields(t, path+f.Name+".", f.Fields, ft)
		}
	}
	for name := range tags {
		if !seen[name] {
			t.Errorf("config field %s%s is not in the spec", path, name)
		}
	}
}
