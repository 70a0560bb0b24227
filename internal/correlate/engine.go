package correlate

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Input is one base-rule match fed to the engine for one spec: the caller
// has already resolved the group values and the measured value of the
// event for that spec.
type Input struct {
	// Spec is the index of the spec in the slice given to New.
	Spec int
	// Rule is the id of the referenced rule that matched; it must be one of
	// the spec's Rules.
	Rule string
	// Time is the event's own time; it must not be zero.
	Time time.Time
	// EventID identifies the event in hits.
	EventID string
	// Group holds one value per Spec.GroupBy, in order. The engine copies
	// what it keeps.
	Group []string
	// Value is the measured value of ValueCount.
	Value string
	// Number is the measured value of ValueSum, ValueAvg, ValuePercentile.
	Number float64
	// Missing says the measured field is absent (or not a number for the
	// numeric kinds); such an input is ignored by the measured kinds and
	// counted in Stats.NoValue.
	Missing bool
}

// Hit is one correlation that held.
type Hit struct {
	// Spec is the ID of the spec, SpecIndex its index.
	Spec      string
	SpecIndex int
	Kind      Kind
	// Group holds the group values, one per Spec.GroupBy.
	Group []string
	// Start and End bound the window: for an eager spec the times of the
	// first and last contributing events; for a spec decided at window
	// close, the anchor event's time and that time plus the timespan.
	Start, End time.Time
	// EventIDs are the ids of the first contributing events in event-time
	// order, at most Config.MaxEventIDs of them.
	EventIDs []string
	// Events is the number of contributing events.
	Events int
	// Rules are the distinct referenced rules among the contributing
	// events, in the spec's order.
	Rules []string
	// Value is the measure that met the condition: the count, the number of
	// distinct values or rules, the length of the ordered sequence, the
	// sum, mean or percentile.
	Value float64
}

// Stats counts what the engine did and, above all, what it dropped.
type Stats struct {
	Observed       uint64 `json:"observed"`        // inputs accepted
	Late           uint64 `json:"late"`            // inputs dropped: older than the watermark (newest time − Lateness)
	NoValue        uint64 `json:"no_value"`        // inputs of measured kinds without a measured value, ignored
	Hits           uint64 `json:"hits"`            // hits returned
	GroupsEvicted  uint64 `json:"groups_evicted"`  // groups evicted with their state (MaxGroups, MaxEntries)
	EntriesDropped uint64 `json:"entries_dropped"` // events dropped from full groups (MaxEntriesPerGroup)
	ForcedReleases uint64 `json:"forced_releases"` // pending events processed early for MaxPending
	RestoreDropped uint64 `json:"restore_dropped"` // groups and pending events of a snapshot whose spec is gone or changed
	Groups         int    `json:"groups"`          // groups, idle ones (remembered for their clock) included
	Pending        int    `json:"pending"`         // events held back for Lateness
	Entries        int    `json:"entries"`         // entries retained over all groups
}

type entry struct {
	t    int64
	seq  uint64
	rule uint16 // distinct-rule index in the spec
	id   string
	str  string
	num  float64
	// A chained entry (a hit of a referenced spec) carries the base
	// events of that hit: n of them, the first ids.
	ids []string
	n   int
}

// events returns the number of base events the entry stands for.
func (en *entry) events() int {
	if en.ids != nil || en.n > 0 {
		return en.n
	}
	return 1
}

type partial struct {
	start int64
	ents  []entry
}

type group struct {
	spec int
	key  string
	vals []string
	seq  uint64
	ents []entry // event-time order; ents[head:] are live
	head int
	// eager aggregates over the live entries
	distinct map[string]int32
	ruleCnt  []int32
	nRules   int
	sum      float64
	stages   []*partial // TemporalOrdered: stages[p] completed positions 0..p

	// The group's own event-time clock: the newest time seen, the time of
	// the last entry processed, and the entries held back for lateness,
	// in (time, arrival) order.
	maxSeen      int64
	lastReleased int64
	pend         []entry

	prev, next *group
}

// size returns the entries g retains: its window, partial sequences and
// held-back entries.
func (g *group) size() int {
	n := len(g.ents) - g.head + len(g.pend)
	for _, p := range g.stages {
		if p != nil {
			n += len(p.ents)
		}
	}
	return n
}

