package respond

import "time"

// Clock is the dispatcher's source of time: approval timeouts, command
// timeouts, retry back-off, rate limits and scheduled undos all go
// through it, so tests can drive time. Implementations must be safe for
// concurrent use.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed, unless
	// the returned stop function is called first (it reports whether it
	// stopped the call).
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// sleep waits d on clock c, or until done is closed; it reports whether
// the full time passed.
func sleep(c Clock, d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	ch := make(chan struct{})
	stop := c.AfterFunc(d, func() { close(ch) })
	select {
	case <-ch:
		return true
	case <-done:
		stop()
		return false
	}
}
