package triage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"

	"github.com/mdrkit/mdr"
)

// Suppression silences alerts an analyst has judged harmless: When is a CEL
// expression over the alert (variable alert: rule_id, rule_title, severity,
// host, tags, fields, entities as a list of {kind, id, name}, time) and the
// fields of its event (variable event, a map of field name to value; empty
// when the event is unknown). A suppressed alert is kept with status
// StatusSuppressed and counted, never dropped.
//
// Expires is the event time from which the suppression no longer applies
// (zero: never), so replaying old logs suppresses as it did then.
type Suppression struct {
	ID      string    `yaml:"id" json:"id"`
	When    string    `yaml:"when" json:"when"`
	Reason  string    `yaml:"reason" json:"reason"`
	Author  string    `yaml:"author" json:"author"`
	Expires time.Time `yaml:"expires" json:"expires,omitzero"`
}

// suppressionCostLimit bounds the CEL cost of one suppression check.
const suppressionCostLimit = 100_000

type compiledSuppression struct {
	Suppression
	prg      cel.Program
	useEvent bool
}

func suppressionEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("alert", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("event", cel.MapType(cel.StringType, cel.DynType)),
	)
}

// compileSuppression checks and compiles s.
func compileSuppression(env *cel.Env, s Suppression) (*compiledSuppression, error) {
	if strings.TrimSpace(s.When) == "" {
		return nil, fmt.Errorf("suppression %q: empty when", s.ID)
	}
	if s.Reason == "" || s.Author == "" {
		return nil, fmt.Errorf("suppression %q: a reason and an author are required", s.ID)
	}
	ast, iss := env.Compile(s.When)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("suppression %q: %v", s.ID, iss.Err())
	}
	if ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
		return nil, fmt.Errorf("suppression %q: when must be a boolean, is %v", s.ID, ast.OutputType())
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(suppressionCostLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, fmt.Errorf("suppression %q: %v", s.ID, err)
	}
	return &compiledSuppression{Suppression: s, prg: prg, useEvent: strings.Contains(s.When, "event")}, nil
}

func alertVars(a *mdr.Alert) map[string]any {
	tags := make([]any, len(a.Tags))
	for i, t := range a.Tags {
		tags[i] = t
	}
	fields := make(map[string]any, len(a.Fields))
	for k, v := range a.Fields {
		fields[k] = v
	}
	ents := make([]any, len(a.Entities))
	for i, e := range a.Entities {
		ents[i] = map[string]any{"kind": e.Kind.String(), "id": e.ID, "name": e.Name}
	}
	return map[string]any{
		"id": a.ID, "rule_id": a.RuleID, "rule_title": a.RuleTitle, "severity": a.Severity.String(),
		"host": a.Host, "tags": tags, "fields": fields, "entities": ents, "time": a.Time,
	}
}

func eventVars(ev *mdr.Event) map[string]any {
	if ev == nil {
		return map[string]any{}
	}
	m := make(map[string]any, ev.Len())
	for k, v := range ev.Fields() {
		m[k] = v.Any()
	}
	return m
}

// match evaluates the suppressions in order and returns the first that
// holds for a (at its event time); an evaluation error is returned with the
// suppression's id and the alert is not suppressed by it.
func matchSuppressions(ctx context.Context, sups []*compiledSuppression, a *mdr.Alert, ev *mdr.Event) (*compiledSuppression, error) {
	var av, evFull map[string]any
	empty := map[string]any{}
	var firstErr error
	for _, s := range sups {
		if !s.Expires.IsZero() && !a.Time.Before(s.Expires) {
			continue
		}
		if av == nil {
			av = alertVars(a)
		}
		evv := empty
		if s.useEvent {
			if evFull == nil {
				evFull = eventVars(ev)
			}
			evv = evFull
		}
		out, _, err := s.prg.ContextEval(ctx, map[string]any{"alert": av, "event": evv})
		if err != nil {
			// a missing key is "does not hold", not an error
			if strings.Contains(err.Error(), "no such key") {
				continue
			}
			if firstErr == nil {
				firstErr = fmt.Errorf("suppression %q on alert %s: %w", s.ID, a.ID, err)
			}
			continue
		}
		if out == types.True {
			return s, firstErr
		}
	}
	return nil, firstErr
}
