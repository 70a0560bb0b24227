// Command triage shows the scoring queue of package triage embedded in a
// host program: alerts from the engine pushed into a triage.Queue with a
// score part of the host's own (a list of crown-jewel servers) and an
// analyst's suppression (macros that a team runs every day), then the incidents read
// back highest first, each with the named parts of its score.
//
//	go run ./examples/triage
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/loop"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/triage"
)

// crownJewels is a score part of the host's own: alerts on the servers
// the business cannot lose weigh 15 points more.
type crownJewels struct{ prefixes []string }

func (c crownJewels) ScoreAlert(a *triage.Alert, _ float64, dst []triage.Part) []triage.Part {
	for _, p := range c.prefixes {
		if strings.HasPrefix(strings.ToUpper(a.Host), p) {
			return append(dst, triage.Part{Name: "crown_jewel", Value: 15, Detail: "host " + a.Host + " is a crown jewel (" + p + "*)"})
		}
	}
	return dst
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "triage:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	// Events: a simulated attack with benign activity mixed in.
	simRun, err := sim.Generate(ctx, "phish-lateral", 7)
	if err != nil {
		return err
	}
	var nd bytes.Buffer
	if err := simRun.Fleet.WriteNDJSON(&nd, 0); err != nil {
		return err
	}
	rules, err := engine.LoadSources(ctx, []engine.Source{loop.NativeRules()})
	if err != nil {
		return err
	}
	det, err := engine.NewDetector(rules, engine.DefaultConfig())
	if err != nil {
		return err
	}
	cfg := triage.DefaultConfig()
	cfg.Suppressions = []triage.Suppression{{
		ID:     "finance-macros",
		When:   `alert.rule_id == "demo-office-loads-vba" && alert.host.startsWith("WKS-")`,
		Reason: "the finance team runs macro workbooks every day",
		Author: "j.analyst",
	}}
	q, err := triage.Open(ctx, store.NewMemory(), cfg, triage.WithScorers(crownJewels{prefixes: []string{"SRV-"}}), triage.WithCatalog(triage.CatalogOf(rules.Ruleset)))
	if err != nil {
		return err
	}
	rd, err := reader.New(&nd, "sim", reader.Options{})
	if err != nil {
		return err
	}
	push := func(ev *mdr.Event, as []mdr.Alert) error {
		for _, a := range as {
			if _, err := q.Push(ctx, a, ev); err != nil {
				return err
			}
		}
		return nil
	}
	for ev, err := range rd.All() {
		if err != nil {
			return err
		}
		as, err := det.Process(ctx, ev)
		if err != nil {
			return err
		}
		if err := push(ev, as); err != nil {
			return err
		}
	}
	as, err := det.Flush(ctx)
	if err != nil {
		return err
	}
	if err := push(nil, as); err != nil {
		return err
	}
	st := q.Stats()
	fmt.Fprintf(w, "%d alerts in, %d deduplicated, %d suppressed\n", st.Pushed, st.Deduplicated, st.Suppressed)
	top, err := q.Summaries(ctx, 3)
	if err != nil {
		return err
	}
	for i, in := range top {
		fmt.Fprintf(w, "%d. %.0f %s %s (%d alerts)\n", i+1, in.Score, in.Level, in.Title, in.Alerts)
		for _, p := range in.Parts {
			fmt.Fprintf(w, "     %-14s %+6.1f %s\n", p.Name, p.Value, p.Detail)
		}
		alerts, err := q.Alerts(ctx, in.IncidentID)
		if err != nil {
			return err
		}
		if len(alerts) > 0 {
			a := alerts[0]
			fmt.Fprintf(w, "   first alert: %s on %s, %.1f:\n", a.RuleTitle, a.Host, a.Score.Total)
			for _, p := range a.Score.Parts {
				fmt.Fprintf(w, "     %-14s %+6.1f %s\n", p.Name, p.Value, p.Detail)
			}
		}
	}
	return nil
}
