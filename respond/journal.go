package respond

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// The dispatcher's audit records. Every state change of a history entry
// is one change: who (actor) did what (action: requested, allowed,
// pending, approved, rejected, denied, running, dry_run, executed,
// failed, undone, ...) with the entry as it then was. Changes are written
// in groups, one audit record per group, so that concurrent commands
// share one synced write: a record with one change has Action
// "respond.<action>", Actor the actor, Target the entry id and Payload
// the entry's JSON; a record with several has Action "respond.group",
// Actor "respond" and Payload a JSON array of {actor, action, entry}.
//
// The audit log is also the dispatcher's journal: NewDispatcher restores
// the history by replaying these records after the last checkpoint (a
// JSON snapshot of the history under the state key CheckpointKey, with
// the audit sequence number it covers).

// CheckpointKey is the store.State key of the dispatcher's checkpoint.
const CheckpointKey = "respond/dispatcher/checkpoint"

// auditGroup is the Action of a grouped audit record.
const auditGroup = "respond.group"

// maxGroup bounds the changes in one audit record.
const maxGroup = 512

type change struct {
	Actor  string `json:"actor"`
	Action string `json:"action"`
	Entry  Result `json:"entry"`
}

// snap captures e's current state as a change.
func (d *Dispatcher) snap(e *entry, actor, action string) change {
	d.mu.Lock()
	defer d.mu.Unlock()
	return change{Actor: actor, Action: action, Entry: e.res}
}

type jreq struct {
	changes []change
	done    chan error
}

type journal struct {
	st      Store
	d       *Dispatcher
	reqs    chan *jreq
	stopped chan struct{}

	mu       sync.Mutex
	records  int64
	nchanges int64
	lastSeq  uint64
	closed   bool
}

func newJournal(st Store, d *Dispatcher) *journal {
	j := &journal{st: st, d: d, reqs: make(chan *jreq, 1024), stopped: make(chan struct{})}
	go j.loop()
	return j
}

func (j *journal) counts() (int64, int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.records, j.nchanges
}

// write appends changes to the audit log (grouped with other callers')
// and returns once they are stored.
func (j *journal) write(ctx context.Context, changes []change) error {
	if len(changes) == 0 {
		return nil
	}
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return fmt.Errorf("respond: audit journal: %w", mdr.ErrClosed)
	}
	r := &jreq{changes: changes, done: make(chan error, 1)}
	j.reqs <- r
	j.mu.Unlock()
	return <-r.done
}

func (j *journal) loop() {
	defer close(j.stopped)
	for r := range j.reqs {
		batch := []*jreq{r}
		n := len(r.changes)
	drain:
		for n < maxGroup {
			select {
			case more, ok := <-j.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, more)
				n += len(more.changes)
			default:
				break drain
			}
		}
		err := j.append(batch, n)
		for _, b := range batch {
			b.done <- err
		}
		if err == nil {
			j.d.afterJournal(n)
		}
	}
}

func (j *journal) append(batch []*jreq, n int) error {
	var rec store.AuditRecord
	if n == 1 {
		c := batch[0].changes[0]
		b, err := json.Marshal(c.Entry)
		if err != nil {
			return err
		}
		rec = store.AuditRecord{Actor: c.Actor, Action: "respond." + c.Action, Target: c.Entry.ID, Payload: b}
	} else {
		all := make([]change, 0, n)
		for _, r := range batch {
			all = append(all, r.changes...)
		}
		b, err := json.Marshal(all)
		if err != nil {
			return err
		}
		rec = store.AuditRecord{Actor: "respond", Action: auditGroup, Payload: b}
	}
	out, err := j.st.AppendAudit(context.Background(), rec)
	if err != nil {
		return fmt.Errorf("respond: audit: %w", err)
	}
	j.mu.Lock()
	j.records++
	j.nchanges += int64(n)
	j.lastSeq = out.Seq
	j.mu.Unlock()
	return nil
}

func (j *journal) seq() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.lastSeq
}

func (j *journal) close() {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return
	}
	j.closed = true
	close(j.reqs)
	j.mu.Unlock()
	<-j.stopped
}

// afterJournal counts changes and writes a checkpoint every
// CheckpointEvery changes (called from the journal goroutine).
func (d *Dispatcher) afterJournal(n int) {
	d.mu.Lock()
	d.sinceCkpt += n
	due := d.sinceCkpt >= d.cfg.CheckpointEvery
	d.mu.Unlock()
	if due {
		_ = d.checkpointAt(context.Background(), d.j.seq())
	}
}

