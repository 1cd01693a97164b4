package boltstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookflow/hookflow/engine"
	bolt "go.etcd.io/bbolt"
)

// CreateFlow stores f as version 1 of a new flow and sets f.Version and
// f.UpdatedAt. The id must be unused (engine.ErrExists).
func (s *Store) CreateFlow(ctx context.Context, f *engine.Flow) error {
	if f == nil || f.ID == "" {
		return fmt.Errorf("create flow: %w", errInvalid("empty flow id"))
	}
	c := *f
	c.Version, c.UpdatedAt = 1, time.Now().UTC()
	data, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("create flow %q: %w", f.ID, err)
	}
	id := []byte(f.ID)
	vkey := versionKey(f.ID, 1)
	err = s.update(ctx, func(tx *bolt.Tx) error {
		flows := tx.Bucket(bFlows)
		if flows.Get(id) != nil {
			return engine.ErrExists
		}
		// Left-over versions of a deleted flow with the same id go first.
		if err := deletePrefix(tx.Bucket(bFlowVersions), prefix(f.ID)); err != nil {
			return err
		}
		if err := flows.Put(id, data); err != nil {
			return err
		}
		return tx.Bucket(bFlowVersions).Put(vkey, data)
	})
	if err != nil {
		return fmt.Errorf("create flow %q: %w", f.ID, err)
	}
	f.Version, f.UpdatedAt = c.Version, c.UpdatedAt
	return nil
}

// UpdateFlow stores f as the next version of an existing flow (previous
// version + 1) and sets f.Version and f.UpdatedAt; older versions stay
// readable with GetFlowVersion.
func (s *Store) UpdateFlow(ctx context.Context, f *engine.Flow) error {
	if f == nil || f.ID == "" {
		return fmt.Errorf("update flow: %w", errInvalid("empty flow id"))
	}
	c := *f
	c.UpdatedAt = time.Now().UTC()
	id := []byte(f.ID)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		flows := tx.Bucket(bFlows)
		var prev struct {
			Version int `json:"version"`
		}
		if err := get(flows, id, &prev); err != nil {
			return err
		}
		c.Version = prev.Version + 1
		data, err := json.Marshal(&c)
		if err != nil {
			return err
		}
		if err := flows.Put(id, data); err != nil {
			return err
		}
		return tx.Bucket(bFlowVersions).Put(versionKey(f.ID, c.Version), data)
	})
	if err != nil {
		return fmt.Errorf("update flow %q: %w", f.ID, err)
	}
	f.Version, f.UpdatedAt = c.Version, c.UpdatedAt
	return nil
}

// GetFlow returns the current version of a flow.
func (s *Store) GetFlow(ctx context.Context, id string) (*engine.Flow, error) {
	f := new(engine.Flow)
	err := s.view(func(tx *bolt.Tx) error { return get(tx.Bucket(bFlows), []byte(id), f) })
	if err != nil {
		return nil, fmt.Errorf("get flow %q: %w", id, err)
	}
	return f, nil
}

// GetFlowVersion returns one saved version of a flow.
func (s *Store) GetFlowVersion(ctx context.Context, id string, version int) (*engine.Flow, error) {
	if version <= 0 {
		return nil, fmt.Errorf("get flow %q version %d: %w", id, version, engine.ErrNotFound)
	}
	f := new(engine.Flow)
	err := s.view(func(tx *bolt.Tx) error { return get(tx.Bucket(bFlowVersions), versionKey(id, version), f) })
	if err != nil {
		return nil, fmt.Errorf("get flow %q version %d: %w", id, version, err)
	}
	return f, nil
}

// ListFlowVersions lists a flow's saved versions, oldest first.
func (s *Store) ListFlowVersions(ctx context.Context, id string) ([]engine.FlowVersion, error) {
	var out []engine.FlowVersion
	err := s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bFlows).Get([]byte(id)) == nil {
			return engine.ErrNotFound
		}
		p := prefix(id)
		c := tx.Bucket(bFlowVersions).Cursor()
		for k, v := c.Seek(p); hasPrefix(k, p); k, v = c.Next() {
			var f struct {
				Name      string    `json:"name"`
				UpdatedAt time.Time `json:"updated_at"`
			}
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("decode stored record: %w", err)
			}
			ver := int(binary.BigEndian.Uint32(k[len(p):]))
			out = append(out, engine.FlowVersion{Version: ver, Name: f.Name, UpdatedAt: f.UpdatedAt})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list flow %q versions: %w", id, err)
	}
	return out, nil
}

// ListFlows returns the current version of every flow, sorted by id.
func (s *Store) ListFlows(ctx context.Context) ([]*engine.Flow, error) {
	out := []*engine.Flow{}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bFlows).ForEach(func(k, v []byte) error {
			f := new(engine.Flow)
			if err := json.Unmarshal(v, f); err != nil {
				return fmt.Errorf("decode flow %q: %w", k, err)
			}
			out = append(out, f)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list flows: %w", err)
	}
	return out, nil
}

// DeleteFlow removes a flow with its versions, sample and trigger state. Its
// runs stay.
func (s *Store) DeleteFlow(ctx context.Context, id string) error {
	key := []byte(id)
	p := prefix(id)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		flows := tx.Bucket(bFlows)
		if flows.Get(key) == nil {
			return engine.ErrNotFound
		}
		if err := flows.Delete(key); err != nil {
			return err
		}
		if err := deletePrefix(tx.Bucket(bFlowVersions), p); err != nil {
			return err
		}
		if err := tx.Bucket(bSamples).Delete(key); err != nil {
			return err
		}
		return deletePrefix(tx.Bucket(bState), p)
	})
	if err != nil {
		return fmt.Errorf("delete flow %q: %w", id, err)
	}
	return nil
}

// PutSample stores the flow's sample event.
func (s *Store) PutSample(ctx context.Context, flowID string, t *engine.TriggerData) error {
	if flowID == "" || t == nil {
		return fmt.Errorf("put sample: %w", errInvalid("empty flow id or sample"))
	}
	data, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("put sample of flow %q: %w", flowID, err)
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bSamples).Put([]byte(flowID), data)
	})
	if err != nil {
		return fmt.Errorf("put sample of flow %q: %w", flowID, err)
	}
	return nil
}

// GetSample returns the flow's sample event.
func (s *Store) GetSample(ctx context.Context, flowID string) (*engine.TriggerData, error) {
	t := new(engine.TriggerData)
	err := s.view(func(tx *bolt.Tx) error { return get(tx.Bucket(bSamples), []byte(flowID), t) })
	if err != nil {
		return nil, fmt.Errorf("get sample of flow %q: %w", flowID, err)
	}
	return t, nil
}

// deletePrefix removes every key of b that starts with p.
func deletePrefix(b *bolt.Bucket, p []byte) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(p); hasPrefix(k, p); k, _ = c.Next() {
		keys = append(keys, copyBytes(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
