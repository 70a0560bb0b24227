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
	"runtime/debug"
	"strings"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/hunt"
	"github.com/mdrkit/mdr/store/badger"
)

const huntUsage = `usage:
  mdr hunt --store DIR [--from T] [--to T] [--host H]… [--json] ONE-OF
      --query CEL | --sigma FILE | --rules PATH… | --ioc FILE |
      --stack F[,F] | --first-seen F[,F] --baseline-from T --baseline-to T
  mdr hunt save NAME --store DIR --query CEL [--interval D] [--fields F,F] [--host H]…
  mdr hunt list --store DIR [--json]
  mdr hunt run NAME --store DIR [--json]     (only what is new since the last run)
  mdr hunt promote NAME --store DIR          (prints the hunt as a native rule file)

Times are RFC 3339 (2026-03-02T09:00:00Z) or a date (2026-03-02).`

// huntFlags are the flags of every hunt subcommand.
type huntFlags struct {
	fset                   *flag.FlagSet
	store                  *string
	from, to               *string
	bfrom, bto             *string
	hosts                  stringsFlag
	rules                  stringsFlag
	asJSON                 *bool
	query, sigmaFile, ioc  *string
	stack, firstSeen       *string
	fields                 *string
	limit                  *int
	timeout, interval      *time.Duration
	minCount, maxCount     *int64
	maxGroups              *int
	storeAlerts, timeOrder *bool
	severity               *string
	quiet                  *bool
	condition              *string
	maxScanned             *int64
	costLimit              *uint64
	pipeline               *string
	stderr                 io.Writer
	lastProgress           time.Time
}

func newHuntFlags(name string, stderr io.Writer) *huntFlags {
	f := &huntFlags{fset: flag.NewFlagSet(name, flag.ContinueOnError), stderr: stderr}
	fs := f.fset
	fs.SetOutput(stderr)
	f.store = fs.String("store", "", "badger store directory (required)")
	f.from = fs.String("from", "", "events at or after this time")
	f.to = fs.String("to", "", "events before this time")
	f.bfrom = fs.String("baseline-from", "", "--first-seen: baseline range start")
	f.bto = fs.String("baseline-to", "", "--first-seen: baseline range end")
	fs.Var(&f.hosts, "host", "only events of this host (repeatable)")
	fs.Var(&f.rules, "rules", "retro-hunt: rule file or folder (repeatable; native and Sigma, correlations included)")
	f.asJSON = fs.Bool("json", false, "one JSON object per result line")
	f.query = fs.String("query", "", "a CEL condition over e, as in detect rules")
	f.sigmaFile = fs.String("sigma", "", "a Sigma rule file to hunt with")
	f.ioc = fs.String("ioc", "", "indicators: STIX 2.1 bundle, CSV or a plain list")
	f.stack = fs.String("stack", "", "stack (least frequent first) by these fields")
	f.firstSeen = fs.String("first-seen", "", "values of these fields in the range but not in the baseline")
	f.fields = fs.String("fields", "", "--query: fields to print with each result")
	f.limit = fs.Int("limit", 0, "stop after this many results (rows for --stack)")
	f.timeout = fs.Duration("timeout", 0, "stop after this long")
	f.interval = fs.Duration("interval", 0, "save: how often the hunt should run")
	f.minCount = fs.Int64("min-count", 0, "--stack/--first-seen: rows seen at least this often")
	f.maxCount = fs.Int64("max-count", 0, "--stack/--first-seen: rows seen at most this often")
	f.maxGroups = fs.Int("max-groups", 0, "--stack/--first-seen: groups held in memory (default 200000)")
	f.storeAlerts = fs.Bool("store-alerts", false, "--rules: write the alerts into the store")
	f.timeOrder = fs.Bool("time-order", false, "--rules: feed correlations in event-time order instead of ingest order")
	f.severity = fs.String("severity", "", "save: severity of the rule promote makes")
	f.quiet = fs.Bool("quiet", false, "no progress or summary on stderr")
	f.condition = fs.String("where", "", "--stack/--first-seen: only events matching this CEL condition")
	f.maxScanned = fs.Int64("max-scanned", 0, "--query: stop with an error after reading this many events")
	f.costLimit = fs.Uint64("cost-limit", 0, "--query: CEL cost limit per event (default: detect's)")
	f.pipeline = fs.String("pipeline", "", "--rules: Sigma processing pipeline (YAML; default: the built-in Windows pipeline)")
	fs.Usage = func() { fmt.Fprintln(stderr, huntUsage); fs.PrintDefaults() }
	return f
}

