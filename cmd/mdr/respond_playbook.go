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
	"os/user"
	"strings"
	"sync"
	"time"

	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store"
)

// runRespondPlaybook is "mdr respond playbook [flags] PLAYBOOK.json": it
// plays a scenario on a simulated fleet, then runs the CACAO playbook
// against that fleet through a Dispatcher (full automation; enforcing
// unless --dry-run) with an in-memory audit log, which it verifies at the
// end. Manual steps are approvals of the Dispatcher, answered on the
// terminal unless --approve-all. The exit status is 1 when the playbook
// fails.
func runRespondPlaybook(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runRespondPlaybookIO(ctx, args, os.Stdin, stdout, stderr)
}

// varFlags collects repeated --var NAME=VALUE flags.
type varFlags map[string]string

func (v varFlags) String() string { return fmt.Sprint(map[string]string(v)) }

func (v varFlags) Set(s string) error {
	name, val, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", s)
	}
	if !strings.HasPrefix(name, "__") {
		name = "__" + name + "__"
	}
	v[name] = val
	return nil
}

func runRespondPlaybookIO(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("respond playbook", flag.ContinueOnError)
	fset.SetOutput(stderr)
	dryRun := fset.Bool("dry-run", false, "dispatch OpenC2 commands as dry runs and do not run other commands: record what would happen")
	approveAll := fset.Bool("approve-all", false, "approve every manual step without asking")
	lib := fset.String("lib", "", "folder of playbooks that playbook-action steps may call")
	asJSON := fset.Bool("json", false, `print one line per executed step {"playbook_id","step_id","name","type","status","started","ended"}`)
	scenario := fset.String("scenario", "phish-lateral", "scenario played on the simulated fleet before the playbook runs (\"none\": an empty fleet with --host hosts); its hosts and variables become playbook inputs")
	seed := fset.Int64("seed", 1, "seed of the scenario")
	hosts := fset.String("host", "", "comma-separated hosts to add to the fleet (for --scenario none)")
	vars := varFlags{}
	fset.Var(vars, "var", "NAME=VALUE: give the playbook variable __NAME__ a value (repeatable)")
	if err := fset.Parse(args); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	if fset.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: mdr respond playbook [--dry-run] [--approve-all] [--lib DIR] [--json] [--scenario NAME] [--var NAME=VALUE]… PLAYBOOK.json")
		return fmt.Errorf("respond playbook: want one playbook file: %w", errUsage)
	}
	file := fset.Arg(0)
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}

	fleet, inputs, err := playbookFleet(ctx, *scenario, *seed, *hosts)
	if err != nil {
		return err
	}
	for k, v := range vars {
		inputs[k] = v
	}
	st := store.NewMemory()
	var prompt *terminalApprover
	d, err := respond.NewDispatcher(ctx, respond.Config{
		Store: st, Enforce: !*dryRun, Policy: respond.Policy{Level: respond.AutomationFull},
		OnChange: func(r respond.Result) {
			if prompt != nil {
				prompt.changed(r)
			}
		},
	})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Register(ctx, "sim", fleet); err != nil {
		return err
	}
	prompt = &terminalApprover{d: d, in: bufio.NewReader(stdin), out: stderr, approveAll: *approveAll,
		principal: principal(*approveAll), pending: map[string]chan struct{}{}}

	opts := []respond.PlaybookOption{respond.WithDispatcher(d), respond.WithManualResponder(prompt)}
	walker := respond.NewCommandRecorder() // a dry run walks other command types without running them
	if *dryRun {
		opts = append(opts, respond.WithCommandRunner(walker))
	}
	if *lib != "" {
		set, err := respond.LoadPlaybookDir(*lib, respond.WithCommandTypes(walker.CommandTypes()...))
		if err != nil {
			return fmt.Errorf("--lib %s: %w", *lib, err)
		}
		opts = append(opts, respond.WithPlaybookLibrary(set))
	}
	eng, err := respond.NewPlaybookEngine(opts...)
	if err != nil {
		return err
	}
	pb, err := eng.Load(data, file)
	if err != nil {
		return err
	}
	for _, w := range pb.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	enc := json.NewEncoder(stdout)
	onStep := func(r respond.StepRecord) {
		if *asJSON {
			_ = enc.Encode(r)
			return
		}
		line := fmt.Sprintf("%-7s %-16s %s  %s", r.Status, r.Type, stepLabel(r), r.Ended.Sub(r.Started).Round(time.Microsecond))
		if r.Detail != "" {
			line += "  [" + r.Detail + "]"
		}
		if r.Error != "" {
			line += "  error: " + r.Error
		}
		fmt.Fprintln(stdout, line)
	}
	ex, runErr := eng.Run(ctx, pb, respond.RunOptions{Inputs: inputs, OnStep: onStep, DryRun: *dryRun, Requester: "mdr respond playbook"})
	n, verr := store.Verify(ctx, st)
	if verr != nil {
		return fmt.Errorf("audit log does not verify: %w", verr)
	}
	stats := d.Stats()
	fmt.Fprintf(stderr, "playbook %s: %d steps in %s; OpenC2 commands: %+v; audit log: %d records, chain verified\n",
		pb.ID, len(ex.Steps), ex.Ended.Sub(ex.Started).Round(time.Microsecond), stats, n)
	if runErr != nil {
		return fmt.Errorf("playbook failed: %w", runErr)
	}
	return nil
}

