package badger

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	bdg "github.com/dgraph-io/badger/v4"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// loadAuditTail reads the last audit record so appends continue the chain.
func (s *Store) loadAuditTail() error {
	return s.db.View(func(txn *bdg.Txn) error {
		it := txn.NewIterator(bdg.IteratorOptions{Prefix: []byte{pAudit}, Reverse: true})
		defer it.Close()
		it.Seek(auditKey(^uint64(0)))
		if !it.Valid() {
			return nil
		}
		item := it.Item()
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &s.auditLast) }); err != nil {
			return corrupt(item.Key(), err.Error())
		}
		if k := item.Key(); len(k) != 9 || binary.BigEndian.Uint64(k[1:]) != s.auditLast.Seq {
			return corrupt(k, "audit key does not match the record's sequence number")
		}
		return nil
	})
}

// AppendAudit implements store.Audit. Appends are serialised and synced
// to disk before they return.
func (s *Store) AppendAudit(ctx context.Context, r store.AuditRecord) (store.AuditRecord, error) {
	if err := ctx.Err(); err != nil {
		return store.AuditRecord{}, err
	}
	if err := store.CheckAppend(&r); err != nil {
		return store.AuditRecord{}, err
	}
	r.Payload = slices.Clone(r.Payload)
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	prev := s.auditLast
	store.Seal(&r, &prev, time.Now().UTC())
	b, err := json.Marshal(&r)
	if err != nil {
		return store.AuditRecord{}, err
	}
	err = s.writeCritical("append audit", func(txn *bdg.Txn) error {
		k := auditKey(r.Seq)
		if _, err := txn.Get(k); err == nil {
			return fmt.Errorf("badger store: audit record %d already exists", r.Seq)
		}
		return txn.Set(k, b)
	})
	if err != nil {
		// the commit may have succeeded and only the sync failed: continue
		// the chain from what is stored
		if errors.Is(err, mdr.ErrClosed) {
			return store.AuditRecord{}, err
		}
		if terr := s.loadAuditTail(); terr != nil {
			return store.AuditRecord{}, errors.Join(err, terr)
		}
		return store.AuditRecord{}, err
	}
	s.auditLast = r
	out := r
	out.Payload = slices.Clone(r.Payload)
	return out, nil
}

// ReadAudit implements store.Audit.
func (s *Store) ReadAudit(ctx context.Context, from uint64) iter.Seq2[store.AuditRecord, error] {
	return func(yield func(store.AuditRecord, error) bool) {
		r, err := s.startIteration("read audit", bdg.IteratorOptions{Prefix: []byte{pAudit}})
		if err != nil {
			yield(store.AuditRecord{}, err)
			return
		}
		defer r.close()
		first := true
		for {
			if err := ctx.Err(); err != nil {
				yield(store.AuditRecord{}, err)
				return
			}
			var rec store.AuditRecord
			done := false
			err := r.step("read audit", func() error {
				if first {
					r.it.Seek(auditKey(max(from, 1)))
					first = false
				} else {
					r.it.Next()
				}
				if !r.it.Valid() {
					done = true
					return nil
				}
				item := r.it.Item()
				return item.Value(func(v []byte) error {
					if err := json.Unmarshal(v, &rec); err != nil {
						return corrupt(item.Key(), err.Error())
					}
					return nil
				})
			})
			if err != nil {
				yield(store.AuditRecord{}, err)
				return
			}
			if done || !yield(rec, nil) {
				return
			}
		}
	}
}

// PutState implements store.State; the write is synced before it returns.
func (s *Store) PutState(ctx context.Context, key string, val []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v := slices.Clone(val)
	if v == nil {
		v = []byte{}
	}
	err := s.writeCritical("put state", func(txn *bdg.Txn) error { return txn.Set(stateKey(key), v) })
	if err != nil {
		return fmt.Errorf("badger store: state %q: %w", key, err)
	}
	return nil
}

// GetState implements store.State.
func (s *Store) GetState(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.enter("get state"); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	var out []byte
	err := s.db.View(func(txn *bdg.Txn) error {
		item, err := txn.Get(stateKey(key))
		if err != nil {
			return err
		}
		out, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, bdg.ErrKeyNotFound) {
		return nil, fmt.Errorf("badger store: state %q: %w", key, mdr.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("badger store: state %q: %w", key, err)
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}
