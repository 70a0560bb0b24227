package respond

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// The dispatcher's audit records. Every state change of a history entry
// is a step: who (actor) did what (action: requested, allowed, pending,
// approved, rejected, denied, running, dry_run, executed, failed, undone,
// ...). The steps one call records for one entry form an item, which
// carries the entry as it is after them. Items are written in groups, one
// audit record per group, so that concurrent commands share one synced
// write: a record with a single step has Action "respond.<action>", Actor
// the actor, Target the entry id and Payload the entry's JSON; any other
// record has Action "respond.group", Actor "respond" and Payload a JSON
// array of {"steps": [{"actor", "action"}...], "entry"}; an item after
// an entry's first leaves out what that one recorded (request, actuator,
// decision, rule, request and decision times).
//
// The audit log is also the dispatcher's journal: NewDispatcher restores
// the history by replaying these records after the last checkpoint (a
// JSON snapshot of the history under the state key CheckpointKey, with
// the audit sequence number it covers).

// CheckpointKey is the store.State key of the dispatcher's checkpoint.
const CheckpointKey = "respond/dispatcher/checkpoint"

// auditGroup is the Action of a grouped audit record; auditGroupZstd that
// of one whose payload is zstd-compressed (groups over compressAbove
// bytes: the JSON of a group compresses about tenfold, and the synced
// append's time grows with its size).
const (
	auditGroup     = "respond.group"
	auditGroupZstd = "respond.group.zst"
	compressAbove  = 4 << 10
	// maxGroupBytes bounds a group's decompressed payload on replay.
	maxGroupBytes = 64 << 20
)

// maxGroup bounds the changes in one audit record.
const maxGroup = 512

type change struct {
	Actor  string `json:"actor"`
	Action string `json:"action"`
	Entry  Result `json:"entry"`
	// full marks the first change of an entry, which records its request;
	// later items leave the request out (replay keeps the one recorded).
	full bool
}

// snap captures e's current state as a change.
func (d *Dispatcher) snap(e *entry, actor, action string) change {
	d.mu.Lock()
	defer d.mu.Unlock()
	return change{Actor: actor, Action: action, Entry: e.res}
}

type step struct {
	Actor  string `json:"actor"`
	Action string `json:"action"`
}

// item is the JSON of one group member.
type item struct {
	Steps []step `json:"steps"`
	Entry Result `json:"entry"`
}

// encoded is an item encoded by its caller (in parallel with others).
type encoded struct {
	id    string
	steps []step
	entry []byte // the entry's JSON
	item  []byte // the item's JSON
}

type jreq struct {
	items []encoded
	steps int
	done  chan error
}

type journal struct {
	st      Store
	d       *Dispatcher
	reqs    chan *jreq
	stopped chan struct{}

	zenc *zstd.Encoder // used by the loop goroutine only
	zbuf []byte

	sendMu sync.RWMutex // guards closed and sends on reqs
	closed bool

	mu         sync.Mutex // guards the counters and lastSeq
	records    int64
	nchanges   int64
	bytes      int64
	appendTime time.Duration
	lastSeq    uint64
}

func newJournal(st Store, d *Dispatcher) *journal {
	j := &journal{st: st, d: d, reqs: make(chan *jreq, 1024), stopped: make(chan struct{})}
	// the options are constants: NewWriter cannot fail with them
	j.zenc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	go j.loop()
	return j
}

func (j *journal) counts(s *Stats) {
	j.mu.Lock()
	defer j.mu.Unlock()
	s.AuditRecords, s.AuditChanges, s.AuditBytes, s.AuditAppendTime = j.records, j.nchanges, j.bytes, j.appendTime
}

// encode turns changes into items: consecutive changes of one entry
// become one item with their steps and the last snapshot.
func encode(changes []change) ([]encoded, int, error) {
	var out []encoded
	for i := 0; i < len(changes); {
		k := i
		var steps []step
		for k < len(changes) && changes[k].Entry.ID == changes[i].Entry.ID {
			steps = append(steps, step{Actor: changes[k].Actor, Action: changes[k].Action})
			k++
		}
		full := false
		for _, c := range changes[i:k] {
			full = full || c.full
		}
		last := changes[k-1].Entry
		if !full {
			// recorded by the entry's first item; replay keeps them
			last.Request = Request{}
			last.Actuator, last.Decision, last.Rule = "", "", ""
			last.Requested, last.Decided = time.Time{}, time.Time{}
		}
		eb, err := json.Marshal(&last)
		if err != nil {
			return nil, 0, err
		}
		ib, err := json.Marshal(struct {
			Steps []step          `json:"steps"`
			Entry json.RawMessage `json:"entry"`
		}{steps, eb})
		if err != nil {
			return nil, 0, err
		}
		out = append(out, encoded{id: last.ID, steps: steps, entry: eb, item: ib})
		i = k
	}
	return out, len(changes), nil
}

// write appends changes to the audit log (grouped with other callers')
// and returns once they are stored.
func (j *journal) write(ctx context.Context, changes []change) error {
	if len(changes) == 0 {
		return nil
	}
	items, n, err := encode(changes)
	if err != nil {
		return fmt.Errorf("respond: audit: %w", err)
	}
	// sendMu (not mu, which the loop takes to count) guards the send
	// against close; the send may block while the queue is full
	j.sendMu.RLock()
	if j.closed {
		j.sendMu.RUnlock()
		return fmt.Errorf("respond: audit journal: %w", mdr.ErrClosed)
	}
	r := &jreq{items: items, steps: n, done: make(chan error, 1)}
	j.reqs <- r
	j.sendMu.RUnlock()
	return <-r.done
}