func (f *huntFlags) rng() (hunt.Range, error) {
	var r hunt.Range
	var err error
	if r.From, err = optTime("--from", *f.from); err != nil {
		return r, err
	}
	if r.To, err = optTime("--to", *f.to); err != nil {
		return r, err
	}
	r.Hosts = f.hosts
	return r, nil
}

func optTime(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := mdr.ParseTime(s)
	if err != nil {
		return t, fmt.Errorf("%s %q: %v: %w", name, s, err, errUsage)
	}
	return t, nil
}

func splitFields(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// progress prints a progress line on stderr at most every two seconds.
func (f *huntFlags) progress(p hunt.Progress) {
	if *f.quiet || p.Done || time.Since(f.lastProgress) < 2*time.Second {
		return
	}
	f.lastProgress = time.Now()
	fmt.Fprintf(f.stderr, "mdr hunt: %d events read, %d results, %d of %d segments skipped, %.1fs\n", p.Scanned, p.Matched, p.Skipped, p.Segments, p.Elapsed.Seconds())
}

func (f *huntFlags) summary(what string, p hunt.Progress) {
	if *f.quiet {
		return
	}
	el := p.Elapsed.Seconds()
	fmt.Fprintf(f.stderr, "mdr hunt: %s: %d results, %d events read (%d of %d segments skipped by their summaries), %d evaluation errors, %.3fs, %.0f events/s\n",
		what, p.Matched, p.Scanned, p.Skipped, p.Segments, p.Errors, el, float64(p.Scanned)/el)
}

func openHuntStore(dir string) (*badger.Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("--store is required: %w", errUsage)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("no store at %s (create one with mdr ingest)", dir)
	}
	return badger.Open(badger.DefaultConfig(dir))
}

// runHunt is "mdr hunt": queries, retro-hunts, IOC sweeps, stacking and
// saved hunts over a badger store.
func runHunt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	name := ""
	switch sub {
	case "":
	case "save", "run", "promote":
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return fmt.Errorf("hunt %s needs a NAME: %w", sub, errUsage)
		}
		name, args = args[0], args[1:]
	case "list":
	default:
		fmt.Fprintln(stderr, huntUsage)
		return fmt.Errorf("unknown hunt subcommand %q: %w", sub, errUsage)
	}
	f := newHuntFlags("hunt", stderr)
	if err := f.fset.Parse(args); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	if f.fset.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: %w", f.fset.Arg(0), errUsage)
	}
	rng, err := f.rng()
	if err != nil {
		return err
	}
	s, err := openHuntStore(*f.store)
	if err != nil {
		return err
	}
	defer s.Close()
	w := bufio.NewWriterSize(stdout, 64<<10)
	defer w.Flush()
	enc := json.NewEncoder(w)
	// Hunts decode every event they read but keep few: collect garbage less
	// often, as mdr scan does (GOGC in the environment wins).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(scanGCPercent)
	}
	switch sub {
	case "save":
		return huntSave(ctx, s, name, f, rng)
	case "list":
		return huntList(ctx, s, f, w, enc)
	case "run":
		return huntRun(ctx, s, name, f, w, enc)
	case "promote":
		h, err := hunt.NewLibrary(s).Get(ctx, name)
		if err != nil {
			return err
		}
		r, err := hunt.Promote(h)
		if err != nil {
			return err
		}
		y, err := hunt.RuleYAML(r)
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	}
	modes := 0
	for _, set := range []bool{*f.query != "", *f.sigmaFile != "", len(f.rules) > 0, *f.ioc != "", *f.stack != "", *f.firstSeen != ""} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		fmt.Fprintln(stderr, huntUsage)
		return fmt.Errorf("give exactly one of --query, --sigma, --rules, --ioc, --stack, --first-seen: %w", errUsage)
	}
	switch {
	case *f.query != "" || *f.sigmaFile != "":
		q, err := f.queryOf(rng)
		if err != nil {
			return err
		}
		return huntQuery(ctx, s, q, f, w, enc)
	case len(f.rules) > 0:
		return huntRetro(ctx, s, f, rng, w, enc)
	case *f.ioc != "":
		return huntIOC(ctx, s, f, rng, w, enc)
	default:
		return huntStack(ctx, s, f, rng, w, enc)
	}
}