func stepLabel(r respond.StepRecord) string {
	if r.Name != "" {
		return r.Name + " (" + r.StepID + ")"
	}
	return r.StepID
}

// playbookFleet builds the simulated fleet and the inputs it gives the
// playbook: for a scenario, __host_<id>__ for each of its hosts and
// __<var>__ for each of its variables.
func playbookFleet(ctx context.Context, scenario string, seed int64, hosts string) (*sim.Fleet, map[string]string, error) {
	inputs := map[string]string{}
	if scenario == "none" || scenario == "" {
		f, err := sim.New(sim.Config{Seed: seed})
		if err != nil {
			return nil, nil, err
		}
		for _, h := range strings.Split(hosts, ",") {
			if h = strings.TrimSpace(h); h != "" {
				if err := f.AddHost(sim.HostSpec{Name: h}); err != nil {
					return nil, nil, err
				}
			}
		}
		return f, inputs, nil
	}
	r, err := sim.Generate(ctx, scenario, seed)
	if err != nil {
		return nil, nil, err
	}
	for id, name := range r.HostIDs {
		inputs["__host_"+id+"__"] = name
	}
	for k, v := range r.Vars {
		inputs["__"+k+"__"] = v
	}
	if hosts != "" {
		for _, h := range strings.Split(hosts, ",") {
			if h = strings.TrimSpace(h); h != "" {
				if err := r.Fleet.AddHost(sim.HostSpec{Name: h}); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	return r.Fleet, inputs, nil
}

func principal(approveAll bool) string {
	if approveAll {
		return "approve-all"
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "terminal"
}

// terminalApprover answers manual steps: each becomes a pending approval
// of the Dispatcher (so the audit log records it), answered on the
// terminal (or at once with --approve-all). Prompts are asked one at a
// time.
type terminalApprover struct {
	d          *respond.Dispatcher
	in         *bufio.Reader
	out        io.Writer
	approveAll bool
	principal  string
	ask        sync.Mutex // one prompt at a time
	mu         sync.Mutex
	pending    map[string]chan struct{}
}

// changed is the Dispatcher's OnChange: it tells Ask that its approval
// is now pending and can be answered.
func (t *terminalApprover) changed(r respond.Result) {
	if !r.Manual || r.State != respond.StatePending {
		return
	}
	t.mu.Lock()
	if ch, ok := t.pending[r.ID]; ok {
		close(ch)
		delete(t.pending, r.ID)
	}
	t.mu.Unlock()
}

func (t *terminalApprover) Ask(ctx context.Context, req respond.ManualRequest) (respond.ManualAnswer, error) {
	id := respond.NewCommandID()
	ready := make(chan struct{})
	t.mu.Lock()
	t.pending[id] = ready
	t.mu.Unlock()
	ar := respond.ApprovalRequest{ID: id, Title: fmt.Sprintf("%s (%s)", req.StepName, req.StepID), Description: req.Command,
		Requester: "playbook " + req.PlaybookID}
	if !req.Deadline.IsZero() {
		ar.Timeout = time.Until(req.Deadline)
	}
	type outcome struct {
		res respond.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := t.d.RequestApproval(ctx, ar)
		done <- outcome{res, err}
	}()
	select {
	case <-ready:
	case o := <-done:
		return answerOf(o.res, o.err)
	}
	approve, err := t.decide(ctx, req)
	switch {
	case err != nil: // the step ended first: withdraw the approval
		_ = t.d.Reject(context.WithoutCancel(ctx), id, "playbook", "no answer before the step ended")
	case approve:
		err = t.d.Approve(ctx, id, t.principal, "")
	default:
		err = t.d.Reject(ctx, id, t.principal, "answered no on the terminal")
	}
	o := <-done
	if err != nil && o.err == nil {
		return respond.ManualAnswer{}, err
	}
	return answerOf(o.res, o.err)
}

func answerOf(res respond.Result, err error) (respond.ManualAnswer, error) {
	switch {
	case err == nil:
		return respond.ManualAnswer{Approved: true, By: res.Approver}, nil
	case errors.Is(err, respond.ErrRejected):
		return respond.ManualAnswer{Approved: false, By: res.Approver}, nil
	}
	return respond.ManualAnswer{}, err
}

// decide asks on the terminal; the answer must come before ctx ends.
func (t *terminalApprover) decide(ctx context.Context, req respond.ManualRequest) (bool, error) {
	if t.approveAll {
		return true, nil
	}
	t.ask.Lock()
	defer t.ask.Unlock()
	fmt.Fprintf(t.out, "manual step %q of %s:\n  %s\n", req.StepName, req.PlaybookID, req.Command)
	if !req.Deadline.IsZero() {
		fmt.Fprintf(t.out, "  (answer within %s)\n", time.Until(req.Deadline).Round(time.Second))
	}
	fmt.Fprint(t.out, "done / approve? [y/N] ")
	line := make(chan string, 1)
	go func() {
		s, _ := t.in.ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		s = strings.ToLower(strings.TrimSpace(s))
		return s == "y" || s == "yes", nil
	case <-ctx.Done():
		fmt.Fprintln(t.out)
		return false, ctx.Err()
	}
}
