package sim

import (
	"sync"
	"time"
)

// Clock gives the fleet its time. The host program may pass its own (a
// real clock, or a test's); implementations must be safe for concurrent
// use.
type Clock interface {
	Now() time.Time
}

// DefaultStart is where a fleet's own clock starts when no clock is given.
var DefaultStart = time.Date(2026, 3, 2, 8, 55, 0, 0, time.UTC)

// SimClock is a deterministic clock: it starts at a given time, moves only
// when told (Advance, Set) and, when Tick is non-zero, by Tick on every
// reading so that successive events never share a timestamp. It is the
// fleet's default and what scenarios drive. Safe for concurrent use.
type SimClock struct {
	mu   sync.Mutex
	t    time.Time
	tick time.Duration
}

// NewSimClock returns a clock at start that moves by tick on every Now.
func NewSimClock(start time.Time, tick time.Duration) *SimClock {
	return &SimClock{t: start.UTC(), tick: tick}
}

// Now returns the current time and then moves the clock by its tick.
func (c *SimClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.tick)
	return t
}

// Advance moves the clock forward by d (a negative d is ignored).
func (c *SimClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t if t is later than its time.
func (c *SimClock) Set(t time.Time) {
	c.mu.Lock()
	if t.After(c.t) {
		c.t = t.UTC()
	}
	c.mu.Unlock()
}
