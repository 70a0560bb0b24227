package triage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// transitions is the state machine of an incident's status: the statuses
// each status may move to. It is the only place statuses change; every
// change is one versioned incident write plus one audit record.
var transitions = map[string][]string{
	mdr.IncidentNew:           {mdr.IncidentTriaged, mdr.IncidentInvestigating, mdr.IncidentContained, mdr.IncidentClosed, mdr.IncidentFalsePositive},
	mdr.IncidentTriaged:       {mdr.IncidentInvestigating, mdr.IncidentContained, mdr.IncidentClosed, mdr.IncidentFalsePositive},
	mdr.IncidentInvestigating: {mdr.IncidentContained, mdr.IncidentRemediated, mdr.IncidentClosed, mdr.IncidentFalsePositive},
	mdr.IncidentContained:     {mdr.IncidentInvestigating, mdr.IncidentRemediated, mdr.IncidentClosed},
	mdr.IncidentRemediated:    {mdr.IncidentInvestigating, mdr.IncidentClosed},
	mdr.IncidentClosed:        {mdr.IncidentNew},
	mdr.IncidentFalsePositive: {mdr.IncidentNew},
}

// Allowed reports whether the transition table lets an incident move from
// one status to another.
func Allowed(from, to string) bool { return slices.Contains(transitions[from], to) }

// Statuses returns every incident status in the order of an incident's
// life.
func Statuses() []string {
	return []string{mdr.IncidentNew, mdr.IncidentTriaged, mdr.IncidentInvestigating, mdr.IncidentContained,
		mdr.IncidentRemediated, mdr.IncidentClosed, mdr.IncidentFalsePositive}
}

