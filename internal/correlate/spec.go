package correlate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Kind is the type of a correlation.
type Kind uint8

// The correlation kinds of the Sigma correlation specification.
const (
	EventCount      Kind = iota + 1 // number of events
	ValueCount                      // number of distinct values of the measured field
	Temporal                        // number of distinct referenced rules seen, any order
	TemporalOrdered                 // referenced rules seen in their order
	ValueSum                        // sum of the measured numbers
	ValueAvg                        // mean of the measured numbers
	ValuePercentile                 // a percentile of the measured numbers
)

var kindNames = [...]string{"", "event_count", "value_count", "temporal", "temporal_ordered", "value_sum", "value_avg", "value_percentile"}

// String returns the Sigma name of the kind ("event_count", …).
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind returns the kind with the given Sigma name.
func ParseKind(s string) (Kind, bool) {
	for i := 1; i < len(kindNames); i++ {
		if kindNames[i] == s {
			return Kind(i), true
		}
	}
	return 0, false
}

// measured reports whether the kind measures a field of the events.
func (k Kind) measured() bool {
	return k == ValueCount || k == ValueSum || k == ValueAvg || k == ValuePercentile
}

// numeric reports whether the kind measures numbers.
func (k Kind) numeric() bool { return k == ValueSum || k == ValueAvg || k == ValuePercentile }

// Condition is a threshold on a correlation's measure: every bound that is
// set must hold. The zero Condition has no bound.
type Condition struct {
	GT, GTE, LT, LTE, EQ, NEQ *float64
}

// Empty reports whether no bound is set.
func (c Condition) Empty() bool {
	return c.GT == nil && c.GTE == nil && c.LT == nil && c.LTE == nil && c.EQ == nil && c.NEQ == nil
}

// Holds reports whether x satisfies every bound that is set.
func (c Condition) Holds(x float64) bool {
	if math.IsNaN(x) {
		return false
	}
	return (c.GT == nil || x > *c.GT) && (c.GTE == nil || x >= *c.GTE) &&
		(c.LT == nil || x < *c.LT) && (c.LTE == nil || x <= *c.LTE) &&
		(c.EQ == nil || x == *c.EQ) && (c.NEQ == nil || x != *c.NEQ)
}

// lowerOnly reports whether the condition has only lower bounds (gt, gte):
// such a condition, once met by a growing measure, stays met, so the engine
// decides it as soon as an event arrives.
func (c Condition) lowerOnly() bool {
	return c.LT == nil && c.LTE == nil && c.EQ == nil && c.NEQ == nil
}

// String renders the condition as "gte 10 and lt 20".
func (c Condition) String() string {
	var parts []string
	add := func(op string, p *float64) {
		if p != nil {
			parts = append(parts, op+" "+strconv.FormatFloat(*p, 'g', -1, 64))
		}
	}
	add("gt", c.GT)
	add("gte", c.GTE)
	add("lt", c.LT)
	add("lte", c.LTE)
	add("eq", c.EQ)
	add("neq", c.NEQ)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " and ")
}

// Spec describes one correlation. The engine does not know where rules,
// groups or measured values come from: the caller resolves them and feeds
// Inputs.
type Spec struct {
	// ID names the correlation in hits, errors and snapshots; unique.
	ID string
	// Kind is the correlation type.
	Kind Kind
	// Rules are the referenced rule ids; for TemporalOrdered their order is
	// the required order (a rule may appear more than once).
	Rules []string
	// GroupBy names the group values an Input carries, in order. It may be
	// empty (one group for the whole stream).
	GroupBy []string
	// Window is the timespan: every hit's events lie within Window of each
	// other (inclusive). Positive.
	Window time.Duration
	// Condition is the threshold on the measure. For Temporal and
	// TemporalOrdered it may be empty, meaning all rules (gte len(Rules));
	// for the others it is required.
	Condition Condition
	// Percentile (0 < p <= 100) of ValuePercentile; 0 means the median (50).
	Percentile float64
	// GroupFrom chains correlations. A rule of Rules that is the ID of
	// another spec of the engine is fed by that spec's hits, inside the
	// engine, at the hit's End time; GroupFrom[thatID][i] is the index of
	// the referenced spec's group value that becomes this spec's i-th group
	// value. The hit's Value is the measured value of the chained input.
	GroupFrom map[string][]int
}

// Eager reports whether the spec is decided as soon as an event arrives
// (the window ending at that event), rather than when a window closes.
// Conditions with only lower bounds are eager; any upper bound (lt, lte,
// eq, neq) needs the whole window and is decided when event time passes
// its end. TemporalOrdered is always eager.
func (s *Spec) Eager() bool {
	return s.Kind == TemporalOrdered || s.Condition.lowerOnly()
}

