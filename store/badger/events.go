package badger

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
	"time"

	bdg "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/skl"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// errShrink asks appendEvents to retry a chunk with a smaller budget.
var errShrink = errors.New("transaction too big")

// txnBudget is the part of badger's transaction limits one chunk of a batch
// may use (80%, leaving room for badger's own estimate).
func (s *Store) txnBudget() (bytes, count int64) {
	maxBytes := 15 * s.cfg.MemTableSize / 100
	return maxBytes * 8 / 10, maxBytes / int64(skl.MaxNodeSize) * 8 / 10
}

// entrySize is what badger counts against a transaction's limit for one
// entry: the key, the value or (from ValueThreshold on) a value-log pointer,
// two meta bytes and 10 more for the version.
func (s *Store) entrySize(key, val int) int64 {
	if int64(val) >= s.cfg.ValueThreshold {
		val = 12
	}
	return int64(key+val) + 2 + 10
}

// MaxAtomicBatchBytes is the size, counted as badger counts it (key plus
// value, or plus a 12-byte pointer for values of ValueThreshold bytes or
// more, plus 12 per entry), up to which AppendEvents and AppendEdges commit
// a batch in one transaction; a larger batch, or one with more entries than
// badger allows in a transaction, is split into several transactions, each
// atomic.
func (s *Store) MaxAtomicBatchBytes() int64 { b, _ := s.txnBudget(); return b }

// AppendEvents implements store.Events. A batch that fits in one
// transaction (see MaxAtomicBatchBytes; about 10,000 events with the
// default MemTableSize, where badger's limit on entries per transaction
// binds first) is stored atomically. A larger batch is committed in parts; if the process dies in between, the parts committed
// are kept, and re-sending the batch stores the rest (ids already stored
// count as duplicates).
func (s *Store) AppendEvents(ctx context.Context, batch []*mdr.Event) (store.AppendResult, error) {
	var res store.AppendResult
	if err := checkBatch(batch); err != nil {
		return res, err
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if len(batch) == 0 {
		return res, nil
	}
	if err := s.enter("append events"); err != nil {
		return res, err
	}
	defer s.mu.RUnlock()
	maxBytes, maxCount := s.txnBudget()
	conflicts := 0
	var scratch []byte
	for start := 0; start < len(batch); {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("badger store: append events stopped at batch[%d]: %w", start, err)
		}
		n, r, err := s.appendChunk(batch[start:], maxBytes, maxCount, &scratch)
		switch {
		case errors.Is(err, errShrink) && maxBytes > 1<<16:
			maxBytes /= 2
			continue
		case errors.Is(err, bdg.ErrConflict) && conflicts < 16:
			conflicts++ // another writer stored one of these ids meanwhile: redo the chunk
			continue
		case err != nil:
			return res, fmt.Errorf("badger store: append events (batch[%d:]): %w", start, err)
		}
		res.Added += r.Added
		res.Duplicates += r.Duplicates
		start += n
	}
	return res, nil
}

// checkBatch refuses a batch with a nil event or an event without an id.
func checkBatch(batch []*mdr.Event) error {
	for i, e := range batch {
		if e == nil {
			return &store.BatchError{Index: i, Err: fmt.Errorf("%w: nil event", mdr.ErrInvalid)}
		}
		if e.ID() == "" {
			return &store.BatchError{Index: i, Err: store.ErrNoID}
		}
	}
	return nil
}

// appendChunk writes a prefix of batch in one transaction and reports how
// many events it consumed.
func (s *Store) appendChunk(batch []*mdr.Event, maxBytes, maxCount int64, scratch *[]byte) (int, store.AppendResult, error) {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	n, res, err := s.prepareChunk(txn, batch, maxBytes, maxCount, scratch)
	if err != nil {
		return 0, res, err
	}
	if err := txn.Commit(); err != nil {
		if errors.Is(err, bdg.ErrTxnTooBig) {
			return 0, res, errShrink
		}
		return 0, res, err
	}
	return n, res, nil
}

