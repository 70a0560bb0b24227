package correlate

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func f(x float64) *float64 { return &x }

// ev is a test input: spec index, rule, time in seconds after t0, id,
// group values and measured value.
type ev struct {
	spec    int
	rule    string
	at      float64
	id      string
	grp     []string
	val     string
	num     float64
	missing bool
}

func (e ev) input() Input {
	return Input{Spec: e.spec, Rule: e.rule, Time: t0.Add(time.Duration(e.at * float64(time.Second))), EventID: e.id,
		Group: e.grp, Value: e.val, Number: e.num, Missing: e.missing}
}

func feed(t *testing.T, eng *Engine, evs []ev) []Hit {
	t.Helper()
	var hits []Hit
	for _, e := range evs {
		var err error
		if hits, err = eng.Observe(e.input(), hits); err != nil {
			t.Fatalf("observe %+v: %v", e, err)
		}
	}
	return eng.Flush(hits)
}

func secs(tm time.Time) float64 { return tm.Sub(t0).Seconds() }

// summary renders a hit compactly: spec group ids value [start,end].
func summary(h Hit) string {
	return fmt.Sprintf("%s %v %v v=%g [%g,%g]", h.Spec, h.Group, h.EventIDs, h.Value, secs(h.Start), secs(h.End))
}

func summaries(hs []Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = summary(h)
	}
	return out
}