// stateful reports whether losing g would lose correlation state (rather
// than only its clock).
func (g *group) stateful() bool {
	if len(g.pend) > 0 || g.head < len(g.ents) {
		return true
	}
	for _, p := range g.stages {
		if p != nil {
			return true
		}
	}
	return false
}

func (g *group) live() []entry { return g.ents[g.head:] }

type cspec struct {
	Spec
	span      int64
	eager     bool
	cond      Condition
	ruleIdx   map[string]uint16
	distinct  []string // distinct rule ids in spec order
	positions [][]int  // distinct index → positions in Rules, descending
	pct       float64
	chained   []bool // distinct index → the rule is another spec
	deps      []int  // specs fed by this spec's hits
	fed       bool   // some other spec feeds this one
}

// Engine holds the state of many correlations. It is not safe for
// concurrent use: one goroutine feeds it (or the caller serialises calls).
type Engine struct {
	cfg    Config
	specs  []cspec
	groups map[string]*group
	lru    group // sentinel: lru.next is the least recently active
	topo   []int // spec indexes, every spec before the specs it feeds
	seq    uint64
	npend  int
	nents  int // entries retained over all groups (pending included)
	stats  Stats

	keybuf  []byte
	scratch []float64
	seen    map[string]struct{}
}

// New returns an engine for specs under cfg. Every spec is checked; the
// error lists the first invalid one (a *SpecError).
func New(cfg Config, specs []Spec) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, groups: make(map[string]*group), seen: make(map[string]struct{})}
	e.lru.next, e.lru.prev = &e.lru, &e.lru
	ids := make(map[string]int, len(specs))
	for i := range specs {
		s := specs[i]
		if err := s.validate(i); err != nil {
			return nil, err
		}
		if j, dup := ids[s.ID]; dup {
			return nil, specErr(i, s.ID, "duplicate id (also spec %d)", j)
		}
		ids[s.ID] = i
		s.Rules = slices.Clone(s.Rules)
		s.GroupBy = slices.Clone(s.GroupBy)
		c := cspec{Spec: s, span: int64(s.Window), eager: s.Eager(), cond: s.Condition, ruleIdx: make(map[string]uint16), pct: s.Percentile}
		for p, r := range s.Rules {
			d, ok := c.ruleIdx[r]
			if !ok {
				d = uint16(len(c.distinct))
				c.ruleIdx[r] = d
				c.distinct = append(c.distinct, r)
				c.positions = append(c.positions, nil)
			}
			c.positions[d] = append([]int{p}, c.positions[d]...)
		}
		if c.cond.Empty() {
			n := float64(len(c.distinct))
			if s.Kind == TemporalOrdered {
				n = float64(len(s.Rules))
			}
			c.cond = Condition{GTE: &n}
		}
		if c.pct == 0 {
			c.pct = 50
		}
		if s.Kind == EventCount && c.eager {
			if need := minCount(c.cond); need > float64(cfg.MaxEntriesPerGroup) {
				return nil, specErr(i, s.ID, "condition %s needs more events than MaxEntriesPerGroup (%d) can hold", c.cond, cfg.MaxEntriesPerGroup)
			}
		}
		e.specs = append(e.specs, c)
	}
	if err := e.link(ids); err != nil {
		return nil, err
	}
	return e, nil
}

