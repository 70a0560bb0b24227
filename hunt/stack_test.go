package hunt_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/hunt"
)

// countBy counts events by the lower-cased text of fields (events with
// none of them left out), the oracle of stacking.
func countBy(evs []*mdr.Event, fields []string, keep func(*mdr.Event) bool) map[string]int64 {
	out := map[string]int64{}
	for _, ev := range evs {
		if keep != nil && !keep(ev) {
			continue
		}
		var parts []string
		any := false
		for _, f := range fields {
			v, ok := ev.Get(f)
			t := ""
			if ok && !v.IsNull() {
				t, any = v.Text(), true
			}
			parts = append(parts, strings.ToLower(t))
		}
		if any {
			out[strings.Join(parts, "|")]++
		}
	}
	return out
}

func rowKey(r hunt.StackRow) string {
	parts := make([]string, len(r.Values))
	for i, v := range r.Values {
		parts[i] = strings.ToLower(v)
	}
	return strings.Join(parts, "|")
}

// TestStack stacks evtx_attack_samples by channel and event id and by
// parent and child image, checks the counts against a map, the
// least-frequent-first order, the count filters and the group cap.
func TestStack(t *testing.T) {
	evs := readFile(t, "evtx_attack_samples.jsonl", 0)
	bs := badgerWith(t, evs)
	for _, fields := range [][]string{{"Channel", "EventID"}, {"ParentImage", "Image"}} {
		want := countBy(evs, fields, nil)
		res, err := hunt.StackEvents(t.Context(), bs, hunt.Stack{Fields: fields})
		if err != nil {
			t.Fatal(err)
		}
		if res.Groups != len(want) || len(res.Rows) != len(want) || res.Truncated {
			t.Fatalf("%v: %d groups, want %d", fields, res.Groups, len(want))
		}
		for i, r := range res.Rows {
			if want[rowKey(r)] != r.Count || r.Hosts < 1 || r.First.After(r.Last) {
				t.Fatalf("%v: row %+v, want count %d", fields, r, want[rowKey(r)])
			}
			if i > 0 && res.Rows[i-1].Count > r.Count {
				t.Fatalf("%v: not least frequent first at row %d", fields, i)
			}
		}
		t.Logf("%v: %d groups; rarest %v ×%d, commonest %v ×%d", fields, res.Groups, res.Rows[0].Values, res.Rows[0].Count, res.Rows[len(res.Rows)-1].Values, res.Rows[len(res.Rows)-1].Count)
	}
	res, err := hunt.StackEvents(t.Context(), bs, hunt.Stack{Fields: []string{"EventID"}, MinCount: 2, MaxCount: 10, Condition: `e.Channel == "Security"`})
	if err != nil {
		t.Fatal(err)
	}
	want := countBy(evs, []string{"EventID"}, func(e *mdr.Event) bool { c, _ := e.Text("Channel"); return c == "Security" })
	n := 0
	for _, c := range want {
		if c >= 2 && c <= 10 {
			n++
		}
	}
	if len(res.Rows) != n {
		t.Fatalf("Security event ids seen 2–10 times: %d rows, want %d", len(res.Rows), n)
	}
	capped, err := hunt.StackEvents(t.Context(), bs, hunt.Stack{Fields: []string{"EventID"}, MaxGroups: 5})
	if err != nil {
		t.Fatal(err)
	}
	if capped.Groups != 5 || !capped.Truncated || capped.Dropped == 0 {
		t.Fatalf("capped at 5 groups: %d groups, dropped %d", capped.Groups, capped.Dropped)
	}
}

// TestFirstSeen splits the events at the median time: groups of the later
// half that the earlier half never had.
func TestFirstSeen(t *testing.T) {
	evs := readFile(t, "evtx_attack_samples.jsonl", 0)
	bs := badgerWith(t, evs)
	times := make([]time.Time, 0, len(evs))
	for _, e := range evs {
		times = append(times, e.Time())
	}
	slices.SortFunc(times, time.Time.Compare)
	mid := times[len(times)/2]
	fields := []string{"ParentImage", "Image"}
	before := countBy(evs, fields, func(e *mdr.Event) bool { return e.Time().Before(mid) })
	after := countBy(evs, fields, func(e *mdr.Event) bool { return !e.Time().Before(mid) })
	var want []string
	for k := range after {
		if _, ok := before[k]; !ok {
			want = append(want, k)
		}
	}
	res, err := hunt.FirstSeenEvents(t.Context(), bs, hunt.FirstSeen{Stack: hunt.Stack{Range: hunt.Range{From: mid}, Fields: fields}, Baseline: hunt.Range{To: mid}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Rows {
		got = append(got, rowKey(r))
	}
	slices.Sort(got)
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("%d first-seen pairs, want %d", len(got), len(want))
	}
	t.Logf("%d parent→child pairs first seen after %s, e.g. %v", len(got), mid.Format(time.RFC3339), res.Rows[0].Values)
	if _, err := hunt.FirstSeenEvents(t.Context(), bs, hunt.FirstSeen{Stack: hunt.Stack{Fields: fields}, MaxBaseline: 3}); err == nil {
		t.Fatal("a baseline over MaxBaseline was accepted")
	}
	_ = fmt.Sprint()
}
