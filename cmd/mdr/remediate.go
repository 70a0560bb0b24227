package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/remediate"
	"github.com/mdrkit/mdr/remediate/proof"
	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
)

// defaultRemediateRules is where "mdr remediate" looks for detection rules
// when no --rules is given: the SigmaHQ corpus of the shared data.
const defaultRemediateRules = "../shared/data/sigma/rules"

// runRemediate is "mdr remediate plan|apply".
func runRemediate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "usage: mdr remediate plan [--rules PATH]… [--json] FILE…\n       mdr remediate apply --sim SCENARIO [--rules PATH]… [--dry-run] [--approve-all] [--seed N] [--json]"
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("plan or apply: %w", errUsage)
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, usage)
		return nil
	}
	switch args[0] {
	case "plan":
		return runRemediatePlan(ctx, args[1:], stdout, stderr)
	case "apply":
		return runRemediateApply(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown subcommand %q (plan or apply): %w", args[0], errUsage)
}

// remediateRules loads the rules of --rules, or the default corpus.
func remediateRules(ctx context.Context, paths []string, pipeline string, stderr io.Writer) (*engine.Rules, error) {
	if len(paths) == 0 {
		if st, err := os.Stat(defaultRemediateRules); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("--rules is needed to find alerts (the default %s is missing): %w", defaultRemediateRules, errUsage)
		}
		paths = []string{defaultRemediateRules}
	}
	var opts []engine.Option
	if pipeline != "" {
		opts = append(opts, engine.WithPipelineFile(pipeline))
	}
	rules, err := engine.Load(ctx, paths, opts...)
	if err != nil {
		return nil, err
	}
	for _, r := range rules.Rejects {
		fmt.Fprintf(stderr, "mdr remediate: rejected %s\n", r)
	}
	return rules, nil
}

// planLine is one line of "mdr remediate plan --json".
type planLine struct {
	IncidentID    string            `json:"incident_id"`
	Steps         []planStep        `json:"steps"`
	NotRestorable []notRestorableJS `json:"not_restorable"`
}

type planStep struct {
	ID         string          `json:"id"`
	Command    respond.Command `json:"command"`
	Reason     string          `json:"reason"`
	ScopeItem  string          `json:"scope_item"`
	EventIDs   []string        `json:"event_ids"`
	Reversible bool            `json:"reversible"`
	DependsOn  []string        `json:"depends_on"`
}

type notRestorableJS struct {
	Item   string `json:"item"`
	Reason string `json:"reason"`
}

func planLineOf(p *remediate.Plan) planLine {
	l := planLine{IncidentID: p.IncidentID, Steps: make([]planStep, 0, len(p.Steps)), NotRestorable: make([]notRestorableJS, 0, len(p.NotRestorable))}
	for _, s := range p.Steps {
		l.Steps = append(l.Steps, planStep{ID: s.ID, Command: s.Command, Reason: s.Reason, ScopeItem: s.ScopeItem,
			EventIDs: s.EventIDs, Reversible: s.Reversible, DependsOn: s.DependsOn})
	}
	for _, nr := range p.NotRestorable {
		l.NotRestorable = append(l.NotRestorable, notRestorableJS{Item: nr.Item, Reason: nr.Reason})
	}
	return l
}

func runRemediatePlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("remediate plan", flag.ContinueOnError)
	fset.SetOutput(stderr)
	var rulePaths stringsFlag
	fset.Var(&rulePaths, "rules", "rule file or directory (repeatable; default "+defaultRemediateRules+")")
	pipeline := fset.String("pipeline", "", "Sigma processing pipeline (YAML; default: the built-in Windows pipeline)")
	asJSON := fset.Bool("json", false, "print one JSON object per incident per line")
	onError := fset.String("on-error", "skip", "malformed input lines: skip (reported on stderr and counted) or stop")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: mdr remediate plan [--rules PATH]… [--json] FILE…\n\nDetects, investigates and prints the remediation plan of each incident.")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	files := fset.Args()
	if len(files) == 0 {
		return fmt.Errorf("no event file given: %w", errUsage)
	}
	opts := reader.Options{}
	switch *onError {
	case "skip":
		opts.OnError = reader.Skip
		opts.OnSkip = func(le *reader.LineError) { fmt.Fprintf(stderr, "mdr remediate: skipped %v\n", le) }
	case "stop":
		opts.OnError = reader.Stop
	default:
		return fmt.Errorf("--on-error must be skip or stop: %w", errUsage)
	}
	rules, err := remediateRules(ctx, rulePaths, *pipeline, stderr)
	if err != nil {
		return err
	}
	det, err := engine.NewDetector(rules, engine.DefaultConfig())
	if err != nil {
		return err
	}
	an, err := remediate.PlanFiles(ctx, files, opts, det, remediate.PipelineConfig{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mdr remediate: %d events, %d rules, %d alerts, %d incidents, planned in %v\n",
		an.Events, rules.Len(), len(an.Alerts), len(an.Incidents), an.Planning.Round(1000))
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	for _, ip := range an.Incidents {
		if *asJSON {
			b, err := json.Marshal(planLineOf(ip.Plan))
			if err != nil {
				return err
			}
			w.Write(b)
			w.WriteByte('\n')
			continue
		}
		writePlanText(w, ip.Plan)
	}
	return w.Flush()
}

func writePlanText(w io.Writer, p *remediate.Plan) {
	fmt.Fprintf(w, "incident %s — plan %s: %d steps, %d not restorable\n", p.IncidentID, p.ID, len(p.Steps), len(p.NotRestorable))
	for _, s := range p.Steps {
		flags := ""
		if !s.Reversible {
			flags += " [irreversible]"
		}
		if s.Advice {
			flags += " [needs approval]"
		}
		deps := ""
		if len(s.DependsOn) > 0 {
			deps = " after " + strings.Join(s.DependsOn, ", ")
		}
		fmt.Fprintf(w, "  %-22s %s%s%s\n", s.ID, s.Reason, flags, deps)
	}
	for _, nr := range p.NotRestorable {
		fmt.Fprintf(w, "  not restorable: %s: %s\n", nr.Item, nr.Reason)
	}
}

// applyStepLine is one line of "mdr remediate apply --json" per step.
type applyStepLine struct {
	Plan   string `json:"plan"`
	Step   string `json:"step"`
	Kind   string `json:"kind"`
	Host   string `json:"host"`
	State  string `json:"state"`
	Detail string `json:"detail,omitempty"`
}