// link resolves chained correlations: references to other specs, their
// group mappings, and cycles.
func (e *Engine) link(ids map[string]int) error {
	for yi := range e.specs {
		y := &e.specs[yi]
		y.chained = make([]bool, len(y.distinct))
		for d, r := range y.distinct {
			xi, ok := ids[r]
			if !ok {
				continue
			}
			if xi == yi {
				return specErr(yi, y.ID, "references itself")
			}
			x := &e.specs[xi]
			from, ok := y.GroupFrom[r]
			if !ok || len(from) != len(y.GroupBy) {
				return specErr(yi, y.ID, "references correlation %q but GroupFrom[%q] does not map its %d group values", r, r, len(y.GroupBy))
			}
			for _, k := range from {
				if k < 0 || k >= len(x.GroupBy) {
					return specErr(yi, y.ID, "GroupFrom[%q] index %d outside the %d group values of %q", r, k, len(x.GroupBy), r)
				}
			}
			y.chained[d] = true
			y.fed = true
			x.deps = append(x.deps, yi)
		}
		for r := range y.GroupFrom {
			if xi, ok := ids[r]; !ok || !slices.Contains(y.Rules, r) || xi == yi {
				return specErr(yi, y.ID, "GroupFrom names %q, which is not a referenced correlation", r)
			}
		}
	}
	// Cycles: depth-first search over deps.
	state := make([]uint8, len(e.specs)) // 0 new, 1 on stack, 2 done
	var visit func(i int) error
	visit = func(i int) error {
		state[i] = 1
		for _, d := range e.specs[i].deps {
			switch state[d] {
			case 1:
				return specErr(d, e.specs[d].ID, "chained correlations form a cycle through %q", e.specs[i].ID)
			case 0:
				if err := visit(d); err != nil {
					return err
				}
			}
		}
		state[i] = 2
		return nil
	}
	for i := range e.specs {
		if state[i] == 0 {
			if err := visit(i); err != nil {
				return err
			}
		}
	}
	// Kahn's order: a spec after every spec that feeds it, ties by index.
	indeg := make([]int, len(e.specs))
	for i := range e.specs {
		for _, d := range e.specs[i].deps {
			indeg[d]++
		}
	}
	e.topo = e.topo[:0]
	for len(e.topo) < len(e.specs) {
		for i := range e.specs {
			if indeg[i] == 0 {
				indeg[i] = -1
				e.topo = append(e.topo, i)
				for _, d := range e.specs[i].deps {
					indeg[d]--
				}
				break
			}
		}
	}
	return nil
}

func minCount(c Condition) float64 {
	m := 0.0
	if c.GT != nil {
		m = math.Floor(*c.GT) + 1
	}
	if c.GTE != nil && math.Ceil(*c.GTE) > m {
		m = math.Ceil(*c.GTE)
	}
	return m
}

// Specs returns the number of specs.
func (e *Engine) Specs() int { return len(e.specs) }

// Spec returns a copy of the i-th spec.
func (e *Engine) Spec(i int) Spec {
	s := e.specs[i].Spec
	s.Rules = slices.Clone(s.Rules)
	s.GroupBy = slices.Clone(s.GroupBy)
	return s
}

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	s := e.stats
	s.Groups = len(e.groups)
	s.Pending = e.npend
	s.Entries = e.nents
	return s
}

func subSat(a, b int64) int64 {
	if b > 0 && a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}

