// Package proof runs remediation end to end on the simulated fleet and
// checks its promise: after the plan is applied, every host equals its
// snapshot from before the attack, except for what the plan reported as
// not restorable, and the benign activity mixed into the scenario is
// untouched.
//
// Run plays a sim scenario (the baseline snapshot of every host is taken
// by the scenario before the attack), reads the fleet's telemetry through
// package reader, detects with the rules given (engine), builds the
// provenance graph and the incidents' scopes (investigate), plans each
// incident (remediate), applies the plans through a respond.Dispatcher to
// the fleet, and compares each host with its baseline (sim.Diff).
//
// The fleet performs the er profile's commands and mdrkit's scheduled
// tasks itself (sim.Fleet is a respond.Actuator); Accounts adds the x-mdr
// account commands a host product's EDR or identity provider would bring:
// deleting a local account and removing a group membership, through the
// fleet's own methods. Register registers both with a dispatcher.
//
// Everything here is safe to run concurrently for different scenarios;
// one Run is sequential apart from the parallel steps of a plan.
package proof

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/remediate"
	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store"
)

// Config chooses a run. Scenario (or Script) and Detector are required.
type Config struct {
	// Scenario names a built-in scenario of package sim.
	Scenario string
	// Script, when set, is a scenario of one's own (sim.ParseScenario's
	// YAML) played instead of Scenario.
	Script []byte
	Seed   int64
	// Detector raises the alerts (an *engine.Detector over the rules of
	// choice); it sees every event of the run in order.
	Detector remediate.Detector
	// Store keeps the plans, the steps' states and the audit chain
	// (store.NewMemory() when nil).
	Store store.Store
	// DryRun sends every command as a dry run: the plans are shown, the
	// fleet is not changed.
	DryRun bool
	// ApproveAll approves every advice step (account deletions,
	// credential resets) as Principal; by default only the deletion of
	// accounts the attack created is approved.
	ApproveAll bool
	// Principal is who approves and applies ("proof" when empty).
	Principal string
	// Parallel and OnFailure configure the executor.
	Parallel  int
	OnFailure remediate.OnFailure
	// Progress, when set, sees every step's move.
	Progress func(remediate.StepRecord)
	// Policy governs the dispatcher (automation level full, every command
	// allowed, when nil).
	Policy *respond.Policy
	// ApproveAs, when set, answers every command the policy holds for
	// approval by approving it as this principal (the demo's analyst);
	// without it such commands wait until the dispatcher's approval
	// timeout rejects them.
	ApproveAs string
}

// IncidentRun is one incident's plan and what applying it did.
type IncidentRun struct {
	Plan   *remediate.Plan   `json:"plan"`
	Result *remediate.Result `json:"result"`
	// Alerts counts the incident's alerts.
	Alerts int `json:"alerts"`
}

// Report is the outcome of a Run.
type Report struct {
	Scenario  string        `json:"scenario"`
	Seed      int64         `json:"seed"`
	Events    int64         `json:"events"`
	Alerts    int           `json:"alerts"`
	Incidents []IncidentRun `json:"incidents"`
	// Diff is each host's difference from its baseline after remediation.
	Diff map[string]sim.Changes `json:"diff"`
	// Missed are the changes of the attack still there that no plan
	// reported as not restorable.
	Missed sim.Changes `json:"missed"`
	// Explained are the changes of the attack still there that a plan
	// reported as not restorable, with the reason.
	Explained []Explained `json:"explained"`
	// Touched are the benign changes and artifacts that remediation
	// changed or removed.
	Touched sim.Changes `json:"touched"`
	// AuditRecords is the number of records in the audit chain, verified.
	AuditRecords uint64 `json:"audit_records"`
	// Approved counts the commands ApproveAs approved.
	Approved int `json:"approved"`
	// Planning and Applying are the time spent planning and applying.
	Planning time.Duration `json:"planning"`
	Applying time.Duration `json:"applying"`
	// Run is the scenario's run: its fleet, now remediated, can be acted
	// on further (a re-infection, an undo).
	Run *sim.Run `json:"-"`
}

// Explained is a change left behind with the plan's reason.
type Explained struct {
	Change sim.Change `json:"change"`
	Reason string     `json:"reason"`
}

// OK reports whether the hosts are back to their baseline but for what
// was reported, and nothing benign was touched.
func (r *Report) OK() bool { return len(r.Missed) == 0 && len(r.Touched) == 0 }

