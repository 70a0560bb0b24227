// Command investigate shows package investigate embedded in a host
// program: events into the provenance graph, then, from the process of the
// most severe alert, Backward ("what led here", down to the root cause) and
// Forward ("what did it touch afterwards"), the scope of all the alerts, and
// the scope drawn as SVG without a system Graphviz.
//
//	go run ./examples/investigate [-svg FILE]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/investigate/svg"
	"github.com/mdrkit/mdr/loop"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/sim"
)

func main() {
	out := flag.String("svg", "incident.svg", "write the scope's picture to `FILE`")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *out); err != nil {
		fmt.Fprintln(os.Stderr, "investigate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, svgPath string) error {
	simRun, err := sim.Generate(ctx, "phish-lateral", 3)
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
	g, err := investigate.New(investigate.DefaultConfig())
	if err != nil {
		return err
	}
	rd, err := reader.New(&nd, "sim", reader.Options{})
	if err != nil {
		return err
	}
	var alerts []mdr.Alert
	for ev, err := range rd.All() {
		if err != nil {
			return err
		}
		if err := g.Add(ev); err != nil { // the graph, event by event
			return err
		}
		as, err := det.Process(ctx, ev)
		if err != nil {
			return err
		}
		alerts = append(alerts, as...)
	}
	st := g.Stats()
	fmt.Fprintf(w, "graph: %d nodes, %d edges from %d relations\n", st.Nodes, st.Edges, st.Relations)

	// The most severe alert on a process.
	var seed *mdr.Alert
	var proc string
	for i := range alerts {
		for _, e := range alerts[i].Entities {
			if e.Kind == mdr.EntityProcess && (seed == nil || alerts[i].Severity > seed.Severity) {
				seed, proc = &alerts[i], e.ID
			}
		}
	}
	if seed == nil {
		return fmt.Errorf("no alert names a process")
	}
	fmt.Fprintf(w, "\nalert: %s (%s) on %s\n", seed.RuleTitle, seed.Severity, g.Label(proc))

	back, err := g.Backward(ctx, proc, seed.Time, investigate.DefaultLimits())
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nbackward: %d entities; root cause: %s\n", len(back.Nodes), g.Label(back.RootCause))
	for _, e := range back.Edges {
		fmt.Fprintf(w, "  %s\n", investigate.Clip(g.Describe(e), 110))
	}
	// Forward from the process that wrote the root cause: everything it
	// touched afterwards.
	from, at := back.RootCause, time.Time{}
	for _, e := range back.Edges {
		if e.To == back.RootCause && e.Kind == mdr.RelWroteFile {
			from, at = e.From, e.First
		}
	}
	fwd, err := g.Forward(ctx, from, at, investigate.DefaultLimits())
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nforward from %s: %d entities reached\n", g.Label(from), len(fwd.Nodes))
	for _, n := range fwd.Nodes {
		if n.Depth > 0 {
			fmt.Fprintf(w, "  %-14s %s\n", n.Entity.Kind, investigate.Clip(g.Label(n.Entity.ID), 90))
		}
	}

	sc, err := g.Scope(ctx, alerts, investigate.DefaultScopeLimits())
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nscope of all %d alerts: %d hosts, %d items\n", len(alerts), len(sc.Hosts), len(sc.Items))
	var dot bytes.Buffer
	if err := g.WriteDOT(&dot, sc); err != nil {
		return err
	}
	r, err := svg.New(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.Create(svgPath)
	if err != nil {
		return err
	}
	if err := r.Render(ctx, dot.Bytes(), f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(w, "picture: %s\n", svgPath)
	return nil
}