type checkpointData struct {
	Seq     uint64   `json:"seq"`
	Entries []Result `json:"entries"`
}

func (d *Dispatcher) checkpoint(ctx context.Context) error {
	return d.checkpointAt(ctx, d.j.seq())
}

// checkpointAt stores the history as of audit sequence seq. Entries may be
// ahead of seq; replaying the records after seq brings them to the same
// state, since every change carries the whole entry.
func (d *Dispatcher) checkpointAt(ctx context.Context, seq uint64) error {
	if seq == 0 {
		return nil
	}
	d.mu.Lock()
	cp := checkpointData{Seq: seq, Entries: make([]Result, 0, len(d.order))}
	for _, id := range d.order {
		if e := d.entries[id]; e != nil {
			cp.Entries = append(cp.Entries, e.res)
		}
	}
	d.sinceCkpt = 0
	d.stats.Checkpoints++
	d.mu.Unlock()
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	return d.cfg.Store.PutState(ctx, CheckpointKey, b)
}

// restore rebuilds the history from the checkpoint and the audit records
// after it, then re-arms approval timeouts and scheduled undos and fails
// entries that were running.
func (d *Dispatcher) restore(ctx context.Context) error {
	var from uint64 = 1
	byID := map[string]Result{}
	var order []string
	put := func(r Result) {
		if _, ok := byID[r.ID]; !ok {
			order = append(order, r.ID)
		}
		byID[r.ID] = r
	}
	b, err := d.cfg.Store.GetState(ctx, CheckpointKey)
	switch {
	case err == nil:
		var cp checkpointData
		if err := json.Unmarshal(b, &cp); err != nil {
			return fmt.Errorf("respond: checkpoint %s: %w", CheckpointKey, err)
		}
		for _, r := range cp.Entries {
			put(r)
		}
		from = cp.Seq + 1
		d.j.lastSeq = cp.Seq
	case errors.Is(err, mdr.ErrNotFound):
	default:
		return fmt.Errorf("respond: checkpoint: %w", err)
	}
	for rec, err := range d.cfg.Store.ReadAudit(ctx, from) {
		if err != nil {
			return fmt.Errorf("respond: replay audit: %w", err)
		}
		d.j.lastSeq = rec.Seq
		switch {
		case rec.Action == auditGroup:
			var cs []change
			if err := json.Unmarshal(rec.Payload, &cs); err != nil {
				return fmt.Errorf("respond: replay audit record %d: %w", rec.Seq, err)
			}
			for _, c := range cs {
				put(c.Entry)
			}
		case strings.HasPrefix(rec.Action, "respond."):
			var r Result
			if err := json.Unmarshal(rec.Payload, &r); err != nil {
				return fmt.Errorf("respond: replay audit record %d: %w", rec.Seq, err)
			}
			put(r)
		}
	}
	now := d.clock.Now().UTC()
	var fixes []change
	d.mu.Lock()
	for _, id := range order {
		r := byID[id]
		e := &entry{res: r, done: make(chan struct{}), answer: make(chan answer, 1)}
		switch {
		case r.State == StatePending:
			wait := r.Expires.Sub(now)
			eid := r.ID
			e.stopTO = d.clock.AfterFunc(wait, func() {
				_ = d.answer(context.Background(), eid, answer{principal: "timeout", comment: "no answer before " + r.Expires.Format(time.RFC3339)})
			})
		case r.State == StateRunning || r.State == StateApproved && !r.Manual:
			e.res.State = StateFailed
			e.res.Error = "interrupted: the dispatcher stopped while the command ran; its outcome is unknown"
			e.res.Finished = now
			fixes = append(fixes, change{Actor: "dispatcher", Action: "failed", Entry: e.res})
			close(e.done)
		default:
			close(e.done)
		}
		if e.res.State == StateExecuted && !e.res.UndoAt.IsZero() && e.res.UndoneBy == "" {
			// armed when its actuator is registered again
			d.deferred[e.res.Actuator] = append(d.deferred[e.res.Actuator], e)
		}
		d.entries[id] = e
		d.order = append(d.order, id)
		d.stats.RestoredItems++
	}
	d.mu.Unlock()
	return d.j.write(ctx, fixes)
}
