package badger

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"iter"

	bdg "github.com/dgraph-io/badger/v4"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// table is one record type (alerts or incidents) with its indexes.
type table[T any] struct {
	s          *Store
	prefix     byte
	kind       string
	meta       func(*T) store.RecordMeta
	setVersion func(*T, uint64)
}

func (t table[T]) recordKey(id string) []byte {
	return append([]byte{t.prefix, tRecord}, id...)
}

func (t table[T]) indexKeys(m store.RecordMeta) [3][]byte {
	tk := orderedInt(store.TimeKey(m.Time))
	timeKey := binary.BigEndian.AppendUint64([]byte{t.prefix, tTime}, tk)
	timeKey = append(timeKey, m.ID...)
	scoreKey := binary.BigEndian.AppendUint64([]byte{t.prefix, tScore}, orderedFloat(-m.Score))
	scoreKey = binary.BigEndian.AppendUint64(scoreKey, tk)
	scoreKey = append(scoreKey, m.ID...)
	statusKey := binary.AppendUvarint([]byte{t.prefix, tStatus}, uint64(len(m.Status)))
	statusKey = append(statusKey, m.Status...)
	statusKey = binary.BigEndian.AppendUint64(statusKey, tk)
	statusKey = append(statusKey, m.ID...)
	return [3][]byte{timeKey, scoreKey, statusKey}
}

// write runs f in an update transaction, commits, and makes the commit
// durable; a badger conflict becomes mdr.ErrConflict.
func (s *Store) writeCritical(op string, f func(txn *bdg.Txn) error) error {
	if err := s.enter(op); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	err := s.db.Update(f)
	if errors.Is(err, bdg.ErrConflict) {
		return fmt.Errorf("badger store: %s: concurrent write: %w", op, mdr.ErrConflict)
	}
	if err != nil {
		return err
	}
	return s.syncCritical()
}

func (t table[T]) put(ctx context.Context, rec T) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	m := t.meta(&rec)
	if m.ID == "" {
		return zero, fmt.Errorf("badger store: put %s: %w", t.kind, store.ErrNoID)
	}
	if m.Version != 0 {
		return zero, fmt.Errorf("badger store: put %s %q: %w: version must be 0 for a new record, got %d", t.kind, m.ID, mdr.ErrInvalid, m.Version)
	}
	t.setVersion(&rec, 1)
	m.Version = 1
	b, err := json.Marshal(&rec)
	if err != nil {
		return zero, fmt.Errorf("badger store: put %s %q: %w", t.kind, m.ID, err)
	}
	err = t.s.writeCritical("put "+t.kind, func(txn *bdg.Txn) error {
		rk := t.recordKey(m.ID)
		if _, err := txn.Get(rk); err == nil {
			return fmt.Errorf("badger store: put %s %q: already stored: %w", t.kind, m.ID, mdr.ErrConflict)
		} else if !errors.Is(err, bdg.ErrKeyNotFound) {
			return err
		}
		return t.setRecord(txn, rk, b, m)
	})
	if err != nil {
		return zero, err
	}
	var out T
	return out, json.Unmarshal(b, &out)
}

// setRecord writes a record's JSON under its key, and its index keys.
func (t table[T]) setRecord(txn *bdg.Txn, rk, b []byte, m store.RecordMeta) error {
	if err := txn.Set(rk, b); err != nil {
		return err
	}
	for _, k := range t.indexKeys(m) {
		if err := txn.Set(k, nil); err != nil {
			return err
		}
	}
	return nil
}

func (t table[T]) update(ctx context.Context, rec T) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	m := t.meta(&rec)
	if m.ID == "" {
		return zero, fmt.Errorf("badger store: update %s: %w", t.kind, store.ErrNoID)
	}
	var b []byte
	err := t.s.writeCritical("update "+t.kind, func(txn *bdg.Txn) error {
		rk := t.recordKey(m.ID)
		item, err := txn.Get(rk)
		if errors.Is(err, bdg.ErrKeyNotFound) {
			return fmt.Errorf("badger store: update %s %q: %w", t.kind, m.ID, mdr.ErrNotFound)
		}
		if err != nil {
			return err
		}
		var old T
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &old) }); err != nil {
			return corrupt(rk, err.Error())
		}
		om := t.meta(&old)
		if om.Version != m.Version {
			return fmt.Errorf("badger store: update %s %q: stored version is %d, update carries %d: %w", t.kind, m.ID, om.Version, m.Version, mdr.ErrConflict)
		}
		nm := m
		nm.Version++
		t.setVersion(&rec, nm.Version)
		if b, err = json.Marshal(&rec); err != nil {
			return err
		}
		for _, k := range t.indexKeys(om) {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return t.setRecord(txn, rk, b, nm)
	})
	if err != nil {
		return zero, err
	}
	var out T
	return out, json.Unmarshal(b, &out)
}

func (t table[T]) get(ctx context.Context, id string) (T, error) {
	var out T
	if err := ctx.Err(); err != nil {
		return out, err
	}
	if err := t.s.enter("get " + t.kind); err != nil {
		return out, err
	}
	defer t.s.mu.RUnlock()
	err := t.s.db.View(func(txn *bdg.Txn) error {
		rk := t.recordKey(id)
		item, err := txn.Get(rk)
		if err != nil {
			return err
		}
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &out) }); err != nil {
			return corrupt(rk, err.Error())
		}
		return nil
	})
	if errors.Is(err, bdg.ErrKeyNotFound) {
		return out, fmt.Errorf("badger store: %s %q: %w", t.kind, id, mdr.ErrNotFound)
	}
	return out, err
}

