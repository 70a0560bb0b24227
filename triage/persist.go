package triage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// StateKey is the key of the queue's snapshot in store.State.
const StateKey = "triage/queue"

// snapshotVersion is the layout of the snapshot; a store holding another
// is refused.
const snapshotVersion = 1

// snapshot is what the records of alerts and incidents do not hold.
type snapshot struct {
	Version      int                 `json:"version"`
	Seq          uint64              `json:"seq"`
	Rarity       *rarity             `json:"rarity"`
	Risk         *entityRisk         `json:"risk"`
	Feedback     *Feedback           `json:"feedback,omitempty"`
	Suppressions []Suppression       `json:"suppressions,omitempty"`
	LastSeq      map[string]uint64   `json:"last_seq"`  // incident → last activity
	ByEntity     map[string][]string `json:"by_entity"` // entity key → incidents
	ByChain      map[string]string   `json:"by_chain"`  // causal chain id → incident
	Dedup        map[string]string   `json:"dedup"`     // dedup key → alert
	Chains       map[string][]string `json:"chains"`    // incident → chain ids it indexed
	Keys         map[string][]string `json:"keys"`      // incident → entity keys it indexed
	Stats        Stats               `json:"stats"`
}

func alertOf(rec store.AlertRecord) Alert {
	first := rec.First
	if first.IsZero() {
		first = rec.Alert.Time
	}
	count := max(rec.Count, 1)
	a := Alert{Alert: rec.Alert, Count: count, First: first, Status: rec.Status, IncidentID: rec.IncidentID, Version: rec.Version,
		Score: Score{Total: rec.Score, Level: LevelOf(rec.Score), Parts: rec.Parts}}
	if rec.Status == AlertSuppressed {
		a.SuppressedBy = rec.Reason
	}
	return a
}

func recordOf(as *alertState) store.AlertRecord {
	return store.AlertRecord{Alert: as.Alert.Alert, Status: as.Status, Score: as.Score.Total, Parts: as.Score.Parts,
		Count: as.Count, First: as.First, Reason: as.SuppressedBy, IncidentID: as.IncidentID, Version: as.Version}
}

// Flush writes every alert and incident changed since the last Flush (one
// versioned write each) and the snapshot of the learned state. After a
// Flush, Open on the same store gives the same queue.
func (q *Queue) Flush(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.flush(ctx)
}

func (q *Queue) flush(ctx context.Context) error {
	now := q.now().UTC()
	as := make([]*alertState, 0, len(q.dirtyA))
	for _, a := range q.dirtyA {
		if a.dirty {
			as = append(as, a)
		}
	}
	slices.SortFunc(as, func(a, b *alertState) int { return cmpStr(a.ID, b.ID) })
	for _, a := range as {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec := recordOf(a)
		rec.Updated = now
		var out store.AlertRecord
		var err error
		if rec.Version == 0 {
			out, err = q.st.PutAlert(ctx, rec)
			if errors.Is(err, mdr.ErrConflict) {
				// an alert pushed again after its record left memory
				// (evicted, or before a restart): the stored one stays
				q.stats.ReplayedStored++
				a.dirty = false
				continue
			}
		} else {
			out, err = q.st.UpdateAlert(ctx, rec)
		}
		if err != nil {
			return fmt.Errorf("triage: write alert %s: %w", a.ID, err)
		}
		a.Version = out.Version
		a.dirty = false
	}
	q.dirtyA = q.dirtyA[:0]
	incs := make([]*incState, 0, len(q.dirtyI))
	for _, inc := range q.dirtyI {
		if inc.dirty {
			incs = append(incs, inc)
		}
	}
	slices.SortFunc(incs, func(a, b *incState) int { return cmpStr(a.in.ID, b.in.ID) })
	for _, inc := range incs {
		if err := ctx.Err(); err != nil {
			return err
		}
		q.materialize(inc)
		rec := inc.in
		rec.Updated = now
		var out mdr.Incident
		var err error
		if rec.Version == 0 {
			out, err = q.st.PutIncident(ctx, rec)
			if errors.Is(err, mdr.ErrConflict) {
				// replayed alerts re-created an incident that left memory:
				// continue the stored one
				if err = q.adoptStored(ctx, inc); err == nil {
					rec = inc.in
					rec.Updated = now
					out, err = q.st.UpdateIncident(ctx, rec)
				}
			}
		} else {
			out, err = q.st.UpdateIncident(ctx, rec)
		}
		if err != nil {
			return fmt.Errorf("triage: write incident %s: %w", rec.ID, err)
		}
		inc.in.Version, inc.in.Updated = out.Version, now
		inc.dirty = false
	}
	q.dirtyI = q.dirtyI[:0]
	return q.writeSnapshot(ctx)
}

