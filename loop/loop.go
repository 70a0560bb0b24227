package loop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/investigate/svg"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/remediate"
	"github.com/mdrkit/mdr/remediate/proof"
	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/triage"
)

// Config chooses a run. Rules and Store are required.
type Config struct {
	// Scenario names a sim scenario (sim.Scenarios); Seed varies it.
	Scenario string
	Seed     int64
	// Rules are the compiled detection rules (engine.Load).
	Rules *engine.Rules
	// Store keeps events, alerts, incidents, the graph, plans and the
	// audit chain.
	Store store.Store
	// Analyst approves what the response policy holds for approval.
	Analyst string
	// SVG, when set, is the file the top incident's graph is drawn to.
	SVG string
	// MinLevel is the lowest incident level that is remediated (default
	// high): lower incidents are reported, not acted on.
	MinLevel mdr.Severity
	// Progress, when set, is called as each stage ends.
	Progress func(Stage)
}

// Stage is one step of the loop as it ends: its name, a line saying what
// it did, and how long it took.
type Stage struct {
	Name    string        `json:"stage"`
	Summary string        `json:"summary"`
	Took    time.Duration `json:"took_ns"`
}

// Result is everything a run did. It is a plain value.
type Result struct {
	Scenario string `json:"scenario"`
	Seed     int64  `json:"seed"`
	Stages   []Stage
	// Telemetry and detection.
	Events     int64          `json:"events"`
	Alerts     int            `json:"alerts"`
	RuleCounts map[string]int `json:"rule_counts"` // alerts per rule title
	// Phases are the attack's steps in order, and PhaseAlerts the alerts
	// raised on each step's events (by the scenario's labels).
	Phases      []string       `json:"phases"`
	PhaseAlerts map[string]int `json:"phase_alerts"`
	// TopAttackEvents and TopEvents count the top incident's events that
	// the attack caused, and all of them.
	TopAttackEvents, TopEvents int
	// Triage: incidents, highest score first.
	Incidents  []triage.Summary `json:"incidents"`
	TriageStat triage.Stats     `json:"triage_stats"`
	// Investigation of the top incident.
	Top      *triage.Summary             `json:"top,omitempty"`
	Scope    *investigate.Scope          `json:"-"`
	Report   investigate.Report          `json:"report"`
	Trees    []*investigate.TreeNode     `json:"-"`
	Timeline []investigate.TimelineEntry `json:"-"`
	SVG      string                      `json:"svg,omitempty"`
	// Response: the policy's decisions (what ran by itself, what an
	// analyst approved).
	Decisions []respond.Result `json:"-"`
	// Remediation: one plan per remediated incident and what applying
	// it did.
	Plans []proof.IncidentRun `json:"plans"`
	// Diff of every host against its snapshot from before the attack,
	// and the changes of the attack left behind with the plan's reason;
	// Missed (left behind without a reason) and Touched (benign activity
	// changed) must be empty.
	Diff      map[string]sim.Changes `json:"diff"`
	Explained []proof.Explained      `json:"explained"`
	Missed    sim.Changes            `json:"missed"`
	Touched   sim.Changes            `json:"touched"`
	// AuditRecords is the length of the verified audit chain.
	AuditRecords uint64 `json:"audit_records"`
}

// OK reports whether every host is back to its snapshot (but for what
// the plans explained) and nothing benign was touched.
func (r *Result) OK() bool { return len(r.Missed) == 0 && len(r.Touched) == 0 }

