package boltstore

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

func TestKV(t *testing.T) {
	s, _ := openTest(t, Options{})
	mustNil(t, s.KVSet(ctx, "user:1", map[string]any{"name": "Ada"}, 0))
	mustNil(t, s.KVSet(ctx, "user:2", "Bob", time.Hour))
	mustNil(t, s.KVSet(ctx, "user:3", 3, time.Millisecond))
	mustNil(t, s.KVSet(ctx, "zeta", true, 0))
	wantErr(t, s.KVSet(ctx, "", 1, 0), engine.ErrInvalid)
	time.Sleep(5 * time.Millisecond) // user:3 expires

	tests := []struct {
		key     string
		want    any
		wantTTL bool
		wantErr error
	}{
		{key: "user:1", want: map[string]any{"name": "Ada"}},
		{key: "user:2", want: "Bob", wantTTL: true},
		{key: "user:3", wantErr: engine.ErrNotFound},
		{key: "nope", wantErr: engine.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			it, err := s.KVGet(ctx, tc.key)
			if tc.wantErr != nil {
				wantErr(t, err, tc.wantErr)
				return
			}
			mustNil(t, err)
			if fmt.Sprint(it.Value) != fmt.Sprint(tc.want) || it.Key != tc.key || (it.ExpiresAt != nil) != tc.wantTTL || it.UpdatedAt.IsZero() {
				t.Fatalf("item = %+v", it)
			}
		})
	}

	list, err := s.KVList(ctx, "user:", 0)
	mustNil(t, err)
	var keys []string
	for _, it := range list {
		keys = append(keys, it.Key)
	}
	if !slices.Equal(keys, []string{"user:1", "user:2"}) {
		t.Fatalf("KVList keys = %v", keys)
	}
	if list, _ := s.KVList(ctx, "", 1); len(list) != 1 || list[0].Key != "user:1" {
		t.Fatalf("KVList limit 1 = %+v", list)
	}

	mustNil(t, s.KVDelete(ctx, "user:1"))
	wantErr(t, s.KVDelete(ctx, "user:1"), engine.ErrNotFound)
	wantErr(t, s.KVDelete(ctx, "user:3"), engine.ErrNotFound) // expired = missing
}

func TestKVIncrementAppend(t *testing.T) {
	s, _ := openTest(t, Options{})
	n, err := s.KVIncrement(ctx, "count", 2.5, 0)
	mustNil(t, err)
	if n != 2.5 {
		t.Fatalf("first increment = %v", n)
	}
	if n, _ = s.KVIncrement(ctx, "count", -1, 0); n != 1.5 {
		t.Fatalf("second increment = %v", n)
	}
	mustNil(t, s.KVSet(ctx, "text", "abc", 0))
	_, err = s.KVIncrement(ctx, "text", 1, 0)
	wantErr(t, err, engine.ErrConflict)
	_, err = s.KVAppend(ctx, "text", 1, 0)
	wantErr(t, err, engine.ErrConflict)

	list, err := s.KVAppend(ctx, "list", map[string]any{"a": 1}, 0)
	mustNil(t, err)
	list, err = s.KVAppend(ctx, "list", "b", 0)
	mustNil(t, err)
	if fmt.Sprint(list) != "[map[a:1] b]" {
		t.Fatalf("list = %v", list)
	}

	// A new counter takes the ttl; an existing one keeps its expiry.
	_, err = s.KVIncrement(ctx, "window", 1, time.Hour)
	mustNil(t, err)
	first, _ := s.KVGet(ctx, "window")
	_, err = s.KVIncrement(ctx, "window", 1, 2*time.Hour)
	mustNil(t, err)
	second, _ := s.KVGet(ctx, "window")
	if first.ExpiresAt == nil || second.ExpiresAt == nil || !first.ExpiresAt.Equal(*second.ExpiresAt) || second.Value != 2.0 {
		t.Fatalf("expiry changed: %v → %v (value %v)", first.ExpiresAt, second.ExpiresAt, second.Value)
	}
	// An expired counter starts again from zero.
	_, err = s.KVIncrement(ctx, "short", 5, time.Millisecond)
	mustNil(t, err)
	time.Sleep(5 * time.Millisecond)
	if n, _ := s.KVIncrement(ctx, "short", 1, 0); n != 1 {
		t.Fatalf("increment after expiry = %v, want 1", n)
	}
}

func TestKVConcurrent(t *testing.T) {
	s, _ := openTest(t, Options{})
	const n = 100
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := s.KVIncrement(ctx, "hits", 1, 0); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := s.KVAppend(ctx, "seen", i, 0); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	it, err := s.KVGet(ctx, "hits")
	mustNil(t, err)
	if it.Value != float64(n) {
		t.Fatalf("hits = %v, want %d", it.Value, n)
	}
	it, err = s.KVGet(ctx, "seen")
	mustNil(t, err)
	if l, ok := it.Value.([]any); !ok || len(l) != n {
		t.Fatalf("seen list has %v", it.Value)
	}
}

func TestSecretsMetaState(t *testing.T) {
	s, _ := openTest(t, Options{})
	mustNil(t, s.PutSecret(ctx, "B", []byte{1, 2}))
	mustNil(t, s.PutSecret(ctx, "A", []byte{3}))
	names, err := s.ListSecrets(ctx)
	mustNil(t, err)
	if !slices.Equal(names, []string{"A", "B"}) {
		t.Fatalf("names = %v", names)
	}
	v, err := s.GetSecret(ctx, "B")
	mustNil(t, err)
	if !slices.Equal(v, []byte{1, 2}) {
		t.Fatalf("secret = %v", v)
	}
	mustNil(t, s.DeleteSecret(ctx, "B"))
	wantErr(t, s.DeleteSecret(ctx, "B"), engine.ErrNotFound)
	_, err = s.GetSecret(ctx, "B")
	wantErr(t, err, engine.ErrNotFound)

	_, err = s.GetMeta(ctx, "x")
	wantErr(t, err, engine.ErrNotFound)
	mustNil(t, s.PutMeta(ctx, "x", []byte("1")))
	mustNil(t, s.PutMeta(ctx, "x", []byte("2")))
	if v, _ := s.GetMeta(ctx, "x"); string(v) != "2" {
		t.Fatalf("meta = %q", v)
	}
	mustNil(t, s.PutMeta(ctx, "empty", nil))
	if v, err := s.GetMeta(ctx, "empty"); err != nil || len(v) != 0 {
		t.Fatalf("empty meta = %q, %v", v, err)
	}
	wantErr(t, s.PutState(ctx, "", "n", nil), engine.ErrInvalid)
}