// prepareChunk writes a prefix of batch into txn (not committed) and
// reports how many events it consumed and what committing would store.
// Each event is stored compressed (compress.go); the events it adds are
// summarised per time bucket, and each bucket's summary is written in the
// same transaction under a key of its own (summaryKey).
func (s *Store) prepareChunk(txn *bdg.Txn, batch []*mdr.Event, maxBytes, maxCount int64, scratch *[]byte) (int, store.AppendResult, error) {
	var res store.AppendResult
	var arena []byte
	var size, count int64
	n := 0
	s.comp.mu.Lock()
	defer s.comp.mu.Unlock()
	sums := s.comp.sums[:0]
	// The summaries are built on a goroutine of their own while this one
	// encodes, compresses and writes (they take a third of the work).
	sumCh := make(chan summaryItem, 256)
	sumDone := make(chan struct{})
	go func() {
		defer close(sumDone)
		for it := range sumCh {
			it.b.Add(it.e)
		}
	}()
	sumOpen := true
	finishSums := func() {
		if sumOpen {
			sumOpen = false
			close(sumCh)
			<-sumDone
		}
	}
	defer finishSums()
	// room for the summaries written at the end
	maxBytes -= maxChunkBuckets * s.entrySize(summaryKeyLen, int(s.cfg.ValueThreshold))
	maxCount -= maxChunkBuckets
	for _, e := range batch {
		raw := appendEvent((*scratch)[:0], e)
		*scratch = raw
		id := e.ID()
		var err error
		s.comp.val, err = s.encodeValue(s.comp.val[:0], raw, idPrefixLen(id))
		if err != nil {
			return 0, res, err
		}
		val := s.comp.val
		need := len(val) + eventKeyLen + 1 + len(id) + eventKeyLen
		entrySize := s.entrySize(eventKeyLen, len(val)) + s.entrySize(1+len(id), eventKeyLen-1)
		if n > 0 && (size+entrySize > maxBytes || count+2 > maxCount) {
			break
		}
		tk := store.TimeKey(e.Time())
		bucket := s.bucketOf(tk)
		si := slices.IndexFunc(sums, func(b bucketSummary) bool { return b.bucket == bucket })
		if si < 0 && len(sums) == maxChunkBuckets {
			break // the chunk ends here; the next one takes this bucket
		}
		if cap(arena)-len(arena) < need {
			// room for this event and, at its size, up to 128 KiB of the rest
			arena = make([]byte, 0, max(need, min(128<<10, need*(len(batch)-n))))
		}
		off := len(arena)
		arena = append(arena, val...)
		val = arena[off:len(arena):len(arena)]
		off = len(arena)
		arena = append(append(arena, pEventID), id...)
		ik := arena[off:len(arena):len(arena)]

		_, err = txn.Get(ik)
		switch {
		case err == nil:
			res.Duplicates++
			n++
			continue
		case !errors.Is(err, bdg.ErrKeyNotFound):
			return 0, res, err
		}
		seq, err := s.seq.Next()
		if err != nil {
			return 0, res, err
		}
		off = len(arena)
		arena = s.eventKey(arena, tk, seq)
		ek := arena[off:len(arena):len(arena)]
		if err := txn.Set(ek, val); err != nil {
			if errors.Is(err, bdg.ErrTxnTooBig) {
				return 0, res, errShrink
			}
			return 0, res, err
		}
		if err := txn.Set(ik, ek[1:]); err != nil {
			if errors.Is(err, bdg.ErrTxnTooBig) {
				return 0, res, errShrink
			}
			return 0, res, err
		}
		if si < 0 {
			si = len(sums)
			sums = s.comp.summaryFor(sums, bucket)
		}
		sumCh <- summaryItem{sums[si].b, e}
		size += entrySize
		count += 2
		res.Added++
		n++
	}
	s.comp.sums = sums
	finishSums()
	for i := range sums {
		seq, err := s.seq.Next()
		if err != nil {
			return 0, res, err
		}
		if err := txn.Set(summaryKey(sums[i].bucket, seq), sums[i].b.AppendTo(nil)); err != nil {
			if errors.Is(err, bdg.ErrTxnTooBig) {
				return 0, res, errShrink
			}
			return 0, res, err
		}
	}
	return n, res, nil
}

