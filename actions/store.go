package actions

import (
	"context"
	"errors"
	"fmt"

	"github.com/hookflow/hookflow/engine"
)

var storeKind = engine.ActionKind{
	Spec: engine.Spec{
		Kind:    "store",
		Title:   "Data store",
		Summary: "Keep values between runs: get, set, delete, count, collect.",
		Group:   "data",
		Fields: []engine.Field{
			{Name: "operation", Label: "Operation", Type: engine.FieldSelect, Required: true,
				Options: []string{"get", "set", "delete", "increment", "append"},
				Help:    "get → {found, value}; set → {key, value}; delete → {deleted}; increment → {value}; append → {list, length}."},
			{Name: "key", Label: "Key", Type: engine.FieldText, Required: true,
				Placeholder: "customers/{{ trigger.body.email }}", Help: "Shared by all flows; use a prefix per flow to keep them apart."},
			{Name: "value", Label: "Value", Type: engine.FieldJSON, Help: "For set and append: any JSON value."},
			{Name: "by", Label: "Increment by", Type: engine.FieldNumber, Default: 1, Help: "For increment (negative to decrement)."},
			{Name: "ttl", Label: "Expires after", Type: engine.FieldDuration, Placeholder: "24h",
				Help: "For set, increment and append: the key disappears this long after the write. Empty: never."},
		},
		Example: `{"operation":"increment","key":"orders/{{ trigger.body.email }}","by":1,"ttl":"720h"}`,
	},
	New: func() engine.Action { return new(Store) },
}

// maxKeyLen bounds store keys.
const maxKeyLen = 512

// Store reads and writes the built-in key-value data shared by flows.
// Outputs: get {found, value}; set {key, value}; delete {deleted};
// increment {value}; append {list, length}.
type Store struct {
	// Operation is get, set, delete, increment or append.
	Operation string `json:"operation"`
	// Key names the entry.
	Key string `json:"key"`
	// Value is written by set and added by append.
	Value any `json:"value,omitempty"`
	// By is added by increment (default 1).
	By *float64 `json:"by,omitempty"`
	// TTL makes set, increment and append entries expire (0: never).
	TTL engine.Duration `json:"ttl,omitempty"`
}

// Validate checks the operation and what it needs.
func (s *Store) Validate() error {
	if s.Key == "" {
		return errors.New("key is required")
	}
	if len(s.Key) > maxKeyLen {
		return fmt.Errorf("key is longer than %d bytes", maxKeyLen)
	}
	switch s.Operation {
	case "get", "delete", "increment":
	case "set", "append":
		if s.Value == nil {
			return fmt.Errorf("value is required for %s", s.Operation)
		}
	case "":
		return errors.New("operation is required")
	default:
		return fmt.Errorf("operation %q is not get, set, delete, increment or append", s.Operation)
	}
	if s.TTL < 0 {
		return errors.New("ttl must not be negative")
	}
	return nil
}

// Run performs the operation.
func (s *Store) Run(ctx context.Context, sc *engine.StepContext) (any, error) {
	if err := s.Validate(); err != nil {
		return nil, engine.Permanent(fmt.Errorf("store: %w", err))
	}
	if sc == nil || sc.KV == nil {
		return nil, engine.Permanent(errors.New("store: no data store configured"))
	}
	kv := sc.KV
	switch s.Operation {
	case "get":
		it, err := kv.KVGet(ctx, s.Key)
		if errors.Is(err, engine.ErrNotFound) {
			return map[string]any{"found": false, "value": nil}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("store get %q: %w", s.Key, err)
		}
		return map[string]any{"found": true, "value": it.Value}, nil
	case "set":
		if err := kv.KVSet(ctx, s.Key, s.Value, s.TTL.D()); err != nil {
			return nil, fmt.Errorf("store set %q: %w", s.Key, err)
		}
		return map[string]any{"key": s.Key, "value": s.Value}, nil
	case "delete":
		err := kv.KVDelete(ctx, s.Key)
		if errors.Is(err, engine.ErrNotFound) {
			return map[string]any{"deleted": false}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("store delete %q: %w", s.Key, err)
		}
		return map[string]any{"deleted": true}, nil
	case "increment":
		by := 1.0
		if s.By != nil {
			by = *s.By
		}
		v, err := kv.KVIncrement(ctx, s.Key, by, s.TTL.D())
		if err != nil {
			return nil, fmt.Errorf("store increment %q: %w", s.Key, err)
		}
		return map[string]any{"value": v}, nil
	default: // append
		list, err := kv.KVAppend(ctx, s.Key, s.Value, s.TTL.D())
		if err != nil {
			return nil, fmt.Errorf("store append %q: %w", s.Key, err)
		}
		return map[string]any{"list": list, "length": len(list)}, nil
	}
}

var (
	_ engine.Action    = (*Store)(nil)
	_ engine.Validator = (*Store)(nil)
)
