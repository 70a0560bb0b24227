package remediate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// Store is what remediate persists to: plans and step records as state
// values (store.State), and one audit record per transition in the
// hash-chained log (store.Audit). store.Memory and store/badger provide both.
type Store interface {
	store.State
	store.Audit
}

// Key layout in store.State (versioned by the "v1" element):
//
//	remediate/v1/plan/<plan id>          the Plan as JSON (written once)
//	remediate/v1/step/<plan id>/<step>   the StepRecord as JSON (one write per transition)
//	remediate/v1/index                   the ids of the plans saved, newest last (bounded)
const (
	keyPlan  = "remediate/v1/plan/"
	keyStep  = "remediate/v1/step/"
	keyIndex = "remediate/v1/index"
)

// MaxIndexedPlans bounds the list of saved plans kept for History; older
// plans stay in the store but drop out of the list (counted in
// Index.Dropped).
const MaxIndexedPlans = 4096

// Audit actions written by remediate: "remediate.plan" when a plan is
// saved, "remediate.<event>" for each transition (remediate.approve,
// remediate.begin, ...), and "remediate.<event>.recovered" for a transition
// whose audit record a crash lost and a resume wrote.
const (
	AuditPlan      = "remediate.plan"
	auditPrefix    = "remediate."
	auditRecovered = ".recovered"
	defaultActor   = "remediate"
)

// StepRecord is the persisted state of one step of a saved plan. It is a
// plain value, safe to copy.
type StepRecord struct {
	Plan    string    `json:"plan"`
	Step    string    `json:"step"`
	State   State     `json:"state"`
	Version uint64    `json:"version"`
	Updated time.Time `json:"updated,omitzero"`
	// By is the principal of the last move ("remediate" when automatic).
	By string `json:"by,omitempty"`
	// Attempts counts the times the step's command was begun.
	Attempts int `json:"attempts,omitempty"`
	// Status and Detail are the last OpenC2 status code and status text,
	// or the error, of the step's command or post-condition.
	Status int    `json:"status,omitempty"`
	Detail string `json:"detail,omitempty"`
	// NotFound says the actuator reported the target already absent (the
	// step counts as applied: what it would remove is gone).
	NotFound bool `json:"not_found,omitempty"`
	// Undo is the compensating command the actuator returned, as OpenC2
	// JSON; empty when the step cannot be reverted.
	Undo json.RawMessage `json:"undo,omitempty"`
	// SHA256 is the hash of the file a file step removed, as the actuator
	// reported it; Reverify looks for it in later telemetry.
	SHA256 string `json:"sha256,omitempty"`
	// CommandID is the command_id of the step's last command.
	CommandID string `json:"command_id,omitempty"`
	// Order is the position at which the step reached applying in its
	// plan's run (1, 2, ...), the order compensation reverses.
	Order uint64 `json:"order,omitempty"`
}

// planRecord is a Plan as saved, with where its audit records start.
type planRecord struct {
	Plan      *Plan  `json:"plan"`
	AuditFrom uint64 `json:"audit_from"`
}

// Index lists the plans saved in a store, oldest first.
type Index struct {
	Plans   []IndexEntry `json:"plans"`
	Dropped int64        `json:"dropped,omitempty"`
}

// IndexEntry is one saved plan in an Index.
type IndexEntry struct {
	ID         string    `json:"id"`
	IncidentID string    `json:"incident_id,omitempty"`
	Saved      time.Time `json:"saved"`
}

// journal is the persisted state of one plan's steps: every move is a
// versioned write of the step's record followed by one audit record. It is
// safe for concurrent use: moves of different steps run in parallel, moves
// of one step are serialised by the step's lock.
type journal struct {
	st        Store
	plan      string
	auditFrom uint64
	now       func() time.Time

	mu    sync.Mutex // guards order
	order uint64
	steps map[string]*stepSlot // fixed after load; slots lock themselves
}

type stepSlot struct {
	mu  sync.Mutex
	rec StepRecord
}

func stepKey(plan, step string) string { return keyStep + plan + "/" + step }

