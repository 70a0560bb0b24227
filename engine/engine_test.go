package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
)

const nativeRule = `
id: whoami
title: Whoami run
severity: medium
tags: [attack.discovery, attack.t1033]
fields: [CommandLine, Big]
condition: e.Image.endsWithFold("\\whoami.exe")
`

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A FIFO in a rules folder is skipped with a note, never opened (opening
// it would block until a writer came).
func TestLoadSkipsFIFO(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yml"), nativeRule)
	if err := syscall.Mkfifo(filepath.Join(dir, "b.yml"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var r *engine.Rules
	var err error
	go func() { r, err = engine.Load(context.Background(), []string{dir}); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Load hangs on a FIFO in the rules folder")
	}
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 1 || r.Files != 1 {
		t.Errorf("rules %d from %d files, want 1 from 1", r.Len(), r.Files)
	}
	if len(r.Skipped) != 1 || !strings.Contains(r.Skipped[0].String(), "named pipe") {
		t.Errorf("skipped = %v, want the FIFO named", r.Skipped)
	}
	// A FIFO named directly is an error, not a hang.
	if _, err := engine.Load(context.Background(), []string{filepath.Join(dir, "b.yml")}); err == nil {
		t.Error("a FIFO given as a rule file was accepted")
	}
}

// A rule file above the cap is rejected, named, without being read.
func TestLoadSizeCap(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yml"), nativeRule)
	writeFile(t, filepath.Join(dir, "big.yml"), nativeRule+"\n#"+strings.Repeat("x", 5000)+"\n")
	r, err := engine.Load(context.Background(), []string{dir}, engine.WithMaxFileSize(2000))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rejects) != 1 || !strings.Contains(r.Rejects[0].Path, "big.yml") || !strings.Contains(r.Rejects[0].Reason, "too large") {
		t.Fatalf("rejects = %v, want big.yml too large", r.Rejects)
	}
	if r.Len() != 1 {
		t.Errorf("%d rules, want the small file's 1", r.Len())
	}
	if _, err := engine.Load(context.Background(), []string{dir}, engine.WithMaxFileSize(0)); err == nil {
		t.Error("a zero cap was accepted")
	}
}

func TestLoadCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := engine.Load(ctx, []string{shareddata.Path(t, "sigma", "rules", "windows")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// Rejections name the file, the line and the rule.
func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad.yml"), "id: bad\ntitle: Bad\nseverity: high\ncondition: e.Image.nosuchfunction()\n")
	r, err := engine.Load(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rejects) != 1 || r.Rejects[0].ID != "bad" || !strings.HasSuffix(r.Rejects[0].Path, "bad.yml") || r.Rejects[0].Line == 0 {
		t.Fatalf("rejects = %+v", r.Rejects)
	}
}

func event(host, image, id string, t time.Time, extra ...mdr.Field) *mdr.Event {
	f := []mdr.Field{
		{Key: "_id", Value: mdr.String(id)},
		{Key: "EventID", Value: mdr.Int(1)},
		{Key: "Channel", Value: mdr.String("Microsoft-Windows-Sysmon/Operational")},
		{Key: "Computer", Value: mdr.String(host)},
		{Key: "TimeCreated", Value: mdr.String(t.Format(time.RFC3339Nano))},
		{Key: "Image", Value: mdr.String(image)},
		{Key: "ProcessGuid", Value: mdr.String("{11111111-2222-3333-4444-" + strings.Repeat("5", 12) + "}")},
		{Key: "ProcessId", Value: mdr.String("4242")},
		{Key: "CommandLine", Value: mdr.String(image)},
	}
	return mdr.NewEvent(mdr.Origin{Source: "test", Line: 7}, append(f, extra...)...)
}

func TestDetectorAlerts(t *testing.T) {
	ctx := context.Background()
	r, err := engine.LoadSources(ctx, []engine.Source{{Name: "native.yml", Data: []byte(nativeRule)}})
	if err != nil || len(r.Rejects) > 0 {
		t.Fatal(err, r.Rejects)
	}
	d, err := engine.NewDetector(r, engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	as, err := d.Process(ctx, event("WS1.corp.local", `C:\Windows\System32\whoami.exe`, "ev1", t0,
		mdr.Field{Key: "Big", Value: mdr.Float(math.Inf(1))}))
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 {
		t.Fatalf("%d alerts, want 1", len(as))
	}
	a := as[0]
	if a.ID != "whoami:ev1" || a.Host != "WS1.corp.local" || a.Severity != mdr.SeverityMedium || !a.Time.Equal(t0) || len(a.EventIDs) != 1 {
		t.Errorf("alert = %+v", a)
	}
	if a.Fields["Big"] != "+Inf" || a.Fields["CommandLine"] == "" {
		t.Errorf("fields = %v", a.Fields)
	}
	var proc bool
	for _, e := range a.Entities {
		proc = proc || e.Kind == mdr.EntityProcess
	}
	if !proc {
		t.Errorf("no process entity in %v", a.Entities)
	}
	as, _ = d.Process(ctx, event("WS1", `C:\Windows\notepad.exe`, "ev2", t0))
	if len(as) != 0 {
		t.Errorf("notepad raised %v", as)
	}
	if s := d.Stats(); s.Events != 2 || s.Alerts != 1 || s.Matches != 1 {
		t.Errorf("stats = %+v", s)
	}
}

// A rule that exceeds the cost limit on one event is counted and reported
// with the event's origin; detection goes on with the next event.
func TestDetectorEvalErrorGoesOn(t *testing.T) {
	ctx := context.Background()
	costly := `
id: costly
title: Costly
severity: low
condition: e.CommandLine.size() > 0 && [1,2,3,4,5,6,7,8,9,10].all(x, [1,2,3,4,5,6,7,8,9,10].all(y, [1,2,3,4,5,6,7,8,9,10].all(z, !e.CommandLine.contains(string(x*100+y*10+z)))))
`
	r, err := engine.LoadSources(ctx, []engine.Source{{Name: "costly.yml", Data: []byte(costly)}, {Name: "native.yml", Data: []byte(nativeRule)}},
		engine.WithDetectOptions(detect.WithCostLimit(200)))
	if err != nil || len(r.Rejects) > 0 {
		t.Fatal(err, r.Rejects)
	}
	var reported []*engine.EvalError
	cfg := engine.DefaultConfig()
	cfg.OnEvalError = func(e *engine.EvalError) { reported = append(reported, e) }
	d, err := engine.NewDetector(r, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i, img := range []string{`C:\x\notepad.exe`, `C:\Windows\System32\whoami.exe`} {
		if _, err := d.Process(ctx, event("WS1", img, "e"+string(rune('0'+i)), t0)); err != nil {
			t.Fatalf("event %d stopped detection: %v", i, err)
		}
	}
	if s := d.Stats(); s.EvalErrors == 0 || s.Events != 2 {
		t.Fatalf("stats = %+v, want eval errors counted over 2 events", s)
	}
	if len(reported) == 0 || reported[0].RuleID != "costly" || !strings.Contains(reported[0].Error(), "test:7") {
		t.Errorf("reported = %v", reported)
	}
}

// Over a real attack log with the SigmaHQ Windows rules, the detector's
// alerts are those of the ruleset's visible matches plus the correlations,
// with unique, deterministic ids, and every alert names its host.
func TestDetectFilesAttackSamples(t *testing.T) {
	ctx := context.Background()
	r, err := engine.Load(ctx, []string{shareddata.Path(t, "sigma", "rules", "windows")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() < 2000 || r.SigmaFiles < 2000 {
		t.Fatalf("%d rules from %d Sigma files", r.Len(), r.SigmaFiles)
	}
	file := shareddata.Path(t, "events", "evtx_attack_samples.jsonl")
	run := func() ([]mdr.Alert, engine.FileStats, engine.Stats) {
		d, err := engine.NewDetector(r, engine.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		var all []mdr.Alert
		fs, err := engine.DetectFiles(ctx, d, []string{file}, reader.Options{OnError: reader.Skip}, func(_ *mdr.Event, as []mdr.Alert) error {
			all = append(all, as...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return all, fs, d.Stats()
	}
	a1, fs, st := run()
	a2, _, _ := run()
	if fs.Events != 8247 {
		t.Errorf("%d events read, want 8247", fs.Events)
	}
	// The same events matched directly.
	rd, err := reader.Open(file, reader.Options{OnError: reader.Skip})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	visible := 0
	for ev, err := range rd.All() {
		if err != nil {
			t.Fatal(err)
		}
		ms, err := r.Ruleset.Match(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if !m.Hidden {
				visible++
			}
		}
	}
	corr := 0
	ids := map[string]bool{}
	for i, a := range a1 {
		if strings.HasPrefix(a.ID, "correlation:") {
			corr++
		}
		if ids[a.ID] {
			t.Errorf("duplicate alert id %s", a.ID)
		}
		ids[a.ID] = true
		if a.Host == "" {
			t.Errorf("alert %s has no host", a.ID)
		}
		if a2[i].ID != a.ID {
			t.Fatalf("alert %d: %s then %s: ids not deterministic", i, a.ID, a2[i].ID)
		}
	}
	if len(a1)-corr != visible || visible < 1000 {
		t.Errorf("%d rule alerts, want the %d visible matches", len(a1)-corr, visible)
	}
	if st.EvalErrors != 0 {
		t.Errorf("%d eval errors on real data", st.EvalErrors)
	}
	t.Logf("%d events, %d alerts (%d correlations), %d rules", fs.Events, len(a1), corr, r.Len())
}

// A Detector restored from a snapshot taken in the middle of a stream
// raises the same alerts as one that ran the whole stream.
func TestDetectorSnapshotRestore(t *testing.T) {
	ctx := context.Background()
	corr := `
title: Many whoami
id: many-whoami
correlation:
  type: event_count
  rules: [whoami-sigma]
  group-by: [Computer]
  timespan: 10m
  condition: {gte: 3}
level: high
---
title: Whoami
id: whoami-sigma
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\whoami.exe'}
  condition: sel
level: low
`
	r, err := engine.LoadSources(ctx, []engine.Source{{Name: "corr.yml", Data: []byte(corr)}})
	if err != nil || len(r.Rejects) > 0 {
		t.Fatal(err, r.Rejects)
	}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var evs []*mdr.Event
	for i := range 5 {
		evs = append(evs, event("WS1", `C:\Windows\System32\whoami.exe`, "w"+string(rune('a'+i)), t0.Add(time.Duration(i)*time.Minute)))
	}
	run := func(d *engine.Detector, evs []*mdr.Event) []string {
		var ids []string
		for _, ev := range evs {
			as, err := d.Process(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range as {
				ids = append(ids, a.ID)
			}
		}
		return ids
	}
	whole, _ := engine.NewDetector(r, engine.DefaultConfig())
	want := run(whole, evs)
	first, _ := engine.NewDetector(r, engine.DefaultConfig())
	got := run(first, evs[:2])
	snap, err := first.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := engine.NewDetector(r, engine.DefaultConfig())
	if err := second.Restore(ctx, snap); err != nil {
		t.Fatal(err)
	}
	got = append(got, run(second, evs[2:])...)
	if strings.Join(got, " ") != strings.Join(want, " ") || !strings.Contains(strings.Join(want, " "), "correlation:many-whoami") {
		t.Errorf("restored run %v, whole run %v", got, want)
	}
	if err := second.Restore(ctx, []byte("{")); err == nil {
		t.Error("a broken snapshot was accepted")
	}
}

// TestLoadCancelledWhileCompiling (issue 17 defect 7): a context that ends
// while the rules compile stops the compile; a rule whose constant folding
// would take minutes (defect 6) does not hold Load past it.
func TestLoadCancelledWhileCompiling(t *testing.T) {
	list := make([]string, 500)
	for i := range list {
		list[i] = strconv.Itoa(i)
	}
	l := "[" + strings.Join(list, ",") + "]"
	var src strings.Builder
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&src, "- id: fold-%d\n  title: t\n  severity: low\n  condition: 'e.Image == \"%d\" && %s.exists(x, %s.exists(y, %s.exists(z, x + y + z == -1)))'\n", i, i, l, l, l)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := engine.LoadSources(ctx, []engine.Source{{Name: "fold.yml", Data: []byte(src.String())}},
		engine.WithDetectOptions(detect.WithCostLimit(1<<62)))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("Load went on for %v", el)
	}
}
