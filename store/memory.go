package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/mdrkit/mdr"
)

// Memory is the in-memory Store: every interface of this package, kept in
// process memory and lost on exit. It is meant for tests, examples, short
// experiments and small working sets; its event index is one sorted slice,
// so appending events far out of time order costs time proportional to the
// number of events stored.
//
// Memory is safe for concurrent use. Every method takes a lock for the time
// of one operation. Iterators do not hold the lock while the caller's loop
// body runs: each step re-locks, finds the next item after the last one
// yielded, and unlocks, so an iteration sees items committed before it
// reaches their position (read-committed, no snapshot) and never blocks
// writers for longer than one step. Events and state values handed in are
// immutable or copied; alerts and incidents are kept serialised, so no
// caller shares memory with the store.
type Memory struct {
	mu     sync.RWMutex
	closed bool
	now    func() time.Time

	seq    uint64 // insertion counter for events and edges
	events []memEvent
	byID   map[string]*mdr.Event

	alerts    memTable
	incidents memTable

	out, in map[string][]memEdge

	audit []AuditRecord
	state map[string][]byte
}

type memEvent struct {
	tk  int64
	seq uint64
	ev  *mdr.Event
}

func cmpEvent(a, b memEvent) int {
	if c := cmp.Compare(a.tk, b.tk); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

type memEdge struct {
	tk  int64
	seq uint64
	rel mdr.Relation
}

func cmpEdge(a, b memEdge) int {
	if c := cmp.Compare(a.tk, b.tk); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{
		now:       func() time.Time { return time.Now().UTC() },
		byID:      make(map[string]*mdr.Event),
		alerts:    newMemTable(),
		incidents: newMemTable(),
		out:       make(map[string][]memEdge),
		in:        make(map[string][]memEdge),
		state:     make(map[string][]byte),
	}
}

var _ Store = (*Memory)(nil)
var _ Retention = (*Memory)(nil)

func errClosed(op string) error { return fmt.Errorf("store: %s: %w", op, mdr.ErrClosed) }

// Close drops the store's contents; later calls fail with mdr.ErrClosed.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed("close")
	}
	m.closed = true
	m.events, m.byID, m.out, m.in, m.audit, m.state = nil, nil, nil, nil, nil, nil
	m.alerts, m.incidents = memTable{}, memTable{}
	return nil
}

// AppendEvents implements Events. The batch is atomic.
func (m *Memory) AppendEvents(ctx context.Context, batch []*mdr.Event) (AppendResult, error) {
	var res AppendResult
	if err := ctx.Err(); err != nil {
		return res, err
	}
	for i, e := range batch {
		if e == nil {
			return res, &BatchError{Index: i, Err: fmt.Errorf("%w: nil event", mdr.ErrInvalid)}
		}
		if e.ID() == "" {
			return res, &BatchError{Index: i, Err: ErrNoID}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return res, errClosed("append events")
	}
	add := make([]memEvent, 0, len(batch))
	for _, e := range batch {
		if _, dup := m.byID[e.ID()]; dup {
			res.Duplicates++
			continue
		}
		m.seq++
		m.byID[e.ID()] = e
		add = append(add, memEvent{tk: TimeKey(e.Time()), seq: m.seq, ev: e})
	}
	res.Added = len(add)
	slices.SortStableFunc(add, cmpEvent)
	if len(add) > 0 && (len(m.events) == 0 || cmpEvent(m.events[len(m.events)-1], add[0]) < 0) {
		m.events = append(m.events, add...)
		return res, nil
	}
	m.events = mergeSorted(m.events, add, cmpEvent)
	return res, nil
}

// mergeSorted merges sorted b into sorted a.
func mergeSorted[T any](a, b []T, cmpf func(T, T) int) []T {
	if len(b) == 0 {
		return a
	}
	out := make([]T, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if cmpf(b[j], a[i]) < 0 {
			out = append(out, b[j])
			j++
		} else {
			out = append(out, a[i])
			i++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// ScanEvents implements Events.
func (m *Memory) ScanEvents(ctx context.Context, q EventQuery) iter.Seq2[*mdr.Event, error] {
	return func(yield func(*mdr.Event, error) bool) {
		last := memEvent{tk: TimeKey(q.From), seq: 0}
		if q.From.IsZero() {
			last.tk = TimeKey(time.Time{})
		}
		first := true
		n := 0
		for step := 0; ; step++ {
			if step%256 == 0 {
				if err := ctx.Err(); err != nil {
					yield(nil, err)
					return
				}
			}
			m.mu.RLock()
			if m.closed {
				m.mu.RUnlock()
				yield(nil, errClosed("scan events"))
				return
			}
			i, found := slices.BinarySearchFunc(m.events, last, cmpEvent)
			if found && !first {
				i++
			}
			if i >= len(m.events) {
				m.mu.RUnlock()
				return
			}
			me := m.events[i]
			m.mu.RUnlock()
			first = false
			last = me
			if !q.To.IsZero() && me.tk >= TimeKey(q.To) {
				return
			}
			if q.Filter != nil && !q.Filter(me.ev) {
				continue
			}
			if !yield(me.ev, nil) {
				return
			}
			n++
			if q.Limit > 0 && n >= q.Limit {
				return
			}
		}
	}
}

// GetEvent implements Events.
func (m *Memory) GetEvent(ctx context.Context, id string) (*mdr.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, errClosed("get event")
	}
	e, ok := m.byID[id]
	if !ok {
		return nil, fmt.Errorf("store: event %q: %w", id, mdr.ErrNotFound)
	}
	return e, nil
}

// CountEvents implements Events.
func (m *Memory) CountEvents(ctx context.Context, from, to time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return 0, errClosed("count events")
	}
	lo, hi := 0, len(m.events)
	if !from.IsZero() {
		lo, _ = slices.BinarySearchFunc(m.events, memEvent{tk: TimeKey(from)}, cmpEvent)
	}
	if !to.IsZero() {
		hi, _ = slices.BinarySearchFunc(m.events, memEvent{tk: TimeKey(to)}, cmpEvent)
	}
	return int64(max(hi-lo, 0)), nil
}

// DropEventsBefore implements Retention: it removes every event older than t
// (events without a time included) and reports how many.
func (m *Memory) DropEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, errClosed("drop events")
	}
	hi, _ := slices.BinarySearchFunc(m.events, memEvent{tk: TimeKey(t)}, cmpEvent)
	for _, me := range m.events[:hi] {
		delete(m.byID, me.ev.ID())
	}
	m.events = slices.Delete(m.events, 0, hi)
	return int64(hi), nil
}