func (f *huntFlags) queryOf(rng hunt.Range) (hunt.Query, error) {
	q := hunt.Query{Condition: *f.query, Range: rng, Fields: splitFields(*f.fields), Limit: *f.limit, Timeout: *f.timeout,
		MaxScanned: *f.maxScanned, CostLimit: *f.costLimit, Progress: f.progress}
	if *f.sigmaFile != "" {
		b, err := os.ReadFile(*f.sigmaFile)
		if err != nil {
			return q, err
		}
		q.Sigma = string(b)
	}
	return q, nil
}

// resultLine is one line of --json output.
type resultLine struct {
	EventID   string            `json:"event_id,omitempty"`
	Time      string            `json:"time,omitempty"`
	Host      string            `json:"host,omitempty"`
	RuleID    string            `json:"rule_id,omitempty"`
	AlertID   string            `json:"alert_id,omitempty"`
	EventIDs  []string          `json:"event_ids,omitempty"`
	Indicator string            `json:"indicator,omitempty"`
	Kind      string            `json:"kind,omitempty"`
	Value     string            `json:"value,omitempty"`
	Field     string            `json:"field,omitempty"`
	Values    []string          `json:"values,omitempty"`
	Count     int64             `json:"count,omitempty"`
	Hosts     int               `json:"hosts,omitempty"`
	First     string            `json:"first,omitempty"`
	Last      string            `json:"last,omitempty"`
	Fields    map[string]string `json:"fields,omitempty"`
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func eventLine(ev *mdr.Event) resultLine {
	return resultLine{EventID: ev.ID(), Time: timeText(ev.Time()), Host: engine.HostOf(ev)}
}

func writeLine(w io.Writer, enc *json.Encoder, asJSON bool, l resultLine, text string) error {
	if asJSON {
		return enc.Encode(l)
	}
	_, err := fmt.Fprintln(w, text)
	return err
}

func huntQuery(ctx context.Context, s *badger.Store, q hunt.Query, f *huntFlags, w io.Writer, enc *json.Encoder) error {
	var last hunt.Progress
	q.Progress = func(pr hunt.Progress) { last = pr; f.progress(pr) }
	p, err := hunt.Compile(ctx, q)
	if err != nil {
		return err
	}
	for r, err := range p.Run(ctx, s) {
		if err != nil {
			f.summary("query stopped", last)
			return err
		}
		l := eventLine(r.Event)
		l.RuleID = r.RuleID
		var extra []string
		for _, fv := range r.Values {
			if l.Fields == nil {
				l.Fields = map[string]string{}
			}
			l.Fields[fv.Key] = fv.Value.Text()
			extra = append(extra, fv.Key+"="+fv.Value.Text())
		}
		text := strings.Join(append([]string{l.Time, l.Host, l.EventID, l.RuleID}, extra...), "\t")
		if err := writeLine(w, enc, *f.asJSON, l, text); err != nil {
			return err
		}
	}
	f.summary("query", last)
	return nil
}

func huntRetro(ctx context.Context, s *badger.Store, f *huntFlags, rng hunt.Range, w io.Writer, enc *json.Encoder) error {
	var opts []engine.Option
	if *f.pipeline != "" {
		opts = append(opts, engine.WithPipelineFile(*f.pipeline))
	}
	rules, err := engine.Load(ctx, f.rules, opts...)
	if err != nil {
		return err
	}
	for _, r := range rules.Rejects {
		if !*f.quiet {
			fmt.Fprintf(f.stderr, "mdr hunt: rejected %s\n", r)
		}
	}
	cfg := hunt.Retro{Range: rng, Progress: f.progress}
	if *f.storeAlerts {
		cfg.Alerts = s
	}
	if *f.timeOrder {
		cfg.Order = hunt.OrderTime
	}
	var st hunt.RetroStats
	n := 0
	for a, err := range hunt.RetroHunt(ctx, s, rules, cfg, &st) {
		if err != nil {
			return err
		}
		l := resultLine{Time: timeText(a.Time), Host: a.Host, RuleID: a.RuleID, AlertID: a.ID, EventIDs: a.EventIDs}
		if len(a.EventIDs) > 0 {
			l.EventID = a.EventIDs[0]
		}
		if err := writeLine(w, enc, *f.asJSON, l, strings.Join([]string{l.Time, l.Host, l.EventID, l.RuleID, a.RuleTitle}, "\t")); err != nil {
			return err
		}
		n++
		if *f.limit > 0 && n >= *f.limit {
			break
		}
	}
	f.summary(fmt.Sprintf("retro-hunt with %d rules (%d rejected), %d alerts stored, %d already stored", rules.Len(), len(rules.Rejects), st.Stored, st.Existing), st.Progress)
	return nil
}

func huntIOC(ctx context.Context, s *badger.Store, f *huntFlags, rng hunt.Range, w io.Writer, enc *json.Encoder) error {
	data, err := os.ReadFile(*f.ioc)
	if err != nil {
		return err
	}
	inds, rej, err := hunt.ParseIndicators(*f.ioc, data)
	if err != nil {
		return err
	}
	for _, r := range rej {
		if !*f.quiet {
			fmt.Fprintf(f.stderr, "mdr hunt: rejected %v\n", r)
		}
	}
	sw, err := hunt.NewSweeper(inds)
	if err != nil {
		return err
	}
	var last hunt.Progress
	for h, err := range sw.Sweep(ctx, s, hunt.Sweep{Range: rng, Limit: *f.limit, Progress: func(p hunt.Progress) { last = p; f.progress(p) }}) {
		if err != nil {
			return err
		}
		l := eventLine(h.Event)
		l.Indicator, l.Kind, l.Value, l.Field = h.Indicator.ID, string(h.Indicator.Kind), h.Indicator.Value, h.Field
		if err := writeLine(w, enc, *f.asJSON, l, strings.Join([]string{l.Time, l.Host, l.EventID, l.Kind, l.Value, l.Field}, "\t")); err != nil {
			return err
		}
	}
	f.summary(fmt.Sprintf("IOC sweep of %d indicators (%d rejected)", len(inds), len(rej)), last)
	return nil
}

func huntStack(ctx context.Context, s *badger.Store, f *huntFlags, rng hunt.Range, w io.Writer, enc *json.Encoder) error {
	st := hunt.Stack{Range: rng, Condition: *f.condition, MinCount: *f.minCount, MaxCount: *f.maxCount, MaxGroups: *f.maxGroups,
		Limit: *f.limit, Progress: f.progress}
	var res *hunt.StackResult
	var err error
	what := "stack"
	if *f.stack != "" {
		st.Fields = splitFields(*f.stack)
		res, err = hunt.StackEvents(ctx, s, st)
	} else {
		what = "first-seen"
		st.Fields = splitFields(*f.firstSeen)
		var base hunt.Range
		if base.From, err = optTime("--baseline-from", *f.bfrom); err != nil {
			return err
		}
		if base.To, err = optTime("--baseline-to", *f.bto); err != nil {
			return err
		}
		if base.From.IsZero() && base.To.IsZero() {
			return fmt.Errorf("--first-seen needs --baseline-from or --baseline-to: %w", errUsage)
		}
		base.Hosts = rng.Hosts
		res, err = hunt.FirstSeenEvents(ctx, s, hunt.FirstSeen{Stack: st, Baseline: base})
	}
	if err != nil {
		return err
	}
	for _, r := range res.Rows {
		l := resultLine{Values: r.Values, Count: r.Count, Hosts: r.Hosts, First: timeText(r.First), Last: timeText(r.Last)}
		text := fmt.Sprintf("%d\t%d\t%s\t%s\t%s", r.Count, r.Hosts, l.First, l.Last, strings.Join(r.Values, "\t"))
		if err := writeLine(w, enc, *f.asJSON, l, text); err != nil {
			return err
		}
	}
	if res.Truncated && !*f.quiet {
		fmt.Fprintf(f.stderr, "mdr hunt: more than %d groups: %d events of later groups not counted (raise --max-groups or narrow the range)\n", res.Groups, res.Dropped)
	}
	f.summary(fmt.Sprintf("%s by %s: %d groups", what, strings.Join(st.Fields, ","), res.Groups), res.Progress)
	return nil
}

func huntSave(ctx context.Context, s *badger.Store, name string, f *huntFlags, rng hunt.Range) error {
	q, err := f.queryOf(hunt.Range{Hosts: rng.Hosts})
	if err != nil {
		return err
	}
	q.Progress = nil
	if q.Condition == "" && q.Sigma == "" {
		return fmt.Errorf("hunt save needs --query or --sigma: %w", errUsage)
	}
	h := hunt.Hunt{Name: name, Query: q, Interval: *f.interval}
	if *f.severity != "" {
		if err := h.Severity.UnmarshalText([]byte(*f.severity)); err != nil {
			return fmt.Errorf("--severity: %v: %w", err, errUsage)
		}
	}
	if err := hunt.NewLibrary(s).Save(ctx, h); err != nil {
		return err
	}
	if !*f.quiet {
		fmt.Fprintf(f.stderr, "mdr hunt: saved %s\n", name)
	}
	return nil
}

func huntList(ctx context.Context, s *badger.Store, f *huntFlags, w io.Writer, enc *json.Encoder) error {
	hs, err := hunt.NewLibrary(s).List(ctx)
	if err != nil {
		return err
	}
	for _, h := range hs {
		if *f.asJSON {
			if err := enc.Encode(h); err != nil {
				return err
			}
			continue
		}
		what := h.Query.Condition
		if what == "" {
			what = "(Sigma rule)"
		}
		fmt.Fprintf(w, "%s\tinterval %s\tlast run %s\truns %d\tfound %d\t%s\n", h.Name, h.Interval, timeText(h.LastRun), h.Runs, h.Found, what)
	}
	return nil
}

func huntRun(ctx context.Context, s *badger.Store, name string, f *huntFlags, w io.Writer, enc *json.Encoder) error {
	st, err := hunt.NewLibrary(s).Run(ctx, s, name, time.Now().UTC(), func(r hunt.Result) error {
		l := eventLine(r.Event)
		l.RuleID = r.RuleID
		return writeLine(w, enc, *f.asJSON, l, strings.Join([]string{l.Time, l.Host, l.EventID, l.RuleID}, "\t"))
	})
	if err != nil {
		if errors.Is(err, mdr.ErrNotFound) {
			return fmt.Errorf("no saved hunt %q (see mdr hunt list)", name)
		}
		return err
	}
	if !*f.quiet {
		fmt.Fprintf(f.stderr, "mdr hunt: run %s: %d new results, %d reported before, %d events read\n", name, st.New, st.Old, st.Scanned)
	}
	return nil
}