func (s *Spec) fingerprint() string {
	return fmt.Sprintf("%s|%q|%q|%d|%s|%g|%v", s.Kind, s.Rules, s.GroupBy, int64(s.Window), s.Condition, s.Percentile, s.GroupFrom)
}

func (s *Spec) validate(i int) error {
	if s.ID == "" {
		return specErr(i, s.ID, "empty id")
	}
	if s.Kind < EventCount || s.Kind > ValuePercentile {
		return specErr(i, s.ID, "unknown kind %d", s.Kind)
	}
	if len(s.Rules) == 0 {
		return specErr(i, s.ID, "no rules")
	}
	if len(s.Rules) > math.MaxUint16 {
		return specErr(i, s.ID, "too many rules (%d)", len(s.Rules))
	}
	for j, r := range s.Rules {
		if r == "" {
			return specErr(i, s.ID, "rule %d is empty", j)
		}
	}
	if s.Window <= 0 {
		return specErr(i, s.ID, "timespan must be positive, got %s", s.Window)
	}
	for _, p := range []*float64{s.Condition.GT, s.Condition.GTE, s.Condition.LT, s.Condition.LTE, s.Condition.EQ, s.Condition.NEQ} {
		if p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0)) {
			return specErr(i, s.ID, "condition bound %v is not a finite number", *p)
		}
	}
	switch s.Kind {
	case Temporal, TemporalOrdered:
		if s.Kind == TemporalOrdered && !s.Condition.lowerOnly() {
			return specErr(i, s.ID, "temporal_ordered accepts only gt/gte conditions (the length of the ordered prefix), got %s", s.Condition)
		}
	default:
		if s.Condition.Empty() {
			return specErr(i, s.ID, "%s needs a condition", s.Kind)
		}
	}
	if s.Kind == ValuePercentile && (s.Percentile < 0 || s.Percentile > 100 || math.IsNaN(s.Percentile)) {
		return specErr(i, s.ID, "percentile %v outside 0–100", s.Percentile)
	}
	return nil
}

// Config bounds the engine's state. The zero value is not usable: start
// from DefaultConfig.
type Config struct {
	// MaxGroups bounds the number of groups over all specs, idle ones
	// included; when a new group would exceed it, the least recently
	// active group is evicted (Stats.GroupsEvicted counts those that held
	// state).
	MaxGroups int
	// MaxEntriesPerGroup bounds the events a group retains; the oldest is
	// dropped when it is exceeded (Stats.EntriesDropped).
	MaxEntriesPerGroup int
	// MaxEntries bounds the entries retained over all groups (windows,
	// partial sequences, held-back entries): beyond it the least recently
	// active groups are evicted (Stats.GroupsEvicted). It bounds memory
	// at roughly MaxEntries × 100 bytes plus the ids and values.
	MaxEntries int
	// MaxEventIDs bounds the event ids a Hit carries (the first ones in
	// event-time order); Hit.Events is always the full count.
	MaxEventIDs int
	// Lateness is how far behind its group's newest event time an event
	// may arrive and still be correlated as if it had come in order. Each
	// group holds entries back until its clock passes them by Lateness, so
	// hits come Lateness later. Older entries are dropped and counted
	// (Stats.Late).
	Lateness time.Duration
	// MaxPending bounds the entries one group holds back for Lateness;
	// beyond it the oldest is processed early (Stats.ForcedReleases).
	MaxPending int
}

// DefaultConfig returns a Config with bounds suited to one host or a small
// fleet: 65,536 groups, 4,096 events per group, 1,048,576 entries in all,
// 32 event ids per hit, no lateness, 4,096 held-back entries per group.
func DefaultConfig() Config {
	return Config{MaxGroups: 1 << 16, MaxEntriesPerGroup: 4096, MaxEntries: 1 << 20, MaxEventIDs: 32, MaxPending: 4096}
}

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	switch {
	case c.MaxGroups < 1:
		return fmt.Errorf("%w: MaxGroups %d < 1", ErrConfig, c.MaxGroups)
	case c.MaxEntriesPerGroup < 1:
		return fmt.Errorf("%w: MaxEntriesPerGroup %d < 1", ErrConfig, c.MaxEntriesPerGroup)
	case c.MaxEntries < c.MaxEntriesPerGroup:
		return fmt.Errorf("%w: MaxEntries %d < MaxEntriesPerGroup %d", ErrConfig, c.MaxEntries, c.MaxEntriesPerGroup)
	case c.MaxEventIDs < 0:
		return fmt.Errorf("%w: MaxEventIDs %d < 0", ErrConfig, c.MaxEventIDs)
	case c.Lateness < 0:
		return fmt.Errorf("%w: Lateness %s < 0", ErrConfig, c.Lateness)
	case c.MaxPending < 1:
		return fmt.Errorf("%w: MaxPending %d < 1", ErrConfig, c.MaxPending)
	}
	return nil
}