// GetEvent implements store.Events.
func (s *Store) GetEvent(ctx context.Context, id string) (*mdr.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.enter("get event"); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	var ev *mdr.Event
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	// one buffer for both keys: the id key, then the event key
	keys := make([]byte, 0, 1+len(id)+eventKeyLen)
	keys = append(append(keys, pEventID), id...)
	item, err := txn.Get(keys)
	if err == nil {
		ek := append(keys[len(keys):], pEvent)
		err = item.Value(func(v []byte) error {
			if len(v) != eventKeyLen-1 {
				return corrupt(keys, "event key of the wrong length")
			}
			ek = append(ek, v...)
			return nil
		})
		if err == nil {
			item, err = txn.Get(ek)
		}
		if err == nil {
			b := builders.Get().(*mdr.Builder)
			err = item.Value(func(v []byte) error {
				var derr error
				if ev, _, derr = s.decodeValue(txn, v, b, nil); derr != nil {
					return corrupt(ek, derr.Error())
				}
				return nil
			})
			builders.Put(b)
		}
	}
	if errors.Is(err, bdg.ErrKeyNotFound) {
		return nil, fmt.Errorf("badger store: event %q: %w", id, mdr.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("badger store: event %q: %w", id, err)
	}
	return ev, nil
}

// builders holds reusable event builders for GetEvent.
var builders = sync.Pool{New: func() any { return mdr.NewBuilder(64) }}

// iteration is a badger iterator used by an iter.Seq: it holds the store's
// shared lock only while it touches badger, never while the caller's loop
// body runs, and is released only while the store is open.
type iteration struct {
	s   *Store
	txn *bdg.Txn
	it  *bdg.Iterator
	buf []byte // decompressed event encoding
}

// startIteration opens a read transaction and an iterator over prefix.
func (s *Store) startIteration(op string, opt bdg.IteratorOptions) (*iteration, error) {
	if err := s.enter(op); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	txn := s.db.NewTransaction(false)
	return &iteration{s: s, txn: txn, it: txn.NewIterator(opt)}, nil
}

// step runs f under the shared lock; it fails once the store is closed.
func (r *iteration) step(op string, f func() error) error {
	if err := r.s.enter(op); err != nil {
		return err
	}
	defer r.s.mu.RUnlock()
	return f()
}

func (r *iteration) close() {
	r.s.mu.RLock()
	defer r.s.mu.RUnlock()
	if !r.s.closed {
		r.it.Close()
		r.txn.Discard()
	}
}

// ScanEvents implements store.Events. The scan reads a snapshot of the
// store taken when the iteration starts.
func (s *Store) ScanEvents(ctx context.Context, q store.EventQuery) iter.Seq2[*mdr.Event, error] {
	return func(yield func(*mdr.Event, error) bool) {
		r, err := s.startIteration("scan events", bdg.IteratorOptions{Prefix: []byte{pEvent}})
		if err != nil {
			yield(nil, err)
			return
		}
		defer r.close()
		var hi []byte
		if !q.To.IsZero() {
			hi = s.eventBound(q.To)
		}
		b := mdr.NewBuilder(64)
		first := true
		n := 0
		for step := 0; ; step++ {
			if step%256 == 0 {
				if err := ctx.Err(); err != nil {
					yield(nil, err)
					return
				}
			}
			ev, done, err := r.nextEvent(s, first, q.From, hi, b)
			first = false
			if err != nil {
				yield(nil, err)
				return
			}
			if done {
				return
			}
			if q.Filter != nil && !q.Filter(ev) {
				continue
			}
			if !yield(ev, nil) {
				return
			}
			n++
			if q.Limit > 0 && n >= q.Limit {
				return
			}
		}
	}
}

// nextEvent moves the scan to its next event (the first at or after from
// when first) and decodes it, under the store's shared lock; done reports
// the end of the range.
func (r *iteration) nextEvent(s *Store, first bool, from time.Time, hi []byte, b *mdr.Builder) (ev *mdr.Event, done bool, err error) {
	if err := s.enter("scan events"); err != nil {
		return nil, false, err
	}
	defer s.mu.RUnlock()
	if first {
		r.it.Seek(s.eventBound(from))
	} else {
		r.it.Next()
	}
	if !r.it.Valid() {
		return nil, true, nil
	}
	item := r.it.Item()
	k := item.Key()
	if hi != nil && string(k) >= string(hi) {
		return nil, true, nil
	}
	err = item.Value(func(v []byte) error {
		var derr error
		if ev, r.buf, derr = s.decodeValue(r.txn, v, b, r.buf); derr != nil {
			return corrupt(k, derr.Error())
		}
		return nil
	})
	return ev, false, err
}

// CountEvents implements store.Events. It walks the keys of the range
// without reading the events.
func (s *Store) CountEvents(ctx context.Context, from, to time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := s.enter("count events"); err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	var n int64
	err := s.db.View(func(txn *bdg.Txn) error {
		it := txn.NewIterator(bdg.IteratorOptions{Prefix: []byte{pEvent}})
		defer it.Close()
		var hi []byte
		if !to.IsZero() {
			hi = s.eventBound(to)
		}
		for it.Seek(s.eventBound(from)); it.Valid(); it.Next() {
			if hi != nil && string(it.Item().Key()) >= string(hi) {
				break
			}
			n++
			if n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return n, err
}

// DropEventsBefore implements store.Retention: it drops every time bucket
// that ends at or before t, each with one badger DropPrefix after removing
// its events' id entries, and reports how many events it dropped. Events
// in the bucket holding t stay. Do not append events into buckets being
// dropped while it runs.
func (s *Store) DropEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := s.enter("drop events"); err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	cut := orderedInt(s.bucketOf(store.TimeKey(t)))
	var dropped int64
	for {
		if err := ctx.Err(); err != nil {
			return dropped, err
		}
		// the oldest bucket left
		var prefix []byte
		err := s.db.View(func(txn *bdg.Txn) error {
			it := txn.NewIterator(bdg.IteratorOptions{Prefix: []byte{pEvent}})
			defer it.Close()
			it.Rewind()
			if it.Valid() {
				k := it.Item().Key()
				if len(k) == eventKeyLen && binary.BigEndian.Uint64(k[1:9]) < cut {
					prefix = append([]byte(nil), k[:9]...)
				}
			}
			return nil
		})
		if err != nil || prefix == nil {
			return dropped, err
		}
		n, err := s.dropBucket(prefix)
		dropped += n
		if err != nil {
			return dropped, fmt.Errorf("badger store: drop bucket %x: %w", prefix[1:], err)
		}
		s.log.Debug("badger store: dropped event bucket", "dir", s.cfg.Dir,
			"start", time.Unix(0, fromOrderedInt(binary.BigEndian.Uint64(prefix[1:]))*s.bucketNanos).UTC(), "events", n)
	}
}

func (s *Store) dropBucket(prefix []byte) (int64, error) {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	var n int64
	err := s.db.View(func(txn *bdg.Txn) error {
		it := txn.NewIterator(bdg.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			var id string
			if err := item.Value(func(v []byte) error {
				var err error
				id, err = valueID(v)
				return err
			}); err != nil {
				return corrupt(item.Key(), err.Error())
			}
			if err := wb.Delete(idKey(id)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := wb.Flush(); err != nil {
		return 0, err
	}
	sp := append([]byte{pSummary}, prefix[1:]...)
	return n, s.db.DropPrefix(prefix, sp)
}
