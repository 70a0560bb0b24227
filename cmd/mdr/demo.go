package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/loop"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store/badger"
)

// defaultSigmaDir is where the demo finds the SigmaHQ Windows rules
// (the team's shared data beside the checkout).
const defaultSigmaDir = "../shared/data/sigma/rules/windows"

// runDemo is "mdr demo": the whole MDR loop on the simulated fleet
// (package loop), printed stage by stage.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: mdr demo [--scenario NAME] [--seed N] [--keep DIR] [--sigma DIR] [--json]\n\n"+
			"Plays an attack on a simulated Windows fleet and runs the whole MDR loop on it:\n"+
			"detection (native and Sigma rules, correlations), triage, investigation of the\n"+
			"top incident (with an SVG of its graph), response under a policy, remediation\n"+
			"applied and verified, every host compared with its snapshot from before the\n"+
			"attack, and the audit chain verified. Scenarios: %s.\n\nflags:\n", strings.Join(sim.Scenarios(), ", "))
		fs.PrintDefaults()
	}
	scenario := fs.String("scenario", "phish-lateral", "the attack scenario")
	seed := fs.Int64("seed", 1, "seed of the scenario (same seed, same run)")
	keep := fs.String("keep", "", "keep the badger store in `DIR` (for mdr hunt and mdr triage --store); default: a temporary one, removed")
	sigmaDir := fs.String("sigma", defaultSigmaDir, "run the Sigma rules under `DIR` besides the native ones; '' for native rules only")
	asJSON := fs.Bool("json", false, "print each stage and the result as JSON lines")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	dir := *keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "mdr-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	var paths []string
	note := ""
	if *sigmaDir != "" {
		if st, err := os.Stat(*sigmaDir); err == nil && st.IsDir() {
			paths = append(paths, *sigmaDir)
		} else if isFlagSet(fs, "sigma") {
			return fmt.Errorf("--sigma %s: not a folder", *sigmaDir)
		} else {
			note = "Sigma rules not run: " + *sigmaDir + " not found (give --sigma DIR)"
		}
	}
	t0 := time.Now()
	rules, err := engine.Load(ctx, paths, engine.WithExtraSources(loop.NativeRules()))
	if err != nil {
		return err
	}
	st, err := badger.Open(badger.DefaultConfig(filepath.Join(dir, "store")))
	if err != nil {
		return err
	}
	defer st.Close()
	p := &demoPrinter{w: stdout, json: *asJSON}
	p.heading("rules", fmt.Sprintf("%d rules compiled in %s (%d Sigma files, %d rejected)", rules.Len(), time.Since(t0).Round(time.Millisecond), rules.SigmaFiles, len(rules.Rejects)))
	if note != "" {
		p.line(note)
	}
	svgPath := filepath.Join(dir, "incident.svg")
	if *keep == "" {
		svgPath = filepath.Join(os.TempDir(), fmt.Sprintf("mdr-demo-%s-%d.svg", *scenario, *seed))
	}
	res, err := loop.Run(ctx, loop.Config{Scenario: *scenario, Seed: *seed, Rules: rules, Store: st, Analyst: "demo", SVG: svgPath,
		Progress: func(s loop.Stage) { p.stage(s) }})
	if err != nil {
		return err
	}
	p.result(res)
	if *keep != "" {
		sdir := filepath.Join(dir, "store")
		p.line(fmt.Sprintf("store kept in %s; try: mdr hunt --store %s --query 'e.EventID == 1 && e.Image.endsWithFold(\"\\\\cmd.exe\")'", sdir, sdir))
		p.line(fmt.Sprintf("and: mdr hunt --store %s --stack Image; the incidents and the audit chain are in it too", sdir))
	}
	if !res.OK() {
		return errors.New("demo: the hosts are not back to their state before the attack")
	}
	return nil
}

func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// demoPrinter prints the loop's stages as headings and lines, or as JSON
// lines.
type demoPrinter struct {
	w    io.Writer
	json bool
}

func (p *demoPrinter) emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	fmt.Fprintf(p.w, "%s\n", b)
}

func (p *demoPrinter) heading(name, summary string) {
	if p.json {
		p.emit(map[string]string{"stage": name, "summary": summary})
		return
	}
	fmt.Fprintf(p.w, "\n== %s\n   %s\n", name, summary)
}

func (p *demoPrinter) line(s string) {
	if p.json {
		p.emit(map[string]string{"note": s})
		return
	}
	fmt.Fprintf(p.w, "   %s\n", s)
}

func (p *demoPrinter) stage(s loop.Stage) {
	if p.json {
		p.emit(s)
		return
	}
	fmt.Fprintf(p.w, "\n== %s (%s)\n   %s\n", s.Name, s.Took.Round(time.Millisecond), s.Summary)
}

