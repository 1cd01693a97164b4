package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"
)

// lookupFunc resolves a host name to addresses (net.DefaultResolver in use,
// a fake in tests).
type lookupFunc func(ctx context.Context, host string) ([]net.IPAddr, error)

// checkLoopbackURL refuses a target URL whose host is not loopback: the tool
// must never load anything but this machine.
func checkLoopbackURL(ctx context.Context, raw string, lookup lookupFunc) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("target %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("target %q: scheme must be http or https", raw)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("target %q: no host", raw)
	}
	return checkLoopbackHost(ctx, u.Hostname(), lookup)
}

// checkLoopbackAddr refuses a listen address (host:port) whose host is not
// loopback; an empty host would listen on every interface.
func checkLoopbackAddr(ctx context.Context, addr string, lookup lookupFunc) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if host == "" {
		return fmt.Errorf("address %q: give a loopback host such as 127.0.0.1", addr)
	}
	return checkLoopbackHost(ctx, host, lookup)
}

// checkLoopbackHost accepts a host only when every address it resolves to is
// a loopback address.
func checkLoopbackHost(ctx context.Context, host string, lookup lookupFunc) error {
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return fmt.Errorf("host %s is not a loopback address: this tool only loads 127.0.0.1", host)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := lookup(ctx, host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("resolve %s: no addresses", host)
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return fmt.Errorf("host %s resolves to %s, not a loopback address: this tool only loads 127.0.0.1", host, a.IP)
		}
	}
	return nil
}