// adoptStored makes inc, re-created in memory under an id already stored,
// the continuation of the stored incident: its version, status, assignee,
// notes, creation time, reopen count and earlier alerts are kept, and the
// counts of the alerts pushed since are added.
func (q *Queue) adoptStored(ctx context.Context, inc *incState) error {
	st, err := q.st.GetIncident(ctx, inc.in.ID)
	if err != nil {
		return err
	}
	in := &inc.in
	known := make(map[string]bool, len(st.AlertIDs))
	for _, id := range st.AlertIDs {
		known[id] = true
	}
	ids := st.AlertIDs
	alerts, suppressed := st.Alerts, st.Suppressed
	for _, as := range inc.members {
		if known[as.ID] {
			continue
		}
		ids = append(ids, as.ID)
		alerts += as.Count
		if as.Status == AlertSuppressed {
			suppressed += as.Count
		}
	}
	in.Version, in.Status, in.Assignee, in.Notes, in.Created, in.Reopened = st.Version, st.Status, st.Assignee, st.Notes, st.Created, st.Reopened
	in.AlertIDs, in.Alerts, in.Suppressed = ids, alerts, suppressed
	if st.First.Before(in.First) {
		in.First = st.First
	}
	if st.Last.After(in.Last) {
		in.Last = st.Last
	}
	q.stats.ReplayedStored++
	return nil
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (q *Queue) writeSnapshot(ctx context.Context) error {
	s := snapshot{Version: snapshotVersion, Seq: q.seq, Rarity: q.rarity, Risk: q.risk, Suppressions: q.added, Stats: q.stats,
		LastSeq: map[string]uint64{}, ByEntity: map[string][]string{}, ByChain: map[string]string{}, Dedup: map[string]string{},
		Chains: map[string][]string{}, Keys: map[string][]string{}}
	if !q.sharedFB {
		s.Feedback = q.fb
	}
	for id, inc := range q.incidents {
		s.LastSeq[id] = inc.lastSeq
		if len(inc.chain) > 0 {
			s.Chains[id] = inc.chain
		}
		if len(inc.keys) > 0 {
			s.Keys[id] = inc.keys
		}
	}
	for k, l := range q.byEntity {
		ids := make([]string, len(l))
		for i, inc := range l {
			ids[i] = inc.in.ID
		}
		s.ByEntity[k] = ids
	}
	for k, inc := range q.byChain {
		s.ByChain[k] = inc.in.ID
	}
	for k, as := range q.dedup {
		s.Dedup[k] = as.ID
	}
	b, err := json.Marshal(&s)
	if err != nil {
		return err
	}
	if err := q.st.PutState(ctx, StateKey, b); err != nil {
		return fmt.Errorf("triage: write state: %w", err)
	}
	return nil
}

// load reads the queue's snapshot, incidents and alerts from the store.
func (q *Queue) load(ctx context.Context) error {
	b, err := q.st.GetState(ctx, StateKey)
	if errors.Is(err, mdr.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("triage: read state: %w", err)
	}
	var s snapshot
	s.Rarity = q.rarity
	if !q.sharedFB {
		s.Feedback = q.fb
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("triage: read state: %w", err)
	}
	if s.Version != snapshotVersion {
		return fmt.Errorf("triage: state version %d, this build reads %d: %w", s.Version, snapshotVersion, mdr.ErrInvalid)
	}
	if s.Rarity == nil || s.Rarity.RuleHosts == nil {
		s.Rarity = newRarity(q.cfg.MaxPatterns, q.cfg.Weights.Prevalence, q.cfg.Weights.Repeat, q.baseline)
	}
	q.rarity.RuleHosts, q.rarity.Patterns, q.rarity.Dropped = s.Rarity.RuleHosts, s.Rarity.Patterns, s.Rarity.Dropped
	if q.rarity.Patterns == nil {
		q.rarity.Patterns = map[string]uint32{}
	}
	if s.Risk != nil && s.Risk.Entities != nil {
		q.risk.Entities, q.risk.Dropped = s.Risk.Entities, s.Risk.Dropped
	}
	q.seq, q.stats = s.Seq, s.Stats
	for _, sp := range s.Suppressions {
		if err := q.addSuppression(sp); err != nil {
			return fmt.Errorf("triage: stored suppression: %w", err)
		}
	}
	// incidents the snapshot knew in memory, with their alerts
	alertsOf := map[string][]store.AlertRecord{}
	for rec, err := range q.st.ListAlerts(ctx, store.ListQuery{Order: store.ByTime}) {
		if err != nil {
			return fmt.Errorf("triage: read alerts: %w", err)
		}
		if rec.IncidentID != "" {
			if _, ok := s.LastSeq[rec.IncidentID]; !ok {
				continue
			}
		} else if _, ok := s.Dedup[q.dedupKey(&rec.Alert)]; !ok {
			continue
		}
		alertsOf[rec.IncidentID] = append(alertsOf[rec.IncidentID], rec)
	}
	for id := range s.LastSeq {
		rec, err := q.st.GetIncident(ctx, id)
		if err != nil {
			return fmt.Errorf("triage: read incident %s: %w", id, err)
		}
		inc := q.rebuild(rec, alertsOf[id])
		inc.lastSeq = s.LastSeq[id]
		inc.keys, inc.chain = s.Keys[id], s.Chains[id]
	}
	for _, rec := range alertsOf[""] {
		a := &alertState{Alert: alertOf(rec), key: q.dedupKey(&rec.Alert)}
		q.alerts[a.ID] = a
	}
	for k, ids := range s.ByEntity {
		for _, id := range ids {
			if inc := q.incidents[id]; inc != nil {
				q.byEntity[k] = append(q.byEntity[k], inc)
			}
		}
	}
	for k, id := range s.ByChain {
		if inc := q.incidents[id]; inc != nil {
			q.byChain[k] = inc
		}
	}
	for k, id := range s.Dedup {
		if a := q.alerts[id]; a != nil {
			q.dedup[k] = a
		}
	}
	return nil
}

// rebuild makes an incident held in memory again from its record and its
// alerts, as it was when written.
func (q *Queue) rebuild(rec mdr.Incident, recs []store.AlertRecord) *incState {
	inc := &incState{rules: map[string]*ruleAgg{}}
	saved := rec
	inc.in = mdr.Incident{ID: rec.ID, First: rec.First, Last: rec.Last}
	for _, r := range recs {
		a := &alertState{Alert: alertOf(r), key: q.dedupKey(&r.Alert)}
		inc.add(q, a)
		q.alerts[a.ID] = a
	}
	members, techOrd := inc.members, inc.techOrd
	rules, tactics := inc.rules, inc.tactics
	inc.in = saved
	inc.members, inc.rules, inc.tactics, inc.techOrd = members, rules, tactics, techOrd
	q.incidents[rec.ID] = inc
	return inc
}

// reload holds an evicted incident in memory again (with its alerts).
func (q *Queue) reload(ctx context.Context, rec mdr.Incident) (*incState, error) {
	var recs []store.AlertRecord
	for _, id := range rec.AlertIDs {
		r, err := q.st.GetAlert(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("triage: read alert %s of incident %s: %w", id, rec.ID, err)
		}
		recs = append(recs, r)
	}
	inc := q.rebuild(rec, recs)
	inc.lastSeq = q.seq
	return inc, nil
}

// Top flushes the queue and returns the n incidents with the highest score
// (all when n <= 0), highest first, each with its score parts.
func (q *Queue) Top(ctx context.Context, n int) ([]mdr.Incident, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.flush(ctx); err != nil {
		return nil, err
	}
	var out []mdr.Incident
	for rec, err := range q.st.ListIncidents(ctx, store.ListQuery{Order: store.ByScore, Limit: max(n, 0)}) {
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// Incident returns one incident as last flushed or changed.
func (q *Queue) Incident(ctx context.Context, id string) (mdr.Incident, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	inc, err := q.incident(ctx, id)
	if err != nil {
		return mdr.Incident{}, err
	}
	q.materialize(inc)
	c := inc.in
	c.AlertIDs, c.Hosts, c.Users = slices.Clone(c.AlertIDs), slices.Clone(c.Hosts), slices.Clone(c.Users)
	c.Tactics, c.Techniques, c.Rules = slices.Clone(c.Tactics), slices.Clone(c.Techniques), slices.Clone(c.Rules)
	c.Parts, c.TopAlertIDs, c.EntityIDs, c.Notes = slices.Clone(c.Parts), slices.Clone(c.TopAlertIDs), slices.Clone(c.EntityIDs), slices.Clone(c.Notes)
	return c, nil
}

// Alerts returns the alerts of an incident, oldest first, each with its
// score parts, count and status.
func (q *Queue) Alerts(ctx context.Context, incidentID string) ([]Alert, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	inc, err := q.incident(ctx, incidentID)
	if err != nil {
		return nil, err
	}
	out := make([]Alert, 0, len(inc.members))
	for _, as := range inc.members {
		a := as.Alert
		a.EventIDs, a.Score.Parts = slices.Clone(a.EventIDs), slices.Clone(a.Score.Parts)
		out = append(out, a)
	}
	return out, nil
}
