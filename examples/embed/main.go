// Command embed is the whole MDR loop wired by hand in one function: the
// reference a vendor copies into a product. The product brings its events
// (here: files named on the command line) and its EDR (here: edr, an
// Actuator that only logs, standing for the product's API); mdrkit brings
// detection, triage, investigation, response policy and remediation, with
// everything persisted in the embedded badger store.
//
//	go run ./examples/embed [-store DIR] [-sigma DIR] [FILE...]
//
// Without FILE it reads the telemetry of a simulated attack.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/loop"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/remediate"
	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store/badger"
	"github.com/mdrkit/mdr/triage"
)

// edr stands for the product's own EDR: it declares the er profile's pairs
// and logs each command instead of acting.
type edr struct{ log io.Writer }

func (e edr) Features(context.Context) (respond.Features, error) {
	return respond.Features{Versions: []string{"1.0"}, Profiles: []string{"er"}, Pairs: respond.ERPairs()}, nil
}

func (e edr) Execute(_ context.Context, c respond.Command) (respond.Response, error) {
	fmt.Fprintf(e.log, "  EDR <- %s\n", c)
	return respond.Response{Status: respond.StatusOK}, nil
}

func main() {
	dir := flag.String("store", "", "badger store folder (default: a temporary one)")
	sigmaDir := flag.String("sigma", "", "SigmaHQ rules folder to run besides the native rules")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *dir, *sigmaDir, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, dir, sigmaDir string, files []string) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "mdr-embed-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	if len(files) == 0 { // no product at hand: a simulated attack's telemetry
		run, err := sim.Generate(ctx, "ransomware-staging", 1)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := run.Fleet.WriteNDJSON(&b, 0); err != nil {
			return err
		}
		files = []string{filepath.Join(dir, "events.jsonl")}
		if err := os.WriteFile(files[0], b.Bytes(), 0o600); err != nil {
			return err
		}
	}
	// 1. Storage and rules.
	st, err := badger.Open(badger.DefaultConfig(filepath.Join(dir, "store")))
	if err != nil {
		return err
	}
	defer st.Close()
	var paths []string
	if sigmaDir != "" {
		paths = append(paths, sigmaDir)
	}
	rules, err := engine.Load(ctx, paths, engine.WithExtraSources(loop.NativeRules()))
	if err != nil {
		return err
	}
	// 2. Detection feeds the graph and the triage queue, event by event.
	det, err := engine.NewDetector(rules, engine.DefaultConfig())
	if err != nil {
		return err
	}
	graph, err := investigate.New(investigate.DefaultConfig())
	if err != nil {
		return err
	}
	q, err := triage.Open(ctx, st, triage.DefaultConfig(), triage.WithLinker(graph), triage.WithCatalog(triage.CatalogOf(rules.Ruleset)))
	if err != nil {
		return err
	}
	byIncident := map[string][]mdr.Alert{}
	var batch []*mdr.Event // events are stored in batches (one commit each)
	_, err = engine.DetectFiles(ctx, det, files, reader.Options{OnError: reader.Skip}, func(ev *mdr.Event, alerts []mdr.Alert) error {
		if ev != nil {
			if batch = append(batch, ev); len(batch) == 1000 {
				if _, err := st.AppendEvents(ctx, batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
			if err := graph.Add(ev); err != nil {
				return err
			}
		}
		for _, a := range alerts {
			p, err := q.Push(ctx, a, ev)
			if err != nil {
				return err
			}
			if p.IncidentID != "" && !p.Suppressed {
				byIncident[p.IncidentID] = append(byIncident[p.IncidentID], a)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := st.AppendEvents(ctx, batch); err != nil {
		return err
	}
	if err := q.Flush(ctx); err != nil {
		return err
	}
	// 3. The analyst's queue: the top incident first.
	top, err := q.Summaries(ctx, 1)
	if err != nil || len(top) == 0 {
		return fmt.Errorf("no incident (%v)", err)
	}
	in := top[0]
	fmt.Fprintf(w, "top incident: %.0f %s %s, %d alerts on %v\n", in.Score, in.Level, in.Title, in.Alerts, in.Hosts)
	// 4. Investigation: what happened and what it touched.
	scope, err := graph.Scope(ctx, byIncident[in.IncidentID], investigate.DefaultScopeLimits())
	if err != nil {
		return err
	}
	rep := graph.Report(in.IncidentID, scope)
	fmt.Fprintf(w, "root cause: %s; %d files, %d registry values, %d services, %d tasks, %d accounts\n",
		rep.RootCause.Name, len(rep.Files), len(rep.Registry), len(rep.Services), len(rep.Tasks), len(rep.Accounts))
	// 5. Response through the product's EDR, under a policy, audited.
	d, err := respond.NewDispatcher(ctx, respond.Config{Store: st, Policy: respond.Policy{Level: respond.AutomationFull}, Enforce: true})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Register(ctx, "edr", edr{log: w}); err != nil {
		return err
	}
	// 6. Remediation planned from the scope and applied.
	plan, err := remediate.NewPlanner(remediate.PlannerConfig{Graph: graph}).Plan(ctx, in.IncidentID, scope)
	if err != nil {
		return err
	}
	ex, err := remediate.NewExecutor(st, d, nil, remediate.Config{Principal: "vendor-console"})
	if err != nil {
		return err
	}
	res, err := ex.Apply(ctx, plan)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "remediation: %d steps; applied %d, verified %d, pending approval %d, failed %d\n",
		len(plan.Steps), res.Counts.Applied, res.Counts.Verified, res.Counts.Pending, res.Counts.Failed)
	return nil
}
