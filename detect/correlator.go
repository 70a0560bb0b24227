package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/correlate"
)

// ErrCorrelatorConfig reports an invalid CorrelatorConfig; it wraps
// mdr.ErrInvalid. (It lives here rather than in errors.go because that file
// belongs to the rule engine's author; move it when convenient.)
var ErrCorrelatorConfig = fmt.Errorf("detect: correlator config: %w", mdr.ErrInvalid)

// ErrCorrelatorState reports saved correlation state that cannot be
// loaded (corrupt, or of an unknown format version); it wraps
// mdr.ErrInvalid.
var ErrCorrelatorState = fmt.Errorf("detect: correlation state: %w", mdr.ErrInvalid)

// StateStore keeps opaque state snapshots under string keys. The store
// packages implement it (store.Memory, store/badger); GetState returns an
// error wrapping mdr.ErrNotFound when the key holds nothing.
type StateStore interface {
	PutState(ctx context.Context, key string, val []byte) error
	GetState(ctx context.Context, key string) ([]byte, error)
}

// CorrelatorConfig bounds a Correlator's state. It is a plain value; start
// from DefaultCorrelatorConfig.
type CorrelatorConfig struct {
	// MaxGroups bounds the live groups over all correlation rules; the
	// least recently active group is evicted and counted beyond it.
	MaxGroups int `json:"max_groups" yaml:"max_groups"`
	// MaxEventsPerGroup bounds the base events a group retains; the oldest
	// is dropped and counted beyond it.
	MaxEventsPerGroup int `json:"max_events_per_group" yaml:"max_events_per_group"`
	// MaxEvents bounds the base events retained over all groups (windows,
	// partial sequences, held-back matches); beyond it the least recently
	// active groups are evicted and counted. It bounds the memory.
	MaxEvents int `json:"max_events" yaml:"max_events"`
	// MaxEventIDs bounds the event ids one CorrelationMatch carries.
	MaxEventIDs int `json:"max_event_ids" yaml:"max_event_ids"`
	// Lateness is how far behind the newest event time of its group an
	// event may arrive and still be correlated in its place; matches come
	// Lateness later. Older events are dropped and counted. Every group
	// (correlation rule and group-by values) keeps its own clock.
	Lateness time.Duration `json:"lateness" yaml:"lateness"`
	// MaxPending bounds the base matches one group holds back for Lateness.
	MaxPending int `json:"max_pending" yaml:"max_pending"`
	// StateKey is the key SaveState and LoadState use in the StateStore.
	StateKey string `json:"state_key" yaml:"state_key"`
}

// DefaultCorrelatorConfig returns 65,536 groups, 4,096 events per group,
// 1,048,576 events in all, 32 event ids per match, no lateness, 4,096
// held-back matches per group and the state key "detect/correlator".
func DefaultCorrelatorConfig() CorrelatorConfig {
	c := correlate.DefaultConfig()
	return CorrelatorConfig{MaxGroups: c.MaxGroups, MaxEventsPerGroup: c.MaxEntriesPerGroup, MaxEvents: c.MaxEntries, MaxEventIDs: c.MaxEventIDs,
		Lateness: c.Lateness, MaxPending: c.MaxPending, StateKey: "detect/correlator"}
}

func (c CorrelatorConfig) engine() correlate.Config {
	return correlate.Config{MaxGroups: c.MaxGroups, MaxEntriesPerGroup: c.MaxEventsPerGroup, MaxEntries: c.MaxEvents, MaxEventIDs: c.MaxEventIDs,
		Lateness: c.Lateness, MaxPending: c.MaxPending}
}

// Validate reports the first invalid setting.
func (c CorrelatorConfig) Validate() error {
	if c.StateKey == "" {
		return fmt.Errorf("%w: empty StateKey", ErrCorrelatorConfig)
	}
	if err := c.engine().Validate(); err != nil {
		// the engine's error repeats "mdr: invalid input: correlation
		// config", which ErrCorrelatorConfig says already: keep its detail
		detail := strings.TrimPrefix(err.Error(), correlate.ErrConfig.Error()+": ")
		return fmt.Errorf("%w: %s", ErrCorrelatorConfig, detail)
	}
	return nil
}