// Run plays cfg.Scenario, detects, investigates, plans and applies, and
// compares every host with its baseline.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Detector == nil {
		return nil, fmt.Errorf("%w: proof: Config.Detector is required", mdr.ErrInvalid)
	}
	principal := cfg.Principal
	if principal == "" {
		principal = "proof"
	}
	var run *sim.Run
	if cfg.Script != nil {
		sc, err := sim.ParseScenario("script", cfg.Script)
		if err != nil {
			return nil, err
		}
		cfg.Scenario = sc.Name
		run, err = sc.Run(ctx, sim.RunConfig{Seed: cfg.Seed})
		if err != nil {
			return nil, err
		}
	} else {
		var err error
		if run, err = sim.Generate(ctx, cfg.Scenario, cfg.Seed); err != nil {
			return nil, err
		}
	}
	var nd bytes.Buffer
	if err := run.Fleet.WriteNDJSON(&nd, 0); err != nil {
		return nil, err
	}
	rd, err := reader.New(&nd, "sim:"+cfg.Scenario, reader.Options{})
	if err != nil {
		return nil, err
	}
	an, err := remediate.PlanEvents(ctx, rd.All(), cfg.Detector, remediate.PipelineConfig{})
	if err != nil {
		return nil, err
	}
	rep := &Report{Scenario: cfg.Scenario, Seed: cfg.Seed, Events: an.Events, Alerts: len(an.Alerts), Planning: an.Planning, Diff: map[string]sim.Changes{}, Run: run}

	st := cfg.Store
	if st == nil {
		st = store.NewMemory()
	}
	pol := respond.Policy{Level: respond.AutomationFull}
	if cfg.Policy != nil {
		pol = *cfg.Policy
	}
	pending := make(chan string, 4096)
	d, err := respond.NewDispatcher(ctx, respond.Config{Store: st, Policy: pol, Enforce: true, OnChange: func(r respond.Result) {
		if r.State == respond.StatePending {
			select {
			case pending <- r.ID:
			default: // the approver is behind: the approval timeout decides
			}
		}
	}})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	approverDone := make(chan struct{})
	approved := 0
	stop := make(chan struct{})
	go func() {
		defer close(approverDone)
		for {
			select {
			case id := <-pending:
				if cfg.ApproveAs != "" && d.Approve(ctx, id, cfg.ApproveAs, "remediation of the incident") == nil {
					approved++
				}
			case <-stop:
				return
			}
		}
	}()
	if err := Register(ctx, d, run.Fleet); err != nil {
		return nil, err
	}
	approve := func(s *remediate.Step) bool { return cfg.ApproveAll || s.Kind == remediate.KindDeleteAccount }
	ex, err := remediate.NewExecutor(st, d, remediate.ActuatorQuerier(run.Fleet), remediate.Config{
		Parallel: cfg.Parallel, OnFailure: cfg.OnFailure, DryRun: cfg.DryRun, Principal: principal, Approve: approve, Progress: cfg.Progress})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	for _, ip := range an.Incidents {
		res, err := ex.Apply(ctx, ip.Plan)
		if err != nil {
			return nil, err
		}
		rep.Incidents = append(rep.Incidents, IncidentRun{Plan: ip.Plan, Result: res, Alerts: len(ip.Incident.Alerts)})
	}
	rep.Applying = time.Since(start)
	close(stop)
	<-approverDone
	rep.Approved = approved
	if err := d.Close(); err != nil {
		return nil, err
	}
	if rep.AuditRecords, err = store.Verify(ctx, st); err != nil {
		return nil, err
	}
	rep.compare(run)
	return rep, nil
}

