package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/detect/sigma"
	"github.com/mdrkit/mdr/internal/scenario"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
)

// runSteps runs the demo for seed with the given Sigma directory and store
// directory and returns it with its report.
func runSteps(t *testing.T, seed int64, sigmaDir, storeDir string) (*demo, string) {
	t.Helper()
	d := &demo{seed: seed, sigmaDir: sigmaDir, storeDir: storeDir}
	var out bytes.Buffer
	if err := d.run(context.Background(), &out); err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	return d, out.String()
}

// keyDetections are the native rules that must fire on every generated
// scenario, and the correlations over them.
var keyDetections = []string{
	"demo-office-macro-document-saved",
	"demo-office-encoded-powershell",
	"demo-powershell-download-cradle",
	"demo-lsass-access",
	"demo-credential-dumper",
	"demo-run-key-user-writable",
	"demo-schtasks-create",
	"demo-task-runs-user-writable",
	"demo-explicit-credentials-from-script",
	"demo-admin-share-access",
	"demo-remote-service-create",
	"demo-service-unusual-path",
	"demo-service-unusual-path-4697",
	"demo-discovery-command",
}

var keyCorrelations = []string{
	"demo-macro-to-lsass",
	"demo-explicit-credentials-then-admin-share",
	"demo-discovery-burst",
}

// TestDemoDetections checks the native rules against the generator's ground
// truth over several seeds: the key rules and correlations fire, every
// attack step is detected by at least one native rule, no native rule
// matches a benign event, every rule of the embedded file fires somewhere,
// and the alerts read back from the store are the alerts raised.
func TestDemoDetections(t *testing.T) {
	firedAnywhere := map[string]bool{}
	for _, seed := range []int64{1, 2, 3, 42, 77, 1234} {
		d, report := runSteps(t, seed, "", "")
		fired := map[string]int{}
		steps := map[scenario.Step]bool{}
		for _, h := range d.det.hits {
			if h.sigma {
				t.Fatalf("seed %d: a Sigma match with Sigma off: %s", seed, h.m.Rule.ID)
			}
			fired[h.m.Rule.ID]++
			firedAnywhere[h.m.Rule.ID] = true
			st := d.sc.StepOf(h.index)
			if st == scenario.NoStep {
				t.Errorf("seed %d: native rule %s matched benign event %d (%s)", seed, h.m.Rule.ID, h.index, h.m.Event.ID())
			}
			steps[st] = true
			if len(h.m.Explanation.Conditions) == 0 {
				t.Errorf("seed %d: match of %s without explanation", seed, h.m.Rule.ID)
			}
		}
		for _, id := range keyDetections {
			if fired[id] == 0 {
				t.Errorf("seed %d: %s did not fire", seed, id)
			}
		}
		for _, st := range scenario.Steps {
			if !steps[st] {
				t.Errorf("seed %d: attack step %s detected by no native rule", seed, st)
			}
		}
		corr := map[string]detect.CorrelationMatch{}
		for _, cm := range d.det.correlations {
			corr[cm.Rule.ID] = cm
			firedAnywhere[cm.Rule.ID] = true
		}
		for _, id := range keyCorrelations {
			if _, ok := corr[id]; !ok {
				t.Errorf("seed %d: correlation %s did not fire", seed, id)
			}
		}
		if cm, ok := corr["demo-macro-to-lsass"]; ok {
			if want := []detect.GroupValue{{Field: "Computer", Value: d.sc.Facts.Workstation}}; !slices.Equal(cm.Group, want) {
				t.Errorf("seed %d: macro-to-lsass group %v, want %v", seed, cm.Group, want)
			}
			if !slices.Equal(cm.Rules, []string{"demo-office-encoded-powershell", "demo-lsass-access"}) {
				t.Errorf("seed %d: macro-to-lsass rules %v", seed, cm.Rules)
			}
		}
		if cm, ok := corr["demo-explicit-credentials-then-admin-share"]; ok {
			if len(cm.Group) != 1 || cm.Group[0].Value != "it.admin" || cm.Events < 2 {
				t.Errorf("seed %d: explicit-credentials correlation %+v", seed, cm)
			}
		}
		// What the store gave back is what was raised.
		raised := d.alerts()
		if len(d.st.alerts) != len(raised) || d.st.alertsPut != len(raised) {
			t.Errorf("seed %d: %d alerts raised, %d stored, %d read back", seed, len(raised), d.st.alertsPut, len(d.st.alerts))
		}
		ids := map[string]bool{}
		for _, a := range d.st.alerts {
			ids[a.ID] = true
			if a.Explanation == "" || a.RuleTitle == "" || a.Host == "" || a.Time.IsZero() || len(a.EventIDs) == 0 {
				t.Errorf("seed %d: incomplete alert read back: %+v", seed, a)
			}
		}
		for _, a := range raised {
			if !ids[a.ID] {
				t.Errorf("seed %d: alert %s not read back", seed, a.ID)
			}
		}
		for i := 1; i < len(d.st.alerts); i++ {
			a, b := d.st.alerts[i-1], d.st.alerts[i]
			if a.Severity < b.Severity || a.Severity == b.Severity && a.Time.After(b.Time) {
				t.Errorf("seed %d: alerts out of order at %d: %s %s / %s %s", seed, i, a.Severity, a.Time, b.Severity, b.Time)
			}
		}
		if d.st.events.Added != len(d.events) || d.st.edges != len(d.relations) {
			t.Errorf("seed %d: stored %d of %d events, %d of %d relations", seed, d.st.events.Added, len(d.events), d.st.edges, len(d.relations))
		}
		// The report: Detections come before the other sections, every
		// alert is printed with its explanation, and the coverage lines
		// say every step was detected.
		det, hosts := strings.Index(report, "\nDetections\n"), strings.Index(report, "\nHosts\n")
		if det < 0 || hosts < 0 || det > hosts {
			t.Fatalf("seed %d: Detections section missing or not first (%d, %d)", seed, det, hosts)
		}
		sec := report[det:hosts]
		if n := strings.Count(sec, "\n           why: "); n != len(d.st.alerts)-len(d.det.correlations) {
			t.Errorf("seed %d: %d explanations printed for %d alerts", seed, n, len(d.st.alerts)-len(d.det.correlations))
		}
		for _, want := range []string{"MISSED", "(false positives)"} {
			if strings.Contains(report, want) {
				t.Errorf("seed %d: report says %q", seed, want)
			}
		}
		for _, want := range []string{
			"[correlation demo-macro-to-lsass]", "base events:", "T1003.001", "native rules on the ",
			"GrantedAccess = \"" + d.sc.Facts.LsassAccess + "\"",
		} {
			if !strings.Contains(sec, want) {
				t.Errorf("seed %d: Detections lack %q", seed, want)
			}
		}
		if t.Failed() {
			t.Logf("report:\n%s", report)
			return
		}
	}
	rules, err := nativeRules()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if !firedAnywhere[r.ID] {
			t.Errorf("embedded rule %s never fired on any seed", r.ID)
		}
	}
}

