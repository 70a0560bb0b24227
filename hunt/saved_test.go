package hunt_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/hunt"
)

const savedCond = `e.EventID == 1 && e.Image.endsWithFold(["\\cmd.exe", "\\powershell.exe"]) && e.ParentImage.endsWithFold("\\explorer.exe")`

// TestSavedHunt saves a hunt in a badger store, runs it, runs it again
// (nothing new), adds events and runs it once more: only the matches among
// the new events come back.
func TestSavedHunt(t *testing.T) {
	evs := readFile(t, "evtx_attack_samples.jsonl", 0)
	first, rest := evs[:5000], evs[5000:]
	bs := badgerWith(t, first)
	lib := hunt.NewLibrary(bs)
	h := hunt.Hunt{Name: "explorer-shells", Query: hunt.Query{Condition: savedCond, Fields: []string{"CommandLine"}}, Interval: time.Hour}
	if err := lib.Save(t.Context(), h); err != nil {
		t.Fatal(err)
	}
	if err := lib.Save(t.Context(), hunt.Hunt{Name: "bad name!", Query: h.Query}); !errors.Is(err, hunt.ErrQuery) {
		t.Fatalf("bad name: %v", err)
	}
	if err := lib.Save(t.Context(), hunt.Hunt{Name: "broken", Query: hunt.Query{Condition: "e.X &&"}}); !errors.Is(err, hunt.ErrQuery) {
		t.Fatalf("broken query: %v", err)
	}
	run := func(now time.Time) ([]string, hunt.RunStats) {
		var ids []string
		st, err := lib.Run(t.Context(), bs, h.Name, now, func(r hunt.Result) error { ids = append(ids, r.Event.ID()); return nil })
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		return ids, st
	}
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	want1 := directMatches(t, first, savedCond)
	got1, _ := run(t0)
	if len(want1) == 0 || !slices.Equal(got1, want1) {
		t.Fatalf("first run: %d results, want %d", len(got1), len(want1))
	}
	got2, st2 := run(t0.Add(time.Hour))
	if len(got2) != 0 || st2.Old != int64(len(want1)) {
		t.Fatalf("second run: %d new, %d old", len(got2), st2.Old)
	}
	fill(t, bs, rest)
	want3 := directMatches(t, rest, savedCond)
	got3, st3 := run(t0.Add(2 * time.Hour))
	if !slices.Equal(got3, want3) || st3.Old != int64(len(want1)) {
		t.Fatalf("after adding events: %d new (want %d), %d old", len(got3), len(want3), st3.Old)
	}
	saved, err := lib.Get(t.Context(), h.Name)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Runs != 3 || saved.Found != int64(len(want1)+len(want3)) || !saved.LastRun.Equal(t0.Add(2*time.Hour)) || saved.Due(t0.Add(2*time.Hour+time.Minute)) || !saved.Due(t0.Add(3*time.Hour)) {
		t.Fatalf("saved hunt %+v", saved)
	}
	list, err := lib.List(t.Context())
	if err != nil || len(list) != 1 || list[0].Name != h.Name {
		t.Fatalf("list %v, %v", list, err)
	}
	if _, err := lib.Get(t.Context(), "nope"); !errors.Is(err, mdr.ErrNotFound) {
		t.Fatalf("missing hunt: %v", err)
	}
	t.Logf("runs found %d, 0, %d results", len(got1), len(got3))
}

// TestPromote promotes hunts (a CEL query with a host filter, and a Sigma
// query) into rules, writes the CEL one as a native rule file, loads it the
// way mdr scan does (engine.Load) and runs it over the file: it must find
// exactly the events the hunt found in the store.
func TestPromote(t *testing.T) {
	evs := readFile(t, "evtx_attack_samples.jsonl", 0)
	bs := badgerWith(t, evs)
	host := ""
	for _, e := range evs {
		if e.Has("ParentImage") {
			host = engine.HostOf(e)
			break
		}
	}
	sigmaRule := `title: Whoami run
id: 9f0e8a52-hunt-test-whoami
status: test
logsource: {category: process_creation, product: windows}
detection:
  selection:
    Image|endswith: '\whoami.exe'
  condition: selection
level: medium
`
	for _, h := range []hunt.Hunt{
		{Name: "explorer-shells", Query: hunt.Query{Condition: savedCond, Range: hunt.Range{Hosts: []string{host}}}, Severity: mdr.SeverityHigh, Tags: []string{"attack.execution"}},
		{Name: "whoami", Query: hunt.Query{Sigma: sigmaRule}},
	} {
		p, err := hunt.Compile(t.Context(), h.Query)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for r, err := range p.Run(t.Context(), bs) {
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, r.Event.ID())
		}
		slices.Sort(want)
		r, err := hunt.Promote(h)
		if err != nil {
			t.Fatal(err)
		}
		var rules *engine.Rules
		if h.Query.Sigma == "" {
			y, err := hunt.RuleYAML(r)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "promoted.yml")
			if err := os.WriteFile(path, y, 0o644); err != nil {
				t.Fatal(err)
			}
			if rules, err = engine.Load(t.Context(), []string{path}); err != nil || len(rules.Rejects) > 0 {
				t.Fatalf("load promoted rule: %v %v\n%s", err, rules.Rejects, y)
			}
		} else {
			// a Sigma hunt promotes to its compiled rule: routed by the same pipeline
			if rules, err = engine.LoadSources(t.Context(), nil, engine.WithRules(r)); err != nil {
				t.Fatal(err)
			}
		}
		d, err := engine.NewDetector(rules, engine.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range evs {
			as, err := d.Process(t.Context(), ev)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range as {
				if a.RuleID != "hunt-"+h.Name {
					t.Fatalf("alert of rule %s", a.RuleID)
				}
				got = append(got, ev.ID())
			}
		}
		slices.Sort(got)
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Fatalf("%s: the promoted rule found %d events, the hunt %d", h.Name, len(got), len(want))
		}
		t.Logf("%s: promoted rule and hunt both find %d events (rule condition %q)", h.Name, len(got), r.Condition)
	}
	_ = detect.Rule{}
}