// memTable keeps alerts or incidents serialised, with a time index and a
// score index, both sorted slices.
type memTable struct {
	recs    map[string]memRec
	byTime  []idxEntry // (tk, id)
	byScore []idxEntry // (-score, tk, id)
}

type memRec struct {
	b    []byte
	meta RecordMeta
}

type idxEntry struct {
	negScore float64
	tk       int64
	id       string
}

func cmpIdx(a, b idxEntry) int {
	if c := cmp.Compare(a.negScore, b.negScore); c != 0 {
		return c
	}
	if c := cmp.Compare(a.tk, b.tk); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

func newMemTable() memTable { return memTable{recs: make(map[string]memRec)} }

// RecordMeta is what a store indexes of an alert or incident. Exported for
// implementations of this package's interfaces (see MetaOfAlert and
// MetaOfIncident).
type RecordMeta struct {
	ID      string
	Time    time.Time
	Score   float64
	Status  string
	Version uint64
}

// MetaOfAlert returns the indexed attributes of an alert record.
func MetaOfAlert(a *AlertRecord) RecordMeta {
	return RecordMeta{ID: a.Alert.ID, Time: a.Alert.Time, Score: a.Score, Status: a.Status, Version: a.Version}
}

// MetaOfIncident returns the indexed attributes of an incident.
func MetaOfIncident(in *mdr.Incident) RecordMeta {
	return RecordMeta{ID: in.ID, Time: in.Created, Score: in.Score, Status: in.Status, Version: in.Version}
}

// Keep reports whether a record with these attributes passes q's time
// range, status and score filters.
func (q *ListQuery) Keep(m RecordMeta) bool {
	if !InRange(TimeKey(m.Time), q.From, q.To) {
		return false
	}
	if q.Status != "" && m.Status != q.Status {
		return false
	}
	return q.MinScore <= 0 || m.Score >= q.MinScore
}

func (t *memTable) insertIdx(mt RecordMeta) {
	te := idxEntry{tk: TimeKey(mt.Time), id: mt.ID}
	i, _ := slices.BinarySearchFunc(t.byTime, te, cmpIdx)
	t.byTime = slices.Insert(t.byTime, i, te)
	se := idxEntry{negScore: -mt.Score, tk: te.tk, id: mt.ID}
	i, _ = slices.BinarySearchFunc(t.byScore, se, cmpIdx)
	t.byScore = slices.Insert(t.byScore, i, se)
}

func (t *memTable) deleteIdx(mt RecordMeta) {
	te := idxEntry{tk: TimeKey(mt.Time), id: mt.ID}
	if i, ok := slices.BinarySearchFunc(t.byTime, te, cmpIdx); ok {
		t.byTime = slices.Delete(t.byTime, i, i+1)
	}
	se := idxEntry{negScore: -mt.Score, tk: te.tk, id: mt.ID}
	if i, ok := slices.BinarySearchFunc(t.byScore, se, cmpIdx); ok {
		t.byScore = slices.Delete(t.byScore, i, i+1)
	}
}

// put stores a new record (version must be 0) and returns it with
// version 1.
func memPut[T any](m *Memory, t *memTable, kind string, rec T, meta func(*T) RecordMeta, setVersion func(*T, uint64)) (T, error) {
	var zero T
	mt := meta(&rec)
	if mt.ID == "" {
		return zero, fmt.Errorf("store: put %s: %w", kind, ErrNoID)
	}
	if mt.Version != 0 {
		return zero, fmt.Errorf("store: put %s %q: %w: version must be 0 for a new record, got %d", kind, mt.ID, mdr.ErrInvalid, mt.Version)
	}
	setVersion(&rec, 1)
	mt.Version = 1
	b, err := json.Marshal(&rec)
	if err != nil {
		return zero, fmt.Errorf("store: put %s %q: %w", kind, mt.ID, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return zero, errClosed("put " + kind)
	}
	if _, ok := t.recs[mt.ID]; ok {
		return zero, fmt.Errorf("store: put %s %q: already stored: %w", kind, mt.ID, mdr.ErrConflict)
	}
	t.recs[mt.ID] = memRec{b: b, meta: mt}
	t.insertIdx(mt)
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		return zero, err
	}
	return out, nil
}

func memUpdate[T any](m *Memory, t *memTable, kind string, rec T, meta func(*T) RecordMeta, setVersion func(*T, uint64)) (T, error) {
	var zero T
	mt := meta(&rec)
	if mt.ID == "" {
		return zero, fmt.Errorf("store: update %s: %w", kind, ErrNoID)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return zero, errClosed("update " + kind)
	}
	old, ok := t.recs[mt.ID]
	if !ok {
		return zero, fmt.Errorf("store: update %s %q: %w", kind, mt.ID, mdr.ErrNotFound)
	}
	if old.meta.Version != mt.Version {
		return zero, fmt.Errorf("store: update %s %q: stored version is %d, update carries %d: %w", kind, mt.ID, old.meta.Version, mt.Version, mdr.ErrConflict)
	}
	mt.Version++
	setVersion(&rec, mt.Version)
	b, err := json.Marshal(&rec)
	if err != nil {
		return zero, fmt.Errorf("store: update %s %q: %w", kind, mt.ID, err)
	}
	t.deleteIdx(old.meta)
	t.recs[mt.ID] = memRec{b: b, meta: mt}
	t.insertIdx(mt)
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		return zero, err
	}
	return out, nil
}