func newEngine(t testing.TB, cfg Config, specs ...Spec) *Engine {
	t.Helper()
	eng, err := New(cfg, specs)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

func u(s string) []string { return []string{s} }

func TestKinds(t *testing.T) {
	sec := time.Second
	cases := []struct {
		name string
		spec Spec
		evs  []ev
		want []string
	}{
		{
			name: "event_count gte 3 slides and resets",
			spec: Spec{ID: "ec", Kind: EventCount, Rules: []string{"a"}, GroupBy: []string{"user"}, Window: 10 * sec, Condition: Condition{GTE: f(3)}},
			evs: []ev{
				{rule: "a", at: 0, id: "1", grp: u("u1")}, {rule: "a", at: 1, id: "2", grp: u("u2")},
				{rule: "a", at: 2, id: "3", grp: u("u1")}, {rule: "a", at: 5, id: "4", grp: u("u1")},
				{rule: "a", at: 6, id: "5", grp: u("u1")}, // consumed: starts afresh
				{rule: "a", at: 20, id: "6", grp: u("u1")}, {rule: "a", at: 21, id: "7", grp: u("u1")},
				{rule: "a", at: 35, id: "8", grp: u("u1")},                                              // 20 and 21 are out of [25,35]
				{rule: "a", at: 40, id: "9", grp: u("u1")}, {rule: "a", at: 45, id: "10", grp: u("u1")}, // [35,45] inclusive
			},
			want: []string{"ec [u1] [1 3 4] v=3 [0,5]", "ec [u1] [8 9 10] v=3 [35,45]"},
		},
		{
			name: "value_count distinct values",
			spec: Spec{ID: "vc", Kind: ValueCount, Rules: []string{"fail"}, GroupBy: []string{"ip"}, Window: time.Minute, Condition: Condition{GT: f(2)}},
			evs: []ev{
				{rule: "fail", at: 0, id: "1", grp: u("10.0.0.1"), val: "alice"},
				{rule: "fail", at: 1, id: "2", grp: u("10.0.0.1"), val: "alice"},
				{rule: "fail", at: 2, id: "3", grp: u("10.0.0.1"), val: "bob"},
				{rule: "fail", at: 3, id: "x", grp: u("10.0.0.1"), missing: true},
				{rule: "fail", at: 4, id: "4", grp: u("10.0.0.2"), val: "carol"},
				{rule: "fail", at: 5, id: "5", grp: u("10.0.0.1"), val: "carol"},
			},
			want: []string{"vc [10.0.0.1] [1 2 3 5] v=3 [0,5]"},
		},
		{
			name: "temporal any order",
			spec: Spec{ID: "t", Kind: Temporal, Rules: []string{"a", "b", "c"}, GroupBy: []string{"host"}, Window: 10 * sec},
			evs: []ev{
				{rule: "c", at: 0, id: "c0", grp: u("h")}, {rule: "a", at: 3, id: "a3", grp: u("h")},
				{rule: "a", at: 4, id: "a4", grp: u("h")}, {rule: "b", at: 8, id: "b8", grp: u("other")},
				{rule: "b", at: 9, id: "b9", grp: u("h")},
				{rule: "c", at: 20, id: "c20", grp: u("h")}, {rule: "a", at: 25, id: "a25", grp: u("h")},
				{rule: "b", at: 31, id: "b31", grp: u("h")}, // c20 left the window
				{rule: "c", at: 33, id: "c33", grp: u("h")},
			},
			want: []string{"t [h] [c0 a3 a4 b9] v=3 [0,9]", "t [h] [a25 b31 c33] v=3 [25,33]"},
		},
		{
			name: "temporal with a partial condition",
			spec: Spec{ID: "t2", Kind: Temporal, Rules: []string{"a", "b", "c"}, Window: 10 * sec, Condition: Condition{GTE: f(2)}},
			evs: []ev{
				{rule: "a", at: 0, id: "1"}, {rule: "a", at: 1, id: "2"}, {rule: "c", at: 2, id: "3"},
			},
			want: []string{"t2 [] [1 2 3] v=2 [0,2]"},
		},
		{
			name: "temporal_ordered a then b then c",
			spec: Spec{ID: "seq", Kind: TemporalOrdered, Rules: []string{"a", "b", "c"}, GroupBy: []string{"host"}, Window: 10 * sec},
			evs: []ev{
				{rule: "b", at: 0, id: "b0", grp: u("h")}, {rule: "a", at: 1, id: "a1", grp: u("h")},
				{rule: "c", at: 2, id: "c2", grp: u("h")}, // no b after a yet
				{rule: "b", at: 3, id: "b3", grp: u("h")}, {rule: "c", at: 4, id: "c4", grp: u("h")},
				{rule: "a", at: 10, id: "a10", grp: u("h")}, {rule: "b", at: 15, id: "b15", grp: u("h")},
				{rule: "c", at: 25, id: "c25", grp: u("h")},                                              // 15 s after a10
				{rule: "a", at: 30, id: "a30", grp: u("h")}, {rule: "a", at: 31, id: "a31", grp: u("h")}, // the later a replaces
				{rule: "b", at: 32, id: "b32", grp: u("g")}, {rule: "b", at: 33, id: "b33", grp: u("h")},
				{rule: "c", at: 41, id: "c41", grp: u("h")},
			},
			want: []string{"seq [h] [a1 b3 c4] v=3 [1,4]", "seq [h] [a31 b33 c41] v=3 [31,41]"},
		},
		{
			name: "temporal_ordered with a repeated rule",
			spec: Spec{ID: "rep", Kind: TemporalOrdered, Rules: []string{"a", "a", "b"}, Window: 10 * sec},
			evs: []ev{
				{rule: "a", at: 0, id: "1"}, {rule: "b", at: 1, id: "2"}, {rule: "a", at: 2, id: "3"}, {rule: "b", at: 3, id: "4"},
			},
			want: []string{"rep [] [1 3 4] v=3 [0,3]"},
		},
		{
			name: "value_sum gt",
			spec: Spec{ID: "sum", Kind: ValueSum, Rules: []string{"web"}, GroupBy: []string{"src"}, Window: time.Hour, Condition: Condition{GT: f(100)}},
			evs: []ev{
				{rule: "web", at: 0, id: "1", grp: u("s"), num: 50}, {rule: "web", at: 1, id: "2", grp: u("s"), num: 30},
				{rule: "web", at: 2, id: "3", grp: u("t"), num: 90}, {rule: "web", at: 3, id: "4", grp: u("s"), num: 21},
			},
			want: []string{"sum [s] [1 2 4] v=101 [0,3]"},
		},
		{
			name: "value_avg lt decided at window close",
			spec: Spec{ID: "avg", Kind: ValueAvg, Rules: []string{"x"}, Window: 10 * sec, Condition: Condition{LT: f(5)}},
			evs: []ev{
				{rule: "x", at: 0, id: "1", num: 10}, {rule: "x", at: 2, id: "2", num: 2}, {rule: "x", at: 4, id: "3", num: 0},
				// window [0,10]: avg 4 -> hit consumes 1..3
				{rule: "x", at: 11, id: "4", num: 9}, {rule: "x", at: 12, id: "5", num: 0},
				// [11,21]: avg 4.5 -> hit at flush
			},
			want: []string{"avg [] [1 2 3] v=4 [0,10]", "avg [] [4 5] v=4.5 [11,21]"},
		},
		{
			name: "value_avg gt is eager",
			spec: Spec{ID: "avg2", Kind: ValueAvg, Rules: []string{"x"}, Window: 10 * sec, Condition: Condition{GT: f(5)}},
			evs: []ev{
				{rule: "x", at: 0, id: "1", num: 1}, {rule: "x", at: 2, id: "2", num: 3}, {rule: "x", at: 4, id: "3", num: 12},
			},
			want: []string{"avg2 [] [1 2 3] v=5.333333333333333 [0,4]"},
		},
		{
			name: "value_percentile median",
			spec: Spec{ID: "p50", Kind: ValuePercentile, Rules: []string{"x"}, Window: 10 * sec, Condition: Condition{GTE: f(100)}},
			evs: []ev{
				{rule: "x", at: 0, id: "1", num: 500}, {rule: "x", at: 1, id: "2", num: 1},
				{rule: "x", at: 2, id: "3", num: 2}, {rule: "x", at: 3, id: "4", num: 300},
				{rule: "x", at: 4, id: "5", num: 400}, // sorted 1 2 300 400 500 -> median 300
			},
			want: []string{"p50 [] [1] v=500 [0,0]", "p50 [] [2 3 4 5] v=151 [1,4]"},
		},
		{
			name: "value_percentile 90 decided at close",
			spec: Spec{ID: "p90", Kind: ValuePercentile, Rules: []string{"x"}, Window: 10 * sec, Percentile: 90, Condition: Condition{LTE: f(10)}},
			evs: []ev{
				{rule: "x", at: 0, id: "1", num: 1}, {rule: "x", at: 1, id: "2", num: 2}, {rule: "x", at: 2, id: "3", num: 100},
				{rule: "x", at: 30, id: "4", num: 3}, {rule: "x", at: 31, id: "5", num: 4},
			},
			// [0,10]: 1 2 100 -> p90 = 2+0.8*98 = 80.4 no; [1,11]: 2 100 -> 90.2 no; [2,12]: 100 no; [30,40]: 3 4 -> 3.9 hit
			want: []string{"p90 [] [4 5] v=3.9 [30,40]"},
		},
		{
			name: "event_count range decided at close",
			spec: Spec{ID: "range", Kind: EventCount, Rules: []string{"a"}, Window: 10 * sec, Condition: Condition{GT: f(2), LTE: f(4)}},
			evs: []ev{
				{rule: "a", at: 0, id: "1"}, {rule: "a", at: 1, id: "2"}, {rule: "a", at: 2, id: "3"}, {rule: "a", at: 3, id: "4"},
				{rule: "a", at: 20, id: "5"}, {rule: "a", at: 21, id: "6"}, {rule: "a", at: 22, id: "7"},
				{rule: "a", at: 23, id: "8"}, {rule: "a", at: 24, id: "9"}, {rule: "a", at: 25, id: "10"},
			},
			want: []string{"range [] [1 2 3 4] v=4 [0,10]", "range [] [7 8 9 10] v=4 [22,32]"},
		},
		{
			name: "event_count lt finds quiet windows",
			spec: Spec{ID: "quiet", Kind: EventCount, Rules: []string{"hb"}, GroupBy: []string{"host"}, Window: 10 * sec, Condition: Condition{LT: f(2)}},
			evs: []ev{
				{rule: "hb", at: 0, id: "1", grp: u("h")}, {rule: "hb", at: 5, id: "2", grp: u("h")}, {rule: "hb", at: 30, id: "3", grp: u("h")},
			},
			want: []string{"quiet [h] [2] v=1 [5,15]", "quiet [h] [3] v=1 [30,40]"},
		},
		{
			name: "value_count neq",
			spec: Spec{ID: "neq", Kind: ValueCount, Rules: []string{"a"}, Window: 10 * sec, Condition: Condition{NEQ: f(1)}},
			evs: []ev{
				{rule: "a", at: 0, id: "1", val: "x"}, {rule: "a", at: 1, id: "2", val: "x"}, {rule: "a", at: 2, id: "3", val: "y"},
			},
			want: []string{"neq [] [1 2 3] v=2 [0,10]"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eng := newEngine(t, DefaultConfig(), tc.spec)
			got := summaries(feed(t, eng, tc.evs))
			if !slices.Equal(got, tc.want) {
				t.Fatalf("hits\n got %q\nwant %q", got, tc.want)
			}
			if st := eng.Stats(); st.Hits != uint64(len(tc.want)) || st.Groups != 0 {
				t.Fatalf("stats after flush: %+v", st)
			}
		})
	}
}

func TestHitRulesAndBoundedIDs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxEventIDs = 2
	eng := newEngine(t, cfg, Spec{ID: "t", Kind: Temporal, Rules: []string{"a", "b", "c"}, Window: time.Minute, Condition: Condition{GTE: f(2)}})
	hits := feed(t, eng, []ev{{rule: "c", at: 0, id: "1"}, {rule: "c", at: 1, id: "2"}, {rule: "a", at: 2, id: "3"}})
	if len(hits) != 1 {
		t.Fatalf("want 1 hit, got %d", len(hits))
	}
	h := hits[0]
	if h.Events != 3 || !slices.Equal(h.EventIDs, []string{"1", "2"}) || !slices.Equal(h.Rules, []string{"a", "c"}) || h.Kind != Temporal {
		t.Fatalf("hit %+v", h)
	}
}

