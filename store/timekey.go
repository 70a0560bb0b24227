package store

import (
	"math"
	"time"
)

var (
	minKeyTime = time.Unix(0, math.MinInt64+1)
	maxKeyTime = time.Unix(0, math.MaxInt64)
)

// TimeKey maps a time to the int64 that orders it in a store: Unix
// nanoseconds, with the zero time.Time first (math.MinInt64) and times
// outside the years 1678–2262 clamped to the ends. Implementations use it
// so that every store orders and bounds ranges the same way.
func TimeKey(t time.Time) int64 {
	switch {
	case t.IsZero():
		return math.MinInt64
	case t.Before(minKeyTime):
		return math.MinInt64 + 1
	case t.After(maxKeyTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// InRange reports whether a time key lies in [from, to) where a zero bound
// is open; helpers for implementations.
func InRange(k int64, from, to time.Time) bool {
	if !from.IsZero() && k < TimeKey(from) {
		return false
	}
	if !to.IsZero() && k >= TimeKey(to) {
		return false
	}
	return true
}
