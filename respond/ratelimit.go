package respond

import (
	"context"
	"sync"
	"time"
)

// limiter spaces commands to one actuator: a generic cell rate algorithm
// with a burst of one second's worth of commands.
type limiter struct {
	mu       sync.Mutex
	interval time.Duration // 0: unlimited
	burst    int64
	tat      time.Time // theoretical arrival time of the next command
}

func newLimiter(perMinute float64) *limiter {
	if perMinute <= 0 {
		return &limiter{}
	}
	iv := time.Duration(float64(time.Minute) / perMinute)
	burst := int64(perMinute / 60)
	if burst < 1 {
		burst = 1
	}
	return &limiter{interval: iv, burst: burst}
}

// wait blocks until the next command may go, or ctx ends.
func (l *limiter) wait(ctx context.Context, c Clock) error {
	if l.interval == 0 {
		return nil
	}
	now := c.Now()
	l.mu.Lock()
	t := l.tat
	if t.Before(now) {
		t = now
	}
	l.tat = t.Add(l.interval)
	delay := t.Sub(now) - time.Duration(l.burst-1)*l.interval
	l.mu.Unlock()
	if delay <= 0 {
		return nil
	}
	if !sleep(c, delay, ctx.Done()) {
		return context.Cause(ctx)
	}
	return nil
}