func addSat(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Observe feeds one input and appends to dst the hits it completes: its
// own, those of its group's windows that its time closes, and those of
// the correlations that these hits feed. An input older than its group's
// newest time less Lateness is dropped and counted (Stats.Late), without
// error. The error reports an input that does not fit its spec.
func (e *Engine) Observe(in Input, dst []Hit) ([]Hit, error) {
	if in.Spec < 0 || in.Spec >= len(e.specs) {
		return dst, fmt.Errorf("%w: spec index %d out of range (have %d)", ErrInput, in.Spec, len(e.specs))
	}
	s := &e.specs[in.Spec]
	ri, ok := s.ruleIdx[in.Rule]
	if !ok {
		return dst, fmt.Errorf("%w: correlation %q does not reference rule %q", ErrInput, s.ID, in.Rule)
	}
	if s.chained[ri] {
		return dst, fmt.Errorf("%w: rule %q of correlation %q is a correlation: its hits feed it inside the engine", ErrInput, in.Rule, s.ID)
	}
	if len(in.Group) != len(s.GroupBy) {
		return dst, fmt.Errorf("%w: correlation %q groups by %d fields, input has %d values", ErrInput, s.ID, len(s.GroupBy), len(in.Group))
	}
	if in.Time.IsZero() {
		return dst, fmt.Errorf("%w: correlation %q, event %q: %v", ErrInput, s.ID, in.EventID, errNoTime)
	}
	if s.Kind.measured() && (in.Missing || (s.Kind.numeric() && (math.IsNaN(in.Number) || math.IsInf(in.Number, 0)))) {
		e.stats.NoValue++
		return dst, nil
	}
	en := entry{t: in.Time.UnixNano(), rule: ri, id: in.EventID}
	switch {
	case s.Kind == ValueCount:
		en.str = in.Value
	case s.Kind.numeric():
		en.num = in.Number
	}
	e.keybuf = appendKey(e.keybuf[:0], in.Spec, in.Group)
	from := len(dst)
	dst = e.accept(in.Spec, in.Group, en, dst)
	return e.chain(from, dst), nil
}

// late reports whether an entry at t is too old for g's clock.
func (e *Engine) late(g *group, t int64) bool {
	return g != nil && (t < subSat(g.maxSeen, int64(e.cfg.Lateness)) || t < g.lastReleased)
}

// accept takes an entry for the group of e.keybuf: drops it when late,
// else holds it back or processes it, then processes what the group's
// clock releases and closes the windows it passed.
func (e *Engine) accept(spec int, vals []string, en entry, dst []Hit) []Hit {
	g := e.groups[string(e.keybuf)]
	if e.late(g, en.t) {
		e.stats.Late++
		return dst
	}
	if g == nil {
		g = e.newGroup(spec, vals, en.t)
	} else {
		e.unlink(g)
		e.linkLast(g)
	}
	before := g.size()
	dst = e.take(g, en, dst)
	e.nents += g.size() - before
	e.trim(g)
	return dst
}

// trim evicts the least recently active groups other than keep while the
// entries retained exceed MaxEntries.
func (e *Engine) trim(keep *group) {
	for e.nents > e.cfg.MaxEntries && e.lru.next != &e.lru {
		old := e.lru.next
		if old == keep {
			if old.next == &e.lru {
				return
			}
			old = old.next
		}
		if old.stateful() {
			e.stats.GroupsEvicted++
		}
		e.remove(old)
	}
}

// take holds back or processes an accepted entry of g, then processes what
// the group's clock releases and closes the windows it passed.
func (e *Engine) take(g *group, en entry, dst []Hit) []Hit {
	e.stats.Observed++
	e.seq++
	en.seq = e.seq
	g.maxSeen = max(g.maxSeen, en.t)
	w := subSat(g.maxSeen, int64(e.cfg.Lateness))
	if len(g.pend) == 0 && en.t <= w {
		dst = e.step(g, en, dst)
	} else {
		i := len(g.pend)
		for i > 0 && g.pend[i-1].t > en.t {
			i--
		}
		g.pend = slices.Insert(g.pend, i, en)
		e.npend++
		if len(g.pend) > e.cfg.MaxPending {
			e.stats.ForcedReleases++
			dst = e.releaseFirst(g, dst)
		}
	}
	return e.advance(g, w, dst)
}

// advance processes g's held-back entries up to w and closes its windows
// that end before w.
func (e *Engine) advance(g *group, w int64, dst []Hit) []Hit {
	for len(g.pend) > 0 && g.pend[0].t <= w {
		dst = e.releaseFirst(g, dst)
	}
	return e.closeGroup(g, w, dst)
}

func (e *Engine) releaseFirst(g *group, dst []Hit) []Hit {
	en := g.pend[0]
	n := copy(g.pend, g.pend[1:]) // few entries: keep the capacity
	g.pend[n] = entry{}
	g.pend = g.pend[:n]
	e.npend--
	return e.step(g, en, dst)
}

// step processes one entry in g's time order.
func (e *Engine) step(g *group, en entry, dst []Hit) []Hit {
	dst = e.closeGroup(g, en.t, dst)
	dst = e.process(g, en, dst)
	g.lastReleased = max(g.lastReleased, en.t)
	return dst
}

// Advance moves every group's clock to t (for idle streams): held-back
// entries up to t − Lateness are processed and the windows that end
// before it are closed. Groups whose clock is past t are unchanged.
func (e *Engine) Advance(t time.Time, dst []Hit) []Hit {
	if t.IsZero() {
		return dst
	}
	n := t.UnixNano()
	return e.each(dst, func(g *group, dst []Hit) []Hit {
		g.maxSeen = max(g.maxSeen, n)
		return e.advance(g, subSat(g.maxSeen, int64(e.cfg.Lateness)), dst)
	})
}

// Flush ends the stream: every held-back entry is processed and every
// window is closed (decided as if event time had passed its end). Every
// group is then forgotten, clocks included: later inputs start a new
// stream, at any time. Counters are kept.
func (e *Engine) Flush(dst []Hit) []Hit {
	dst = e.each(dst, func(g *group, dst []Hit) []Hit {
		for len(g.pend) > 0 {
			dst = e.releaseFirst(g, dst)
		}
		return e.closeGroup(g, math.MaxInt64, dst)
	})
	clear(e.groups)
	e.lru.next, e.lru.prev = &e.lru, &e.lru
	e.npend, e.nents = 0, 0
	return dst
}

// each applies f to every group, spec by spec with feeding specs first (so
// that the hits they raise reach their dependents before those are
// visited), each spec's groups from the least recently active.
func (e *Engine) each(dst []Hit, f func(*group, []Hit) []Hit) []Hit {
	bySpec := make([][]*group, len(e.specs))
	for g := e.lru.next; g != &e.lru; g = g.next {
		bySpec[g.spec] = append(bySpec[g.spec], g)
	}
	for _, si := range e.topo {
		if e.specs[si].fed {
			// Feeding specs visited before may have created groups.
			bySpec[si] = bySpec[si][:0]
			for g := e.lru.next; g != &e.lru; g = g.next {
				if g.spec == si {
					bySpec[si] = append(bySpec[si], g)
				}
			}
		}
		for _, g := range bySpec[si] {
			if e.groups[g.key] != g {
				continue // evicted meanwhile
			}
			from := len(dst)
			before := g.size()
			dst = f(g, dst)
			e.nents += g.size() - before
			dst = e.chain(from, dst)
		}
		bySpec[si] = nil
	}
	return dst
}

func appendKey(b []byte, spec int, vals []string) []byte {
	b = appendUvarint(b, uint64(spec))
	for _, v := range vals {
		b = appendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

func appendUvarint(b []byte, x uint64) []byte {
	for x >= 0x80 {
		b = append(b, byte(x)|0x80)
		x >>= 7
	}
	return append(b, byte(x))
}

// newGroup creates the group of e.keybuf, evicting the least recently
// active group beyond MaxGroups (counted when it held state).
func (e *Engine) newGroup(spec int, vals []string, t int64) *group {
	if len(e.groups) >= e.cfg.MaxGroups {
		old := e.lru.next
		if old.stateful() {
			e.stats.GroupsEvicted++
		}
		e.remove(old)
	}
	e.seq++
	g := &group{spec: spec, key: string(e.keybuf), vals: slices.Clone(vals), seq: e.seq, maxSeen: t, lastReleased: math.MinInt64}
	s := &e.specs[spec]
	switch s.Kind {
	case ValueCount:
		if s.eager {
			g.distinct = make(map[string]int32)
		}
	case Temporal:
		g.ruleCnt = make([]int32, len(s.distinct))
	case TemporalOrdered:
		g.stages = make([]*partial, len(s.Rules))
	}
	e.groups[g.key] = g
	e.linkLast(g)
	return g
}

func (e *Engine) linkLast(g *group) {
	g.prev, g.next = e.lru.prev, &e.lru
	e.lru.prev.next = g
	e.lru.prev = g
}

func (e *Engine) unlink(g *group) {
	g.prev.next, g.next.prev = g.next, g.prev
	g.prev, g.next = nil, nil
}

func (e *Engine) remove(g *group) {
	e.unlink(g)
	e.npend -= len(g.pend)
	e.nents -= g.size()
	delete(e.groups, g.key)
}

// deadline returns when g's oldest window ends, and false when g has no
// window open.
func (e *Engine) deadline(g *group) (int64, bool) {
	s := &e.specs[g.spec]
	d, ok := int64(math.MaxInt64), false
	if s.Kind == TemporalOrdered {
		for _, p := range g.stages {
			if p != nil {
				ok = true
				d = min(d, addSat(p.start, s.span))
			}
		}
		return d, ok
	}
	if g.head < len(g.ents) {
		return addSat(g.ents[g.head].t, s.span), true
	}
	return d, false
}

// process correlates one released entry of g.
func (e *Engine) process(g *group, en entry, dst []Hit) []Hit {
	s := &e.specs[g.spec]
	switch {
	case s.Kind == TemporalOrdered:
		dst = e.sequence(g, s, en, dst)
	case s.eager:
		lo := subSat(en.t, s.span)
		for g.head < len(g.ents) && g.ents[g.head].t < lo {
			e.popFront(g, s)
		}
		if len(g.ents)-g.head >= e.cfg.MaxEntriesPerGroup {
			e.popFront(g, s)
			e.stats.EntriesDropped++
		}
		e.pushBack(g, s, en)
		if m := e.eagerMeasure(g, s); s.cond.Holds(m) {
			live := g.live()
			dst = append(dst, e.hit(g, s, live, live[0].t, en.t, m))
			e.clear(g)
		}
	default:
		if len(g.ents)-g.head >= e.cfg.MaxEntriesPerGroup {
			e.popFront(g, s)
			e.stats.EntriesDropped++
		}
		g.ents = append(g.ents, en)
	}
	return dst
}

func (e *Engine) pushBack(g *group, s *cspec, en entry) {
	g.ents = append(g.ents, en)
	switch s.Kind {
	case ValueCount:
		g.distinct[en.str]++
	case Temporal:
		if g.ruleCnt[en.rule] == 0 {
			g.nRules++
		}
		g.ruleCnt[en.rule]++
	case ValueSum, ValueAvg:
		g.sum += en.num
	}
}

func (e *Engine) popFront(g *group, s *cspec) {
	en := g.ents[g.head]
	if s.eager {
		switch s.Kind {
		case ValueCount:
			if n := g.distinct[en.str] - 1; n == 0 {
				delete(g.distinct, en.str)
			} else {
				g.distinct[en.str] = n
			}
		case Temporal:
			g.ruleCnt[en.rule]--
			if g.ruleCnt[en.rule] == 0 {
				g.nRules--
			}
		case ValueSum, ValueAvg:
			g.sum -= en.num
		}
	}
	g.ents[g.head] = entry{}
	g.head++
	if g.head == len(g.ents) {
		g.ents, g.head = g.ents[:0], 0
	} else if g.head >= 16 && g.head*2 >= len(g.ents) {
		n := copy(g.ents, g.ents[g.head:])
		clear(g.ents[n:])
		g.ents, g.head = g.ents[:n], 0
	}
}

func (e *Engine) clear(g *group) {
	clear(g.ents)
	g.ents, g.head = g.ents[:0], 0
	if g.distinct != nil {
		clear(g.distinct)
	}
	clear(g.ruleCnt)
	g.nRules = 0
	g.sum = 0
}

func (e *Engine) eagerMeasure(g *group, s *cspec) float64 {
	n := len(g.ents) - g.head
	switch s.Kind {
	case EventCount:
		return float64(n)
	case ValueCount:
		return float64(len(g.distinct))
	case Temporal:
		return float64(g.nRules)
	case ValueSum:
		return g.sum
	case ValueAvg:
		return g.sum / float64(n)
	}
	return e.measure(s, g.live())
}

// measure computes the measure of s over ents from scratch.
func (e *Engine) measure(s *cspec, ents []entry) float64 {
	switch s.Kind {
	case EventCount:
		return float64(len(ents))
	case ValueCount:
		clear(e.seen)
		for i := range ents {
			e.seen[ents[i].str] = struct{}{}
		}
		return float64(len(e.seen))
	case Temporal:
		var mask uint64
		var big map[uint16]struct{}
		for i := range ents {
			r := ents[i].rule
			if r < 64 {
				mask |= 1 << r
			} else {
				if big == nil {
					big = make(map[uint16]struct{})
				}
				big[r] = struct{}{}
			}
		}
		return float64(popcount(mask) + len(big))
	case ValueSum, ValueAvg:
		sum := 0.0
		for i := range ents {
			sum += ents[i].num
		}
		if s.Kind == ValueAvg {
			return sum / float64(len(ents))
		}
		return sum
	case ValuePercentile:
		e.scratch = e.scratch[:0]
		for i := range ents {
			e.scratch = append(e.scratch, ents[i].num)
		}
		return percentile(e.scratch, s.pct)
	}
	return math.NaN()
}

func popcount(x uint64) int {
	n := 0
	for x != 0 {
		x &= x - 1
		n++
	}
	return n
}

// percentile sorts xs and returns its p-th percentile (0 < p <= 100) by
// linear interpolation between closest ranks (rank = p/100·(n−1)).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	r := p / 100 * float64(len(xs)-1)
	lo := int(math.Floor(r))
	hi := int(math.Ceil(r))
	if hi >= len(xs) {
		hi = len(xs) - 1
	}
	return xs[lo] + (xs[hi]-xs[lo])*(r-float64(lo))
}

// sequence advances the ordered stages of g with en.
func (e *Engine) sequence(g *group, s *cspec, en entry, dst []Hit) []Hit {
	lo := subSat(en.t, s.span)
	for i, p := range g.stages {
		if p != nil && p.start < lo {
			g.stages[i] = nil
		}
	}
	for _, pos := range s.positions[en.rule] {
		if pos == 0 {
			np := &partial{start: en.t, ents: []entry{en}}
			if s.cond.Holds(1) {
				dst = append(dst, e.hit(g, s, np.ents, np.start, en.t, 1))
			} else {
				g.stages[0] = np
			}
			return dst
		}
		prev := g.stages[pos-1]
		if prev == nil {
			continue
		}
		g.stages[pos-1] = nil
		prev.ents = append(prev.ents, en)
		if m := float64(pos + 1); s.cond.Holds(m) {
			dst = append(dst, e.hit(g, s, prev.ents, prev.start, en.t, m))
		} else {
			g.stages[pos] = prev
		}
		return dst
	}
	return dst
}

func (e *Engine) hit(g *group, s *cspec, ents []entry, start, end int64, m float64) Hit {
	e.stats.Hits++
	h := Hit{
		Spec: s.ID, SpecIndex: g.spec, Kind: s.Kind, Group: slices.Clone(g.vals),
		Start: time.Unix(0, start).UTC(), End: time.Unix(0, end).UTC(), Value: m,
	}
	for i := range ents {
		en := &ents[i]
		h.Events += en.events()
		if en.ids == nil && en.n == 0 {
			if len(h.EventIDs) < e.cfg.MaxEventIDs {
				h.EventIDs = append(h.EventIDs, en.id)
			}
			continue
		}
		for _, id := range en.ids {
			if len(h.EventIDs) < e.cfg.MaxEventIDs {
				h.EventIDs = append(h.EventIDs, id)
			}
		}
	}
	var mask []bool
	if len(s.distinct) > 1 {
		mask = make([]bool, len(s.distinct))
		for i := range ents {
			mask[ents[i].rule] = true
		}
	}
	for i, r := range s.distinct {
		if mask == nil || mask[i] {
			h.Rules = append(h.Rules, r)
		}
	}
	return h
}

// chain feeds the hits dst[from:] (and the hits that this raises in
// turn) to the specs that reference their spec, as entries at the hit's
// End time in the dependent spec's group.
func (e *Engine) chain(from int, dst []Hit) []Hit {
	for i := from; i < len(dst); i++ {
		x := &e.specs[dst[i].SpecIndex]
		if len(x.deps) == 0 {
			continue
		}
		h := dst[i]
		ids := h.EventIDs
		if ids == nil {
			ids = []string{}
		}
		for _, yi := range x.deps {
			y := &e.specs[yi]
			vals := make([]string, len(y.GroupBy))
			for j, k := range y.GroupFrom[x.ID] {
				vals[j] = h.Group[k]
			}
			en := entry{t: h.End.UnixNano(), rule: y.ruleIdx[x.ID], id: x.ID, ids: ids, n: h.Events,
				str: strconv.FormatFloat(h.Value, 'g', -1, 64), num: h.Value}
			e.keybuf = appendKey(e.keybuf[:0], yi, vals)
			dst = e.accept(yi, vals, en, dst)
		}
	}
	return dst
}

// closeGroup closes, oldest first, g's windows that end before t.
func (e *Engine) closeGroup(g *group, t int64, dst []Hit) []Hit {
	s := &e.specs[g.spec]
	for {
		d, ok := e.deadline(g)
		if !ok || d >= t {
			return dst
		}
		switch {
		case s.Kind == TemporalOrdered:
			for i, p := range g.stages {
				if p != nil && addSat(p.start, s.span) < t {
					g.stages[i] = nil
				}
			}
		case s.eager:
			for g.head < len(g.ents) && addSat(g.ents[g.head].t, s.span) < t {
				e.popFront(g, s)
			}
		default:
			live := g.live()
			end := addSat(live[0].t, s.span)
			k := 1
			for k < len(live) && live[k].t <= end {
				k++
			}
			if m := e.measure(s, live[:k]); s.cond.Holds(m) {
				dst = append(dst, e.hit(g, s, live[:k], live[0].t, end, m))
				for range k {
					e.popFront(g, s)
				}
			} else {
				e.popFront(g, s)
			}
		}
	}
}
