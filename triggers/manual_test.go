package triggers

import (
	"errors"
	"reflect"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

func TestManualEvent(t *testing.T) {
	ev, err := ManualEvent("application/json", []byte(`{"a":1}`), received)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Trigger.Type != "manual" || !reflect.DeepEqual(ev.Trigger.Body, map[string]any{"a": 1.0}) || !ev.Trigger.ReceivedAt.Equal(received) {
		t.Errorf("event = %+v", ev.Trigger)
	}
	if _, err := ManualEvent("application/json", []byte(`{`), received); !errors.Is(err, engine.ErrBadBody) {
		t.Errorf("err = %v, want ErrBadBody", err)
	}
}