// savePlan writes a new plan: its audit record, then the plan record. A
// plan already saved is refused with mdr.ErrConflict.
func savePlan(ctx context.Context, st Store, p *Plan, by string, now time.Time) (*journal, error) {
	if _, err := st.GetState(ctx, keyPlan+p.ID); err == nil {
		return nil, fmt.Errorf("remediate: save plan %q: %w: already saved", p.ID, mdr.ErrConflict)
	} else if !errors.Is(err, mdr.ErrNotFound) {
		return nil, fmt.Errorf("remediate: save plan %q: %w", p.ID, err)
	}
	summary, _ := json.Marshal(struct {
		Plan     string `json:"plan"`
		Incident string `json:"incident,omitempty"`
		Steps    int    `json:"steps"`
	}{p.ID, p.IncidentID, len(p.Steps)})
	ar, err := st.AppendAudit(ctx, store.AuditRecord{Time: now, Actor: actor(by), Action: AuditPlan, Target: p.ID, Payload: summary})
	if err != nil {
		return nil, fmt.Errorf("remediate: save plan %q: audit: %w", p.ID, err)
	}
	b, err := json.Marshal(planRecord{Plan: p, AuditFrom: ar.Seq})
	if err != nil {
		return nil, fmt.Errorf("remediate: save plan %q: %w", p.ID, err)
	}
	if err := st.PutState(ctx, keyPlan+p.ID, b); err != nil {
		return nil, fmt.Errorf("remediate: save plan %q: %w", p.ID, err)
	}
	if err := addToIndex(ctx, st, IndexEntry{ID: p.ID, IncidentID: p.IncidentID, Saved: now}); err != nil {
		return nil, err
	}
	j := newJournal(st, p, ar.Seq)
	return j, nil
}

func newJournal(st Store, p *Plan, auditFrom uint64) *journal {
	j := &journal{st: st, plan: p.ID, auditFrom: auditFrom, now: time.Now, steps: make(map[string]*stepSlot, len(p.Steps))}
	for i := range p.Steps {
		id := p.Steps[i].ID
		j.steps[id] = &stepSlot{rec: StepRecord{Plan: p.ID, Step: id, State: StatePlanned}}
	}
	return j
}

func addToIndex(ctx context.Context, st Store, e IndexEntry) error {
	var ix Index
	switch b, err := st.GetState(ctx, keyIndex); {
	case err == nil:
		if err := json.Unmarshal(b, &ix); err != nil {
			return fmt.Errorf("remediate: plan index: %w", err)
		}
	case !errors.Is(err, mdr.ErrNotFound):
		return fmt.Errorf("remediate: plan index: %w", err)
	}
	ix.Plans = append(ix.Plans, e)
	if n := len(ix.Plans) - MaxIndexedPlans; n > 0 {
		ix.Plans = slices.Delete(ix.Plans, 0, n)
		ix.Dropped += int64(n)
	}
	b, err := json.Marshal(&ix)
	if err != nil {
		return err
	}
	if err := st.PutState(ctx, keyIndex, b); err != nil {
		return fmt.Errorf("remediate: plan index: %w", err)
	}
	return nil
}

// ReadIndex returns the list of plans saved in st.
func ReadIndex(ctx context.Context, st store.State) (Index, error) {
	var ix Index
	b, err := st.GetState(ctx, keyIndex)
	if errors.Is(err, mdr.ErrNotFound) {
		return ix, nil
	}
	if err != nil {
		return ix, fmt.Errorf("remediate: plan index: %w", err)
	}
	if err := json.Unmarshal(b, &ix); err != nil {
		return ix, fmt.Errorf("remediate: plan index: %w", err)
	}
	return ix, nil
}

// loadPlan reads a saved plan and its step records, and writes the audit
// records of transitions whose state write a crash left without one.
func loadPlan(ctx context.Context, st Store, id string) (*Plan, *journal, error) {
	b, err := st.GetState(ctx, keyPlan+id)
	if err != nil {
		return nil, nil, fmt.Errorf("remediate: load plan %q: %w", id, err)
	}
	var pr planRecord
	if err := json.Unmarshal(b, &pr); err != nil || pr.Plan == nil {
		return nil, nil, fmt.Errorf("remediate: load plan %q: %w: bad plan record: %v", id, mdr.ErrInvalid, err)
	}
	p := pr.Plan
	j := newJournal(st, p, pr.AuditFrom)
	for sid, slot := range j.steps {
		b, err := st.GetState(ctx, stepKey(id, sid))
		if errors.Is(err, mdr.ErrNotFound) {
			continue // never moved: planned, version 0
		}
		if err != nil {
			return nil, nil, fmt.Errorf("remediate: load plan %q step %q: %w", id, sid, err)
		}
		if err := json.Unmarshal(b, &slot.rec); err != nil {
			return nil, nil, fmt.Errorf("remediate: load plan %q step %q: %w: %v", id, sid, mdr.ErrInvalid, err)
		}
		j.order = max(j.order, slot.rec.Order)
	}
	if err := j.recoverAudit(ctx); err != nil {
		return nil, nil, err
	}
	return p, j, nil
}