func memGet[T any](ctx context.Context, m *Memory, t *memTable, kind, id string) (T, error) {
	var out T
	if err := ctx.Err(); err != nil {
		return out, err
	}
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return out, errClosed("get " + kind)
	}
	r, ok := t.recs[id]
	m.mu.RUnlock()
	if !ok {
		return out, fmt.Errorf("store: %s %q: %w", kind, id, mdr.ErrNotFound)
	}
	err := json.Unmarshal(r.b, &out)
	return out, err
}

func memList[T any](ctx context.Context, m *Memory, t *memTable, kind string, q ListQuery) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		var last idxEntry
		first := true
		n := 0
		for {
			if err := ctx.Err(); err != nil {
				yield(zero, err)
				return
			}
			m.mu.RLock()
			if m.closed {
				m.mu.RUnlock()
				yield(zero, errClosed("list "+kind))
				return
			}
			var e idxEntry
			var ok bool
			switch q.Order {
			case ByScore:
				e, ok = nextIdx(t.byScore, last, first)
			case ByTimeDesc:
				e, ok = prevIdx(t.byTime, last, first)
			default:
				e, ok = nextIdx(t.byTime, last, first)
			}
			if !ok {
				m.mu.RUnlock()
				return
			}
			r := t.recs[e.id]
			m.mu.RUnlock()
			first, last = false, e
			if !q.Keep(r.meta) {
				continue
			}
			var out T
			if err := json.Unmarshal(r.b, &out); err != nil {
				yield(zero, fmt.Errorf("store: %s %q: %w", kind, e.id, err))
				return
			}
			if !yield(out, nil) {
				return
			}
			n++
			if q.Limit > 0 && n >= q.Limit {
				return
			}
		}
	}
}

