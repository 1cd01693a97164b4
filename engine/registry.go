package engine

import (
	"fmt"
	"sort"
)

// Registry holds every action and trigger kind. Kinds are added once, at start.
type Registry struct {
	actions  map[string]ActionKind
	triggers map[string]TriggerKind
	source   KindSource
}

// NewRegistry returns a registry holding the engine's control steps.
func NewRegistry() *Registry {
	return &Registry{actions: map[string]ActionKind{}, triggers: map[string]TriggerKind{}}
}

// AddAction registers an action kind; it panics on a duplicate or a name taken by a control step.
func (r *Registry) AddAction(k ActionKind) {
	if _, ok := r.actions[k.Spec.Kind]; ok || IsControl(k.Spec.Kind) {
		panic(fmt.Sprintf("engine: action kind %q registered twice", k.Spec.Kind))
	}
	r.actions[k.Spec.Kind] = k
}

// AddTrigger registers a trigger kind; it panics on a duplicate.
func (r *Registry) AddTrigger(k TriggerKind) {
	if _, ok := r.triggers[k.Spec.Kind]; ok {
		panic(fmt.Sprintf("engine: trigger kind %q registered twice", k.Spec.Kind))
	}
	r.triggers[k.Spec.Kind] = k
}

// Action returns the action kind named kind.
func (r *Registry) Action(kind string) (ActionKind, bool) {
	k, ok := r.actions[kind]
	return k, ok
}

// Trigger returns the trigger kind named kind.
func (r *Registry) Trigger(kind string) (TriggerKind, bool) {
	k, ok := r.triggers[kind]
	return k, ok
}

// Actions lists action kinds sorted by kind.
func (r *Registry) Actions() []ActionKind {
	out := make([]ActionKind, 0, len(r.actions))
	for _, k := range r.actions {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec.Kind < out[j].Spec.Kind })
	return out
}

// Triggers lists trigger kinds sorted by kind.
func (r *Registry) Triggers() []TriggerKind {
	out := make([]TriggerKind, 0, len(r.triggers))
	for _, k := range r.triggers {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec.Kind < out[j].Spec.Kind })
	return out
}

// StepSpecs lists every step type the editor's palette offers: the control
// steps first, then the actions.
func (r *Registry) StepSpecs() []Spec {
	out := append([]Spec(nil), ControlSpecs...)
	for _, k := range r.Actions() {
		out = append(out, k.Spec)
	}
	if r.source != nil {
		out = append(out, r.source.Specs()...)
	}
	return out
}

// IsControl reports whether t is a step type the engine runs itself.
func IsControl(t string) bool {
	switch t {
	case StepFilter, StepBranch, StepForeach, StepDelay, StepSet, StepRespond, StepFail,
		StepWait, StepCall, StepParallel:
		return true
	}
	return false
}

// KindSource supplies action kinds that can change while the server runs:
// the operations of app files (built in and imported). It is safe for
// concurrent use.
type KindSource interface {
	// Kind returns the kind of a step type; with is the step's raw `with`
	// (the generic "app" type names its app and operation there).
	Kind(stepType string, with []byte) (ActionKind, bool)
	// Specs lists the source's kinds for the palette and GET /api/v1/kinds.
	Specs() []Spec
}

// SetSource adds a source of kinds, consulted after the registered ones.
func (r *Registry) SetSource(s KindSource) { r.source = s }

// Source returns the source of kinds (nil when none).
func (r *Registry) Source() KindSource { return r.source }

// ActionFor returns the action kind of a step: a registered kind, else one
// of the source's.
func (r *Registry) ActionFor(stepType string, with []byte) (ActionKind, bool) {
	if k, ok := r.actions[stepType]; ok {
		return k, true
	}
	if r.source != nil {
		return r.source.Kind(stepType, with)
	}
	return ActionKind{}, false
}
