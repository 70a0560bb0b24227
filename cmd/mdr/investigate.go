package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/investigate/svg"
	"github.com/mdrkit/mdr/reader"
)

// runInvestigate is "mdr investigate": run detection over event files,
// build the provenance graph, group the alerts into incidents (by host and
// time) and print each incident's scope.
func runInvestigate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("investigate", flag.ContinueOnError)
	fset.SetOutput(stderr)
	var rulePaths stringsFlag
	fset.Var(&rulePaths, "rules", "rule file or directory (repeatable)")
	pipeline := fset.String("pipeline", "", "Sigma processing pipeline (YAML; default: the built-in Windows pipeline)")
	format := fset.String("format", "text", "output: text, json (one object per incident per line), dot, mermaid or svg")
	out := fset.String("out", "", "write the output to this file instead of standard output")
	entity := fset.String("entity", "", "investigate this entity id (its backward chain and forward impact) instead of the alerts")
	alertN := fset.Int("alert", 0, "investigate only the N-th alert (1-based, in detection order)")
	gap := fset.Duration("gap", investigate.DefaultGap, "a host's alerts further apart than this start a new incident")
	onError := fset.String("on-error", "skip", "malformed input lines: skip (reported on stderr and counted) or stop")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: mdr investigate [--rules PATH]… [--pipeline FILE] [--format text|json|dot|mermaid|svg] [--out FILE] [--entity ID | --alert N] FILE…")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	switch *format {
	case "text", "json", "dot", "mermaid", "svg":
	default:
		return fmt.Errorf("--format must be text, json, dot, mermaid or svg: %w", errUsage)
	}
	if *entity != "" && *alertN != 0 {
		return fmt.Errorf("--entity and --alert exclude each other: %w", errUsage)
	}
	if *alertN < 0 {
		return fmt.Errorf("--alert must be positive: %w", errUsage)
	}
	files := fset.Args()
	if len(files) == 0 {
		return fmt.Errorf("no event file given: %w", errUsage)
	}
	if len(rulePaths) == 0 && *entity == "" {
		return fmt.Errorf("--rules is needed to find alerts (or give --entity): %w", errUsage)
	}
	opts := reader.Options{}
	switch *onError {
	case "skip":
		opts.OnError = reader.Skip
		opts.OnSkip = func(le *reader.LineError) { fmt.Fprintf(stderr, "mdr investigate: skipped %v\n", le) }
	case "stop":
		opts.OnError = reader.Stop
	default:
		return fmt.Errorf("--on-error must be skip or stop: %w", errUsage)
	}

	g, err := investigate.New(investigate.DefaultConfig())
	if err != nil {
		return err
	}
	var alerts []mdr.Alert
	if len(rulePaths) > 0 {
		var lopts []engine.Option
		if *pipeline != "" {
			lopts = append(lopts, engine.WithPipelineFile(*pipeline))
		}
		rules, err := engine.Load(ctx, rulePaths, lopts...)
		if err != nil {
			return err
		}
		for _, r := range rules.Rejects {
			fmt.Fprintf(stderr, "mdr investigate: rejected %s\n", r)
		}
		det, err := engine.NewDetector(rules, engine.DefaultConfig())
		if err != nil {
			return err
		}
		fs, err := engine.DetectFiles(ctx, det, files, opts, func(ev *mdr.Event, as []mdr.Alert) error {
			if ev != nil {
				if err := g.Add(ev); err != nil {
					return err
				}
			}
			alerts = append(alerts, as...)
			return nil
		})
		if err != nil {
			return err
		}
		st := g.Stats()
		fmt.Fprintf(stderr, "mdr investigate: %d events (%d skipped), %d rules, %d alerts; graph: %d entities, %d edges from %d relations\n",
			fs.Events, fs.Skipped, rules.Len(), len(alerts), st.Nodes, st.Edges, st.Relations)
	} else {
		if err := addFiles(ctx, g, files, opts); err != nil {
			return err
		}
	}

	var titles []string
	var groups [][]mdr.Alert
	switch {
	case *entity != "":
		e, ok := g.Entity(*entity)
		if !ok {
			return fmt.Errorf("entity %q is not in the graph: %w", *entity, errUsage)
		}
		titles = append(titles, "entity:"+e.ID)
		groups = append(groups, []mdr.Alert{{ID: "entity:" + e.ID, Entities: []mdr.Entity{e}}})
	case *alertN > 0:
		if *alertN > len(alerts) {
			return fmt.Errorf("--alert %d: only %d alerts: %w", *alertN, len(alerts), errUsage)
		}
		a := alerts[*alertN-1]
		titles = append(titles, a.ID)
		groups = append(groups, []mdr.Alert{a})
	default:
		for _, in := range investigate.GroupByHostTime(alerts, *gap) {
			titles = append(titles, in.ID)
			groups = append(groups, in.Alerts)
		}
	}
	scopes := make([]*investigate.Scope, len(groups))
	for i, as := range groups {
		if scopes[i], err = g.Scope(ctx, as, investigate.ScopeLimits{}); err != nil {
			return err
		}
	}

	w := stdout
	var f *os.File
	if *out != "" {
		if f, err = os.Create(*out); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	if err := writeScopes(ctx, bw, g, *format, titles, scopes); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if f != nil {
		return f.Close()
	}
	return nil
}

// addFiles reads event files into g without detection.
func addFiles(ctx context.Context, g *investigate.Graph, files []string, opts reader.Options) error {
	for _, path := range files {
		r, err := reader.Open(path, opts)
		if err != nil {
			return err
		}
		for ev, err := range r.All() {
			if err == nil {
				err = ctx.Err()
			}
			if err == nil {
				err = g.Add(ev)
			}
			if err != nil {
				r.Close()
				return err
			}
		}
		if err := r.Close(); err != nil {
			return err
		}
	}
	return nil
}

func writeScopes(ctx context.Context, w io.Writer, g *investigate.Graph, format string, titles []string, scopes []*investigate.Scope) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for i, s := range scopes {
			if err := enc.Encode(g.Report(titles[i], s)); err != nil {
				return err
			}
		}
		return nil
	case "dot":
		return g.WriteDOTMany(w, titles, scopes)
	case "mermaid":
		return g.WriteMermaidMany(w, titles, scopes)
	case "svg":
		var dot bytes.Buffer
		if err := g.WriteDOTMany(&dot, titles, scopes); err != nil {
			return err
		}
		r, err := svg.New(ctx)
		if err != nil {
			return err
		}
		defer r.Close()
		return r.Render(ctx, dot.Bytes(), w)
	}
	if len(scopes) == 0 {
		_, err := io.WriteString(w, "no incidents\n")
		return err
	}
	var errs []error
	for i, s := range scopes {
		errs = append(errs, g.WriteText(w, titles[i], s))
	}
	return errors.Join(errs...)
}