// result prints the details of each stage after the stage lines.
func (p *demoPrinter) result(r *loop.Result) {
	if p.json {
		p.emit(map[string]any{"result": r})
		return
	}
	w := p.w
	fmt.Fprintf(w, "\n== detections per attack step\n")
	for _, ph := range r.Phases {
		fmt.Fprintf(w, "   %-22s %d alerts\n", ph, r.PhaseAlerts[ph])
	}
	fmt.Fprintf(w, "\n== triage queue (highest first)\n")
	for i, in := range r.Incidents {
		if i == 5 {
			fmt.Fprintf(w, "   … %d more\n", len(r.Incidents)-5)
			break
		}
		fmt.Fprintf(w, "   %2d. %3.0f %-8s %-50s %3d alerts  hosts %s\n", i+1, in.Score, in.Level, clip(in.Title, 50), in.Alerts, strings.Join(in.Hosts, ", "))
		if i == 0 {
			for _, pt := range in.Parts {
				fmt.Fprintf(w, "         %-18s %+6.1f  %s\n", pt.Name, pt.Value, clip(pt.Detail, 70))
			}
			fmt.Fprintf(w, "         tactics: %s\n", strings.Join(in.Tactics, " → "))
		}
	}
	rep := r.Report
	fmt.Fprintf(w, "\n== investigation of the top incident\n")
	fmt.Fprintf(w, "   root cause: %s %s\n", rep.RootCause.Kind, rep.RootCause.Name)
	fmt.Fprintf(w, "   hosts: %s; users: %s; %s – %s\n", strings.Join(rep.Hosts, ", "), strings.Join(rep.Users, ", "), rep.First.Format(time.TimeOnly), rep.Last.Format(time.TimeOnly))
	for _, f := range rep.Files {
		fmt.Fprintf(w, "   file      %-9s %s\n", f.Action, f.Path)
	}
	for _, g := range rep.Registry {
		fmt.Fprintf(w, "   registry  %-9s %s = %s\n", g.Action, g.Key, clip(g.Data, 60))
	}
	for _, s := range rep.Services {
		fmt.Fprintf(w, "   service   %s on %s: %s\n", s.Name, s.Host, s.Image)
	}
	for _, t := range rep.Tasks {
		fmt.Fprintf(w, "   task      %s on %s: %s\n", t.Name, t.Host, t.Command)
	}
	for _, a := range rep.Accounts {
		fmt.Fprintf(w, "   account   %-9s %s on %s\n", a.Action, a.Name, a.Host)
	}
	for _, n := range rep.Network {
		fmt.Fprintf(w, "   network   %s:%s %s\n", n.Address, n.Port, n.Domain)
	}
	fmt.Fprintf(w, "\n   process tree:\n")
	for _, t := range r.Trees {
		printTree(w, t, "     ")
	}
	fmt.Fprintf(w, "\n   timeline (%d entries):\n", len(r.Timeline))
	for i, e := range r.Timeline {
		if i == 25 {
			fmt.Fprintf(w, "     … %d more\n", len(r.Timeline)-25)
			break
		}
		fmt.Fprintf(w, "     %s  %-14s %s\n", e.Time.Format("15:04:05.000"), clip(e.Host, 14), clip(e.Text, 90))
	}
	if r.SVG != "" {
		fmt.Fprintf(w, "\n   incident graph: %s\n", r.SVG)
	}
	fmt.Fprintf(w, "\n== response policy: %s\n", loop.PolicyText())
	auto, approved := 0, 0
	for _, d := range r.Decisions {
		who := "ran by itself"
		if d.Approver != "" {
			who = "approved by " + d.Approver
			approved++
		} else {
			auto++
		}
		fmt.Fprintf(w, "   %-9s %-8s %-22s %-10s %s\n", d.State, d.Request.Command.Action, d.Request.Command.Target.Name(), d.Decision, who)
	}
	fmt.Fprintf(w, "   %d commands ran by the policy, %d after the analyst's approval\n", auto, approved)
	fmt.Fprintf(w, "\n== remediation\n")
	for _, pr := range r.Plans {
		fmt.Fprintf(w, "   plan %s (%d alerts): %+v\n", pr.Plan.ID, pr.Alerts, pr.Result.Counts)
		for i, s := range pr.Result.Steps {
			reason := ""
			if i < len(pr.Plan.Steps) && pr.Plan.Steps[i].ID == s.Step {
				reason = pr.Plan.Steps[i].Reason
			}
			fmt.Fprintf(w, "     %-11s %-22s %s\n", s.State, s.Step, clip(reason, 90))
		}
		for _, nr := range pr.Plan.NotRestorable {
			fmt.Fprintf(w, "     not restorable: %s %s — %s\n", nr.Kind, nr.Name, nr.Reason)
		}
	}
	fmt.Fprintf(w, "\n== every host against its snapshot from before the attack\n")
	hosts := make([]string, 0, len(r.Diff))
	for h := range r.Diff {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		fmt.Fprintf(w, "   %s: %d differences\n", h, len(r.Diff[h]))
	}
	for _, e := range r.Explained {
		fmt.Fprintf(w, "   left, with a reason: %s — %s\n", e.Change, e.Reason)
	}
	for _, c := range r.Missed {
		fmt.Fprintf(w, "   MISSED: %s\n", c)
	}
	for _, c := range r.Touched {
		fmt.Fprintf(w, "   BENIGN TOUCHED: %s\n", c)
	}
	if r.OK() {
		fmt.Fprintf(w, "   every difference is benign activity of the scenario or explained: the attack is gone\n")
	}
	fmt.Fprintf(w, "\n== audit: %d records, hash chain verified\n", r.AuditRecords)
}

func printTree(w io.Writer, n *investigate.TreeNode, indent string) {
	line := n.Label
	if n.User != "" {
		line += " (" + n.User + ")"
	}
	fmt.Fprintf(w, "%s%s\n", indent, clip(line, 110-len(indent)))
	for _, c := range n.Children {
		printTree(w, c, indent+"  ")
	}
}

// clip shortens s to n runes.
func clip(s string, n int) string { return investigate.Clip(s, n) }