// list walks the index that fits q: the status index for a status filter in
// time order, the score index for ByScore, else the time index.
func (t table[T]) list(ctx context.Context, q store.ListQuery) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		var prefix []byte
		idOffset := 0 // where the id starts after the prefix
		switch {
		case q.Order == store.ByScore:
			prefix = []byte{t.prefix, tScore}
			idOffset = 16
		case q.Status != "":
			prefix = binary.AppendUvarint([]byte{t.prefix, tStatus}, uint64(len(q.Status)))
			prefix = append(prefix, q.Status...)
			idOffset = 8
		default:
			prefix = []byte{t.prefix, tTime}
			idOffset = 8
		}
		reverse := q.Order == store.ByTimeDesc
		r, err := t.s.startIteration("list "+t.kind+"s", bdg.IteratorOptions{Prefix: prefix, Reverse: reverse})
		if err != nil {
			yield(zero, err)
			return
		}
		defer r.close()
		var seek []byte
		switch {
		case q.Order == store.ByScore:
			seek = prefix
		case reverse:
			if q.To.IsZero() {
				seek = append(bytes.Clone(prefix), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
			} else {
				seek = binary.BigEndian.AppendUint64(bytes.Clone(prefix), orderedInt(store.TimeKey(q.To)))
			}
		case !q.From.IsZero():
			seek = binary.BigEndian.AppendUint64(bytes.Clone(prefix), orderedInt(store.TimeKey(q.From)))
		default:
			seek = prefix
		}
		first := true
		n := 0
		for {
			if err := ctx.Err(); err != nil {
				yield(zero, err)
				return
			}
			var rec T
			var done, skip bool
			err := r.step("list "+t.kind+"s", func() error {
				if first {
					r.it.Seek(seek)
					first = false
				} else {
					r.it.Next()
				}
				if !r.it.Valid() {
					done = true
					return nil
				}
				k := r.it.Item().Key()[len(prefix):]
				if len(k) < idOffset {
					return corrupt(r.it.Item().Key(), "index key too short")
				}
				if q.Order != store.ByScore {
					tk := fromOrderedInt(binary.BigEndian.Uint64(k))
					switch {
					case !reverse && !q.To.IsZero() && tk >= store.TimeKey(q.To),
						reverse && !q.From.IsZero() && tk < store.TimeKey(q.From):
						done = true
						return nil
					}
				}
				rk := t.recordKey(string(k[idOffset:]))
				item, err := r.txn.Get(rk)
				if err != nil {
					return fmt.Errorf("badger store: %s index points to %q: %w", t.kind, rk, err)
				}
				if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &rec) }); err != nil {
					return corrupt(rk, err.Error())
				}
				skip = !q.Keep(t.meta(&rec))
				return nil
			})
			if err != nil {
				yield(zero, err)
				return
			}
			if done {
				return
			}
			if skip {
				continue
			}
			if !yield(rec, nil) {
				return
			}
			n++
			if q.Limit > 0 && n >= q.Limit {
				return
			}
		}
	}
}

func (s *Store) alerts() table[store.AlertRecord] {
	return table[store.AlertRecord]{s: s, prefix: pAlert, kind: "alert", meta: store.MetaOfAlert,
		setVersion: func(a *store.AlertRecord, v uint64) { a.Version = v }}
}

func (s *Store) incidents() table[mdr.Incident] {
	return table[mdr.Incident]{s: s, prefix: pIncident, kind: "incident", meta: store.MetaOfIncident,
		setVersion: func(in *mdr.Incident, v uint64) { in.Version = v }}
}

// PutAlert implements store.Alerts.
func (s *Store) PutAlert(ctx context.Context, a store.AlertRecord) (store.AlertRecord, error) {
	return s.alerts().put(ctx, a)
}

// GetAlert implements store.Alerts.
func (s *Store) GetAlert(ctx context.Context, id string) (store.AlertRecord, error) {
	return s.alerts().get(ctx, id)
}

// UpdateAlert implements store.Alerts.
func (s *Store) UpdateAlert(ctx context.Context, a store.AlertRecord) (store.AlertRecord, error) {
	return s.alerts().update(ctx, a)
}

// ListAlerts implements store.Alerts.
func (s *Store) ListAlerts(ctx context.Context, q store.ListQuery) iter.Seq2[store.AlertRecord, error] {
	return s.alerts().list(ctx, q)
}

// PutIncident implements store.Incidents.
func (s *Store) PutIncident(ctx context.Context, in mdr.Incident) (mdr.Incident, error) {
	return s.incidents().put(ctx, in)
}

// GetIncident implements store.Incidents.
func (s *Store) GetIncident(ctx context.Context, id string) (mdr.Incident, error) {
	return s.incidents().get(ctx, id)
}

// UpdateIncident implements store.Incidents.
func (s *Store) UpdateIncident(ctx context.Context, in mdr.Incident) (mdr.Incident, error) {
	return s.incidents().update(ctx, in)
}

// ListIncidents implements store.Incidents.
func (s *Store) ListIncidents(ctx context.Context, q store.ListQuery) iter.Seq2[mdr.Incident, error] {
	return s.incidents().list(ctx, q)
}
