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
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/respond"
)

// runRespond dispatches `mdr respond validate|advise|playbook`. The
// playbook subcommand is runRespondPlaybook, in respond_playbook.go.
func runRespond(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, `usage: mdr respond <subcommand> [arguments]

subcommands:
  validate [--json] FILE…                 check OpenC2 messages (commands, responses, envelopes)
  advise [--rules PATH]… [--gap D] FILE…  propose OpenC2 commands per incident, as JSON lines
  playbook [flags] PLAYBOOK.json          run a CACAO playbook on the simulated fleet`)
		if len(args) == 0 {
			return fmt.Errorf("missing subcommand: %w", errUsage)
		}
		return nil
	}
	switch args[0] {
	case "validate":
		return runRespondValidate(ctx, args[1:], stdout, stderr)
	case "advise":
		return runRespondAdvise(ctx, args[1:], stdout, stderr)
	case "playbook":
		return runRespondPlaybook(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown subcommand %q (validate, advise, playbook): %w", args[0], errUsage)
}

// maxMessageSize bounds an OpenC2 message file.
const maxMessageSize = 16 << 20

type validateLine struct {
	File    string   `json:"file"`
	Valid   bool     `json:"valid"`
	Kind    string   `json:"kind"`
	Reasons []string `json:"reasons"`
}

func runRespondValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("respond validate", flag.ContinueOnError)
	fset.SetOutput(stderr)
	asJSON := fset.Bool("json", false, `one JSON line per file: {"file","valid","kind","reasons":[…]}`)
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: mdr respond validate [--json] FILE…\n\nChecks each file as an OpenC2 v1.0 command or response (Endpoint Response profile\nincluded), or either in a message envelope. Exit status 1 when any is invalid.")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	if fset.NArg() == 0 {
		return fmt.Errorf("no file given: %w", errUsage)
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	invalid := 0
	for _, path := range fset.Args() {
		if err := ctx.Err(); err != nil {
			return err
		}
		rep, err := checkMessageFile(path)
		if err != nil {
			return err
		}
		if !rep.Valid {
			invalid++
		}
		if *asJSON {
			line := validateLine{File: path, Valid: rep.Valid, Kind: rep.Kind, Reasons: rep.Reasons}
			if line.Reasons == nil {
				line.Reasons = []string{}
			}
			b, err := json.Marshal(line)
			if err != nil {
				return err
			}
			w.Write(b)
			w.WriteByte('\n')
			continue
		}
		if rep.Valid {
			fmt.Fprintf(w, "%s: valid %s\n", path, rep.Kind)
			continue
		}
		fmt.Fprintf(w, "%s: invalid %s\n", path, rep.Kind)
		for _, r := range rep.Reasons {
			fmt.Fprintf(w, "  %s\n", r)
		}
	}
	if invalid > 0 {
		w.Flush()
		return fmt.Errorf("%d of %d files invalid", invalid, fset.NArg())
	}
	return nil
}

func checkMessageFile(path string) (respond.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return respond.Report{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMessageSize+1))
	if err != nil {
		return respond.Report{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxMessageSize {
		return respond.Report{Kind: respond.KindOther, Reasons: []string{fmt.Sprintf("larger than %d bytes", maxMessageSize)}}, nil
	}
	return respond.CheckMessage(data), nil
}

type adviceLine struct {
	Incident       string          `json:"incident"`
	Rank           int             `json:"rank"`
	Score          float64         `json:"score"`
	Command        respond.Command `json:"command"`
	Rationale      string          `json:"rationale"`
	Techniques     []string        `json:"techniques"`
	Countermeasure string          `json:"countermeasure"`
	Alerts         []string        `json:"alerts,omitempty"`
}

func runRespondAdvise(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("respond advise", flag.ContinueOnError)
	fset.SetOutput(stderr)
	var rulePaths stringsFlag
	fset.Var(&rulePaths, "rules", "rule file or directory (repeatable): FILEs are then event files (NDJSON, JSON, gzip) to detect on; without it, FILEs hold alerts as JSON lines")
	gap := fset.Duration("gap", 30*time.Minute, "alerts of one host further apart than this start a new incident")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: mdr respond advise [--rules PATH]… [--gap D] FILE…\n\nGroups alerts into incidents by host and time and prints the proposed OpenC2\ncommands of each incident, best first, as JSON lines with their rationale.")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	if fset.NArg() == 0 {
		return fmt.Errorf("no file given: %w", errUsage)
	}
	var alerts []mdr.Alert
	var err error
	if len(rulePaths) > 0 {
		alerts, err = detectAlerts(ctx, rulePaths, fset.Args(), stderr)
	} else {
		alerts, err = readAlerts(fset.Args())
	}
	if err != nil {
		return err
	}
	adv, err := respond.NewAdvisor()
	if err != nil {
		return err
	}
	incidents, err := adv.AdviseAlerts(ctx, alerts, *gap)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	for _, ia := range incidents {
		for _, a := range ia.Advice {
			b, err := json.Marshal(adviceLine{Incident: ia.Incident.ID, Rank: a.Rank, Score: a.Score, Command: a.Command,
				Rationale: a.Rationale, Techniques: a.Techniques, Countermeasure: a.Countermeasure, Alerts: a.Alerts})
			if err != nil {
				return err
			}
			w.Write(b)
			w.WriteByte('\n')
		}
	}
	fmt.Fprintf(stderr, "mdr respond advise: %d alerts, %d incidents with advice\n", len(alerts), len(incidents))
	return nil
}

// detectAlerts runs the rules over the event files.
func detectAlerts(ctx context.Context, rulePaths, files []string, stderr io.Writer) ([]mdr.Alert, error) {
	rules, err := engine.Load(ctx, rulePaths)
	if err != nil {
		return nil, err
	}
	for _, r := range rules.Rejects {
		fmt.Fprintf(stderr, "mdr respond advise: rejected %s:%d %s: %s\n", r.Path, r.Line, r.ID, r.Reason)
	}
	det, err := engine.NewDetector(rules, engine.DefaultConfig())
	if err != nil {
		return nil, err
	}
	var alerts []mdr.Alert
	opts := reader.Options{OnError: reader.Skip, OnSkip: func(le *reader.LineError) { fmt.Fprintf(stderr, "mdr respond advise: skipped %v\n", le) }}
	if _, err := engine.DetectFiles(ctx, det, files, opts, func(_ *mdr.Event, as []mdr.Alert) error {
		alerts = append(alerts, as...)
		return nil
	}); err != nil {
		return nil, err
	}
	return alerts, nil
}

// maxAlertLine bounds one line of an alerts file.
const maxAlertLine = 4 << 20

// readAlerts reads alerts, one JSON object per line.
func readAlerts(files []string) ([]mdr.Alert, error) {
	var out []mdr.Alert
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), maxAlertLine)
		line := 0
		for sc.Scan() {
			line++
			b := sc.Bytes()
			if len(b) == 0 {
				continue
			}
			var a mdr.Alert
			if err := json.Unmarshal(b, &a); err != nil {
				f.Close()
				return nil, fmt.Errorf("%s:%d: not an alert: %w", path, line, err)
			}
			out = append(out, a)
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line+1, err)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no alerts read")
	}
	return out, nil
}