func nextIdx(s []idxEntry, last idxEntry, first bool) (idxEntry, bool) {
	i := 0
	if !first {
		var found bool
		i, found = slices.BinarySearchFunc(s, last, cmpIdx)
		if found {
			i++
		}
	}
	if i >= len(s) {
		return idxEntry{}, false
	}
	return s[i], true
}

func prevIdx(s []idxEntry, last idxEntry, first bool) (idxEntry, bool) {
	i := len(s) - 1
	if !first {
		j, _ := slices.BinarySearchFunc(s, last, cmpIdx)
		i = j - 1
	}
	if i < 0 {
		return idxEntry{}, false
	}
	return s[i], true
}

func alertVersion(a *AlertRecord, v uint64)      { a.Version = v }
func incidentVersion(in *mdr.Incident, v uint64) { in.Version = v }

// PutAlert implements Alerts.
func (m *Memory) PutAlert(ctx context.Context, a AlertRecord) (AlertRecord, error) {
	if err := ctx.Err(); err != nil {
		return AlertRecord{}, err
	}
	return memPut(m, &m.alerts, "alert", a, MetaOfAlert, alertVersion)
}

// GetAlert implements Alerts.
func (m *Memory) GetAlert(ctx context.Context, id string) (AlertRecord, error) {
	return memGet[AlertRecord](ctx, m, &m.alerts, "alert", id)
}

// UpdateAlert implements Alerts.
func (m *Memory) UpdateAlert(ctx context.Context, a AlertRecord) (AlertRecord, error) {
	if err := ctx.Err(); err != nil {
		return AlertRecord{}, err
	}
	return memUpdate(m, &m.alerts, "alert", a, MetaOfAlert, alertVersion)
}

// ListAlerts implements Alerts.
func (m *Memory) ListAlerts(ctx context.Context, q ListQuery) iter.Seq2[AlertRecord, error] {
	return memList[AlertRecord](ctx, m, &m.alerts, "alert", q)
}

// PutIncident implements Incidents.
func (m *Memory) PutIncident(ctx context.Context, in mdr.Incident) (mdr.Incident, error) {
	if err := ctx.Err(); err != nil {
		return mdr.Incident{}, err
	}
	return memPut(m, &m.incidents, "incident", in, MetaOfIncident, incidentVersion)
}

// GetIncident implements Incidents.
func (m *Memory) GetIncident(ctx context.Context, id string) (mdr.Incident, error) {
	return memGet[mdr.Incident](ctx, m, &m.incidents, "incident", id)
}

// UpdateIncident implements Incidents.
func (m *Memory) UpdateIncident(ctx context.Context, in mdr.Incident) (mdr.Incident, error) {
	if err := ctx.Err(); err != nil {
		return mdr.Incident{}, err
	}
	return memUpdate(m, &m.incidents, "incident", in, MetaOfIncident, incidentVersion)
}

// ListIncidents implements Incidents.
func (m *Memory) ListIncidents(ctx context.Context, q ListQuery) iter.Seq2[mdr.Incident, error] {
	return memList[mdr.Incident](ctx, m, &m.incidents, "incident", q)
}

// CheckEdge returns an error when an edge cannot be stored.
func CheckEdge(r *mdr.Relation) error {
	if r.From == "" || r.To == "" {
		return fmt.Errorf("%w: edge needs both From and To (from %q, to %q)", mdr.ErrInvalid, r.From, r.To)
	}
	return nil
}

