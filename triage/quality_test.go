package triage_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/triage"
)

// sigmaDirs are the SigmaHQ folders the quality figures use.
var sigmaDirs = [][]string{
	{"sigma", "rules", "windows"}, {"sigma", "rules-threat-hunting", "windows"},
	{"sigma", "rules-placeholder", "windows"}, {"sigma", "rules-emerging-threats"},
}

var qualityFiles = []string{"evtx_attack_samples.jsonl", "evtx_to_mitre_attack.jsonl", "benign_baseline.jsonl"}

// corpus caches the compiled SigmaHQ corpus and the detected alerts for
// the tests of this package (compiling takes seconds).
var corpus struct {
	once  sync.Once
	rules *engine.Rules
	det   *detected
}

func loadCorpus(t testing.TB) *engine.Rules {
	t.Helper()
	corpus.once.Do(func() { corpus.rules = compileCorpus(t); corpus.det = detectQuality(t, corpus.rules) })
	if corpus.rules == nil {
		t.Fatal("corpus failed to load")
	}
	return corpus.rules
}

func compileCorpus(t testing.TB) *engine.Rules {
	t.Helper()
	var paths []string
	for _, d := range sigmaDirs {
		paths = append(paths, shareddata.Path(t, d...))
	}
	rules, err := engine.Load(context.Background(), paths)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

func benignSources(t testing.TB) map[string]bool {
	f, err := os.Open(shareddata.Path(t, "events", "file_labels.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct{ Src, Dataset string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out[r.Src] = r.Dataset == "benign_evtx_rs"
	}
	return out
}

// qualityRun is one pass of detection and triage over the quality files.
type qualityRun struct {
	q         *triage.Queue
	incidents []mdr.Incident
	alerts    int64
	fileScore map[string]float64 // source file → highest incident holding one of its events
	incFiles  map[string]map[string]bool
	highInc   map[string]bool // incidents holding a high or critical alert
}

// detected is every alert of the quality files with its event's source
// file, from one detection pass.
type detected struct {
	alerts []mdr.Alert
	events []*mdr.Event
	srcOf  map[string]string
}

func detectQuality(t testing.TB, rules *engine.Rules) *detected {
	t.Helper()
	d, err := engine.NewDetector(rules, engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range qualityFiles {
		files = append(files, shareddata.Path(t, "events", f))
	}
	out := &detected{srcOf: map[string]string{}}
	_, err = engine.DetectFiles(context.Background(), d, files, reader.Options{}, func(ev *mdr.Event, alerts []mdr.Alert) error {
		for _, a := range alerts {
			out.alerts = append(out.alerts, a)
			out.events = append(out.events, ev)
			if ev != nil {
				src, _ := ev.Text("_src")
				out.srcOf[ev.ID()] = src
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func qualityConfig(t testing.TB) triage.Config {
	cfg := triage.DefaultConfig()
	f, err := os.Open(shareddata.Path(t, "sigma", "known-FPs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cfg.KnownFalsePositives, err = triage.ReadKnownFPs(f); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func runQuality(t testing.TB, rules *engine.Rules, det *detected, cfg triage.Config, opts ...triage.Option) *qualityRun {
	t.Helper()
	ctx := context.Background()
	q, err := triage.Open(ctx, store.NewMemory(), cfg, append([]triage.Option{triage.WithCatalog(triage.CatalogOf(rules.Ruleset))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range det.alerts {
		if _, err := q.Push(ctx, det.alerts[i], det.events[i]); err != nil {
			t.Fatal(err)
		}
	}
	return collect(t, q, det, int64(len(det.alerts)))
}

func collect(t testing.TB, q *triage.Queue, det *detected, alerts int64) *qualityRun {
	ctx := context.Background()
	incs, err := q.Top(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := &qualityRun{q: q, incidents: incs, alerts: alerts, fileScore: map[string]float64{}, incFiles: map[string]map[string]bool{}, highInc: map[string]bool{}}
	for _, in := range incs {
		as, err := q.Alerts(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		r.incFiles[in.ID] = map[string]bool{}
		for _, a := range as {
			if a.Status == triage.AlertSuppressed {
				continue
			}
			if a.Severity >= mdr.SeverityHigh {
				r.highInc[in.ID] = true
			}
			for _, id := range a.EventIDs {
				src, ok := det.srcOf[id]
				if !ok {
					continue
				}
				r.incFiles[in.ID][src] = true
				if s, ok := r.fileScore[src]; !ok || in.Score > s {
					r.fileScore[src] = in.Score
				}
			}
		}
	}
	return r
}

// auc is the probability that a random attack score ranks above a random
// benign one (ties count half).
func auc(attack, benign []float64) float64 {
	var s float64
	for _, a := range attack {
		for _, b := range benign {
			switch {
			case a > b:
				s++
			case a == b:
				s += 0.5
			}
		}
	}
	return s / float64(len(attack)*len(benign))
}

func (r *qualityRun) split(benign map[string]bool) (att, ben []float64) {
	for src, s := range r.fileScore {
		if benign[src] {
			ben = append(ben, s)
		} else {
			att = append(att, s)
		}
	}
	sort.Float64s(att)
	sort.Float64s(ben)
	return att, ben
}

// TestQuality is the headline figure of the package (issue 11, point 7):
// over three real datasets with the SigmaHQ corpus, each source file is
// scored by the highest incident holding one of its events.
func TestQuality(t *testing.T) {
	rules := loadCorpus(t)
	benign := benignSources(t)
	det := corpus.det
	r := runQuality(t, rules, det, qualityConfig(t))
	att, ben := r.split(benign)
	a := auc(att, ben)
	t.Logf("alerts %d, incidents %d (%.1f%%), files with alerts: %d attack, %d benign; ROC AUC %.4f",
		r.alerts, len(r.incidents), 100*float64(len(r.incidents))/float64(r.alerts), len(att), len(ben), a)
	t.Logf("benign file scores %v", ben)
	below := 0
	for _, s := range att {
		if s <= slices.Max(ben) {
			below++
		}
	}
	t.Logf("attack files at or below the highest benign file: %d of %d", below, len(att))
	if len(ben) == 0 || len(att) == 0 {
		t.Fatal("no benign or no attack file raised an alert")
	}
	if a < 0.95 {
		t.Errorf("ROC AUC %.4f, want at least 0.95", a)
	}
	if float64(len(r.incidents)) > 0.10*float64(r.alerts) {
		t.Errorf("%d incidents for %d alerts, want at most 10%%", len(r.incidents), r.alerts)
	}
	for _, in := range r.incidents[:min(3, len(r.incidents))] {
		if len(in.Parts) == 0 || in.Score != triage.Recompute(in.Parts) {
			t.Errorf("incident %s: score %v not recomputable from parts %v", in.ID, in.Score, in.Parts)
		}
	}
}

// TestQualityVerdictReplay: after one benign verdict on each incident that
// holds only benign files' events, replaying the same alerts (into a new
// queue that shares the learned Feedback) ranks every benign incident below
// every attack incident that has a high or critical alert.
func TestQualityVerdictReplay(t *testing.T) {
	ctx := context.Background()
	rules := loadCorpus(t)
	benign := benignSources(t)
	det := corpus.det
	fb := triage.NewFeedback(100_000)
	r1 := runQuality(t, rules, det, qualityConfig(t), triage.WithFeedback(fb))
	kind := func(r *qualityRun, id string) (ben, att bool) {
		for f := range r.incFiles[id] {
			if benign[f] {
				ben = true
			} else {
				att = true
			}
		}
		return ben, att
	}
	verdicts := 0
	for _, in := range r1.incidents {
		if ben, att := kind(r1, in.ID); ben && !att {
			if err := r1.q.VerdictIncident(ctx, in.ID, triage.Verdict{Reason: "baseline activity", Author: "test"}); err != nil {
				t.Fatal(err)
			}
			verdicts++
		}
	}
	r2 := runQuality(t, rules, det, qualityConfig(t), triage.WithFeedback(fb))
	maxBen, minAtt := -1.0, 101.0
	nAtt := 0
	for _, in := range r2.incidents {
		ben, att := kind(r2, in.ID)
		switch {
		case ben && !att:
			maxBen = max(maxBen, in.Score)
		case att && !ben && r2.highInc[in.ID]:
			minAtt = min(minAtt, in.Score)
			nAtt++
		}
	}
	t.Logf("%d benign verdicts; after replay: highest benign incident %.2f, lowest of %d attack incidents with a high or critical alert %.2f", verdicts, maxBen, nAtt, minAtt)
	if verdicts == 0 || nAtt == 0 {
		t.Fatal("no benign or no high attack incident")
	}
	if maxBen >= minAtt {
		t.Errorf("a benign incident (%.2f) ranks at or above an attack incident with a high alert (%.2f)", maxBen, minAtt)
	}
}