// Run plays the loop once.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Rules == nil || cfg.Store == nil {
		return nil, fmt.Errorf("%w: loop: Config.Rules and Config.Store are required", mdr.ErrInvalid)
	}
	if cfg.Analyst == "" {
		cfg.Analyst = "analyst"
	}
	if cfg.MinLevel == 0 {
		cfg.MinLevel = mdr.SeverityHigh
	}
	res := &Result{Scenario: cfg.Scenario, Seed: cfg.Seed, RuleCounts: map[string]int{}, PhaseAlerts: map[string]int{}}
	stage := func(name string, t0 time.Time, format string, args ...any) {
		s := Stage{Name: name, Summary: fmt.Sprintf(format, args...), Took: time.Since(t0)}
		res.Stages = append(res.Stages, s)
		if cfg.Progress != nil {
			cfg.Progress(s)
		}
	}

	// 1. The attack on the fleet, and its telemetry.
	t0 := time.Now()
	run, err := sim.Generate(ctx, cfg.Scenario, cfg.Seed)
	if err != nil {
		return nil, err
	}
	var nd bytes.Buffer
	if err := run.Fleet.WriteNDJSON(&nd, 0); err != nil {
		return nil, err
	}
	res.Phases = run.Scenario.Phases
	attack := map[string]bool{}
	for _, p := range run.Scenario.Phases {
		attack[p] = true
	}
	stage("attack", t0, "scenario %s (seed %d) played on %d hosts: %d events, %d changes by the attack, %d benign",
		cfg.Scenario, cfg.Seed, len(run.Baseline), len(run.Events), len(run.Truth.Attack), len(run.Truth.BenignChanges))

	// 2. Detection, the graph and the triage queue, event by event.
	t0 = time.Now()
	graph, err := investigate.New(investigate.DefaultConfig())
	if err != nil {
		return nil, err
	}
	q, err := triage.Open(ctx, cfg.Store, triage.DefaultConfig(), triage.WithLinker(graph), triage.WithCatalog(triage.CatalogOf(cfg.Rules.Ruleset)))
	if err != nil {
		return nil, err
	}
	det, err := engine.NewDetector(cfg.Rules, engine.DefaultConfig())
	if err != nil {
		return nil, err
	}
	rd, err := reader.New(&nd, "sim:"+cfg.Scenario, reader.Options{})
	if err != nil {
		return nil, err
	}
	var batch []*mdr.Event
	// raw holds every alert as detection raised it, by the incident triage
	// put it in: an incident's scope is built from all of them (triage
	// folds repeats into one alert with a count).
	raw := map[string][]mdr.Alert{}
	incidentOf := map[string]string{} // alert id → triage incident
	push := func(ev *mdr.Event, as []mdr.Alert) error {
		for _, a := range as {
			res.Alerts++
			res.RuleCounts[a.RuleTitle]++
			for _, id := range a.EventIDs {
				if l := run.LabelOf(id); attack[l] {
					res.PhaseAlerts[l]++
				}
			}
			p, err := q.Push(ctx, a, ev)
			if err != nil {
				return err
			}
			if p.IncidentID != "" && !p.Suppressed {
				raw[p.IncidentID] = append(raw[p.IncidentID], a)
				incidentOf[a.ID] = p.IncidentID
			}
		}
		return nil
	}
	for ev, err := range rd.All() {
		if err != nil {
			return nil, err
		}
		res.Events++
		batch = append(batch, ev)
		if err := graph.Add(ev); err != nil {
			return nil, err
		}
		as, err := det.Process(ctx, ev)
		if err != nil {
			return nil, err
		}
		if err := push(ev, as); err != nil {
			return nil, err
		}
	}
	as, err := det.Flush(ctx)
	if err != nil {
		return nil, err
	}
	if err := push(nil, as); err != nil {
		return nil, err
	}
	if _, err := cfg.Store.AppendEvents(ctx, batch); err != nil {
		return nil, err
	}
	if err := graph.Save(ctx, cfg.Store); err != nil {
		return nil, err
	}
	stage("detect", t0, "%d events read and stored, %d alerts from %d rules (%d rules loaded, %d of them Sigma files)",
		res.Events, res.Alerts, len(res.RuleCounts), cfg.Rules.Len(), cfg.Rules.SigmaFiles)

	// 3. Triage.
	t0 = time.Now()
	if err := q.Flush(ctx); err != nil {
		return nil, err
	}
	if res.Incidents, err = q.Summaries(ctx, 0); err != nil {
		return nil, err
	}
	res.TriageStat = q.Stats()
	if len(res.Incidents) == 0 {
		stage("triage", t0, "no incident")
		return res, errors.New("loop: detection raised no incident")
	}
	res.Top = &res.Incidents[0]
	for _, id := range res.Top.EventIDs {
		res.TopEvents++
		if attack[run.LabelOf(id)] {
			res.TopAttackEvents++
		}
	}
	stage("triage", t0, "%d alerts → %d incidents; top: %s (score %.0f, %s)",
		res.Alerts, len(res.Incidents), res.Top.Title, res.Top.Score, res.Top.Level)

	// 4. Investigation of the top incident.
	t0 = time.Now()
	scopes := map[string]*investigate.Scope{}
	for _, in := range res.Incidents {
		if in.Level < cfg.MinLevel && in.IncidentID != res.Top.IncidentID {
			continue
		}
		sc, err := graph.Scope(ctx, raw[in.IncidentID], investigate.DefaultScopeLimits())
		if err != nil {
			return nil, err
		}
		scopes[in.IncidentID] = sc
	}
	res.Scope = scopes[res.Top.IncidentID]
	res.Report = graph.Report(res.Top.IncidentID, res.Scope)
	res.Timeline = graph.Timeline(res.Scope)
	for _, h := range res.Scope.Hosts {
		tree, err := graph.ProcessTree(ctx, h, res.Scope.First, res.Scope.Last.Add(time.Second))
		if err != nil {
			return nil, err
		}
		res.Trees = append(res.Trees, tree...)
	}
	if cfg.SVG != "" {
		if err := drawSVG(ctx, graph, res.Scope, cfg.SVG); err != nil {
			return nil, err
		}
		res.SVG = cfg.SVG
	}
	stage("investigate", t0, "root cause %s; %d hosts, %d users, %d items, %s – %s",
		res.Report.RootCause.Name, len(res.Scope.Hosts), len(res.Scope.Users), len(res.Scope.Items),
		res.Scope.First.Format(time.TimeOnly), res.Scope.Last.Format(time.TimeOnly))

	// 5. Response: the dispatcher with its policy; the analyst approves
	// what the policy holds back.
	t0 = time.Now()
	var mu sync.Mutex
	var approvals sync.WaitGroup
	var d *respond.Dispatcher
	d, err = respond.NewDispatcher(ctx, respond.Config{
		Store:   cfg.Store,
		Policy:  Policy(),
		Enforce: true,
		OnChange: func(r respond.Result) {
			if r.State != respond.StatePending {
				return
			}
			approvals.Add(1)
			go func() {
				defer approvals.Done()
				_ = d.Approve(context.WithoutCancel(ctx), r.ID, cfg.Analyst, "approved in the demo after reading the plan")
			}()
		},
	})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if err := proof.Register(ctx, d, run.Fleet); err != nil {
		return nil, err
	}
	stage("respond", t0, "dispatcher enforcing; policy: %s", PolicyText())

	// 6. Remediation of every incident at or above MinLevel.
	t0 = time.Now()
	// The incidents to remediate are triage's, at or above MinLevel; the
	// plans come from remediate's pipeline over their alerts.
	var all []mdr.Alert
	for _, in := range res.Incidents {
		if _, ok := scopes[in.IncidentID]; ok {
			all = append(all, raw[in.IncidentID]...)
		}
	}
	byTriage := func(alerts []mdr.Alert) []remediate.Incident {
		var out []remediate.Incident
		idx := map[string]int{}
		for _, a := range alerts {
			id := incidentOf[a.ID]
			k, ok := idx[id]
			if !ok {
				k = len(out)
				idx[id] = k
				out = append(out, remediate.Incident{ID: id})
			}
			out[k].Alerts = append(out[k].Alerts, a)
		}
		return out
	}
	ips, err := remediate.PlanAlerts(ctx, graph, all, remediate.PipelineConfig{Group: byTriage})
	if err != nil {
		return nil, err
	}
	ex, err := remediate.NewExecutor(cfg.Store, d, remediate.ActuatorQuerier(run.Fleet), remediate.Config{
		Principal: cfg.Analyst,
		Approve:   func(s *remediate.Step) bool { return s.Kind == remediate.KindDeleteAccount },
	})
	if err != nil {
		return nil, err
	}
	var plans []*remediate.Plan
	steps := 0
	for _, ip := range ips {
		p := ip.Plan
		r, err := ex.Apply(ctx, p)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
		steps += len(p.Steps)
		res.Plans = append(res.Plans, proof.IncidentRun{Plan: p, Result: r, Alerts: len(ip.Incident.Alerts)})
		for _, id := range triageIDs(ip.Incident.Alerts, incidentOf) {
			if err := q.SetStatus(ctx, id, mdr.IncidentRemediated, cfg.Analyst, "plan "+p.ID+" applied"); err != nil && !errors.Is(err, triage.ErrTransition) {
				return nil, err
			}
		}
	}
	approvals.Wait()
	mu.Lock()
	res.Decisions = d.History(func(r *respond.Result) bool { return !r.Manual })
	mu.Unlock()
	verified := 0
	for _, pr := range res.Plans {
		verified += pr.Result.Counts.Verified
	}
	stage("remediate", t0, "%d plans, %d steps, %d verified", len(plans), steps, verified)

	// 7. Every host against its snapshot.
	t0 = time.Now()
	out := proof.Compare(run, plans)
	res.Diff, res.Explained, res.Missed, res.Touched = out.Diff, out.Explained, out.Missed, out.Touched
	stage("verify", t0, "%d hosts compared with their snapshots: %d changes left with a reason, %d missed, %d benign touched",
		len(res.Diff), len(res.Explained), len(res.Missed), len(res.Touched))

	// 8. The audit chain.
	t0 = time.Now()
	if err := d.Close(); err != nil {
		return nil, err
	}
	if res.AuditRecords, err = store.Verify(ctx, cfg.Store); err != nil {
		return nil, err
	}
	stage("audit", t0, "%d audit records, hash chain verified", res.AuditRecords)
	return res, nil
}

