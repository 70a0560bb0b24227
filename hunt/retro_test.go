package hunt_test

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/hunt"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/store"
)

var (
	corpusOnce  sync.Once
	corpusRules *engine.Rules
	corpusErr   error
)

// corpus loads the SigmaHQ Windows rules with the correlation rules of
// testdata, once per test binary.
func corpus(t testing.TB) *engine.Rules {
	t.Helper()
	dir := shareddata.Path(t, "sigma", "rules", "windows")
	corpusOnce.Do(func() {
		corpusRules, corpusErr = engine.Load(t.Context(), []string{dir, "testdata/correlations.yml"})
	})
	if corpusErr != nil {
		t.Fatal(corpusErr)
	}
	return corpusRules
}

// alertKey identifies an alert: its deterministic id and its events.
func alertKey(a mdr.Alert) string { return a.ID + " " + strings.Join(a.EventIDs, ",") }

// fileAlerts runs the rules over the first limit events of a file through
// engine.DetectFiles (the path mdr scan's detection takes).
func fileAlerts(t testing.TB, rules *engine.Rules, name string, limit int) []string {
	t.Helper()
	d, err := engine.NewDetector(rules, engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	add := func(as []mdr.Alert) {
		for _, a := range as {
			keys = append(keys, alertKey(a))
		}
	}
	for _, ev := range readFile(t, name, limit) {
		as, err := d.Process(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		add(as)
	}
	as, err := d.Flush(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	add(as)
	slices.Sort(keys)
	return keys
}

func retroAlerts(t testing.TB, src store.Events, rules *engine.Rules, cfg hunt.Retro) ([]string, hunt.RetroStats) {
	t.Helper()
	var st hunt.RetroStats
	var keys []string
	for a, err := range hunt.RetroHunt(t.Context(), src, rules, cfg, &st) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, alertKey(a))
	}
	slices.Sort(keys)
	return keys, st
}

func diff(a, b []string) (onlyA, onlyB []string) {
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); !ok {
			onlyA = append(onlyA, x)
		}
	}
	for _, x := range b {
		if _, ok := slices.BinarySearch(a, x); !ok {
			onlyB = append(onlyB, x)
		}
	}
	return
}

// TestRetroHunt runs the SigmaHQ Windows rules and the test correlations
// over evtx_attack_samples stored in badger and in memory, and checks the
// alerts are exactly those of the same rules over the file; a second run
// into the store stores nothing new.
func TestRetroHunt(t *testing.T) {
	rules := corpus(t)
	const file = "evtx_attack_samples.jsonl"
	want := fileAlerts(t, rules, file, 0)
	corr := 0
	for _, k := range want {
		if strings.HasPrefix(k, "correlation:") {
			corr++
		}
	}
	if len(want) == 0 || corr == 0 {
		t.Fatalf("the file raises %d alerts, %d of correlations: the test needs both", len(want), corr)
	}
	evs := readFile(t, file, 0)
	bs := badgerWith(t, evs)
	for _, src := range []struct {
		name string
		s    store.Events
	}{{"badger", bs}, {"memory", memoryWith(t, evs)}} {
		got, st := retroAlerts(t, src.s, rules, hunt.Retro{})
		if a, b := diff(got, want); len(a)+len(b) > 0 {
			t.Errorf("%s: %d alerts, file %d; only in the retro-hunt %d (%.3q), only in the file %d (%.3q)", src.name, len(got), len(want), len(a), a, len(b), b)
		}
		t.Logf("%s: %d alerts (%d from correlations) over %d events", src.name, len(got), corr, st.Scanned)
	}
	// into the store, twice
	for run := range 2 {
		_, st := retroAlerts(t, bs, rules, hunt.Retro{Alerts: bs})
		if run == 0 && (st.Stored != int64(len(want)) || st.Existing != 0) || run == 1 && (st.Stored != 0 || st.Existing != int64(len(want))) {
			t.Fatalf("run %d: stored %d, existing %d; want %d alerts", run, st.Stored, st.Existing, len(want))
		}
	}
	n := 0
	for _, err := range bs.ListAlerts(t.Context(), store.ListQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != len(want) {
		t.Fatalf("%d alerts listed, want %d", n, len(want))
	}
}

// TestRetroHuntBenchmarkPrefix is TestRetroHunt on the first 50,000
// events of benchmark.jsonl.gz (many datasets, out of time order), stored
// in badger only; it also checks that OrderTime raises every rule alert of
// the file. BenchmarkRetroHunt200k checks the first 200,000 (too slow for
// CI on a shared machine: 97 s).
func TestRetroHuntBenchmarkPrefix(t *testing.T) {
	testRetroPrefix(t, 50_000)
}

func testRetroPrefix(t testing.TB, n int) {
	t.Helper()
	rules := corpus(t)
	const file = "benchmark.jsonl.gz"
	want := fileAlerts(t, rules, file, n)
	bs := badgerWith(t, readFile(t, file, n))
	got, st := retroAlerts(t, bs, rules, hunt.Retro{})
	if a, b := diff(got, want); len(a)+len(b) > 0 {
		t.Fatalf("%d alerts, file %d; only in the retro-hunt %d (%.3q), only in the file %d (%.3q)", len(got), len(want), len(a), a, len(b), b)
	}
	corr := 0
	for _, k := range want {
		if strings.HasPrefix(k, "correlation:") {
			corr++
		}
	}
	t.Logf("%d alerts (%d from correlations) over %d events, identical to the file's", len(got), corr, st.Scanned)
	timeOrder, _ := retroAlerts(t, bs, rules, hunt.Retro{Order: hunt.OrderTime})
	onlyTime, onlyFile := diff(timeOrder, want)
	for _, k := range onlyFile {
		if !strings.HasPrefix(k, "correlation:") {
			t.Fatalf("OrderTime misses the rule alert %s", k)
		}
	}
	t.Logf("OrderTime: %d alerts; %d correlation alerts only in time order, %d only in file order", len(timeOrder), len(onlyTime), len(onlyFile))
}
