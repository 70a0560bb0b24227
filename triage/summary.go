package triage

import (
	"context"
	"slices"
	"time"

	"github.com/mdrkit/mdr"
)

// Summary is an incident as a report shows it: what, where, when, how bad
// (score, level, parts), which rules, and every event id of every alert.
// It is a plain value.
type Summary struct {
	IncidentID string       `json:"incident_id"`
	Score      float64      `json:"score"`
	Level      mdr.Severity `json:"level"`
	Title      string       `json:"title"`
	Status     string       `json:"-"`
	Hosts      []string     `json:"hosts"`
	Users      []string     `json:"users"`
	Tactics    []string     `json:"tactics"`
	Techniques []string     `json:"techniques"`
	First      time.Time    `json:"first"`
	Last       time.Time    `json:"last"`
	Alerts     int          `json:"alerts"`
	Suppressed int          `json:"suppressed"`
	Rules      []RuleLine   `json:"rules"`
	EventIDs   []string     `json:"event_ids"`
	Parts      []PartLine   `json:"parts"`
}

// RuleLine is one rule of a Summary with the number of its alerts.
type RuleLine struct {
	RuleID string       `json:"rule_id"`
	Title  string       `json:"title"`
	Level  mdr.Severity `json:"level"`
	Count  int          `json:"count"`
}

// PartLine is one score part of a Summary.
type PartLine struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Detail string  `json:"detail"`
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Summaries flushes the queue and returns its top n incidents (all when
// n <= 0), highest score first, as Summary values.
func (q *Queue) Summaries(ctx context.Context, n int) ([]Summary, error) {
	incs, err := q.Top(ctx, n)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, 0, len(incs))
	for _, in := range incs {
		as, err := q.Alerts(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, a := range as {
			ids = append(ids, a.EventIDs...)
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		rules := make([]RuleLine, len(in.Rules))
		for i, r := range in.Rules {
			rules[i] = RuleLine(r)
		}
		parts := make([]PartLine, len(in.Parts))
		for i, p := range in.Parts {
			parts[i] = PartLine(p)
		}
		out = append(out, Summary{IncidentID: in.ID, Score: in.Score, Level: in.Level, Title: in.Title, Status: in.Status,
			Hosts: nonNil(in.Hosts), Users: nonNil(in.Users), Tactics: nonNil(in.Tactics), Techniques: nonNil(in.Techniques),
			First: in.First, Last: in.Last, Alerts: in.Alerts, Suppressed: in.Suppressed, Rules: rules,
			EventIDs: nonNil(ids), Parts: parts})
	}
	return out, nil
}