func drawSVG(ctx context.Context, g *investigate.Graph, sc *investigate.Scope, path string) error {
	var dot bytes.Buffer
	if err := g.WriteDOT(&dot, sc); err != nil {
		return err
	}
	r, err := svg.New(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.Render(ctx, dot.Bytes(), f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// triageIDs returns the triage incidents of alerts, each once.
func triageIDs(alerts []mdr.Alert, incidentOf map[string]string) []string {
	var out []string
	for _, a := range alerts {
		if id := incidentOf[a.ID]; id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// policyRules is the demo's response policy: reading and stopping what the
// attack started runs by itself; deleting accounts and services and
// touching the network wait for an analyst.
var policyRules = []respond.PolicyRule{
	{Name: "accounts and services need an analyst", When: `action == "delete" && (target == "er:account" || target == "x-mdr:account" || target == "er:service")`, Decision: respond.DecisionApprove},
	{Name: "network containment needs an analyst", When: `(action == "contain" || action == "allow") && target == "device"`, Decision: respond.DecisionApprove},
}

// Policy returns the demo's response policy: semi-automatic (remediation
// runs by itself) with the rules above holding account, service and
// network changes for approval.
func Policy() respond.Policy {
	return respond.Policy{Level: respond.AutomationFull, Rules: slices.Clone(policyRules)}
}

// PolicyText says the policy in a line.
func PolicyText() string {
	s := "remediation runs by itself"
	for _, r := range policyRules {
		s += "; " + r.Name
	}
	return s
}
