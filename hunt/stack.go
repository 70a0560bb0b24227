package hunt

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/store"
)

// Stack configures stacking: group the events of a range by the values of
// one or more fields and count each group, least frequent first (least
// frequency of occurrence). It is a plain value.
type Stack struct {
	Range
	// Fields are the fields to group by (flat names or dotted paths).
	// Values group case-insensitively (store.Normalize); a row shows the
	// first spelling seen. An event without any of the fields is left out;
	// one with some gets "" for the others.
	Fields []string
	// Condition, when set, keeps only the events it matches (a CEL
	// condition, as Query.Condition).
	Condition string
	// MinCount and MaxCount keep the rows whose count is within them (0:
	// no bound).
	MinCount, MaxCount int64
	// MaxGroups bounds the groups held in memory (0: DefaultMaxGroups).
	// Once it is reached, events of new groups are counted in
	// StackResult.Dropped and the result is marked Truncated.
	MaxGroups int
	// Limit bounds the rows returned (0: all).
	Limit    int
	Progress ProgressFunc
}

// DefaultMaxGroups is the default bound of Stack.MaxGroups: with the
// distinct hosts kept per group (up to MaxHostsPerGroup) a group costs
// about 200 bytes plus its values, so 200,000 groups stay under about
// 100 MB.
const DefaultMaxGroups = 200_000

// MaxHostsPerGroup bounds the distinct hosts counted per group; a row with
// more shows this many and HostsCapped.
const MaxHostsPerGroup = 64

// StackRow is one group. It is a plain value.
type StackRow struct {
	Values      []string  `json:"values"`
	Count       int64     `json:"count"`
	Hosts       int       `json:"hosts"`
	HostsCapped bool      `json:"hosts_capped,omitempty"`
	First       time.Time `json:"first"`
	Last        time.Time `json:"last"`
}

// StackResult is the outcome of stacking. It is a plain value.
type StackResult struct {
	Rows      []StackRow
	Groups    int   // groups counted (before MinCount, MaxCount and Limit)
	Dropped   int64 // events of groups not admitted once MaxGroups was reached
	Truncated bool  // Dropped > 0: counts of groups seen late are missing
	Progress  Progress
}

type group struct {
	row   StackRow
	hosts []string
}

// stacker accumulates groups.
type stacker struct {
	fields  []string
	max     int
	groups  map[string]*group
	dropped int64
	key     []byte
	vals    []string
}

func newStacker(fields []string, maxGroups int) *stacker {
	if maxGroups <= 0 {
		maxGroups = DefaultMaxGroups
	}
	return &stacker{fields: fields, max: maxGroups, groups: map[string]*group{}}
}

// values reads the group values of ev into s.vals and its key into s.key;
// false when the event has none of the fields.
func (s *stacker) values(ev *mdr.Event) bool {
	s.key, s.vals = s.key[:0], s.vals[:0]
	any := false
	for i, f := range s.fields {
		v, ok := ev.Get(f)
		text := ""
		if ok && !v.IsNull() {
			text, any = v.Text(), true
		}
		if i > 0 {
			s.key = append(s.key, 0)
		}
		s.key = store.AppendNormalized(s.key, text)
		s.vals = append(s.vals, text)
	}
	return any
}

func (s *stacker) add(ev *mdr.Event) {
	if !s.values(ev) {
		return
	}
	g := s.groups[bytesString(s.key)]
	if g == nil {
		if len(s.groups) >= s.max {
			s.dropped++
			return
		}
		g = &group{row: StackRow{Values: slices.Clone(s.vals), First: ev.Time(), Last: ev.Time()}}
		s.groups[string(s.key)] = g
	}
	g.row.Count++
	t := ev.Time()
	if t.Before(g.row.First) {
		g.row.First = t
	}
	if t.After(g.row.Last) {
		g.row.Last = t
	}
	if !g.row.HostsCapped {
		h := engine.HostOf(ev)
		if !slices.ContainsFunc(g.hosts, func(x string) bool { return strings.EqualFold(x, h) }) {
			if len(g.hosts) >= MaxHostsPerGroup {
				g.row.HostsCapped = true
			} else {
				g.hosts = append(g.hosts, h)
			}
		}
	}
}