// auditPayload is the payload of a transition's audit record.
type auditPayload struct {
	Plan    string `json:"plan"`
	Step    string `json:"step"`
	From    State  `json:"from,omitempty"` // absent in a recovered record
	To      State  `json:"to"`
	Version uint64 `json:"version"`
	Status  int    `json:"status,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// recoverAudit appends an audit record for every step whose stored version
// is newer than its last audited one (a crash between the state write and
// the audit append).
func (j *journal) recoverAudit(ctx context.Context) error {
	audited := map[string]uint64{}
	for r, err := range j.st.ReadAudit(ctx, j.auditFrom) {
		if err != nil {
			return fmt.Errorf("remediate: load plan %q: read audit: %w", j.plan, err)
		}
		if len(r.Action) <= len(auditPrefix) || r.Action[:len(auditPrefix)] != auditPrefix || r.Action == AuditPlan {
			continue
		}
		var p auditPayload
		if json.Unmarshal(r.Payload, &p) != nil || p.Plan != j.plan {
			continue
		}
		audited[p.Step] = max(audited[p.Step], p.Version)
	}
	ids := make([]string, 0, len(j.steps))
	for id := range j.steps {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		rec := j.steps[id].rec
		if rec.Version == 0 || audited[id] >= rec.Version {
			continue
		}
		b, _ := json.Marshal(auditPayload{Plan: j.plan, Step: id, To: rec.State, Version: rec.Version, Status: rec.Status, Detail: rec.Detail})
		_, err := j.st.AppendAudit(ctx, store.AuditRecord{Actor: actor(rec.By), Action: auditPrefix + "state" + auditRecovered, Target: j.plan + "/" + id, Payload: b})
		if err != nil {
			return fmt.Errorf("remediate: load plan %q: audit: %w", j.plan, err)
		}
	}
	return nil
}

func actor(by string) string {
	if by == "" {
		return defaultActor
	}
	return by
}

// record returns a copy of a step's record.
func (j *journal) record(step string) (StepRecord, bool) {
	s, ok := j.steps[step]
	if !ok {
		return StepRecord{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec, true
}

// move applies ev to a step: the state table decides the next state, edit
// (when not nil) fills in the outcome, the record is written with its
// version incremented, then one audit record names the move. A move the
// table refuses changes nothing and returns a *TransitionError.
func (j *journal) move(ctx context.Context, step string, ev Event, by string, edit func(*StepRecord)) (StepRecord, error) {
	s, ok := j.steps[step]
	if !ok {
		return StepRecord{}, fmt.Errorf("%w: plan %q has no step %q", mdr.ErrNotFound, j.plan, step)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	to, err := Next(s.rec.State, ev)
	if err != nil {
		return s.rec, &TransitionError{Plan: j.plan, Step: step, From: s.rec.State, Event: ev}
	}
	next := s.rec
	next.State = to
	next.Version++
	next.By = by
	next.Updated = j.now().UTC()
	if ev == EventBegin {
		next.Attempts++
		j.mu.Lock()
		j.order++
		next.Order = j.order
		j.mu.Unlock()
	}
	if edit != nil {
		edit(&next)
	}
	b, err := json.Marshal(&next)
	if err != nil {
		return s.rec, fmt.Errorf("remediate: step %q: %w", step, err)
	}
	if err := ctx.Err(); err != nil {
		return s.rec, err
	}
	if err := j.st.PutState(ctx, stepKey(j.plan, step), b); err != nil {
		return s.rec, fmt.Errorf("remediate: step %q: %s: %w", step, ev, err)
	}
	from := s.rec.State
	s.rec = next
	pb, _ := json.Marshal(auditPayload{Plan: j.plan, Step: step, From: from, To: to, Version: next.Version, Status: next.Status, Detail: next.Detail})
	if _, err := j.st.AppendAudit(ctx, store.AuditRecord{Time: next.Updated, Actor: actor(by), Action: auditPrefix + ev.String(), Target: j.plan + "/" + step, Payload: pb}); err != nil {
		// the state is written; a resume appends the missing record
		return next, fmt.Errorf("remediate: step %q: %s: audit: %w", step, ev, err)
	}
	return next, nil
}