// GroupValue is one group-by field of a correlation match and its value.
type GroupValue struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// CorrelationMatch is one correlation rule that held: its group, its window
// of event time and the base events that made it. Rule points into the
// Correlator and must be treated as read-only. A CorrelationMatch is a plain
// value, safe to share once returned.
type CorrelationMatch struct {
	Rule *Rule
	// Group holds the correlation's group-by fields and their values.
	Group []GroupValue
	// Start and End bound the window: for a threshold decided on arrival
	// (only gt/gte), the first and last contributing events' times; for a
	// condition with an upper bound, decided when event time passed the
	// window, the window's start and end.
	Start, End time.Time
	// EventIDs are the ids (mdr.Event.ID) of the first contributing base
	// events, at most CorrelatorConfig.MaxEventIDs; Events counts them all.
	EventIDs []string
	Events   int
	// Rules are the referenced rules among the contributing events.
	Rules []string
	// Value is the measure that met the condition: the count, the number of
	// distinct values or rules, the length of the ordered sequence, or the
	// sum, mean or percentile of the measured field.
	Value float64
	// Hidden is the rule's Hidden flag: an intermediate correlation of a
	// chain (Sigma's generate: false) that raises no alert of its own.
	Hidden bool
}

// Explain renders the match for an analyst, e.g.
// `event_count of [failed-logon] by TargetUserName="admin": 12 events (gte 10) within 5m0s, 2024-05-01T10:00:00Z – 2024-05-01T10:03:10Z`.
func (m *CorrelationMatch) Explain() string {
	var b strings.Builder
	c := m.Rule.Correlation
	fmt.Fprintf(&b, "%s of %v", c.Type, m.Rules)
	if len(m.Group) > 0 {
		b.WriteString(" by ")
		for i, g := range m.Group {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s=%q", g.Field, g.Value)
		}
	}
	b.WriteString(": ")
	v := strconv.FormatFloat(m.Value, 'g', -1, 64)
	switch c.Type {
	case EventCount:
		fmt.Fprintf(&b, "%s events", v)
	case ValueCount:
		fmt.Fprintf(&b, "%s distinct values of %s", v, c.Condition.Field)
	case Temporal:
		fmt.Fprintf(&b, "%s of %d rules seen", v, len(c.Rules))
	case TemporalOrdered:
		fmt.Fprintf(&b, "%s of %d rules seen in order", v, len(c.Rules))
	case ValueSum:
		fmt.Fprintf(&b, "sum of %s = %s", c.Condition.Field, v)
	case ValueAvg:
		fmt.Fprintf(&b, "average of %s = %s", c.Condition.Field, v)
	case ValuePercentile:
		fmt.Fprintf(&b, "percentile %g of %s = %s", percentileOf(c), c.Condition.Field, v)
	}
	fmt.Fprintf(&b, " (%s) within %s", conditionOf(c).String(), c.Timespan)
	if c.Type != EventCount {
		fmt.Fprintf(&b, ", %d events", m.Events)
	}
	fmt.Fprintf(&b, ", %s – %s", m.Start.UTC().Format(time.RFC3339Nano), m.End.UTC().Format(time.RFC3339Nano))
	return b.String()
}

func percentileOf(c *Correlation) float64 {
	if c.Condition.Percentile == 0 {
		return 50
	}
	return c.Condition.Percentile
}

func conditionOf(c *Correlation) correlate.Condition {
	cc := c.Condition
	cond := correlate.Condition{GT: cc.GT, GTE: cc.GTE, LT: cc.LT, LTE: cc.LTE, EQ: cc.EQ, NEQ: cc.NEQ}
	if cond.Empty() && (c.Type == Temporal || c.Type == TemporalOrdered) {
		n := float64(len(c.Rules))
		if c.Type == Temporal {
			n = float64(len(distinct(c.Rules)))
		}
		cond.GTE = &n
	}
	return cond
}