func runRemediateApply(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("remediate apply", flag.ContinueOnError)
	fset.SetOutput(stderr)
	scenario := fset.String("sim", "", "the simulated fleet's scenario to attack and remediate (one of: "+strings.Join(sim.Scenarios(), ", ")+")")
	seed := fset.Int64("seed", 1, "the scenario's seed")
	var rulePaths stringsFlag
	fset.Var(&rulePaths, "rules", "rule file or directory (repeatable; default "+defaultRemediateRules+")")
	dryRun := fset.Bool("dry-run", false, "send every command as a dry run: nothing changes on the fleet")
	approveAll := fset.Bool("approve-all", false, "approve every advice step (account deletions, credential resets) as the principal")
	principal := fset.String("principal", "analyst", "who approves and applies")
	asJSON := fset.Bool("json", false, "print JSON lines: one per step, then one per host with its diff")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: mdr remediate apply --sim SCENARIO [--rules PATH]… [--dry-run] [--approve-all] [--seed N] [--json]\n\nPlays the scenario on the simulated fleet, detects, investigates, plans and applies,\nthen prints each step's state and every host's difference from its snapshot before the attack.")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	if *scenario == "" || fset.NArg() > 0 {
		return fmt.Errorf("--sim SCENARIO is required and takes no file: %w", errUsage)
	}
	rules, err := remediateRules(ctx, rulePaths, "", stderr)
	if err != nil {
		return err
	}
	det, err := engine.NewDetector(rules, engine.DefaultConfig())
	if err != nil {
		return err
	}
	rep, err := proof.Run(ctx, proof.Config{Scenario: *scenario, Seed: *seed, Detector: det, DryRun: *dryRun, ApproveAll: *approveAll, Principal: *principal})
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	if !*asJSON {
		fmt.Fprintf(w, "scenario %s (seed %d): %d events, %d alerts, %d incidents; planned in %v, applied in %v; audit chain: %d records verified\n",
			rep.Scenario, rep.Seed, rep.Events, rep.Alerts, len(rep.Incidents), rep.Planning.Round(1000), rep.Applying.Round(1000), rep.AuditRecords)
	}
	for _, in := range rep.Incidents {
		if !*asJSON {
			c := in.Result.Counts
			fmt.Fprintf(w, "\nincident %s — plan %s: %d steps: %d verified, %d applied, %d unverified, %d failed, %d pending approval, %d not found, %d dry run\n",
				in.Plan.IncidentID, in.Plan.ID, len(in.Plan.Steps), c.Verified, c.Applied, c.Unverified, c.Failed, c.Pending, c.NotFound, c.DryRun)
		}
		for i, s := range in.Plan.Steps {
			rec := in.Result.Steps[i]
			if *asJSON {
				if err := enc.Encode(applyStepLine{Plan: in.Plan.ID, Step: s.ID, Kind: s.Kind.String(), Host: s.Host, State: rec.State.String(), Detail: rec.Detail}); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(w, "  %-11s %-22s %s\n", rec.State, s.ID, s.Reason)
		}
		if in.Result.Err != nil && !*asJSON {
			fmt.Fprintf(w, "  errors: %v\n", in.Result.Err)
		}
		if !*asJSON {
			for _, nr := range in.Plan.NotRestorable {
				fmt.Fprintf(w, "  not restorable: %s: %s\n", nr.Item, nr.Reason)
			}
		}
	}
	note := map[string]string{}
	for _, x := range rep.Explained {
		note[x.Change.Artifact.ID()] = "not restorable: " + x.Reason
	}
	for _, c := range rep.Missed {
		note[c.Artifact.ID()] = "MISSED"
	}
	for _, c := range rep.Touched {
		note[c.Artifact.ID()] = "BENIGN TOUCHED"
	}
	hosts := make([]string, 0, len(rep.Diff))
	for h := range rep.Diff {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	for _, h := range hosts {
		d := rep.Diff[h]
		if *asJSON {
			if err := enc.Encode(map[string]any{"host": h, "diff": d}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(w, "\nhost %s: %d differences from the snapshot before the attack\n", h, len(d))
		for _, c := range d {
			why, ok := note[c.Artifact.ID()]
			if !ok {
				why = "benign activity"
				if *dryRun {
					why = "left by the dry run"
				}
			}
			fmt.Fprintf(w, "  %s   [%s]\n", strings.TrimSpace(c.String()), why)
		}
	}
	if !*asJSON {
		fmt.Fprintf(w, "\nmissed (attack changes left, not reported): %d; benign touched: %d; explained (reported not restorable): %d\n",
			len(rep.Missed), len(rep.Touched), len(rep.Explained))
		for _, c := range rep.Missed {
			fmt.Fprintf(w, "  missed: %s\n", strings.TrimSpace(c.String()))
		}
		for _, c := range rep.Touched {
			fmt.Fprintf(w, "  touched: %s\n", strings.TrimSpace(c.String()))
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if !*dryRun && !rep.OK() {
		return fmt.Errorf("the hosts are not back to their state before the attack (%d missed, %d benign touched)", len(rep.Missed), len(rep.Touched))
	}
	return nil
}
