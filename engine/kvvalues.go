package engine

import (
	"encoding/json"
	"fmt"
)

// The data store's atomic operations, as rules over a stored JSON value.
// Every store applies them inside its own transaction, so both backends
// agree on what increment and append mean.

// KVAddNumber adds by to old (missing or null counts as 0). A value that is
// not a number is an error wrapping ErrConflict.
func KVAddNumber(old json.RawMessage, by float64) (json.RawMessage, float64, error) {
	var n float64
	if len(old) > 0 && string(old) != "null" {
		if err := json.Unmarshal(old, &n); err != nil {
			return nil, 0, fmt.Errorf("value is not a number: %w", ErrConflict)
		}
	}
	n += by
	data, err := json.Marshal(n)
	return data, n, err
}

// KVAppendValue appends elem (a JSON value) to the list in old (missing or
// null counts as empty) and returns the new list. A value that is not a
// list is an error wrapping ErrConflict.
func KVAppendValue(old, elem json.RawMessage) (json.RawMessage, []any, error) {
	var list []json.RawMessage
	if len(old) > 0 && string(old) != "null" {
		if err := json.Unmarshal(old, &list); err != nil {
			return nil, nil, fmt.Errorf("value is not a list: %w", ErrConflict)
		}
	}
	data, err := json.Marshal(append(list, elem))
	if err != nil {
		return nil, nil, err
	}
	var out []any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, nil, err
	}
	return data, out, nil
}