// TestDemoStoreKept runs the demo twice with --store and reads the store
// directly: events, alerts, relations and correlation state are there, and
// a second run stores no duplicate.
func TestDemoStoreKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	var out, errb bytes.Buffer
	if code := run([]string{"demo", "--seed", "5", "--sigma", "", "--store", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "store: badger store "+dir+": ") {
		t.Errorf("report does not name the store: %s", out.String())
	}
	var again bytes.Buffer
	if code := run([]string{"demo", "--seed", "5", "--sigma", "", "--store", dir}, &again, &errb); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, errb.String())
	}
	nev := len(scenario.Generate(scenario.Config{Seed: 5}).Events)
	if want := ": 0 events (" + itoa(int64(nev)) + " duplicates)"; !strings.Contains(again.String(), want) {
		t.Errorf("second run: report lacks %q", want)
	}
	if !strings.Contains(again.String(), "already stored") {
		t.Errorf("second run does not say the alerts were already stored")
	}

	// Another seed in the same store: same times, other events; the report
	// reads back only its own alerts.
	d6, _ := runSteps(t, 6, "", dir)
	if len(d6.st.alerts) != d6.st.alertsPut || d6.st.alertsOld != 0 {
		t.Errorf("seed 6 in a kept store: %d alerts put, %d read back, %d old", d6.st.alertsPut, len(d6.st.alerts), d6.st.alertsOld)
	}
	for _, a := range d6.st.alerts {
		if strings.Contains(a.ID, "demo-5:") {
			t.Errorf("seed 6 read back an alert of seed 5: %s", a.ID)
		}
	}

	sc := scenario.Generate(scenario.Config{Seed: 5})
	s, err := badger.Open(badger.DefaultConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	n, err := s.CountEvents(ctx, time.Time{}, time.Time{})
	if want := int64(len(sc.Events) + len(d6.events)); err != nil || n != want {
		t.Errorf("store holds %d events (%v), want %d", n, err, want)
	}
	if _, err := s.GetEvent(ctx, "demo-5:1"); err != nil {
		t.Errorf("first event: %v", err)
	}
	var alerts []store.AlertRecord
	for a, err := range s.ListAlerts(ctx, store.ListQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, a)
	}
	rules := map[string]bool{}
	for _, a := range alerts {
		if !strings.Contains(a.ID(), "demo-5:") && !strings.HasPrefix(a.ID(), "correlation:") {
			continue
		}
		rules[a.Alert.RuleID] = true
		if len(a.Alert.Entities) == 0 {
			t.Errorf("alert %s has no entities", a.ID())
		}
		if a.Version != 1 || a.Status != store.StatusNew {
			t.Errorf("alert %s: version %d status %q", a.ID(), a.Version, a.Status)
		}
	}
	for _, id := range append(keyDetections, keyCorrelations...) {
		if !rules[id] {
			t.Errorf("no stored alert of %s", id)
		}
	}
	// The workstation's host node has edges (process ran_on host).
	edges := 0
	for r, err := range s.Neighbors(ctx, "host:"+strings.ToLower(sc.Facts.Workstation), store.EdgeQuery{Dir: store.Both}) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind == mdr.RelRanOn {
			edges++
		}
	}
	if edges == 0 {
		t.Error("no ran_on edge of the workstation in the stored graph")
	}
	st, err := s.GetState(ctx, detect.DefaultCorrelatorConfig().StateKey)
	if err != nil || len(st) == 0 {
		t.Errorf("correlation state: %d bytes, %v", len(st), err)
	}
}

