package triage

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/mdrkit/mdr"
)

// incState is an incident in memory: its record and what its score is
// computed from.
type incState struct {
	in      mdr.Incident
	rules   map[string]*ruleAgg
	tactics [15]time.Time  // earliest event time per tactic (index = kill-chain order)
	techOrd map[string]int // technique → earliest kill-chain order of the tactics it came with
	members []*alertState
	keys    []string // byEntity keys pointing here
	chain   []string // byChain keys pointing here
	lastSeq uint64
	evicted bool
	dirty   bool
}

type ruleAgg struct {
	id, title string
	level     mdr.Severity
	best      float64
	bestAlert string
	bestFirst time.Time
	count     int
}

func appendUnique(s []string, v string, limit int) []string {
	if v == "" || len(s) >= limit || slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func (inc *incState) touch(q *Queue, t time.Time) {
	inc.lastSeq = q.seq
	if t.Before(inc.in.First) {
		inc.in.First = t
	}
	if t.After(inc.in.Last) {
		inc.in.Last = t
	}
}

// add puts an alert into the incident (the alert is new to the queue or
// being reloaded).
func (inc *incState) add(q *Queue, as *alertState) {
	as.inc, as.IncidentID = inc, inc.in.ID
	inc.members = append(inc.members, as)
	in := &inc.in
	if len(in.AlertIDs) < maxAlertIDs {
		in.AlertIDs = append(in.AlertIDs, as.ID)
	}
	inc.touch(q, as.First)
	inc.touch(q, as.Time)
	in.Alerts += as.Count
	if as.Status == AlertSuppressed {
		in.Suppressed += as.Count
		return
	}
	r := inc.rules[as.RuleID]
	if r == nil {
		r = &ruleAgg{id: as.RuleID, title: as.RuleTitle}
		inc.rules[as.RuleID] = r
	}
	r.count += as.Count
	r.level = max(r.level, as.Severity)
	// the best alert of the rule; ties go to the earliest, then the
	// smallest id, so the order alerts arrive in does not matter
	if r.bestAlert == "" || as.Score.Total > r.best || (as.Score.Total == r.best &&
		(as.First.Before(r.bestFirst) || (as.First.Equal(r.bestFirst) && as.ID < r.bestAlert))) {
		r.best, r.bestAlert, r.bestFirst = as.Score.Total, as.ID, as.First
	}
	if as.Severity > in.Severity {
		in.Severity = as.Severity
	}
	in.Hosts = appendUnique(in.Hosts, as.Host, maxListPerIncident)
	for i := range as.Entities {
		e := &as.Entities[i]
		switch e.Kind {
		case mdr.EntityUser:
			if !q.ignored(e.Name) {
				in.Users = appendUnique(in.Users, e.Name, maxListPerIncident)
			}
		case mdr.EntityHost:
			in.Hosts = appendUnique(in.Hosts, e.Name, maxListPerIncident)
		}
		in.EntityIDs = appendUnique(in.EntityIDs, e.ID, maxListPerIncident)
	}
	tags := q.tagsOf(&as.Alert.Alert)
	if as.Score.Total >= 10 {
		for _, t := range tags.tactics {
			if old := inc.tactics[t.Order]; old.IsZero() || as.First.Before(old) {
				inc.tactics[t.Order] = as.First
			}
		}
	}
	ord := 99
	for _, t := range tags.tactics {
		ord = min(ord, t.Order)
	}
	for _, t := range tags.techniques {
		in.Techniques = appendUnique(in.Techniques, t, maxListPerIncident)
		if o, ok := inc.techOrd[t]; !ok || ord < o {
			if inc.techOrd == nil {
				inc.techOrd = map[string]int{}
			}
			if ok || len(inc.techOrd) < maxListPerIncident {
				inc.techOrd[t] = ord
			}
		}
	}
}

// materialize fills the record's derived fields: score and parts, level,
// title, tactics, rule counts, top alerts.
func (q *Queue) materialize(inc *incState) {
	in := &inc.in
	rules := make([]*ruleAgg, 0, len(inc.rules))
	for _, r := range inc.rules {
		rules = append(rules, r)
	}
	slices.SortFunc(rules, func(a, b *ruleAgg) int {
		if a.best != b.best {
			if a.best > b.best {
				return -1
			}
			return 1
		}
		return strings.Compare(a.id, b.id)
	})
	var parts []Part
	var risk float64
	for i, r := range rules {
		risk += r.best / math.Pow(float64(i+1), 1.5)
	}
	if len(rules) > 0 {
		d := fmt.Sprintf("highest alert %.1f (%s)", rules[0].best, rules[0].title)
		if len(rules) > 1 {
			d += fmt.Sprintf(" + %d more rules at 1/i^1.5", len(rules)-1)
		}
		parts = append(parts, Part{Name: "risk", Value: round2(risk), Detail: d})
	}
	if w := q.cfg.Weights.EntityRisk; w > 0 && len(rules) > 0 {
		best, which, n := 0.0, "", 0
		seen := map[string]bool{}
		for _, as := range inc.members {
			q.riskKeys(&as.Alert.Alert, func(k string) {
				if seen[k] {
					return
				}
				seen[k] = true
				r, c := q.risk.risk(k, in.Last)
				if other := r - risk; other > best {
					best, which, n = other, k, c
				}
			})
			if len(seen) > 16 {
				break
			}
		}
		if best > 0 {
			parts = append(parts, Part{Name: "entity_risk", Value: round2(w * best),
				Detail: fmt.Sprintf("%s: %.1f more risk from %d rules within %v", which, best, n, q.cfg.RiskWindow)})
		}
	}
	// tactics in kill-chain order, and whether they appeared in that order
	in.Tactics = in.Tactics[:0]
	var times []time.Time
	for o := 1; o < len(inc.tactics); o++ {
		if !inc.tactics[o].IsZero() {
			in.Tactics = append(in.Tactics, mdr.Tactics[o-1].Name)
			times = append(times, inc.tactics[o])
		}
	}
	// techniques in the kill-chain order of the tactics they came with
	slices.SortStableFunc(in.Techniques, func(a, b string) int { return inc.techOrd[a] - inc.techOrd[b] })
	if n := len(in.Tactics); n > 1 && q.cfg.Weights.Tactic > 0 {
		v := q.cfg.Weights.Tactic * float64(n-1)
		d := fmt.Sprintf("%d tactics: %s", n, strings.Join(in.Tactics, " → "))
		if slices.IsSortedFunc(times, func(a, b time.Time) int { return a.Compare(b) }) {
			v *= 1.5
			d += " (in kill-chain order)"
		}
		parts = append(parts, Part{Name: "tactics", Value: round2(v), Detail: d})
	}
	var sofar float64
	for _, p := range parts {
		sofar += p.Value
	}
	for _, s := range q.iscorers {
		n := len(parts)
		parts = s.ScoreIncident(in, sofar, parts)
		for _, p := range parts[n:] {
			sofar += p.Value
		}
	}
	sc := newScore(parts)
	in.Score, in.Level, in.Parts = sc.Total, sc.Level, sc.Parts
	in.Rules = in.Rules[:0]
	for _, r := range rules {
		in.Rules = append(in.Rules, mdr.RuleCount{RuleID: r.id, Title: r.title, Level: r.level, Count: r.count})
	}
	slices.SortStableFunc(in.Rules, func(a, b mdr.RuleCount) int { return b.Count - a.Count })
	in.TopAlertIDs = in.TopAlertIDs[:0]
	for _, r := range rules {
		if len(in.TopAlertIDs) >= q.cfg.TopAlerts {
			break
		}
		in.TopAlertIDs = append(in.TopAlertIDs, r.bestAlert)
	}
	if len(rules) > 0 {
		host := ""
		if len(in.Hosts) > 0 {
			host = " on " + in.Hosts[0]
			if len(in.Hosts) > 1 {
				host += fmt.Sprintf(" and %d more hosts", len(in.Hosts)-1)
			}
		}
		in.Title = rules[0].title + host
		if len(rules) > 1 {
			in.Title += fmt.Sprintf(" (+%d rules)", len(rules)-1)
		}
	} else if in.Title == "" {
		in.Title = "suppressed alerts"
	}
}
