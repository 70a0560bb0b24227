package hunt_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/hunt"
	"github.com/mdrkit/mdr/store"
)

// directMatches runs a condition over events read from the file, without a
// store: what a query must find.
func directMatches(t *testing.T, evs []*mdr.Event, cond string) []string {
	t.Helper()
	rs, err := detect.Compile([]detect.Rule{{ID: "x", Title: "x", Condition: cond}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ev := range evs {
		ms, err := rs.Match(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) > 0 {
			ids = append(ids, ev.ID())
		}
	}
	slices.Sort(ids)
	return ids
}

func runIDs(t *testing.T, p *hunt.Prepared, src store.Events) ([]string, hunt.Progress) {
	t.Helper()
	var ids []string
	for r, err := range p.Run(t.Context(), src) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.Event.ID())
	}
	slices.Sort(ids)
	return ids, hunt.Progress{}
}

// TestQuery runs CEL queries over evtx_attack_samples stored in badger and
// in the memory store and checks each finds exactly the events the same
// condition matches in the file; on badger, selective queries must skip
// segments by their summaries.
func TestQuery(t *testing.T) {
	evs := readFile(t, "evtx_attack_samples.jsonl", 0)
	bs, ms := badgerWith(t, evs), memoryWith(t, evs)
	for _, tc := range []struct {
		cond string
		skip bool // badger must skip segments
	}{
		{`e.EventID == 4688 && e.NewProcessName.endsWithFold("\\cmd.exe")`, true},
		{`e.Channel == "Microsoft-Windows-Sysmon/Operational" && e.EventID in [1, 3]`, true},
		{`e.CommandLine.containsFold([" -nop ", " -w hidden "]) || e.Image.endsWithFold("\\rundll32.exe")`, true},
		{`e.TargetUserName.equalsFold("administrator")`, true},
		{`e.EventID == 7045 || has(e.ServiceFileName)`, false},
	} {
		want := directMatches(t, evs, tc.cond)
		for _, src := range []struct {
			name string
			s    store.Events
		}{{"badger", bs}, {"memory", ms}} {
			var last hunt.Progress
			p, err := hunt.Compile(t.Context(), hunt.Query{Condition: tc.cond, Progress: func(pr hunt.Progress) { last = pr }})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := runIDs(t, p, src.s)
			if !slices.Equal(got, want) {
				t.Errorf("%s: %s: %d results, want %d", src.name, tc.cond, len(got), len(want))
			}
			if !last.Done || last.Matched != int64(len(want)) {
				t.Errorf("%s: last progress %+v", src.name, last)
			}
			if src.name == "badger" {
				t.Logf("%s: %d matches, %d of %d events read, %d of %d segments skipped (plan %s)", tc.cond, len(want), last.Scanned, len(evs), last.Skipped, last.Segments, p.Plan())
				if tc.skip && last.Skipped == 0 {
					t.Errorf("%s: no segment skipped", tc.cond)
				}
			}
		}
	}
}

// TestQueryErrors checks compile errors name the position, and the limit,
// budget and timeout stop a query.
func TestQueryErrors(t *testing.T) {
	_, err := hunt.Compile(t.Context(), hunt.Query{Condition: "e.Image.endsWithFold(\"x\") &&\n  e.CommandLine.containsFold("})
	var qe *hunt.QueryError
	if !errors.As(err, &qe) || !errors.Is(err, hunt.ErrQuery) || qe.Line != 2 || qe.Column == 0 {
		t.Fatalf("err = %v (%+v), want a QueryError at line 2", err, qe)
	}
	t.Logf("compile error: %v", err)
	if _, err := hunt.Compile(t.Context(), hunt.Query{Condition: "e.Image.noSuchFunction()"}); !errors.As(err, &qe) {
		t.Fatalf("unknown function: %v", err)
	}
	if _, err := hunt.Compile(t.Context(), hunt.Query{}); !errors.Is(err, hunt.ErrQuery) {
		t.Fatalf("empty query: %v", err)
	}
	evs := readFile(t, "evtx_attack_samples.jsonl", 0)
	bs := badgerWith(t, evs[:3000])
	p, err := hunt.Compile(t.Context(), hunt.Query{Condition: "has(e.EventID)", Limit: 7})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := runIDs(t, p, bs); len(got) != 7 {
		t.Fatalf("limit 7: %d results", len(got))
	}
	p, _ = hunt.Compile(t.Context(), hunt.Query{Condition: "has(e.EventID)", MaxScanned: 100})
	var stop error
	n := 0
	for _, err := range p.Run(t.Context(), bs) {
		if err != nil {
			stop = err
			break
		}
		n++
	}
	if !errors.Is(stop, hunt.ErrBudget) || n != 100 {
		t.Fatalf("budget 100: %d results, then %v", n, stop)
	}
	p, _ = hunt.Compile(t.Context(), hunt.Query{Condition: "has(e.EventID)", Timeout: 1})
	stop = nil
	for _, err := range p.Run(t.Context(), bs) {
		if err != nil {
			stop = err
			break
		}
	}
	if !errors.Is(stop, hunt.ErrTimeout) {
		t.Fatalf("timeout 1ns: %v", stop)
	}
}
