package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// undoKey holds, in a request's locals, the step a "remove" took out.
type undoKey struct{}

// undoStep is a removed step: where it was and what it was. The editor
// carries it in a hidden field until the next change, so "Undo" puts it back.
type undoStep struct {
	token, text string
}

type undoDoc struct {
	List  string `json:"list"`
	Index int    `json:"index"`
	Step  any    `json:"step"`
}

// removal describes the step a "remove|path" op takes out of the draft.
func removal(doc map[string]any, op string) (undoStep, bool) {
	verb, arg, _ := strings.Cut(op, "|")
	if verb != "remove" {
		return undoStep{}, false
	}
	list, i, ok := splitIndex(arg)
	a := listAt(doc, list)
	if !ok || i >= len(a) {
		return undoStep{}, false
	}
	b, err := json.Marshal(undoDoc{List: list, Index: i, Step: a[i]})
	if err != nil {
		return undoStep{}, false
	}
	m, _ := a[i].(map[string]any)
	id, _ := m["id"].(string)
	return undoStep{token: string(b), text: fmt.Sprintf("Removed step %q.", id)}, true
}

// undoRemove puts a removed step back where it was.
func undoRemove(doc map[string]any, token string) error {
	dec := json.NewDecoder(strings.NewReader(token))
	dec.UseNumber()
	var u undoDoc
	if err := dec.Decode(&u); err != nil || u.Step == nil {
		return errors.New("nothing to undo")
	}
	a := listAt(doc, u.List)
	if _, exists := getAt(doc, u.List); !exists && u.List != "steps" {
		return errors.New("the list the step was in is gone")
	}
	if m, ok := u.Step.(map[string]any); ok {
		if id, _ := m["id"].(string); usedIDs(doc)[id] {
			return fmt.Errorf("a step with id %q exists again; rename it first", id)
		}
	}
	if u.Index < 0 || u.Index > len(a) {
		u.Index = len(a)
	}
	a = append(a[:u.Index:u.Index], append([]any{u.Step}, a[u.Index:]...)...)
	if !setAt(doc, u.List, a) {
		return errors.New("cannot put the step back")
	}
	return nil
}
