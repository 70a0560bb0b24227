package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
	"github.com/mdrkit/mdr/triage"
)

// runTriage is "mdr triage": detection, then the scoring queue; incidents
// highest score first, as JSON lines or a table, and a summary on stderr.
func runTriage(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fset := flag.NewFlagSet("triage", flag.ContinueOnError)
	fset.SetOutput(stderr)
	var rulePaths stringsFlag
	fset.Var(&rulePaths, "rules", "rule file or directory (repeatable)")
	addPipelineFlag(fset)
	configPath := fset.String("config", "", "triage configuration (YAML): criticality, suppressions, windows, weights")
	storeDir := fset.String("store", "", "badger store directory that keeps the queue between runs (default: in memory)")
	top := fset.Int("top", 0, "print only the N highest incidents (0: all)")
	asJSON := fset.Bool("json", false, "one incident per line as JSON")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: mdr triage [--rules PATH]… [--pipeline FILE] [--config FILE] [--store DIR] [--top N] [--json] FILE…")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	files := fset.Args()
	if len(rulePaths) == 0 || len(files) == 0 {
		return fmt.Errorf("at least one --rules and one event file are needed: %w", errUsage)
	}
	cfg := triage.DefaultConfig()
	if *configPath != "" {
		if cfg, err = triage.ReadConfig(*configPath); err != nil {
			return err
		}
	}
	rules, err := engine.Load(ctx, rulePaths, engine.WithPipelineFile(sigmaPipelinePath))
	if err != nil {
		return err
	}
	for _, r := range rules.Rejects {
		fmt.Fprintf(stderr, "mdr triage: rejected %s\n", r)
	}
	var st triage.Store = store.NewMemory()
	if *storeDir != "" {
		bs, err := badger.Open(badger.DefaultConfig(*storeDir))
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, bs.Close()) }()
		st = bs
	}
	q, err := triage.Open(ctx, st, cfg, triage.WithCatalog(triage.CatalogOf(rules.Ruleset)))
	if err != nil {
		return err
	}
	d, err := engine.NewDetector(rules, engine.DefaultConfig())
	if err != nil {
		return err
	}
	// as mdr scan: collect garbage less often once the rules are compiled
	if os.Getenv("GOGC") == "" {
		runtime.GC()
		debug.SetGCPercent(scanGCPercent)
	}
	start, cpu0 := time.Now(), processCPU()
	rs, err := triage.RunFiles(ctx, q, d, files, reader.Options{OnError: reader.Skip,
		OnSkip: func(le *reader.LineError) { fmt.Fprintf(stderr, "mdr triage: skipped %v\n", le) }},
		nil, func(e error) { fmt.Fprintf(stderr, "mdr triage: %v\n", e) })
	if err != nil {
		return err
	}
	sums, err := q.Summaries(ctx, *top)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	if *asJSON {
		enc := json.NewEncoder(w)
		for i := range sums {
			if err := enc.Encode(&sums[i]); err != nil {
				return err
			}
		}
	} else {
		printTriageTable(w, sums)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	s := q.Stats()
	fmt.Fprintf(stderr, "mdr triage: %d events, %d alerts in, %d deduplicated, %d suppressed, %d incidents out (%d open in memory, %d evicted), %.3fs (cpu %.3fs)\n",
		rs.Events, rs.Alerts, rs.Deduplicated, rs.Suppressed, s.IncidentsCreated, s.OpenIncidents, s.EvictedIncidents, time.Since(start).Seconds(), (processCPU() - cpu0).Seconds())
	return nil
}

// printTriageTable prints incidents as a ranked table.
func printTriageTable(w io.Writer, sums []triage.Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSCORE\tLEVEL\tSTATUS\tALERTS\tHOSTS\tFIRST → LAST\tTITLE")
	for i, s := range sums {
		hosts := strings.Join(s.Hosts, ",")
		if len(hosts) > 30 {
			hosts = hosts[:27] + "..."
		}
		fmt.Fprintf(tw, "%d\t%.1f\t%s\t%s\t%d\t%s\t%s → %s\t%s\n", i+1, s.Score, s.Level, s.Status, s.Alerts, hosts,
			s.First.UTC().Format("2006-01-02 15:04"), s.Last.UTC().Format("01-02 15:04"), s.Title)
		var why []string
		for _, p := range s.Parts {
			why = append(why, fmt.Sprintf("%s %+.1f", p.Name, p.Value))
		}
		if len(s.Tactics) > 0 {
			why = append(why, "tactics: "+strings.Join(s.Tactics, " → "))
		}
		fmt.Fprintf(tw, "\t\t\t\t\t\t\t  %s\n", strings.Join(why, "; "))
	}
	tw.Flush()
}
