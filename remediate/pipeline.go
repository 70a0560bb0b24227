package remediate

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/reader"
)

// Detector raises alerts on events given in order; *engine.Detector
// implements it.
type Detector interface {
	Process(ctx context.Context, ev *mdr.Event) ([]mdr.Alert, error)
	Flush(ctx context.Context) ([]mdr.Alert, error)
}

// Incident is the seed of a plan: alerts that belong together, under an
// id. It is what triage's incidents, investigate.GroupByHostTime or a
// caller's own grouping provide.
type Incident struct {
	ID     string      `json:"id"`
	Alerts []mdr.Alert `json:"alerts"`
}

// Grouper groups alerts into incidents.
type Grouper func(alerts []mdr.Alert) []Incident

// GroupByHostTime is the default Grouper until triage's incidents are
// available: investigate.GroupByHostTime with its default gap.
func GroupByHostTime(alerts []mdr.Alert) []Incident {
	var out []Incident
	for _, in := range investigate.GroupByHostTime(alerts, 0) {
		out = append(out, Incident{ID: in.ID, Alerts: in.Alerts})
	}
	return out
}

// PipelineConfig configures PlanEvents. The zero value is usable.
type PipelineConfig struct {
	// Planner configures the planner; its Graph is set to the graph the
	// pipeline builds.
	Planner PlannerConfig
	// Graph configures the provenance graph (investigate.DefaultConfig()
	// when zero).
	Graph investigate.Config
	// Scope bounds each incident's scope (investigate's defaults when
	// zero).
	Scope investigate.ScopeLimits
	// Group groups the alerts into incidents (GroupByHostTime when nil).
	Group Grouper
	// MinSeverity drops alerts below it before grouping, so that
	// informational alerts (a logoff) seed no incident. Zero means
	// mdr.SeverityLow.
	MinSeverity mdr.Severity
}

// IncidentPlan is one incident with its scope and its plan.
type IncidentPlan struct {
	Incident Incident           `json:"incident"`
	Scope    *investigate.Scope `json:"scope"`
	Plan     *Plan              `json:"plan"`
}

// Analysis is what PlanEvents found: the graph, every alert, and a plan
// per incident (in the grouper's order).
type Analysis struct {
	Graph     *investigate.Graph
	Events    int64
	Alerts    []mdr.Alert
	Incidents []IncidentPlan
	// Planning is the time spent in scoping and planning.
	Planning time.Duration
}

// PlanEvents reads events in order into a provenance graph while det raises
// alerts on them, groups the alerts into incidents, and plans each
// incident from its scope. An error of the event sequence, the detector or
// a scope stops it.
func PlanEvents(ctx context.Context, events iter.Seq2[*mdr.Event, error], det Detector, cfg PipelineConfig) (*Analysis, error) {
	gcfg := cfg.Graph
	if gcfg.MaxNodes == 0 {
		gcfg = investigate.DefaultConfig()
	}
	g, err := investigate.New(gcfg)
	if err != nil {
		return nil, err
	}
	an := &Analysis{Graph: g}
	for ev, err := range events {
		if err != nil {
			return nil, err
		}
		an.Events++
		if err := g.Add(ev); err != nil {
			return nil, fmt.Errorf("remediate: event %s: %w", ev.ID(), err)
		}
		as, err := det.Process(ctx, ev)
		if err != nil {
			return nil, err
		}
		an.Alerts = append(an.Alerts, as...)
	}
	as, err := det.Flush(ctx)
	if err != nil {
		return nil, err
	}
	an.Alerts = append(an.Alerts, as...)
	start := time.Now()
	an.Incidents, err = PlanAlerts(ctx, g, an.Alerts, cfg)
	an.Planning = time.Since(start)
	return an, err
}

// PlanAlerts groups alerts into incidents and plans each from its scope in
// g.
func PlanAlerts(ctx context.Context, g *investigate.Graph, alerts []mdr.Alert, cfg PipelineConfig) ([]IncidentPlan, error) {
	minSev := cfg.MinSeverity
	if minSev == mdr.SeverityUnknown {
		minSev = mdr.SeverityLow
	}
	seeds := slices.DeleteFunc(slices.Clone(alerts), func(a mdr.Alert) bool { return a.Severity < minSev })
	group := cfg.Group
	if group == nil {
		group = GroupByHostTime
	}
	pcfg := cfg.Planner
	pcfg.Graph = g
	pl := NewPlanner(pcfg)
	var out []IncidentPlan
	for _, in := range group(seeds) {
		sc, err := g.Scope(ctx, in.Alerts, cfg.Scope)
		if err != nil {
			return out, fmt.Errorf("remediate: scope of incident %q: %w", in.ID, err)
		}
		p, err := pl.PlanIncident(ctx, in, sc)
		if err != nil {
			return out, err
		}
		out = append(out, IncidentPlan{Incident: in, Scope: sc, Plan: p})
	}
	return out, nil
}

// PlanFiles is PlanEvents over event files read in order (NDJSON, JSON,
// gzip of either; "-" is standard input), with the reader options given.
func PlanFiles(ctx context.Context, files []string, opts reader.Options, det Detector, cfg PipelineConfig) (*Analysis, error) {
	var ferr error
	events := func(yield func(*mdr.Event, error) bool) {
		for _, f := range files {
			r, err := reader.Open(f, opts)
			if err != nil {
				ferr = err
				return
			}
			for ev, err := range r.All() {
				if err := ctx.Err(); err != nil {
					r.Close()
					yield(nil, err)
					return
				}
				if !yield(ev, err) || err != nil {
					r.Close()
					return
				}
			}
			if err := r.Close(); err != nil {
				ferr = err
				return
			}
		}
	}
	an, err := PlanEvents(ctx, events, det, cfg)
	if ferr != nil {
		return nil, ferr
	}
	return an, err
}