// rows returns the groups least frequent first (ties by first time, then
// values).
func (s *stacker) rows(minCount, maxCount int64, limit int, skip func(key string) bool) []StackRow {
	out := make([]StackRow, 0, len(s.groups))
	for k, g := range s.groups {
		if (minCount > 0 && g.row.Count < minCount) || (maxCount > 0 && g.row.Count > maxCount) || (skip != nil && skip(k)) {
			continue
		}
		r := g.row
		r.Hosts = len(g.hosts)
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b StackRow) int {
		if c := cmp.Compare(a.Count, b.Count); c != 0 {
			return c
		}
		if c := a.First.Compare(b.First); c != 0 {
			return c
		}
		return slices.Compare(a.Values, b.Values)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// filterOf compiles a stacking condition.
func filterOf(ctx context.Context, cond string) (*Prepared, error) {
	if strings.TrimSpace(cond) == "" {
		return nil, nil
	}
	return Compile(ctx, Query{Condition: cond})
}

// scanGroups feeds the events of rng (on cond) to s.
func scanGroups(ctx context.Context, src store.Events, rng Range, cond *Prepared, progress ProgressFunc, s *stacker) (Progress, error) {
	var keep func(*store.Summary) bool
	if cond != nil && len(cond.plan) > 0 {
		keep = cond.plan.keep
	}
	sc := newScanner(src, rng, keep, progress)
	var err error
	for ev, serr := range sc.events(ctx) {
		if serr != nil {
			err = serr
			break
		}
		if cond != nil {
			ok, merr := cond.rules.Match(ctx, ev)
			if merr != nil && ctx.Err() != nil {
				err = ctx.Err()
				break
			}
			if len(ok) == 0 {
				continue
			}
		}
		sc.p.Matched++
		s.add(ev)
	}
	sc.report(true)
	return sc.p, err
}

// StackEvents groups the events of cfg's range by cfg.Fields and returns
// the groups least frequent first. Memory is bounded by cfg.MaxGroups.
func StackEvents(ctx context.Context, src store.Events, cfg Stack) (*StackResult, error) {
	if len(cfg.Fields) == 0 {
		return nil, fmt.Errorf("%w: stacking needs at least one field", ErrQuery)
	}
	cond, err := filterOf(ctx, cfg.Condition)
	if err != nil {
		return nil, err
	}
	s := newStacker(cfg.Fields, cfg.MaxGroups)
	p, err := scanGroups(ctx, src, cfg.Range, cond, cfg.Progress, s)
	if err != nil {
		return nil, err
	}
	return &StackResult{Rows: s.rows(cfg.MinCount, cfg.MaxCount, cfg.Limit, nil), Groups: len(s.groups), Dropped: s.dropped, Truncated: s.dropped > 0, Progress: p}, nil
}

// FirstSeen configures a first-seen search: the value groups of Stack.Fields
// that occur in Stack's range but not in the baseline range (a new
// service, a new parent → child pair, a new autorun). It is a plain value.
type FirstSeen struct {
	Stack
	// Baseline is the range whose values are known (usually before Range).
	Baseline Range
	// MaxBaseline bounds the distinct baseline groups remembered (as 64-bit
	// hashes, 8 bytes each; 0: DefaultMaxBaseline). Beyond it the search
	// stops with ErrBudget: a value missing from a partial baseline would
	// look new.
	MaxBaseline int
}

// DefaultMaxBaseline is the default bound of FirstSeen.MaxBaseline (8 MB).
const DefaultMaxBaseline = 1_000_000

// FirstSeenEvents returns the groups of the range absent from the baseline,
// least frequent first.
func FirstSeenEvents(ctx context.Context, src store.Events, cfg FirstSeen) (*StackResult, error) {
	if len(cfg.Fields) == 0 {
		return nil, fmt.Errorf("%w: first-seen needs at least one field", ErrQuery)
	}
	cond, err := filterOf(ctx, cfg.Condition)
	if err != nil {
		return nil, err
	}
	maxBase := cfg.MaxBaseline
	if maxBase <= 0 {
		maxBase = DefaultMaxBaseline
	}
	known := map[uint64]struct{}{}
	base := newStacker(cfg.Fields, 1)
	sc := newScanner(src, cfg.Baseline, nil, cfg.Progress)
	for ev, err := range sc.events(ctx) {
		if err != nil {
			return nil, err
		}
		if cond != nil {
			if ms, _ := cond.rules.Match(ctx, ev); len(ms) == 0 {
				continue
			}
		}
		if !base.values(ev) {
			continue
		}
		known[xxhash.Sum64(base.key)] = struct{}{}
		if len(known) > maxBase {
			return nil, fmt.Errorf("%w: more than %d distinct baseline values (raise MaxBaseline or narrow the baseline)", ErrBudget, maxBase)
		}
	}
	s := newStacker(cfg.Fields, cfg.MaxGroups)
	p, err := scanGroups(ctx, src, cfg.Range, cond, cfg.Progress, s)
	if err != nil {
		return nil, err
	}
	skip := func(key string) bool { _, ok := known[xxhash.Sum64String(key)]; return ok }
	rows := s.rows(cfg.MinCount, cfg.MaxCount, cfg.Limit, skip)
	return &StackResult{Rows: rows, Groups: len(s.groups), Dropped: s.dropped, Truncated: s.dropped > 0, Progress: p}, nil
}
