package pgstore

import (
	"context"
	"errors"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/pgstore/pgtest"
)

// freezer is a TCP proxy on 127.0.0.1 to the database that can stop
// forwarding, as a network partition does: connections stay open, bytes
// stop (new connections too), and flow again at thaw.
type freezer struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	thawed   chan struct{} // closed while bytes flow
}

func newFreezer(t *testing.T, upstream string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, upstream: upstream, thawed: make(chan struct{})}
	close(f.thawed)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(t, c)
		}
	}()
	return f
}

func (f *freezer) serve(t *testing.T, c net.Conn) {
	up, err := net.Dial("tcp", f.upstream)
	if err != nil {
		c.Close()
		return
	}
	ctx := t.Context()
	pipe := func(dst, src net.Conn) {
		defer dst.Close()
		defer src.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				select {
				case <-f.flowing():
				case <-ctx.Done():
					return
				}
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	go pipe(up, c)
	go pipe(c, up)
}

func (f *freezer) flowing() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.thawed
}

func (f *freezer) freeze() {
	f.mu.Lock()
	f.thawed = make(chan struct{})
	f.mu.Unlock()
}

func (f *freezer) thaw() {
	f.mu.Lock()
	close(f.thawed)
	f.mu.Unlock()
}

// TestPartition: when the database stops answering (no refusal, no reset),
// writes and Ping fail with engine.ErrUnavailable after WriteTimeout instead
// of hanging; the listener notices its silent connection, reconnects once
// the database answers again and resyncs; then everything works again.
func TestPartition(t *testing.T) {
	dbURL := pgtest.DB(t, cluster)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	f := newFreezer(t, u.Host)
	u.Host = f.ln.Addr().String()
	q := u.Query()
	q.Set("connect_timeout", "1")
	u.RawQuery = q.Encode()
	st, err := Open(context.Background(), u.String(), Options{Node: "node-a", WriteTimeout: time.Second,
		listenQuiet: 100 * time.Millisecond, listenPing: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	notices := listen(t, st)
	if n := next(t, notices); n.Kind != engine.NoticeResync {
		t.Fatalf("first notice %+v", n)
	}
	r := &engine.Run{FlowID: "f"}
	if _, _, err := st.CreateRun(ctx, r, "", 0); err != nil {
		t.Fatal(err)
	}

	f.freeze()
	r.Status = engine.RunRunning
	if err := st.SaveRun(ctx, r); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("save with the database silent: %v", err)
	}
	if _, _, err := st.CreateRun(ctx, &engine.Run{FlowID: "f"}, "", 0); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("create with the database silent: %v", err)
	}
	if err := st.Ping(ctx); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("ping with the database silent: %v", err)
	}
	f.thaw()

	if n := next(t, notices); n.Kind != engine.NoticeResync {
		t.Fatalf("after the partition: notice %+v, want a resync", n)
	}
	waitFor(t, "writes to work again", func() bool { return st.SaveRun(ctx, r) == nil })
	must(t, st.Publish(ctx, engine.Notice{Kind: engine.NoticeWake, ID: r.ID}))
	for {
		n := next(t, notices)
		if n.Kind == engine.NoticeResync {
			continue // a connection given up while the pool recovered
		}
		if n != (engine.Notice{Kind: engine.NoticeWake, ID: r.ID}) {
			t.Fatalf("after the partition: notice %+v", n)
		}
		break
	}
	waitFor(t, "ping to pass", func() bool { return st.Ping(ctx) == nil })
}