func (j *journal) loop() {
	defer close(j.stopped)
	var buf []byte
	for r := range j.reqs {
		batch := []*jreq{r}
		n := r.steps
	drain:
		for n < maxGroup {
			select {
			case more, ok := <-j.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, more)
				n += more.steps
			default:
				break drain
			}
		}
		var err error
		buf, err = j.append(batch, n, buf[:0])
		for _, b := range batch {
			b.done <- err
		}
		if err == nil {
			j.d.afterJournal(n)
		}
	}
}

func (j *journal) append(batch []*jreq, n int, buf []byte) ([]byte, error) {
	var rec store.AuditRecord
	if n == 1 {
		it := batch[0].items[0]
		rec = store.AuditRecord{Actor: it.steps[0].Actor, Action: "respond." + it.steps[0].Action, Target: it.id, Payload: it.entry}
	} else {
		buf = append(buf, '[')
		first := true
		for _, r := range batch {
			for _, it := range r.items {
				if !first {
					buf = append(buf, ',')
				}
				first = false
				buf = append(buf, it.item...)
			}
		}
		buf = append(buf, ']')
		rec = store.AuditRecord{Actor: "respond", Action: auditGroup, Payload: buf}
		if len(buf) > compressAbove {
			j.zbuf = j.zenc.EncodeAll(buf, j.zbuf[:0])
			rec.Action, rec.Payload = auditGroupZstd, j.zbuf
		}
	}
	t0 := time.Now()
	out, err := j.st.AppendAudit(context.Background(), rec)
	took := time.Since(t0)
	if err != nil {
		return buf, fmt.Errorf("respond: audit: %w", err)
	}
	j.mu.Lock()
	j.records++
	j.nchanges += int64(n)
	j.bytes += int64(len(rec.Payload))
	j.appendTime += took
	j.lastSeq = out.Seq
	j.mu.Unlock()
	return buf, nil
}

func (j *journal) seq() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.lastSeq
}

func (j *journal) close() {
	j.sendMu.Lock()
	if j.closed {
		j.sendMu.Unlock()
		return
	}
	j.closed = true
	close(j.reqs)
	j.sendMu.Unlock()
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
		prev, ok := byID[r.ID]
		if !ok {
			order = append(order, r.ID)
		}
		// a later item leaves out what the entry's first item recorded
		if r.Request.Requester == "" && r.Request.Command.Action == "" {
			r.Request = prev.Request
		}
		if r.Actuator == "" {
			r.Actuator = prev.Actuator
		}
		if r.Decision == "" {
			r.Decision, r.Rule = prev.Decision, prev.Rule
		}
		if r.Requested.IsZero() {
			r.Requested = prev.Requested
		}
		if r.Decided.IsZero() {
			r.Decided = prev.Decided
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
	zdec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxGroupBytes), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer zdec.Close()
	for rec, err := range d.cfg.Store.ReadAudit(ctx, from) {
		if err != nil {
			return fmt.Errorf("respond: replay audit: %w", err)
		}
		d.j.lastSeq = rec.Seq
		switch {
		case rec.Action == auditGroup || rec.Action == auditGroupZstd:
			payload := rec.Payload
			if rec.Action == auditGroupZstd {
				if payload, err = zdec.DecodeAll(rec.Payload, nil); err != nil {
					return fmt.Errorf("respond: replay audit record %d: %w", rec.Seq, err)
				}
			}
			var items []item
			if err := json.Unmarshal(payload, &items); err != nil {
				return fmt.Errorf("respond: replay audit record %d: %w", rec.Seq, err)
			}
			for _, it := range items {
				put(it.Entry)
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

// AuditChange is one state change of a dispatcher history entry, as
// DecodeAudit reads it back from an audit record.
type AuditChange struct {
	Actor  string
	Action string // requested, allowed, pending, approved, ...
	// Entry is the entry after the change's item; fields an item leaves
	// out (see the package's audit format) are zero.
	Entry Result
}

// DecodeAudit returns the dispatcher state changes an audit record holds
// (none for records of other packages), decompressing grouped records.
func DecodeAudit(rec store.AuditRecord) ([]AuditChange, error) {
	switch {
	case rec.Action == auditGroup || rec.Action == auditGroupZstd:
		payload := rec.Payload
		if rec.Action == auditGroupZstd {
			dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxGroupBytes), zstd.WithDecoderConcurrency(1))
			if err != nil {
				return nil, err
			}
			defer dec.Close()
			if payload, err = dec.DecodeAll(rec.Payload, nil); err != nil {
				return nil, fmt.Errorf("respond: audit record %d: %w", rec.Seq, err)
			}
		}
		var items []item
		if err := json.Unmarshal(payload, &items); err != nil {
			return nil, fmt.Errorf("respond: audit record %d: %w", rec.Seq, err)
		}
		var out []AuditChange
		for _, it := range items {
			for _, s := range it.Steps {
				out = append(out, AuditChange{Actor: s.Actor, Action: s.Action, Entry: it.Entry})
			}
		}
		return out, nil
	case strings.HasPrefix(rec.Action, "respond."):
		var r Result
		if err := json.Unmarshal(rec.Payload, &r); err != nil {
			return nil, fmt.Errorf("respond: audit record %d: %w", rec.Seq, err)
		}
		return []AuditChange{{Actor: rec.Actor, Action: strings.TrimPrefix(rec.Action, "respond."), Entry: r}}, nil
	}
	return nil, nil
}
