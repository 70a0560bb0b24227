package loop_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/detect/sigma"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/loop"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/sim"
)

// nativeRules parses the loop's embedded native rules.
func nativeRules() ([]detect.Rule, error) {
	src := loop.NativeRules()
	return detect.ParseRules(src.Data, src.Name)
}

// TestEmbeddedRules checks the embedded rule file: it parses, every rule
// compiles, ids are unique and carry ATT&CK techniques.
func TestEmbeddedRules(t *testing.T) {
	rules, err := nativeRules()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := detect.Compile(rules); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	corr := 0
	for _, r := range rules {
		if seen[r.ID] {
			t.Errorf("duplicate rule id %s", r.ID)
		}
		seen[r.ID] = true
		if len(mdr.TechniquesOf(r.Tags)) == 0 {
			t.Errorf("rule %s names no ATT&CK technique", r.ID)
		}
		if r.Severity == mdr.SeverityUnknown {
			t.Errorf("rule %s has no severity", r.ID)
		}
		if r.Correlation != nil {
			corr++
		}
	}
	if corr == 0 {
		t.Error("no correlation rule")
	}
}

// TestNativeRulesOnRealData runs the embedded native rules over the shared
// data's real logs: on the benign baseline (presumed benign) they must stay
// quiet, and on the public attack recordings the key rules must find
// something, so that they are not tuned to the generator alone. It fails
// when the shared data is missing.
func TestNativeRulesOnRealData(t *testing.T) {
	rules, err := nativeRules()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := detect.Compile(rules, detect.WithPipeline(sigma.WindowsPipeline().Routing()))
	if err != nil {
		t.Fatal(err)
	}
	count := func(file string) (map[string]int, int) {
		r, err := reader.Open(shareddata.Path(t, "events", file), reader.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		fired := map[string]int{}
		var ms []detect.Match
		n := 0
		for r.Next() {
			n++
			if ms, err = rs.AppendMatches(context.Background(), ms[:0], r.Event()); err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				fired[m.Rule.ID]++
			}
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		return fired, n
	}
	benign, n := count("benign_baseline.jsonl")
	t.Logf("benign baseline: %d events, native matches %v", n, benign)
	for id, c := range benign {
		if c != allowedOnBaseline[id] {
			t.Errorf("native rule %s fired %d times on the benign baseline, want %d", id, c, allowedOnBaseline[id])
		}
	}
	attack := map[string]int{}
	for _, f := range []string{"evtx_attack_samples.jsonl", "evtx_to_mitre_attack.jsonl"} {
		fired, n := count(f)
		t.Logf("%s: %d events, native matches %v", f, n, fired)
		for id, c := range fired {
			attack[id] += c
		}
	}
	for _, id := range []string{
		"demo-lsass-access", "demo-credential-dumper", "demo-service-unusual-path", "demo-admin-share-access",
		"demo-run-key-user-writable", "demo-schtasks-create", "demo-task-runs-user-writable", "demo-discovery-command",
	} {
		if attack[id] == 0 {
			t.Errorf("native rule %s found nothing in the public attack recordings", id)
		}
	}
}

// allowedOnBaseline are the matches of native rules on the benign baseline,
// each reviewed: the rule does what it says and the event is one it is meant
// to flag in production.
var allowedOnBaseline = map[string]int{
	// A test agent (pathfinder.exe) installed as a service from a user's
	// Temp folder by a pytest run.
	"demo-service-unusual-path": 1,
}

// BenchmarkNativeMatch measures the native rules over the demo
// scenario's events (attack and benign mixed), per event.
func BenchmarkNativeMatch(b *testing.B) {
	rules, err := nativeRules()
	if err != nil {
		b.Fatal(err)
	}
	rs, err := detect.Compile(rules, detect.WithPipeline(sigma.WindowsPipeline().Routing()))
	if err != nil {
		b.Fatal(err)
	}
	run, err := sim.Generate(context.Background(), "phish-lateral", 1)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := run.Fleet.WriteNDJSON(&buf, 0); err != nil {
		b.Fatal(err)
	}
	r, err := reader.New(&buf, "scenario", reader.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var evs []*mdr.Event
	for r.Next() {
		evs = append(evs, r.Event())
	}
	if err := r.Err(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var ms []detect.Match
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := evs[i%len(evs)]
		if ms, err = rs.AppendMatches(ctx, ms[:0], ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