// compare fills Diff, Missed, Explained and Touched.
func (r *Report) compare(run *sim.Run) {
	now := run.Fleet.SnapshotAll()
	benign := map[string]sim.Change{}
	for _, c := range run.Truth.BenignChanges {
		benign[c.Artifact.ID()] = c
	}
	benignArt := map[string]bool{}
	for _, a := range run.Truth.Benign {
		benignArt[a.ID()] = true
	}
	reasons := map[string]string{}
	for _, in := range r.Incidents {
		for _, nr := range in.Plan.NotRestorable {
			if a, ok := artifactOf(nr); ok {
				reasons[a.ID()] = nr.Reason
			}
		}
	}
	hosts := make([]string, 0, len(now))
	for h := range now {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	seen := map[string]bool{}
	for _, h := range hosts {
		diff := sim.Diff(run.Baseline[h], now[h])
		r.Diff[h] = diff
		for _, c := range diff {
			id := c.Artifact.ID()
			seen[id] = true
			if b, ok := benign[id]; ok {
				if b.Op != c.Op || b.After != c.After {
					r.Touched = append(r.Touched, c) // the benign change was altered
				}
				continue
			}
			if benignArt[id] {
				r.Touched = append(r.Touched, c)
				continue
			}
			if why, ok := reasons[id]; ok {
				r.Explained = append(r.Explained, Explained{Change: c, Reason: why})
				continue
			}
			r.Missed = append(r.Missed, c)
		}
	}
	// a benign change that remediation reverted is gone from the diff
	for id, b := range benign {
		if !seen[id] {
			r.Touched = append(r.Touched, sim.Change{Artifact: b.Artifact, Op: sim.Removed, Before: b.After})
		}
	}
	slices.SortFunc(r.Touched, func(a, b sim.Change) int { return strings.Compare(a.Artifact.ID(), b.Artifact.ID()) })
}

// artifactOf maps a not-restorable scope item to the fleet's artifact.
func artifactOf(nr remediate.NotRestorable) (sim.Artifact, bool) {
	kinds := map[string]sim.ArtifactKind{"file": sim.KindFile, "registry": sim.KindRegistry, "service": sim.KindService,
		"task": sim.KindTask, "account": sim.KindAccount, "process": sim.KindProcess}
	k, ok := kinds[nr.Kind]
	if !ok || nr.Host == "" {
		return sim.Artifact{}, false
	}
	key := nr.Name
	if k == sim.KindAccount {
		if i := strings.LastIndexByte(key, '\\'); i >= 0 {
			key = key[i+1:]
		}
	}
	return sim.Artifact{Host: nr.Host, Kind: k, Key: key}, true
}

// Register registers the fleet with a dispatcher as two actuators: the
// fleet itself ("sim": the er profile and mdrkit's scheduled tasks, every
// host), and Accounts ("sim-accounts": the x-mdr profile). They must be
// apart: an actuator that declares the er profile validates every command
// it receives against the er matrix, which has no account deletion.
func Register(ctx context.Context, d *respond.Dispatcher, f *sim.Fleet) error {
	if err := d.Register(ctx, "sim", f); err != nil {
		return err
	}
	return d.Register(ctx, "sim-accounts", &Accounts{Fleet: f})
}

// Accounts is the account management a host product brings beside its
// EDR (its identity provider, its local-account tooling), on the simulated
// fleet: the x-mdr commands of package remediate — delete x-mdr:account (a
// local account), delete x-mdr:group_member (a local group membership) and
// set x-mdr:account with reset_credentials, which it answers 501: the
// fleet keeps no secrets. It performs them through the fleet's own
// methods. Safe for concurrent use.
type Accounts struct {
	Fleet *sim.Fleet
}

var _ respond.Actuator = (*Accounts)(nil)

// Features declares the x-mdr profile and its pairs.
func (a *Accounts) Features(ctx context.Context) (respond.Features, error) {
	if err := ctx.Err(); err != nil {
		return respond.Features{}, err
	}
	return respond.Features{Versions: []string{"1.0"}, Profiles: []string{remediate.XProfile},
		Pairs: respond.Pairs{respond.ActionDelete: {remediate.TargetXAccount, remediate.TargetXMember}, respond.ActionSet: {remediate.TargetXAccount}}}, nil
}

// Execute performs the x-mdr commands.
func (a *Accounts) Execute(ctx context.Context, cmd respond.Command) (respond.Response, error) {
	if err := ctx.Err(); err != nil {
		return respond.Response{}, err
	}
	name := cmd.Target.Name()
	host := remediate.XHost(&cmd)
	if host == "" {
		return respond.Response{Status: respond.StatusBadRequest, StatusText: "x-mdr command names no host (actuator x-mdr hostname)"}, nil
	}
	full, err := a.Fleet.HostName(host)
	if err != nil {
		return respond.Response{Status: respond.StatusNotFound, StatusText: "Cannot access device " + host}, nil
	}
	raw := cmd.Target.Extensions[name]
	fail := func(err error) (respond.Response, error) {
		st := respond.StatusInternalError
		switch {
		case errors.Is(err, sim.ErrNotFound):
			st = respond.StatusNotFound
		case errors.Is(err, sim.ErrInvalid):
			st = respond.StatusBadRequest
		}
		return respond.Response{Status: st, StatusText: err.Error()}, nil
	}
	switch {
	case name == remediate.TargetXAccount && cmd.Action == respond.ActionDelete:
		var t remediate.XAccount
		if err := json.Unmarshal(raw, &t); err != nil || t.AccountName == "" {
			return respond.Response{Status: respond.StatusBadRequest, StatusText: "x-mdr:account needs account_name"}, nil
		}
		if _, err := a.Fleet.DeleteAccount(full, t.AccountName); err != nil {
			return fail(err)
		}
		return respond.Response{Status: respond.StatusOK}, nil
	case name == remediate.TargetXAccount && cmd.Action == respond.ActionSet:
		return respond.Response{Status: respond.StatusNotImplemented, StatusText: "the simulated fleet keeps no credentials to reset: hand the reset to the identity provider"}, nil
	case name == remediate.TargetXMember && cmd.Action == respond.ActionDelete:
		var t remediate.XMember
		if err := json.Unmarshal(raw, &t); err != nil || t.Group == "" || t.Member == "" {
			return respond.Response{Status: respond.StatusBadRequest, StatusText: "x-mdr:group_member needs group and member"}, nil
		}
		if err := a.Fleet.RemoveGroupMember(full, t.Group, t.Member); err != nil {
			return fail(err)
		}
		return respond.Response{Status: respond.StatusOK}, nil
	}
	return respond.Response{Status: respond.StatusNotImplemented, StatusText: fmt.Sprintf("%s %s is not supported", cmd.Action, name)}, nil
}
