package correlate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// refEngine is a plain model of the engine's semantics, recomputing every
// measure from scratch: per group, the entries of the window; an eager
// spec fires on the window ending at each entry, a window-close spec on
// the window anchored at its oldest entry once time passes its end;
// temporal_ordered keeps the latest partial sequence per position.
type refEngine struct {
	spec   Spec
	groups map[string]*refGroup
	order  []string
	hits   []string
}

type refEntry struct {
	t    float64
	id   string
	rule string
	str  string
	num  float64
}

type refGroup struct {
	ents   []refEntry
	stages [][]refEntry
}

func (r *refEngine) measure(ents []refEntry) float64 {
	switch r.spec.Kind {
	case EventCount:
		return float64(len(ents))
	case ValueCount:
		m := map[string]bool{}
		for _, e := range ents {
			m[e.str] = true
		}
		return float64(len(m))
	case Temporal:
		m := map[string]bool{}
		for _, e := range ents {
			m[e.rule] = true
		}
		return float64(len(m))
	case ValueSum, ValueAvg:
		s := 0.0
		for _, e := range ents {
			s += e.num
		}
		if r.spec.Kind == ValueAvg {
			return s / float64(len(ents))
		}
		return s
	case ValuePercentile:
		xs := make([]float64, len(ents))
		for i, e := range ents {
			xs[i] = e.num
		}
		p := r.spec.Percentile
		if p == 0 {
			p = 50
		}
		return percentile(xs, p)
	}
	return math.NaN()
}

func (r *refEngine) cond() Condition {
	c := r.spec.Condition
	if c.Empty() {
		n := float64(len(r.spec.Rules))
		c.GTE = &n
	}
	return c
}

func (r *refEngine) hit(group string, ents []refEntry, v float64) {
	ids := make([]string, len(ents))
	for i, e := range ents {
		ids[i] = e.id
	}
	r.hits = append(r.hits, fmt.Sprintf("%s %v %.9g", group, ids, v))
}

// closeBefore decides the windows of g that end before t.
func (r *refEngine) closeBefore(name string, g *refGroup, t float64) {
	span := r.spec.Window.Seconds()
	if r.spec.Eager() {
		return
	}
	for len(g.ents) > 0 && g.ents[0].t+span < t {
		k := 0
		for k < len(g.ents) && g.ents[k].t <= g.ents[0].t+span {
			k++
		}
		if v := r.measure(g.ents[:k]); r.cond().Holds(v) {
			r.hit(name, g.ents[:k], v)
			g.ents = g.ents[k:]
		} else {
			g.ents = g.ents[1:]
		}
	}
}

func (r *refEngine) observe(e ev) {
	name := fmt.Sprint(e.grp)
	g := r.groups[name]
	if g == nil {
		g = &refGroup{stages: make([][]refEntry, len(r.spec.Rules))}
		r.groups[name] = g
		r.order = append(r.order, name)
	}
	if r.spec.Kind.measured() && e.missing {
		return
	}
	en := refEntry{t: e.at, id: e.id, rule: e.rule, str: e.val, num: e.num}
	span := r.spec.Window.Seconds()
	r.closeBefore(name, g, e.at)
	switch {
	case r.spec.Kind == TemporalOrdered:
		for i, p := range g.stages {
			if p != nil && p[0].t < e.at-span {
				g.stages[i] = nil
			}
		}
		for pos := len(r.spec.Rules) - 1; pos >= 0; pos-- {
			if r.spec.Rules[pos] != e.rule {
				continue
			}
			if pos == 0 {
				g.stages[0] = []refEntry{en}
				if r.cond().Holds(1) {
					r.hit(name, g.stages[0], 1)
					g.stages[0] = nil
				}
				break
			}
			if g.stages[pos-1] == nil {
				continue
			}
			seq := append(slices.Clone(g.stages[pos-1]), en)
			g.stages[pos-1] = nil
			if r.cond().Holds(float64(pos + 1)) {
				r.hit(name, seq, float64(pos+1))
			} else {
				g.stages[pos] = seq
			}
			break
		}
	case r.spec.Eager():
		keep := g.ents[:0]
		for _, x := range g.ents {
			if x.t >= e.at-span {
				keep = append(keep, x)
			}
		}
		g.ents = append(keep, en)
		if v := r.measure(g.ents); r.cond().Holds(v) {
			r.hit(name, g.ents, v)
			g.ents = nil
		}
	default:
		g.ents = append(g.ents, en)
	}
}

func (r *refEngine) flush() {
	for _, name := range r.order {
		r.closeBefore(name, r.groups[name], math.Inf(1))
	}
}

// TestAgainstReference runs every kind, eager and decided at close, over
// random sorted streams (ties included) and compares the engine's hits,
// group by group, with the plain model's.
func TestAgainstReference(t *testing.T) {
	specs := append(allKinds(30*time.Second),
		Spec{ID: "to-rep", Kind: TemporalOrdered, Rules: []string{"a", "b", "a"}, GroupBy: []string{"host"}, Window: 30 * time.Second},
		Spec{ID: "to-2of3", Kind: TemporalOrdered, Rules: []string{"c", "b", "a"}, GroupBy: []string{"host"}, Window: 30 * time.Second, Condition: Condition{GTE: f(2)}},
		Spec{ID: "t-lt", Kind: Temporal, Rules: []string{"a", "b", "c"}, GroupBy: []string{"host"}, Window: 30 * time.Second, Condition: Condition{LT: f(3)}},
		Spec{ID: "sum-range", Kind: ValueSum, Rules: []string{"a", "b"}, GroupBy: []string{"host"}, Window: 30 * time.Second, Condition: Condition{GT: f(100), LTE: f(300)}},
		Spec{ID: "avg-gt", Kind: ValueAvg, Rules: []string{"a"}, GroupBy: []string{"host"}, Window: 30 * time.Second, Condition: Condition{GT: f(60)}},
		Spec{ID: "pct-neq", Kind: ValuePercentile, Rules: []string{"b"}, GroupBy: []string{"host"}, Window: 30 * time.Second, Percentile: 10, Condition: Condition{NEQ: f(0)}},
	)
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 77))
		for si, s := range specs {
			eng := newEngine(t, DefaultConfig(), s)
			ref := &refEngine{spec: s, groups: map[string]*refGroup{}}
			var stream []ev
			at := 0.0
			for i := range 300 {
				at += float64(r.IntN(6)) // zero steps make ties
				rule := []string{"a", "b", "c"}[r.IntN(3)]
				if !slices.Contains(s.Rules, rule) {
					continue
				}
				stream = append(stream, ev{rule: rule, at: at, id: fmt.Sprint(i), grp: u(fmt.Sprint("h", r.IntN(3))),
					val: fmt.Sprint("v", r.IntN(4)), num: float64(r.IntN(100)), missing: r.IntN(30) == 0})
			}
			var got []string
			for _, h := range feed(t, eng, stream) {
				got = append(got, fmt.Sprintf("%v %v %.9g", h.Group, h.EventIDs, h.Value))
			}
			for _, e := range stream {
				ref.observe(e)
			}
			ref.flush()
			slices.Sort(got)
			slices.Sort(ref.hits)
			if !slices.Equal(got, ref.hits) {
				t.Fatalf("seed %d spec %d (%s): engine %d hits, model %d\nengine %q\nmodel  %q", seed, si, s.ID, len(got), len(ref.hits), head(got), head(ref.hits))
			}
		}
	}
}