// AppendEdges implements Graph. The batch is atomic.
func (m *Memory) AppendEdges(ctx context.Context, edges []mdr.Relation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for i := range edges {
		if err := CheckEdge(&edges[i]); err != nil {
			return &BatchError{Index: i, Err: err}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed("append edges")
	}
	for _, r := range edges {
		m.seq++
		r.Attrs = maps.Clone(r.Attrs)
		e := memEdge{tk: TimeKey(r.Time), seq: m.seq, rel: r}
		m.out[r.From] = insertEdge(m.out[r.From], e)
		m.in[r.To] = insertEdge(m.in[r.To], e)
	}
	return nil
}

func insertEdge(s []memEdge, e memEdge) []memEdge {
	if len(s) == 0 || cmpEdge(s[len(s)-1], e) < 0 {
		return append(s, e)
	}
	i, _ := slices.BinarySearchFunc(s, e, cmpEdge)
	return slices.Insert(s, i, e)
}

// edgeCursor walks one adjacency list of a Memory, re-locking per step.
type edgeCursor struct {
	m        *Memory
	dir      Direction
	node     string
	last     memEdge
	first    bool
	hiKey    int64
	hasHi    bool
	skipSelf bool
	peeked   *memEdge
	done     bool
}

func (c *edgeCursor) peek() (*memEdge, error) {
	if c.peeked != nil || c.done {
		return c.peeked, nil
	}
	for {
		c.m.mu.RLock()
		if c.m.closed {
			c.m.mu.RUnlock()
			return nil, errClosed("neighbors")
		}
		list := c.m.out[c.node]
		if c.dir == In {
			list = c.m.in[c.node]
		}
		i, found := slices.BinarySearchFunc(list, c.last, cmpEdge)
		if found && !c.first {
			i++
		}
		if i >= len(list) {
			c.m.mu.RUnlock()
			c.done = true
			return nil, nil
		}
		e := list[i]
		c.m.mu.RUnlock()
		c.first = false
		c.last = e
		if c.hasHi && e.tk >= c.hiKey {
			c.done = true
			return nil, nil
		}
		if c.skipSelf && e.rel.From == e.rel.To {
			continue
		}
		c.peeked = &e
		return c.peeked, nil
	}
}

// Neighbors implements Graph.
func (m *Memory) Neighbors(ctx context.Context, node string, q EdgeQuery) iter.Seq2[mdr.Relation, error] {
	return func(yield func(mdr.Relation, error) bool) {
		start := memEdge{tk: TimeKey(q.From)}
		var curs []*edgeCursor
		for _, d := range []Direction{Out, In} {
			if q.Dir != Both && q.Dir != d {
				continue
			}
			curs = append(curs, &edgeCursor{m: m, dir: d, node: node, last: start, first: true,
				hiKey: TimeKey(q.To), hasHi: !q.To.IsZero(), skipSelf: d == In && q.Dir == Both})
		}
		n := 0
		for {
			if err := ctx.Err(); err != nil {
				yield(mdr.Relation{}, err)
				return
			}
			var best *edgeCursor
			var bestE *memEdge
			for _, c := range curs {
				e, err := c.peek()
				if err != nil {
					yield(mdr.Relation{}, err)
					return
				}
				if e != nil && (bestE == nil || cmpEdge(*e, *bestE) < 0) {
					best, bestE = c, e
				}
			}
			if best == nil {
				return
			}
			best.peeked = nil
			r := bestE.rel
			r.Attrs = maps.Clone(r.Attrs)
			if !yield(r, nil) {
				return
			}
			n++
			if q.Limit > 0 && n >= q.Limit {
				return
			}
		}
	}
}

// AppendAudit implements Audit.
func (m *Memory) AppendAudit(ctx context.Context, r AuditRecord) (AuditRecord, error) {
	if err := ctx.Err(); err != nil {
		return AuditRecord{}, err
	}
	if err := CheckAppend(&r); err != nil {
		return AuditRecord{}, err
	}
	r.Payload = slices.Clone(r.Payload)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return AuditRecord{}, errClosed("append audit")
	}
	var prev AuditRecord
	if len(m.audit) > 0 {
		prev = m.audit[len(m.audit)-1]
	}
	Seal(&r, &prev, m.now())
	m.audit = append(m.audit, r)
	out := r
	out.Payload = slices.Clone(r.Payload)
	return out, nil
}

// ReadAudit implements Audit.
func (m *Memory) ReadAudit(ctx context.Context, from uint64) iter.Seq2[AuditRecord, error] {
	return func(yield func(AuditRecord, error) bool) {
		i := max(from, 1) - 1
		for ; ; i++ {
			if err := ctx.Err(); err != nil {
				yield(AuditRecord{}, err)
				return
			}
			m.mu.RLock()
			if m.closed {
				m.mu.RUnlock()
				yield(AuditRecord{}, errClosed("read audit"))
				return
			}
			if i >= uint64(len(m.audit)) {
				m.mu.RUnlock()
				return
			}
			r := m.audit[i]
			m.mu.RUnlock()
			r.Payload = slices.Clone(r.Payload)
			if !yield(r, nil) {
				return
			}
		}
	}
}

// PutState implements State.
func (m *Memory) PutState(ctx context.Context, key string, val []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed("put state")
	}
	m.state[key] = slices.Clone(val)
	if m.state[key] == nil {
		m.state[key] = []byte{}
	}
	return nil
}

// GetState implements State.
func (m *Memory) GetState(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, errClosed("get state")
	}
	v, ok := m.state[key]
	if !ok {
		return nil, fmt.Errorf("store: state %q: %w", key, mdr.ErrNotFound)
	}
	return slices.Clone(v), nil
}
