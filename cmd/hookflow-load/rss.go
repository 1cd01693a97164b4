package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RSSSample is one reading of the server's resident memory. MB is VmRSS, the
// sum of AnonMB (heap, stacks) and FileMB (mapped files: bbolt maps its
// database file, so pages it reads count here) and shared memory.
type RSSSample struct {
	At     float64 `json:"t_s"` // seconds since the load started
	MB     float64 `json:"mb"`
	AnonMB float64 `json:"anon_mb"`
	FileMB float64 `json:"file_mb"`
}

// readRSS reads process pid's resident memory from /proc/<pid>/status.
func readRSS(pid int) (RSSSample, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return RSSSample{}, err
	}
	defer f.Close()
	return parseStatus(f)
}

// parseStatus reads the VmRSS, RssAnon and RssFile lines ("VmRSS:  1234 kB")
// of a /proc status file, in MB.
func parseStatus(r io.Reader) (RSSSample, error) {
	var s RSSSample
	found := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		var dst *float64
		switch name {
		case "VmRSS":
			dst, found = &s.MB, ok
		case "RssAnon":
			dst = &s.AnonMB
		case "RssFile":
			dst = &s.FileMB
		default:
			continue
		}
		f := strings.Fields(rest)
		if !ok || len(f) < 1 {
			return s, fmt.Errorf("parse %q", sc.Text())
		}
		kb, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return s, fmt.Errorf("parse %q: %w", sc.Text(), err)
		}
		*dst = round3(kb / 1024)
	}
	if !found {
		return s, fmt.Errorf("no VmRSS line")
	}
	return s, sc.Err()
}

// rssSampler reads a process's RSS every interval until stopped.
type rssSampler struct {
	pid   int
	start time.Time
	mu    sync.Mutex
	out   []RSSSample
	stop  context.CancelFunc
	done  chan struct{}
}

// startRSS samples pid's RSS every interval; times are relative to start.
func startRSS(ctx context.Context, pid int, every time.Duration, start time.Time) *rssSampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &rssSampler{pid: pid, start: start, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			s.sample()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) sample() {
	r, err := readRSS(s.pid)
	if err != nil {
		return // the process is gone (e.g. killed in a crash test)
	}
	r.At = round3(time.Since(s.start).Seconds())
	s.mu.Lock()
	s.out = append(s.out, r)
	s.mu.Unlock()
}

// Stop takes a last sample and returns them all.
func (s *rssSampler) Stop() []RSSSample {
	s.stop()
	<-s.done
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RSSSample(nil), s.out...)
}
