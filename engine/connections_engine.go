package engine

import (
	"context"
)

// Connections returns the engine's connection manager, made on first use
// from its store (when it is a ConnectionStore) and its secrets (when they
// seal, like secrets.Vault); nil when either lacks support.
func (e *Engine) Connections() *Connections {
	e.connsOnce.Do(func() {
		cs, ok := e.store.(ConnectionStore)
		sealer, ok2 := e.cfg.Secrets.(Sealer)
		if !ok || !ok2 {
			return
		}
		red, _ := e.cfg.Secrets.(ExtraRedactor)
		m, err := NewConnections(context.Background(), ConnectionsConfig{Store: cs, Flows: e.store, Sealer: sealer,
			Redact: red, HTTP: e.cfg.HTTP, Now: e.now})
		if err != nil {
			e.logf("connections: %s", e.redact(err.Error()))
			return
		}
		e.conns = m
	})
	return e.conns
}

// connectionResolver is what steps get as StepContext.Connections.
func (e *Engine) connectionResolver() ConnectionResolver {
	if c := e.Connections(); c != nil {
		return c
	}
	return nil
}
