package proof

import (
	"github.com/mdrkit/mdr/remediate"
	"github.com/mdrkit/mdr/sim"
)

// Outcome is every host compared with its baseline after remediation.
type Outcome struct {
	Diff      map[string]sim.Changes
	Explained []Explained
	Missed    sim.Changes
	Touched   sim.Changes
}

// Compare compares every host of a run with its baseline, as Run does,
// for plans applied by the caller (package loop applies the plans of
// triage's incidents).
func Compare(run *sim.Run, plans []*remediate.Plan) Outcome {
	r := &Report{Diff: map[string]sim.Changes{}}
	for _, p := range plans {
		r.Incidents = append(r.Incidents, IncidentRun{Plan: p})
	}
	r.compare(run)
	return Outcome{Diff: r.Diff, Explained: r.Explained, Missed: r.Missed, Touched: r.Touched}
}
