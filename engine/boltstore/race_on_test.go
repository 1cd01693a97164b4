//go:build race

package boltstore

// raceEnabled: the race detector slows compression ~10×; big tests write less.
const raceEnabled = true
