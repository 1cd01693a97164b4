package ui_test

import (
	"context"
	"testing"
)

// TestUndoStepRemoval: removing a step offers Undo, which puts it back in
// its place with its settings; a draft without a removal offers nothing.
func TestUndoStepRemoval(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	e.flow(`{"id":"f","name":"F","trigger":{"type":"webhook"},"steps":[
		{"id":"a","type":"log","with":{"message":"one"}},
		{"id":"b","type":"log","with":{"message":"two {{ trigger.body.x }}"}},
		{"id":"c","type":"log","with":{"message":"three"}}]}`)
	p := e.get("/flows/f")
	if byTestID(p.doc, "undo-bar") != nil {
		t.Fatal("undo offered before any removal")
	}
	p = e.edit(p, csrf, "remove|steps[1]", nil)
	if got := cardOrder(p); len(got) != 2 {
		t.Fatalf("cards after remove = %v", got)
	}
	if got := text(mustTestID(t, p, "undo-bar")); got != `Removed step "b". Undo` {
		t.Errorf("undo bar = %q", got)
	}
	p = e.edit(p, csrf, "undo", nil)
	if got := cardOrder(p); len(got) != 3 || got[1] != "step-b" {
		t.Fatalf("cards after undo = %v", got)
	}
	if byTestID(p.doc, "undo-bar") != nil {
		t.Error("undo offered twice")
	}
	p = e.edit(p, csrf, "save", nil)
	f, err := e.store.GetFlow(context.Background(), "f")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Steps) != 3 || f.Steps[1].ID != "b" || string(f.Steps[1].With) != `{"message":"two {{ trigger.body.x }}"}` {
		t.Errorf("saved steps = %+v", f.Steps)
	}
	// A second step with the same id blocks the undo with a reason.
	p = e.edit(p, csrf, "remove|steps[0]", nil)
	p = e.edit(p, csrf, "undo", map[string]string{"f:text:steps[0].id": "a"})
	if got := text(mustTestID(t, p, "problems")); got == "" {
		t.Error("no problem when the id is taken")
	}
}