func distinct(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// CorrelatorStats counts what a Correlator did and what it dropped.
type CorrelatorStats struct {
	Observed       uint64 `json:"observed"`        // base matches fed to a correlation
	NoTime         uint64 `json:"no_time"`         // base matches of events without a time, not correlated
	NoGroup        uint64 `json:"no_group"`        // base matches whose event lacks a group-by field, not correlated
	NoValue        uint64 `json:"no_value"`        // base matches without the measured field (or not a number), ignored
	Late           uint64 `json:"late"`            // base matches older than the lateness allows, dropped
	Matches        uint64 `json:"matches"`         // correlation matches returned
	GroupsEvicted  uint64 `json:"groups_evicted"`  // groups evicted with their state (MaxGroups, MaxEvents)
	EventsDropped  uint64 `json:"events_dropped"`  // events dropped from full groups
	ForcedReleases uint64 `json:"forced_releases"` // held-back matches processed early for MaxPending
	RestoreDropped uint64 `json:"restore_dropped"` // saved groups of correlations that are gone or changed
	Groups         int    `json:"groups"`          // groups, idle ones (remembered for their clock) included
	Pending        int    `json:"pending"`         // base matches held back for Lateness
	Events         int    `json:"events"`          // base events retained over all groups
}

// feed says how one referenced base rule feeds one correlation.
type feed struct {
	spec    int
	rule    string
	fields  []string // event field per group-by position
	measure []string // measured event fields (several for value_count: their combination), none when empty
	kind    CorrelationType
}

// Correlator runs the correlation rules of a Ruleset over the matches of
// its stateless rules. It is stateful: the state lives in memory, bounded
// by CorrelatorConfig, and can be saved to and loaded from a StateStore.
//
// A Correlator is safe for concurrent use (every method takes its lock),
// but correlation depends on the order events are fed in: feed each
// event's matches once, in stream order, from one goroutine or in an order
// the caller fixes; matches then come out in a deterministic order.
type Correlator struct {
	mu    sync.Mutex
	cfg   CorrelatorConfig
	eng   *correlate.Engine
	rules []*Rule // correlation rule per spec index
	feeds map[string][]feed
	stats CorrelatorStats
	hits  []correlate.Hit
	vals  []string
	buf   []byte
}

// NewCorrelator builds a Correlator for the correlation rules of rs. A
// correlation rule that cannot run (a reference to an unknown rule, a
// group-by field that a referenced correlation does not group by, a cycle
// of correlations, a threshold the bounds can never hold) is rejected:
// the error is a *CompileError listing every rejection, and the returned
// Correlator runs the accepted ones. Invalid cfg is returned alone.
func NewCorrelator(rs *Ruleset, cfg CorrelatorConfig) (*Correlator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rs == nil {
		return nil, fmt.Errorf("%w: nil ruleset", ErrCorrelatorConfig)
	}
	corrs := rs.Correlations()
	base := func(id string) bool {
		r, ok := rs.Rule(id)
		return ok && r.Correlation == nil
	}
	return newCorrelator(corrs, base, cfg)
}

// newCorrelator builds the correlator over corrs; base reports whether an
// id names a stateless rule of the ruleset.
func newCorrelator(corrs []Rule, base func(id string) bool, cfg CorrelatorConfig) (*Correlator, error) {
	var rejected []RuleError
	alive := make(map[string]*Rule, len(corrs))
	for i := range corrs {
		rc := corrs[i]
		rc.Correlation = cloneCorrelation(rc.Correlation)
		alive[rc.ID] = &rc
	}
	order := make([]string, 0, len(corrs))
	for i := range corrs {
		order = append(order, corrs[i].ID)
	}
	reject := func(id, format string, args ...any) {
		rejected = append(rejected, ruleErr(alive[id], format, args...))
		delete(alive, id)
	}
	for {
		// Static checks; repeat while a rejection orphans a dependent.
		changed := false
		for _, id := range order {
			rc, ok := alive[id]
			if !ok {
				continue
			}
			if msg := checkFeeds(rc, alive, base); msg != "" {
				reject(id, "%s", msg)
				changed = true
			}
		}
		if changed {
			continue
		}
		specs, ids := buildSpecs(order, alive)
		eng, err := correlate.New(cfg.engine(), specs)
		if err != nil {
			var se *correlate.SpecError
			if errors.As(err, &se) && se.Index >= 0 && se.Index < len(ids) {
				reject(ids[se.Index], "correlation: %v", se.Err)
				continue
			}
			return nil, fmt.Errorf("detect: correlator: %w", err)
		}
		c := &Correlator{cfg: cfg, eng: eng, feeds: make(map[string][]feed)}
		for i, id := range ids {
			rc := alive[id]
			c.rules = append(c.rules, rc)
			cor := rc.Correlation
			for _, ref := range distinct(cor.Rules) {
				if _, isCorr := alive[ref]; isCorr {
					continue
				}
				f := feed{spec: i, rule: ref, kind: cor.Type}
				for _, g := range cor.GroupBy {
					f.fields = append(f.fields, aliased(cor, g, ref))
				}
				if measured(cor.Type) {
					for _, m := range measuredFields(cor) {
						f.measure = append(f.measure, aliased(cor, m, ref))
					}
				}
				c.feeds[ref] = append(c.feeds[ref], f)
			}
		}
		if len(rejected) > 0 {
			return c, &CompileError{Rejected: rejected}
		}
		return c, nil
	}
}

func cloneCorrelation(c *Correlation) *Correlation {
	if c == nil {
		return nil
	}
	n := *c
	n.Rules = slices.Clone(c.Rules)
	n.GroupBy = slices.Clone(c.GroupBy)
	return &n
}

// measuredFields splits Condition.Field: Sigma lets value_count name
// several fields (their combinations are counted), which detect/sigma
// joins with commas.
func measuredFields(c *Correlation) []string {
	var out []string
	for _, f := range strings.Split(c.Condition.Field, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func measured(t CorrelationType) bool {
	return t == ValueCount || t == ValueSum || t == ValueAvg || t == ValuePercentile
}

// aliased returns the field that name stands for in the events of rule ref.
func aliased(c *Correlation, name, ref string) string {
	if m, ok := c.Aliases[name]; ok {
		if f, ok := m[ref]; ok && f != "" {
			return f
		}
	}
	return name
}

// checkFeeds checks what Compile cannot: that every reference is a base
// rule or a live correlation, and that a referenced correlation provides
// every group-by field.
func checkFeeds(rc *Rule, alive map[string]*Rule, base func(string) bool) string {
	c := rc.Correlation
	if c == nil {
		return "not a correlation rule"
	}
	if _, err := correlationKind(c.Type); err != nil {
		return err.Error()
	}
	if measured(c.Type) {
		if n := len(measuredFields(c)); n == 0 {
			return fmt.Sprintf("correlation: %s needs condition.field", c.Type)
		} else if n > 1 && c.Type != ValueCount {
			return fmt.Sprintf("correlation: %s measures one numeric field, condition.field names %d (%q)", c.Type, n, c.Condition.Field)
		}
	}
	for _, ref := range c.Rules {
		x, isCorr := alive[ref]
		switch {
		case isCorr:
			for _, g := range c.GroupBy {
				f := aliased(c, g, ref)
				if !slices.Contains(x.Correlation.GroupBy, f) {
					return fmt.Sprintf("correlation: group-by %q (field %q) is not a group-by field of the referenced correlation %q (it groups by %q)", g, f, ref, x.Correlation.GroupBy)
				}
			}
		case base(ref):
		default:
			return fmt.Sprintf("correlation: rule %q is not an accepted rule of the ruleset", ref)
		}
	}
	return ""
}

func correlationKind(t CorrelationType) (correlate.Kind, error) {
	k, ok := correlate.ParseKind(string(t))
	if !ok {
		return 0, fmt.Errorf("correlation: unknown type %q", t)
	}
	return k, nil
}

func buildSpecs(order []string, alive map[string]*Rule) ([]correlate.Spec, []string) {
	var specs []correlate.Spec
	var ids []string
	for _, id := range order {
		rc, ok := alive[id]
		if !ok {
			continue
		}
		c := rc.Correlation
		k, _ := correlationKind(c.Type)
		s := correlate.Spec{ID: id, Kind: k, Rules: c.Rules, GroupBy: c.GroupBy, Window: c.Timespan, Percentile: c.Condition.Percentile}
		cc := c.Condition
		s.Condition = correlate.Condition{GT: cc.GT, GTE: cc.GTE, LT: cc.LT, LTE: cc.LTE, EQ: cc.EQ, NEQ: cc.NEQ}
		for _, ref := range distinct(c.Rules) {
			x, isCorr := alive[ref]
			if !isCorr {
				continue
			}
			if s.GroupFrom == nil {
				s.GroupFrom = map[string][]int{}
			}
			from := make([]int, len(c.GroupBy))
			for i, g := range c.GroupBy {
				from[i] = slices.Index(x.Correlation.GroupBy, aliased(c, g, ref))
			}
			s.GroupFrom[ref] = from
		}
		specs = append(specs, s)
		ids = append(ids, id)
	}
	return specs, ids
}

// Rules returns the correlation rules the Correlator runs.
func (c *Correlator) Rules() []Rule {
	out := make([]Rule, len(c.rules))
	for i, r := range c.rules {
		out[i] = *r
	}
	return out
}

// Observe feeds the matches of one event (as Ruleset.Match returned them,
// hidden ones included) and returns the correlation matches this completes:
// those whose last event this is, and, since event time moved on, those of
// windows that closed. Matches of rules no correlation references are
// ignored. The error is only ctx's.
func (c *Correlator) Observe(ctx context.Context, ev *mdr.Event, matches []Match) ([]CorrelationMatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hits = c.hits[:0]
	for i := range matches {
		if matches[i].Rule == nil {
			continue
		}
		if err := c.observe(ev, matches[i].Rule.ID); err != nil {
			return nil, err
		}
	}
	return c.convert(), nil
}

// ObserveRules is Observe for callers that hold the ids of the matched
// rules rather than Matches.
func (c *Correlator) ObserveRules(ctx context.Context, ev *mdr.Event, ruleIDs ...string) ([]CorrelationMatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hits = c.hits[:0]
	for _, id := range ruleIDs {
		if err := c.observe(ev, id); err != nil {
			return nil, err
		}
	}
	return c.convert(), nil
}

func (c *Correlator) observe(ev *mdr.Event, ruleID string) error {
	feeds := c.feeds[ruleID]
	if len(feeds) == 0 {
		return nil
	}
	if ev == nil || ev.Time().IsZero() {
		c.stats.NoTime += uint64(len(feeds))
		return nil
	}
feeds:
	for _, f := range feeds {
		c.vals = c.vals[:0]
		for _, field := range f.fields {
			v, ok := ev.Get(field)
			if !ok || v.IsNull() {
				c.stats.NoGroup++
				continue feeds
			}
			c.vals = append(c.vals, v.Text())
		}
		in := correlate.Input{Spec: f.spec, Rule: f.rule, Time: ev.Time(), EventID: ev.ID(), Group: c.vals}
		if len(f.measure) > 0 {
			c.measure(ev, &f, &in)
		}
		var err error
		if c.hits, err = c.eng.Observe(in, c.hits); err != nil {
			return fmt.Errorf("detect: correlation %s: %w", c.rules[f.spec].ID, err)
		}
	}
	return nil
}

// measure sets the measured value of in from ev.
func (c *Correlator) measure(ev *mdr.Event, f *feed, in *correlate.Input) {
	if f.kind != ValueCount {
		v, ok := ev.Get(f.measure[0])
		if !ok || v.IsNull() {
			in.Missing = true
			return
		}
		n, ok := v.Float()
		in.Number, in.Missing = n, !ok || math.IsInf(n, 0)
		return
	}
	if len(f.measure) == 1 {
		v, ok := ev.Get(f.measure[0])
		in.Value, in.Missing = v.Text(), !ok || v.IsNull()
		return
	}
	c.buf = c.buf[:0]
	for i, name := range f.measure {
		v, ok := ev.Get(name)
		if !ok || v.IsNull() {
			in.Missing = true
			return
		}
		if i > 0 {
			c.buf = append(c.buf, 0x1f)
		}
		c.buf = append(c.buf, v.Text()...)
	}
	in.Value = string(c.buf)
}

// Advance moves event time to t on an idle stream, closing the windows
// that end before t (less Lateness), and returns the matches this decides.
func (c *Correlator) Advance(t time.Time) []CorrelationMatch {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hits = c.eng.Advance(t, c.hits[:0])
	return c.convert()
}

// Flush ends the stream: held-back matches are processed and every window
// closes. Call it at the end of a finite input (a file); a service that
// restarts saves its state instead.
func (c *Correlator) Flush(ctx context.Context) ([]CorrelationMatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hits = c.eng.Flush(c.hits[:0])
	return c.convert(), nil
}

func (c *Correlator) convert() []CorrelationMatch {
	if len(c.hits) == 0 {
		return nil
	}
	out := make([]CorrelationMatch, len(c.hits))
	for i, h := range c.hits {
		rule := c.rules[h.SpecIndex]
		m := CorrelationMatch{Rule: rule, Start: h.Start, End: h.End, EventIDs: h.EventIDs, Events: h.Events,
			Rules: h.Rules, Value: h.Value, Hidden: rule.Hidden}
		if len(h.Group) > 0 {
			m.Group = make([]GroupValue, len(h.Group))
			for j, v := range h.Group {
				m.Group[j] = GroupValue{Field: rule.Correlation.GroupBy[j], Value: v}
			}
		}
		out[i] = m
	}
	c.stats.Matches += uint64(len(out))
	clear(c.hits)
	c.hits = c.hits[:0]
	return out
}

// Stats returns the counters.
func (c *Correlator) Stats() CorrelatorStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	es := c.eng.Stats()
	s := c.stats
	s.Observed, s.Late, s.NoValue = es.Observed, es.Late, es.NoValue
	s.GroupsEvicted, s.EventsDropped, s.ForcedReleases = es.GroupsEvicted, es.EntriesDropped, es.ForcedReleases
	s.RestoreDropped, s.Groups, s.Pending, s.Events = es.RestoreDropped, es.Groups, es.Pending, es.Entries
	return s
}

// SaveState writes the whole correlation state (groups, held-back
// matches, event time, counters) to st under CorrelatorConfig.StateKey, in
// a versioned format.
func (c *Correlator) SaveState(ctx context.Context, st StateStore) error {
	c.mu.Lock()
	snap, err := c.eng.Snapshot()
	if err == nil {
		snap, err = wrapState(snap, c.stats)
	}
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("detect: saving correlation state: %w", err)
	}
	if err := st.PutState(ctx, c.cfg.StateKey, snap); err != nil {
		return fmt.Errorf("detect: saving correlation state under %q: %w", c.cfg.StateKey, err)
	}
	return nil
}

// LoadState replaces the correlation state with the one saved in st under
// CorrelatorConfig.StateKey, so that the stream continues as if there had
// been no restart. When st holds no state (a first start) it does nothing
// and returns nil. State of correlation rules that are gone or changed is
// dropped and counted (CorrelatorStats.RestoreDropped).
func (c *Correlator) LoadState(ctx context.Context, st StateStore) error {
	data, err := st.GetState(ctx, c.cfg.StateKey)
	if errors.Is(err, mdr.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("detect: loading correlation state %q: %w", c.cfg.StateKey, err)
	}
	snap, stats, err := unwrapState(data)
	if err != nil {
		return fmt.Errorf("detect: loading correlation state %q: %w", c.cfg.StateKey, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.eng.Restore(snap); err != nil {
		return fmt.Errorf("detect: loading correlation state %q: %w", c.cfg.StateKey, err)
	}
	c.stats = stats
	return nil
}

// correlatorStateVersion is the version of the envelope SaveState writes
// around the engine's own versioned snapshot.
const correlatorStateVersion = 1

type correlatorState struct {
	Version int             `json:"version"`
	Stats   CorrelatorStats `json:"stats"`
	Engine  json.RawMessage `json:"engine"`
}

func wrapState(engine []byte, st CorrelatorStats) ([]byte, error) {
	return json.Marshal(correlatorState{Version: correlatorStateVersion, Stats: st, Engine: engine})
}

func unwrapState(data []byte) ([]byte, CorrelatorStats, error) {
	var s correlatorState
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, CorrelatorStats{}, fmt.Errorf("%w: %v", ErrCorrelatorState, err)
	}
	if s.Version != correlatorStateVersion {
		return nil, CorrelatorStats{}, fmt.Errorf("%w: version %d, this build reads %d", ErrCorrelatorState, s.Version, correlatorStateVersion)
	}
	return s.Engine, s.Stats, nil
}