// TestDemoSigma runs the demo with the SigmaHQ Windows rules of the shared
// data (it fails when they are missing): the corpus compiles, Sigma rules
// fire on the attack, and the native detections are unchanged.
func TestDemoSigma(t *testing.T) {
	dir := shareddata.Path(t, "sigma", "rules", "windows")
	d, report := runSteps(t, 1, dir, "")
	x := d.det
	if x.sigmaFiles < 2000 || x.sigmaRules < 2000 {
		t.Errorf("Sigma: %d rules from %d files", x.sigmaRules, x.sigmaFiles)
	}
	if x.sigmaReject*200 > x.sigmaRules {
		t.Errorf("Sigma: %d rejected of %d", x.sigmaReject, x.sigmaRules)
	}
	// Sigma rules for the story's techniques fire: Office spawning
	// PowerShell, Mimikatz, encoded PowerShell, reconnaissance.
	for _, id := range []string{
		"a642964e-bead-4bed-8910-1bb4d63e3b4d", // HackTool - Mimikatz Execution
		"438025f9-5856-4663-83f7-52f878a70a50", // Suspicious Microsoft Office Child Process
		"ca2092a1-c273-4878-9b4b-0d60115bf5ea", // Suspicious Encoded PowerShell Command Line
		"92626ddd-662c-49e3-ac59-f6535f12d189", // Scheduled Task Creation Via Schtasks.EXE
	} {
		if x.sigmaFired[id] == 0 {
			t.Errorf("Sigma rule %s did not fire", id)
		}
	}
	if want := "Sigma: " + itoa(int64(x.sigmaRules)) + " rules loaded from "; !strings.Contains(report, want) {
		t.Errorf("report lacks %q", want)
	}
	if !strings.Contains(report, "[sigma a642964e-bead-4bed-8910-1bb4d63e3b4d]") {
		t.Error("report lacks the Mimikatz Sigma alert")
	}
	native, _ := runSteps(t, 1, "", "")
	count := func(d *demo) map[string]int {
		m := map[string]int{}
		for _, h := range d.det.hits {
			if !h.sigma {
				m[h.m.Rule.ID]++
			}
		}
		return m
	}
	a, b := count(d), count(native)
	if len(a) != len(b) {
		t.Errorf("native matches differ with Sigma on: %v vs %v", a, b)
	}
	for k, v := range b {
		if a[k] != v {
			t.Errorf("native rule %s: %d matches with Sigma, %d without", k, a[k], v)
		}
	}
}

// TestDemoSigmaDefault checks the default --sigma: from a directory without
// ../shared/data the demo runs the native rules and says so in one line.
func TestDemoSigmaDefault(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	if err := os.Chdir(tmp); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out, errb bytes.Buffer
	if code := run([]string{"demo", "--seed", "1"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if n := strings.Count(out.String(), "Sigma rules not run: "+defaultSigmaDir+" not found"); n != 1 {
		t.Errorf("note printed %d times:\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), "[correlation demo-macro-to-lsass]") {
		t.Error("native detections missing")
	}
	// An explicit directory that does not exist is an error, not a note.
	if code := run([]string{"demo", "--sigma", filepath.Join(tmp, "nope")}, &out, &errb); code != 1 {
		t.Errorf("missing --sigma DIR: exit %d, want 1", code)
	}
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

// TestDemoRulesOnRealData runs the embedded native rules over the shared
// data's real logs: on the benign baseline (presumed benign) they must stay
// quiet, and on the public attack recordings the key rules must find
// something, so that they are not tuned to the generator alone. It fails
// when the shared data is missing.
func TestDemoRulesOnRealData(t *testing.T) {
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

// BenchmarkDemoNativeMatch measures the embedded native rules over the
// generated scenario's events (attack and benign mixed), per event.
func BenchmarkDemoNativeMatch(b *testing.B) {
	rules, err := nativeRules()
	if err != nil {
		b.Fatal(err)
	}
	rs, err := detect.Compile(rules, detect.WithPipeline(sigma.WindowsPipeline().Routing()))
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := scenario.Generate(scenario.Config{Seed: 1}).WriteNDJSON(&buf); err != nil {
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