func TestLateDropped(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Lateness = 2 * time.Second
	eng := newEngine(t, cfg, Spec{ID: "ec", Kind: EventCount, Rules: []string{"a"}, Window: time.Minute, Condition: Condition{GTE: f(3)}})
	var hits []Hit
	for _, e := range []ev{
		{rule: "a", at: 10, id: "1"},
		{rule: "a", at: 7.5, id: "late"}, // watermark is 8
		{rule: "a", at: 8, id: "2"},      // exactly at the watermark: accepted
		{rule: "a", at: 9, id: "3"},
	} {
		var err error
		if hits, err = eng.Observe(e.input(), hits); err != nil {
			t.Fatal(err)
		}
	}
	if len(hits) != 0 {
		t.Fatalf("hit before event time passed lateness: %q", summaries(hits))
	}
	hits = eng.Flush(hits)
	got := summaries(hits)
	want := []string{"ec [] [2 3 1] v=3 [8,10]"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	st := eng.Stats()
	if st.Late != 1 || st.Observed != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestOutOfOrderWithinLateness(t *testing.T) {
	// Hits come Lateness later but equal, in order and content, those of
	// the sorted stream.
	specs := allKinds(time.Minute)
	r := rand.New(rand.NewPCG(7, 11))
	sorted := randomStream(r, specs, 3000, 0)
	const late = 20.0
	// Bounded disorder: each event arrives up to late seconds after its
	// time, so it is never more than late behind the newest one before it.
	type arrival struct {
		e   ev
		key float64
	}
	arr := make([]arrival, len(sorted))
	for i, e := range sorted {
		arr[i] = arrival{e, e.at + r.Float64()*late*0.99}
	}
	slices.SortStableFunc(arr, func(a, b arrival) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	shuffled := make([]ev, len(arr))
	for i := range arr {
		shuffled[i] = arr[i].e
	}
	if slices.EqualFunc(sorted, shuffled, func(a, b ev) bool { return a.id == b.id }) {
		t.Fatal("the shuffle did not reorder anything")
	}
	cfg := DefaultConfig()
	want := summaries(feed(t, newEngine(t, cfg, specs...), stableSort(shuffled)))
	cfg.Lateness = time.Duration(late * float64(time.Second))
	eng := newEngine(t, cfg, specs...)
	got := summaries(feed(t, eng, shuffled))
	if eng.Stats().Late != 0 {
		t.Fatalf("late drops within lateness: %+v", eng.Stats())
	}
	if len(want) < 20 {
		t.Fatalf("stream too quiet to test: %d hits", len(want))
	}
	// Each group keeps its own clock: the hits of one group come in the
	// same order; across groups they interleave by arrival.
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("out-of-order run differs: %d vs %d hits\nfirst got  %q\nfirst want %q", len(got), len(want), head(got), head(want))
	}
	// Without lateness the same disorder drops events, and says so.
	cfg.Lateness = 0
	eng = newEngine(t, cfg, specs...)
	feed(t, eng, shuffled)
	if eng.Stats().Late == 0 {
		t.Fatal("disorder without lateness dropped nothing")
	}
}

func head(s []string) []string { return s[:min(len(s), 3)] }

func stableSort(evs []ev) []ev {
	out := slices.Clone(evs)
	slices.SortStableFunc(out, func(a, b ev) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	return out
}

func TestEviction(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxGroups = 2
	eng := newEngine(t, cfg, Spec{ID: "ec", Kind: EventCount, Rules: []string{"a"}, GroupBy: []string{"u"}, Window: time.Hour, Condition: Condition{GTE: f(2)}})
	hits := feed(t, eng, []ev{
		{rule: "a", at: 0, id: "1", grp: u("u1")},
		{rule: "a", at: 1, id: "2", grp: u("u2")},
		{rule: "a", at: 2, id: "3", grp: u("u3")}, // evicts u1, the least recently active
		{rule: "a", at: 3, id: "4", grp: u("u1")}, // u1 starts afresh, evicting u2
		{rule: "a", at: 4, id: "5", grp: u("u3")}, // u3 survived: hit
	})
	got := summaries(hits)
	if want := []string{"ec [u3] [3 5] v=2 [2,4]"}; !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	if st := eng.Stats(); st.GroupsEvicted != 2 {
		t.Fatalf("evictions %+v", st)
	}
}

func TestEntriesDropped(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxEntriesPerGroup = 3
	eng := newEngine(t, cfg, Spec{ID: "vc", Kind: ValueCount, Rules: []string{"a"}, Window: time.Hour, Condition: Condition{GTE: f(2)}})
	var evs []ev
	for i := range 5 {
		evs = append(evs, ev{rule: "a", at: float64(i), id: fmt.Sprint(i + 1), val: "x"})
	}
	evs = append(evs, ev{rule: "a", at: 5, id: "6", val: "y"})
	got := summaries(feed(t, eng, evs))
	if want := []string{"vc [] [4 5 6] v=2 [3,5]"}; !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	if st := eng.Stats(); st.EntriesDropped != 3 {
		t.Fatalf("dropped %+v", st)
	}
	// A threshold the bound can never hold is refused up front.
	_, err := New(cfg, []Spec{{ID: "big", Kind: EventCount, Rules: []string{"a"}, Window: time.Hour, Condition: Condition{GT: f(3)}}})
	var se *SpecError
	if !errors.As(err, &se) || se.ID != "big" || !errors.Is(err, mdr.ErrInvalid) {
		t.Fatalf("want a SpecError naming big, got %v", err)
	}
}

func TestForcedRelease(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Lateness = time.Hour
	cfg.MaxPending = 2
	eng := newEngine(t, cfg, Spec{ID: "ec", Kind: EventCount, Rules: []string{"a"}, Window: time.Hour, Condition: Condition{GTE: f(4)}})
	hits := feed(t, eng, []ev{
		{rule: "a", at: 3, id: "3"}, {rule: "a", at: 1, id: "1"}, {rule: "a", at: 2, id: "2"}, // 1 is forced out
		{rule: "a", at: 0.5, id: "late"}, // before the forced release: late
		{rule: "a", at: 4, id: "4"},
	})
	got := summaries(hits)
	if want := []string{"ec [] [1 2 3 4] v=4 [1,4]"}; !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	if st := eng.Stats(); st.ForcedReleases != 2 || st.Late != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestInvalid(t *testing.T) {
	good := Spec{ID: "ok", Kind: EventCount, Rules: []string{"a"}, GroupBy: []string{"u"}, Window: time.Minute, Condition: Condition{GTE: f(2)}}
	bad := []Spec{
		{Kind: EventCount, Rules: []string{"a"}, Window: time.Minute, Condition: Condition{GTE: f(2)}},
		{ID: "k", Kind: 99, Rules: []string{"a"}, Window: time.Minute},
		{ID: "r", Kind: EventCount, Window: time.Minute, Condition: Condition{GTE: f(2)}},
		{ID: "w", Kind: EventCount, Rules: []string{"a"}, Condition: Condition{GTE: f(2)}},
		{ID: "c", Kind: ValueSum, Rules: []string{"a"}, Window: time.Minute},
		{ID: "o", Kind: TemporalOrdered, Rules: []string{"a", "b"}, Window: time.Minute, Condition: Condition{LT: f(2)}},
		{ID: "p", Kind: ValuePercentile, Rules: []string{"a"}, Window: time.Minute, Percentile: 101, Condition: Condition{GT: f(1)}},
		{ID: "ok", Kind: EventCount, Rules: []string{"a"}, Window: time.Minute, Condition: Condition{GTE: f(2)}},
	}
	for i, b := range bad {
		_, err := New(DefaultConfig(), []Spec{good, b})
		var se *SpecError
		if !errors.As(err, &se) || se.Index != 1 || !errors.Is(err, ErrSpec) {
			t.Errorf("case %d: want SpecError at index 1, got %v", i, err)
		}
	}
	if _, err := New(Config{}, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("zero config: %v", err)
	}
	eng := newEngine(t, DefaultConfig(), good)
	inputs := []Input{
		{Spec: 1, Rule: "a", Time: t0, Group: u("x")},
		{Spec: 0, Rule: "zz", Time: t0, Group: u("x")},
		{Spec: 0, Rule: "a", Time: t0},
		{Spec: 0, Rule: "a", Group: u("x")},
	}
	for i, in := range inputs {
		if _, err := eng.Observe(in, nil); !errors.Is(err, ErrInput) {
			t.Errorf("input %d: want ErrInput, got %v", i, err)
		}
	}
	if err := eng.Restore([]byte("{")); !errors.Is(err, ErrSnapshot) {
		t.Errorf("corrupt snapshot: %v", err)
	}
	if err := eng.Restore([]byte(`{"version":99}`)); !errors.Is(err, ErrSnapshot) || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("future snapshot: %v", err)
	}
}

// allKinds returns one eager and one window-close spec per kind, all
// grouped by one field, with rules a, b, c.
func allKinds(w time.Duration) []Spec {
	abc := []string{"a", "b", "c"}
	g := []string{"host"}
	return []Spec{
		{ID: "ec", Kind: EventCount, Rules: []string{"a", "b"}, GroupBy: g, Window: w, Condition: Condition{GTE: f(4)}},
		{ID: "ec-range", Kind: EventCount, Rules: []string{"a"}, GroupBy: g, Window: w, Condition: Condition{GTE: f(2), LT: f(4)}},
		{ID: "vc", Kind: ValueCount, Rules: []string{"b"}, GroupBy: g, Window: w, Condition: Condition{GTE: f(3)}},
		{ID: "vc-eq", Kind: ValueCount, Rules: []string{"c"}, GroupBy: g, Window: w, Condition: Condition{EQ: f(2)}},
		{ID: "t", Kind: Temporal, Rules: abc, GroupBy: g, Window: w},
		{ID: "to", Kind: TemporalOrdered, Rules: abc, GroupBy: g, Window: w},
		{ID: "sum", Kind: ValueSum, Rules: []string{"a"}, GroupBy: g, Window: w, Condition: Condition{GT: f(250)}},
		{ID: "avg", Kind: ValueAvg, Rules: []string{"b", "c"}, GroupBy: g, Window: w, Condition: Condition{LT: f(30)}},
		{ID: "pct", Kind: ValuePercentile, Rules: []string{"a", "c"}, GroupBy: g, Window: w, Percentile: 75, Condition: Condition{GTE: f(80)}},
		{ID: "pct-lte", Kind: ValuePercentile, Rules: []string{"c"}, GroupBy: g, Window: w, Percentile: 25, Condition: Condition{LTE: f(20)}},
	}
}

// randomStream makes n base matches over 4 hosts, times increasing by up to
// 10 s, each fed to every spec that references its rule.
func randomStream(r *rand.Rand, specs []Spec, n int, start float64) []ev {
	var out []ev
	at := start
	rules := []string{"a", "b", "c"}
	for i := range n {
		at += float64(r.IntN(10))
		rule := rules[r.IntN(3)]
		host := fmt.Sprint("h", r.IntN(4))
		num := float64(r.IntN(100))
		val := fmt.Sprint("v", r.IntN(5))
		for si, s := range specs {
			if slices.Contains(s.Rules, rule) {
				out = append(out, ev{spec: si, rule: rule, at: at, id: fmt.Sprint(i), grp: u(host), val: val, num: num, missing: r.IntN(50) == 0})
			}
		}
	}
	return out
}

func TestSnapshotRestoreEquivalence(t *testing.T) {
	specs := append(allKinds(time.Minute), Spec{ID: "chain", Kind: TemporalOrdered, Rules: []string{"ec", "c"}, GroupBy: []string{"host"},
		Window: time.Minute, GroupFrom: map[string][]int{"ec": {0}}})
	r := rand.New(rand.NewPCG(1, 2))
	stream := randomStream(r, specs, 1500, 0)
	// Mild disorder, within lateness, so held-back events are in snapshots.
	for i := 2; i < len(stream); i += 7 {
		if stream[i].at-stream[i-2].at <= 10 {
			stream[i], stream[i-2] = stream[i-2], stream[i]
		}
	}
	cfg := DefaultConfig()
	cfg.Lateness = 15 * time.Second
	cfg.MaxGroups = 30 // below 11 specs × 4 hosts: eviction is part of the state
	cfg.MaxEntriesPerGroup = 8
	cfg.MaxEntries = 100 // and so is eviction for the total
	run := func(cut int) ([]Hit, Stats) {
		eng := newEngine(t, cfg, specs...)
		var hits []Hit
		for i, e := range stream {
			if i == cut {
				snap, err := eng.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				eng = newEngine(t, cfg, specs...)
				if err := eng.Restore(snap); err != nil {
					t.Fatalf("restore at %d: %v", cut, err)
				}
			}
			var err error
			if hits, err = eng.Observe(e.input(), hits); err != nil {
				t.Fatal(err)
			}
			if i%101 == 0 {
				checkCounts(t, eng)
			}
		}
		checkCounts(t, eng)
		hits = eng.Flush(hits)
		checkCounts(t, eng)
		return hits, eng.Stats()
	}
	want, wantStats := run(-1)
	if len(want) < 50 || wantStats.GroupsEvicted == 0 || wantStats.EntriesDropped == 0 || wantStats.NoValue == 0 {
		t.Fatalf("stream does not exercise the state: %d hits, %+v", len(want), wantStats)
	}
	kinds := map[string]int{}
	for _, h := range want {
		kinds[h.Spec]++
	}
	for _, s := range specs {
		if kinds[s.ID] == 0 {
			t.Errorf("spec %s never fired in the stream", s.ID)
		}
	}
	for cut := 1; cut < len(stream); cut += 97 {
		got, gotStats := run(cut)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("restart at %d: %d hits, uninterrupted %d", cut, len(got), len(want))
		}
		if gotStats != wantStats {
			t.Fatalf("restart at %d: stats %+v, uninterrupted %+v", cut, gotStats, wantStats)
		}
	}
}

func TestRestoreDropsChangedSpecs(t *testing.T) {
	a := Spec{ID: "a", Kind: EventCount, Rules: []string{"x"}, Window: time.Minute, Condition: Condition{GTE: f(2)}}
	b := Spec{ID: "b", Kind: EventCount, Rules: []string{"x"}, Window: time.Minute, Condition: Condition{GTE: f(2)}}
	eng := newEngine(t, DefaultConfig(), a, b)
	for i, spec := range []int{0, 1} {
		if _, err := eng.Observe(ev{spec: spec, rule: "x", at: float64(i), id: "1"}.input(), nil); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := eng.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b.Window = time.Hour // changed definition: its state no longer applies
	eng2 := newEngine(t, DefaultConfig(), a, b)
	if err := eng2.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if st := eng2.Stats(); st.RestoreDropped != 1 || st.Groups != 1 {
		t.Fatalf("stats %+v", st)
	}
	hits, _ := eng2.Observe(ev{spec: 0, rule: "x", at: 2, id: "2"}.input(), nil)
	if len(hits) != 1 || hits[0].Spec != "a" {
		t.Fatalf("restored spec a lost its state: %v", summaries(hits))
	}
}

func TestDeterministic(t *testing.T) {
	specs := allKinds(30 * time.Second)
	stream := randomStream(rand.New(rand.NewPCG(5, 5)), specs, 800, 0)
	first := feed(t, newEngine(t, DefaultConfig(), specs...), stream)
	for range 3 {
		if again := feed(t, newEngine(t, DefaultConfig(), specs...), stream); !reflect.DeepEqual(again, first) {
			t.Fatal("same input, different hits")
		}
	}
}

func TestAdvanceClosesIdleWindows(t *testing.T) {
	eng := newEngine(t, DefaultConfig(), Spec{ID: "q", Kind: EventCount, Rules: []string{"a"}, Window: 10 * time.Second, Condition: Condition{LT: f(2)}})
	hits, err := eng.Observe(ev{rule: "a", at: 0, id: "1"}.input(), nil)
	if err != nil || len(hits) != 0 {
		t.Fatal(hits, err)
	}
	if hits = eng.Advance(t0.Add(10*time.Second), nil); len(hits) != 0 {
		t.Fatalf("window [0,10] closed at 10: %v", summaries(hits))
	}
	hits = eng.Advance(t0.Add(11*time.Second), nil)
	if got := summaries(hits); !slices.Equal(got, []string{"q [] [1] v=1 [0,10]"}) {
		t.Fatalf("got %q", got)
	}
}

func TestChained(t *testing.T) {
	many := Spec{ID: "many", Kind: EventCount, Rules: []string{"fail"}, GroupBy: []string{"user", "host"}, Window: time.Minute, Condition: Condition{GTE: f(3)}}
	then := Spec{ID: "then", Kind: TemporalOrdered, Rules: []string{"many", "ok"}, GroupBy: []string{"user"}, Window: time.Minute,
		GroupFrom: map[string][]int{"many": {0}}}
	eng := newEngine(t, DefaultConfig(), then, many)
	ug := func(u, h string) []string { return []string{u, h} }
	hits := feed(t, eng, []ev{
		{spec: 0, rule: "ok", at: 0, id: "s0", grp: u("u1")}, // success before the failures: not a sequence
		{spec: 1, rule: "fail", at: 1, id: "f1", grp: ug("u1", "h1")},
		{spec: 1, rule: "fail", at: 2, id: "f2", grp: ug("u1", "h1")},
		{spec: 1, rule: "fail", at: 3, id: "f3", grp: ug("u2", "h1")},
		{spec: 1, rule: "fail", at: 4, id: "f4", grp: ug("u1", "h1")},
		{spec: 0, rule: "ok", at: 5, id: "s5", grp: u("u2")},
		{spec: 0, rule: "ok", at: 6, id: "s6", grp: u("u1")},
	})
	got := summaries(hits)
	want := []string{"many [u1 h1] [f1 f2 f4] v=3 [1,4]", "then [u1] [f1 f2 f4 s6] v=2 [4,6]"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	if hits[1].Events != 4 || !slices.Equal(hits[1].Rules, []string{"many", "ok"}) {
		t.Fatalf("chained hit %+v", hits[1])
	}
	if _, err := eng.Observe(Input{Spec: 0, Rule: "many", Time: t0, Group: u("x")}, nil); !errors.Is(err, ErrInput) {
		t.Fatalf("feeding a correlation from outside: %v", err)
	}
	cyc := []Spec{
		{ID: "x", Kind: EventCount, Rules: []string{"y"}, Window: time.Minute, Condition: Condition{GTE: f(1)}, GroupFrom: map[string][]int{"y": {}}},
		{ID: "y", Kind: EventCount, Rules: []string{"x"}, Window: time.Minute, Condition: Condition{GTE: f(1)}, GroupFrom: map[string][]int{"x": {}}},
	}
	if _, err := New(DefaultConfig(), cyc); !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("cycle: %v", err)
	}
	then.GroupFrom = map[string][]int{"many": {2}}
	if _, err := New(DefaultConfig(), []Spec{then, many}); !errors.Is(err, ErrSpec) {
		t.Fatalf("bad group mapping: %v", err)
	}
}

func TestFlushStartsANewStream(t *testing.T) {
	eng := newEngine(t, DefaultConfig(), Spec{ID: "ec", Kind: EventCount, Rules: []string{"a"}, Window: time.Minute, Condition: Condition{GTE: f(2)}})
	first := feed(t, eng, []ev{{rule: "a", at: 1000, id: "1"}, {rule: "a", at: 1001, id: "2"}})
	// An older recording after Flush is a new stream, not late.
	second := feed(t, eng, []ev{{rule: "a", at: 0, id: "3"}, {rule: "a", at: 1, id: "4"}})
	got := summaries(append(first, second...))
	if want := []string{"ec [] [1 2] v=2 [1000,1001]", "ec [] [3 4] v=2 [0,1]"}; !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	if eng.Stats().Late != 0 {
		t.Fatalf("late after flush: %+v", eng.Stats())
	}
}

func TestGroupsKeepTheirOwnClock(t *testing.T) {
	// A recording of last year after one of today: the groups do not share
	// a clock, so nothing is late; within a group, lateness still holds.
	eng := newEngine(t, DefaultConfig(), Spec{ID: "ec", Kind: EventCount, Rules: []string{"a"}, GroupBy: []string{"host"}, Window: time.Minute, Condition: Condition{GTE: f(2)}})
	hits := feed(t, eng, []ev{
		{rule: "a", at: 1e7, id: "1", grp: u("today")},
		{rule: "a", at: 0, id: "2", grp: u("last-year")},
		{rule: "a", at: 1, id: "3", grp: u("last-year")},
		{rule: "a", at: 5, id: "4", grp: u("today")}, // late for its group
		{rule: "a", at: 1e7 + 1, id: "5", grp: u("today")},
	})
	got := summaries(hits)
	if want := []string{"ec [last-year] [2 3] v=2 [0,1]", "ec [today] [1 5] v=2 [1e+07,1.0000001e+07]"}; !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	if st := eng.Stats(); st.Late != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFlushChainedWithLateness(t *testing.T) {
	// Held-back base entries are released at Flush; the inner hit creates
	// the outer group, which Flush must still visit.
	many := Spec{ID: "many", Kind: EventCount, Rules: []string{"fail"}, GroupBy: []string{"user"}, Window: time.Minute, Condition: Condition{GTE: f(3)}}
	outer := Spec{ID: "outer", Kind: EventCount, Rules: []string{"many"}, GroupBy: []string{"user"}, Window: time.Minute, Condition: Condition{GTE: f(1)},
		GroupFrom: map[string][]int{"many": {0}}}
	cfg := DefaultConfig()
	cfg.Lateness = 10 * time.Second
	eng := newEngine(t, cfg, outer, many)
	hits := feed(t, eng, []ev{
		{spec: 1, rule: "fail", at: 0, id: "1", grp: u("u")},
		{spec: 1, rule: "fail", at: 1, id: "2", grp: u("u")},
		{spec: 1, rule: "fail", at: 2, id: "3", grp: u("u")},
	})
	got := summaries(hits)
	if want := []string{"many [u] [1 2 3] v=3 [0,2]", "outer [u] [1 2 3] v=1 [2,2]"}; !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	if st := eng.Stats(); st.Pending != 0 || st.Groups != 0 {
		t.Fatalf("state left after flush: %+v", st)
	}
}

// checkCounts verifies the engine's running totals against its groups.
func checkCounts(t *testing.T, eng *Engine) {
	t.Helper()
	n, p := 0, 0
	for g := eng.lru.next; g != &eng.lru; g = g.next {
		n += g.size()
		p += len(g.pend)
		if eng.groups[g.key] != g {
			t.Fatalf("group %q in the list but not in the map", g.key)
		}
	}
	if n != eng.nents || p != eng.npend || len(eng.groups) != countList(eng) {
		t.Fatalf("totals: entries %d (counted %d), pending %d (counted %d), groups %d (listed %d)", eng.nents, n, eng.npend, p, len(eng.groups), countList(eng))
	}
}

func countList(eng *Engine) int {
	n := 0
	for g := eng.lru.next; g != &eng.lru; g = g.next {
		n++
	}
	return n
}

func TestMaxEntriesEvicts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxEntriesPerGroup = 3
	cfg.MaxEntries = 5
	eng := newEngine(t, cfg, Spec{ID: "q", Kind: EventCount, Rules: []string{"a"}, GroupBy: []string{"u"}, Window: time.Hour, Condition: Condition{LT: f(100)}})
	for i, g := range []string{"u1", "u1", "u2", "u2", "u3", "u3"} {
		if _, err := eng.Observe(ev{rule: "a", at: float64(i), id: fmt.Sprint(i), grp: u(g)}.input(), nil); err != nil {
			t.Fatal(err)
		}
		checkCounts(t, eng)
	}
	st := eng.Stats()
	if st.GroupsEvicted != 1 || st.Entries != 4 || st.Groups != 2 {
		t.Fatalf("stats %+v", st)
	}
	if _, err := New(Config{MaxGroups: 1, MaxEntriesPerGroup: 10, MaxEntries: 5, MaxPending: 1}, nil); !errors.Is(err, ErrConfig) {
		t.Fatalf("MaxEntries below MaxEntriesPerGroup: %v", err)
	}
}
