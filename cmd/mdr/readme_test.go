package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/detect/sigma"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/hunt"
	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/jetstream"
	"github.com/mdrkit/mdr/loop"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/remediate"
	"github.com/mdrkit/mdr/remediate/proof"
	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/triage"
)

// Every Go code block of README.md appears below as real code, each in the
// test of its section: TestReadmeBlocksInSync fails when a block of the
// README is not found here (compared without white space), so the README
// cannot drift from code that compiles and runs.

func TestReadmeBlocksInSync(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllSubmatch(readme, -1)
	if len(blocks) < 10 {
		t.Fatalf("README.md has %d Go blocks, want at least 10", len(blocks))
	}
	body := squeeze(string(src))
	for i, b := range blocks {
		if !strings.Contains(body, squeeze(string(b[1]))) {
			t.Errorf("README.md Go block %d is not in readme_test.go:\n%s", i+1, b[1])
		}
	}
}

func squeeze(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// simTelemetry returns the events of a simulated attack as NDJSON, the
// events decoded, and the run.
func simTelemetry(t *testing.T) ([]byte, []*mdr.Event, *sim.Run) {
	t.Helper()
	run, err := sim.Generate(context.Background(), "phish-lateral", 1)
	if err != nil {
		t.Fatal(err)
	}
	var nd bytes.Buffer
	if err := run.Fleet.WriteNDJSON(&nd, 0); err != nil {
		t.Fatal(err)
	}
	rd, err := reader.New(bytes.NewReader(nd.Bytes()), "sim", reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var evs []*mdr.Event
	for ev, err := range rd.All() {
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	return nd.Bytes(), evs, run
}

func nativeRules(t *testing.T) *engine.Rules {
	t.Helper()
	rules, err := engine.LoadSources(context.Background(), []engine.Source{loop.NativeRules()})
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

func simAlerts(t *testing.T, events []*mdr.Event) []mdr.Alert {
	t.Helper()
	ctx := context.Background()
	det, err := engine.NewDetector(nativeRules(t), engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var alerts []mdr.Alert
	for _, ev := range events {
		as, err := det.Process(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, as...)
	}
	as, err := det.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return append(alerts, as...)
}

func TestReadmeLoop(t *testing.T) {
	var out bytes.Buffer
	fmt := fmtTo(&out)
	err := func(ctx context.Context) error {
		rules, err := engine.LoadSources(ctx, []engine.Source{loop.NativeRules()})
		if err != nil {
			return err
		}
		res, err := loop.Run(ctx, loop.Config{Scenario: "phish-lateral", Seed: 1, Rules: rules,
			Store: store.NewMemory(), Analyst: "demo"})
		if err != nil {
			return err
		}
		for _, s := range res.Stages {
			fmt.Println(s.Name, s.Summary)
		}
		return nil
	}(context.Background())
	if err != nil || !strings.Contains(out.String(), "audit") {
		t.Fatalf("%v\n%s", err, out.String())
	}
}

// fmtTo gives the blocks a fmt.Println that writes to w.
type printer struct{ w *bytes.Buffer }

func (p printer) Println(a ...any) { fmt.Fprintln(p.w, a...) }

func fmtTo(w *bytes.Buffer) printer { return printer{w} }

func TestReadmeRead(t *testing.T) {
	nd, _, _ := simTelemetry(t)
	dir := t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(nd)
	zw.Write([]byte("{not json\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "events.jsonl.gz"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	var out bytes.Buffer
	fmt := fmtTo(&out)
	err := func() error {
		r, err := reader.Open("events.jsonl.gz", reader.Options{OnError: reader.Skip})
		if err != nil {
			return err
		}
		defer r.Close()
		for ev, err := range r.All() {
			if err != nil {
				return err
			} // I/O error: names the file and line
			img, _ := ev.String("Image")                        // Sysmon / Sigma field names
			parent, _ := ev.String("process.parent.executable") // ECS / OCSF dotted paths
			fmt.Println(ev.Time(), ev.ID(), img, parent)
		}
		fmt.Println("skipped malformed lines:", r.Skipped())
		return nil
	}()
	if err != nil || !strings.Contains(out.String(), "skipped malformed lines: 1") {
		t.Fatalf("%v\n%s", err, out.String())
	}
}

func TestReadmeSnippet(t *testing.T) {
	ctx := context.Background()
	ev := mdr.NewEvent(mdr.Origin{}, mdr.Field{Key: "EventID", Value: mdr.Int(1)}, mdr.Field{Key: "Channel", Value: mdr.String("Microsoft-Windows-Sysmon/Operational")},
		mdr.Field{Key: "Image", Value: mdr.String(`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`)}, mdr.Field{Key: "CommandLine", Value: mdr.String("powershell /ENC abc")})
	var got []detect.Match
	err := func() error {
		rules, err := detect.ParseRules([]byte(`
id: encoded-powershell
title: PowerShell with an encoded command
severity: high
tags: [attack.execution, attack.t1059.001]
logsource: {product: windows, category: process_creation}
condition: e.Image.endsWithFold("\\powershell.exe") && e.CommandLine.containsFold(windash(" -enc "))
`), "inline.yml")
		if err != nil {
			return err
		} // a *RuleError naming the file, line and rule id
		rs, err := detect.Compile(rules, detect.WithPipeline(sigma.WindowsPipeline().Routing()))
		if err != nil {
			return err
		}
		matches, err := rs.Match(ctx, ev) // each Match explains which conditions held on which values
		got = matches
		return err
	}()
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	matches := got
	t.Log(matches[0])
}

func TestReadmeDetector(t *testing.T) {
	t.Chdir("../..") // the README's paths are relative to the checkout
	ev := mdr.NewEvent(mdr.Origin{}, mdr.Field{Key: "EventID", Value: mdr.Int(1102)}, mdr.Field{Key: "Channel", Value: mdr.String("Security")},
		mdr.Field{Key: "Provider_Name", Value: mdr.String("Microsoft-Windows-Eventlog")}, mdr.Field{Key: "Computer", Value: mdr.String("DC1")})
	var got []mdr.Alert
	err := func(ctx context.Context) error {
		rules, err := engine.Load(ctx, []string{"../shared/data/sigma/rules/windows/builtin/security"})
		if err != nil {
			return err
		}
		det, err := engine.NewDetector(rules, engine.DefaultConfig())
		if err != nil {
			return err
		}
		alerts, err := det.Process(ctx, ev) // then det.Flush(ctx) at the end of the stream
		got = alerts
		return err
	}(context.Background())
	if err != nil || len(got) == 0 {
		t.Fatalf("%v %v", got, err)
	}
	t.Log(got[0].RuleTitle)
}

func TestReadmeTriage(t *testing.T) {
	_, events, _ := simTelemetry(t)
	alerts := simAlerts(t, events)
	var out bytes.Buffer
	fmt := fmtTo(&out)
	err := func(ctx context.Context) error {
		q, err := triage.Open(ctx, store.NewMemory(), triage.DefaultConfig())
		if err != nil {
			return err
		}
		for _, a := range alerts {
			if _, err := q.Push(ctx, a, nil); err != nil {
				return err
			} // the event, when at hand, for suppressions
		}
		top, err := q.Summaries(ctx, 3) // highest score first
		if err != nil {
			return err
		}
		for _, in := range top {
			fmt.Println(in.Score, in.Level, in.Title, in.Parts)
		}
		return nil
	}(context.Background())
	if err != nil || out.Len() == 0 {
		t.Fatalf("%v\n%s", err, out.String())
	}
}

func TestReadmeInvestigate(t *testing.T) {
	_, events, _ := simTelemetry(t)
	alerts := simAlerts(t, events)
	var out bytes.Buffer
	fmt := fmtTo(&out)
	err := func(ctx context.Context) error {
		g, err := investigate.New(investigate.DefaultConfig())
		if err != nil {
			return err
		}
		for _, ev := range events {
			if err := g.Add(ev); err != nil {
				return err
			}
		}
		scope, err := g.Scope(ctx, alerts, investigate.ScopeLimits{})
		if err != nil {
			return err
		}
		fmt.Println("root cause:", scope.RootCause, "hosts:", scope.Hosts, "items:", len(scope.Items))
		return nil
	}(context.Background())
	if err != nil || !strings.Contains(out.String(), "root cause:") {
		t.Fatalf("%v\n%s", err, out.String())
	}
}

func TestReadmeHunt(t *testing.T) {
	_, events, _ := simTelemetry(t)
	st := store.NewMemory()
	if _, err := st.AppendEvents(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	rules := nativeRules(t)
	var out bytes.Buffer
	fmt := fmtTo(&out)
	err := func(ctx context.Context) error {
		q, err := hunt.Compile(ctx, hunt.Query{Condition: `e.EventID == 1 && e.Image.endsWithFold("\\whoami.exe")`})
		if err != nil {
			return err
		}
		for r, err := range q.Run(ctx, st) { // st: any store.Events; badger skips segments by their summaries
			if err != nil {
				return err
			}
			fmt.Println(r.Event.Time(), r.Event.ID())
		}
		for a, err := range hunt.RetroHunt(ctx, st, rules, hunt.Retro{}, nil) { // a whole ruleset over the stored range
			if err != nil {
				return err
			}
			fmt.Println(a.RuleTitle, a.Host)
		}
		return nil
	}(context.Background())
	if err != nil || strings.Count(out.String(), "\n") < 2 {
		t.Fatalf("%v\n%s", err, out.String())
	}
}

func TestReadmeRespond(t *testing.T) {
	fleet, err := sim.New(sim.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := fleet.AddHost(sim.HostSpec{Name: "WKS-7"}); err != nil {
		t.Fatal(err)
	}
	var edr respond.Actuator = fleet // the host's EDR
	var out bytes.Buffer
	fmt := fmtTo(&out)
	err = func(ctx context.Context) error {
		d, err := respond.NewDispatcher(ctx, respond.Config{Store: store.NewMemory(), Enforce: true,
			Policy: respond.Policy{Level: respond.AutomationSemi, Rules: []respond.PolicyRule{
				{Name: "servers-need-an-analyst", When: `hosts.exists(h, h.startsWith("SRV-"))`, Decision: respond.DecisionApprove},
				{Name: "auto-isolate", When: `action == "contain" && score >= 80.0`, Decision: respond.DecisionAllow},
			}}})
		if err != nil {
			return err
		}
		defer d.Close()
		if err := d.Register(ctx, "edr", edr, "*"); err != nil {
			return err
		}
		r, err := d.Dispatch(ctx, respond.Request{Incident: "inc-1", Score: 92, Requester: "triage",
			Command: respond.Command{Action: respond.ActionContain, Target: respond.Target{Device: &respond.Device{Hostname: "WKS-7"}},
				Args: &respond.Args{ER: &respond.ERArgs{DeviceContainment: respond.NetworkIsolation}}}})
		fmt.Println(r.State, r.Rule, err) // executed auto-isolate <nil>; d.Undo(ctx, r.ID, who) releases it
		return err
	}(context.Background())
	if err != nil || strings.TrimSpace(out.String()) != "executed auto-isolate <nil>" {
		t.Fatalf("%v\n%s", err, out.String())
	}
}

func TestReadmeRemediate(t *testing.T) {
	ctx := context.Background()
	nd, _, run := simTelemetry(t)
	r, err := reader.New(bytes.NewReader(nd), "sim", reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	det, err := engine.NewDetector(nativeRules(t), engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewMemory()
	fleet := run.Fleet
	d, err := respond.NewDispatcher(ctx, respond.Config{Store: st, Enforce: true, Policy: respond.Policy{Level: respond.AutomationFull}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := proof.Register(ctx, d, fleet); err != nil { // the fleet and its x-mdr account actuator
		t.Fatal(err)
	}
	var out bytes.Buffer
	fmt := fmtTo(&out)
	err = func() error {
		an, err := remediate.PlanEvents(ctx, r.All(), det, remediate.PipelineConfig{}) // detect, investigate, plan
		if err != nil {
			return err
		}
		ex, err := remediate.NewExecutor(st, d, remediate.ActuatorQuerier(fleet), remediate.Config{Principal: "j.analyst"})
		if err != nil {
			return err
		}
		for _, in := range an.Incidents {
			res, err := ex.Apply(ctx, in.Plan) // dependency order, each step verified by its post-condition
			if err != nil {
				return err
			}
			fmt.Println(in.Plan.ID, res.Counts.Verified, "verified") // ex.Undo(ctx, in.Plan.ID) rolls it back
		}
		return nil
	}()
	if err != nil || !strings.Contains(out.String(), "verified") || strings.Contains(out.String(), " 0 verified") {
		t.Fatalf("%v\n%s", err, out.String())
	}
}

func TestReadmeJetStream(t *testing.T) {
	nd, _, _ := simTelemetry(t)
	dir := t.TempDir()
	files := []string{filepath.Join(dir, "events.jsonl")}
	if err := os.WriteFile(files[0], nd, 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := jetstream.StartServer(jetstream.ServerConfig{Host: "127.0.0.1", Port: -1, StoreDir: filepath.Join(dir, "nats")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	url, rules, st := srv.URL(), nativeRules(t), store.NewMemory()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Stop the worker once it has stored alerts.
	go func() {
		for ctx.Err() == nil {
			for _, err := range st.ListAlerts(ctx, store.ListQuery{}) {
				if err == nil {
					time.Sleep(300 * time.Millisecond)
					cancel()
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	err = func(ctx context.Context) error {
		cfg := jetstream.DefaultConfig()
		if err := jetstream.Setup(ctx, url, cfg); err != nil {
			return err
		}
		pub, err := jetstream.NewPublisher(ctx, url, cfg) // producer side
		if err != nil {
			return err
		}
		if _, err := pub.PublishFiles(ctx, files, reader.Options{}, nil); err != nil {
			return err
		}
		if err := pub.Close(); err != nil {
			return err
		}
		w, err := jetstream.NewWorker(ctx, url, jetstream.WorkerConfig{Config: cfg, Rules: rules, Store: st})
		if err != nil {
			return err
		}
		return w.Run(ctx) // claims partitions, detects, stores and publishes alerts until ctx ends
	}(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	n := 0
	for _, err := range st.ListAlerts(context.Background(), store.ListQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 {
		t.Fatal("the worker stored no alert")
	}
}