// auditEntry is the payload of a triage audit record.
type auditEntry struct {
	From     string   `json:"from,omitempty"`
	To       string   `json:"to,omitempty"`
	Assignee string   `json:"assignee,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Verdict  *Verdict `json:"verdict,omitempty"`
	Version  uint64   `json:"version"`
}

// writeIncident stores inc's record (create or versioned update) and
// appends one audit record.
func (q *Queue) writeIncident(ctx context.Context, inc *incState, actor, action string, e auditEntry) error {
	q.materialize(inc)
	rec := inc.in
	rec.Updated = q.now().UTC()
	var out mdr.Incident
	var err error
	if rec.Version == 0 {
		out, err = q.st.PutIncident(ctx, rec)
	} else {
		out, err = q.st.UpdateIncident(ctx, rec)
	}
	if err != nil {
		return fmt.Errorf("triage: %s incident %s: %w", action, rec.ID, err)
	}
	inc.in.Version, inc.in.Updated = out.Version, rec.Updated
	inc.dirty = false
	e.Version = out.Version
	payload, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := q.st.AppendAudit(ctx, store.AuditRecord{Time: rec.Updated, Actor: actor, Action: action, Target: rec.ID, Payload: payload}); err != nil {
		return fmt.Errorf("triage: audit %s of incident %s: %w", action, rec.ID, err)
	}
	return nil
}

// transition moves inc to status to through the table.
func (q *Queue) transition(ctx context.Context, inc *incState, to, actor, reason string) error {
	from := inc.in.Status
	if !Allowed(from, to) {
		return &TransitionError{Incident: inc.in.ID, From: from, To: to}
	}
	inc.in.Status = to
	if err := q.writeIncident(ctx, inc, actor, "incident.status", auditEntry{From: from, To: to, Reason: reason}); err != nil {
		inc.in.Status = from
		return err
	}
	return nil
}

// incident returns the incident with id from memory or, when evicted, from
// the store (it is then held again).
func (q *Queue) incident(ctx context.Context, id string) (*incState, error) {
	if inc := q.incidents[id]; inc != nil {
		return inc, nil
	}
	// evicted but not yet written: the memory copy is the newer one
	for _, inc := range q.dirtyI {
		if inc.dirty && inc.evicted && inc.in.ID == id {
			q.incidents[id] = inc
			inc.evicted, inc.lastSeq = false, q.seq
			return inc, nil
		}
	}
	rec, err := q.st.GetIncident(ctx, id)
	if errors.Is(err, mdr.ErrNotFound) {
		return nil, fmt.Errorf("%w: incident %s", ErrUnknown, id)
	}
	if err != nil {
		return nil, err
	}
	return q.reload(ctx, rec)
}

// SetStatus moves an incident to a new status, if the transition table
// allows it (a *TransitionError otherwise), as one versioned write and one
// audit record by author.
func (q *Queue) SetStatus(ctx context.Context, incidentID, status, author, reason string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	inc, err := q.incident(ctx, incidentID)
	if err != nil {
		return err
	}
	return q.transition(ctx, inc, status, author, reason)
}

// Assign gives an incident to an analyst (one write, one audit record).
func (q *Queue) Assign(ctx context.Context, incidentID, assignee, author string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	inc, err := q.incident(ctx, incidentID)
	if err != nil {
		return err
	}
	old := inc.in.Assignee
	inc.in.Assignee = assignee
	if err := q.writeIncident(ctx, inc, author, "incident.assign", auditEntry{Assignee: assignee}); err != nil {
		inc.in.Assignee = old
		return err
	}
	return nil
}

// VerdictIncident records an analyst's verdict on an incident: every rule
// and host of its alerts learns it (see Feedback), a benign verdict moves
// the incident to false_positive and a malicious one from new to
// investigating (when the table allows), with v.Suppress a suppression of
// the incident's rules on its hosts is created; all of it is one incident
// write and one audit record.
func (q *Queue) VerdictIncident(ctx context.Context, incidentID string, v Verdict) error {
	if v.Author == "" {
		return fmt.Errorf("%w: a verdict needs an author", ErrConfig)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	inc, err := q.incident(ctx, incidentID)
	if err != nil {
		return err
	}
	pairs := map[[2]string]bool{}
	for _, as := range inc.members {
		if as.Status != AlertSuppressed {
			pairs[[2]string{as.RuleID, as.Host}] = true
		}
	}
	keys := make([][2]string, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return strings.Compare(a[0]+"|"+a[1], b[0]+"|"+b[1]) })
	for _, k := range keys {
		q.fb.Record(k[0], k[1], v.Malicious)
	}
	if !v.Malicious {
		// alerts judged benign carry no entity risk
		for _, as := range inc.members {
			q.riskKeys(&as.Alert.Alert, func(key string) { q.risk.forget(key, as.RuleID) })
		}
	}
	from, to := inc.in.Status, inc.in.Status
	if !v.Malicious && Allowed(from, mdr.IncidentFalsePositive) {
		to = mdr.IncidentFalsePositive
	} else if v.Malicious && from == mdr.IncidentNew {
		to = mdr.IncidentInvestigating
	}
	if v.Suppress != nil && !v.Malicious {
		if err := q.suppressPairs(inc.in.ID, keys, v); err != nil {
			return err
		}
	}
	inc.in.Status = to
	inc.in.Notes = append(inc.in.Notes, mdr.Note{Time: q.now().UTC(), Author: v.Author, Text: verdictText(v)})
	if err := q.writeIncident(ctx, inc, v.Author, "incident.verdict", auditEntry{From: from, To: to, Verdict: &v}); err != nil {
		inc.in.Status = from
		return err
	}
	return q.writeSnapshot(ctx)
}

func verdictText(v Verdict) string {
	s := "verdict: benign"
	if v.Malicious {
		s = "verdict: malicious"
	}
	if v.Reason != "" {
		s += ": " + v.Reason
	}
	return s
}

// VerdictAlert records a verdict on one alert: its rule and host learn it,
// and with v.Suppress a suppression of the rule on the host is created. The
// alert's incident gets a note; one incident write (when the alert is in
// one) and one audit record.
func (q *Queue) VerdictAlert(ctx context.Context, alertID string, v Verdict) error {
	if v.Author == "" {
		return fmt.Errorf("%w: a verdict needs an author", ErrConfig)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	as := q.alerts[alertID]
	if as == nil {
		rec, err := q.st.GetAlert(ctx, alertID)
		if err != nil {
			return fmt.Errorf("%w: alert %s: %v", ErrUnknown, alertID, err)
		}
		as = &alertState{Alert: alertOf(rec)}
	}
	q.fb.Record(as.RuleID, as.Host, v.Malicious)
	if !v.Malicious {
		q.riskKeys(&as.Alert.Alert, func(key string) { q.risk.forget(key, as.RuleID) })
	}
	if v.Suppress != nil && !v.Malicious {
		if err := q.suppressPairs(alertID, [][2]string{{as.RuleID, as.Host}}, v); err != nil {
			return err
		}
	}
	if as.inc != nil {
		inc := as.inc
		inc.in.Notes = append(inc.in.Notes, mdr.Note{Time: q.now().UTC(), Author: v.Author, Text: verdictText(v) + " (alert " + alertID + ")"})
		if err := q.writeIncident(ctx, inc, v.Author, "alert.verdict", auditEntry{Verdict: &v, Reason: "alert " + alertID}); err != nil {
			return err
		}
	} else {
		payload, _ := json.Marshal(auditEntry{Verdict: &v})
		if _, err := q.st.AppendAudit(ctx, store.AuditRecord{Time: q.now().UTC(), Actor: v.Author, Action: "alert.verdict", Target: alertID, Payload: payload}); err != nil {
			return err
		}
	}
	return q.writeSnapshot(ctx)
}

// suppressPairs adds one suppression per verdict for the rule and host
// pairs.
func (q *Queue) suppressPairs(target string, pairs [][2]string, v Verdict) error {
	var exp time.Time
	if v.Suppress.Expires != "" {
		t, err := time.Parse(time.RFC3339, v.Suppress.Expires)
		if err != nil {
			return fmt.Errorf("%w: suppression expiry %q: %v", ErrConfig, v.Suppress.Expires, err)
		}
		exp = t
	}
	var conds []string
	for _, p := range pairs {
		rule, _ := json.Marshal(p[0])
		host, _ := json.Marshal("(?i)^" + regexp.QuoteMeta(p[1]) + "$")
		conds = append(conds, fmt.Sprintf("(alert.rule_id == %s && alert.host.matches(%s))", rule, host))
	}
	if len(conds) == 0 {
		return nil
	}
	s := Suppression{ID: fmt.Sprintf("verdict:%s:%d", target, len(q.sups)+1), When: strings.Join(conds, " || "),
		Reason: v.Reason, Author: v.Author, Expires: exp}
	if s.Reason == "" {
		s.Reason = "benign verdict on " + target
	}
	return q.addSuppression(s)
}

// AddSuppression adds a suppression rule (its When must compile). It
// applies to alerts pushed from then on and is persisted with the queue's
// state at the next Flush.
func (q *Queue) AddSuppression(s Suppression) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.addSuppression(s)
}

func (q *Queue) addSuppression(s Suppression) error {
	for _, o := range q.sups {
		if o.ID == s.ID {
			return fmt.Errorf("%w: suppression %q exists", ErrConfig, s.ID)
		}
	}
	cs, err := compileSuppression(q.env, s)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	q.sups = append(q.sups, cs)
	q.added = append(q.added, s)
	return nil
}
