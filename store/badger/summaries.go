package badger

import (
	"context"
	"encoding/binary"
	"iter"
	"math"
	"slices"

	bdg "github.com/dgraph-io/badger/v4"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// span is a closed interval of time keys.
type span struct{ lo, hi int64 }

// ScanSummarized is ScanEvents for searches that can rule out whole
// segments: it reads the summaries (store.Summary) of the segments written
// into q's time range, calls keep with each one, and reads only the events
// in the time spans of the segments kept, in time order. Events of a
// segment not kept are still read when they fall inside the span of one
// that is. keep, q.Filter and the loop body run on the scanning goroutine,
// keep before any event is yielded; neither may call back into the store.
// Like ScanEvents it reads one snapshot taken when the iteration starts.
func (s *Store) ScanSummarized(ctx context.Context, q store.EventQuery, keep func(*store.Summary) bool) iter.Seq2[*mdr.Event, error] {
	return func(yield func(*mdr.Event, error) bool) {
		r, err := s.startIteration("scan events", bdg.IteratorOptions{Prefix: []byte{pEvent}})
		if err != nil {
			yield(nil, err)
			return
		}
		defer r.close()
		from, to := store.TimeKey(q.From), int64(math.MaxInt64)
		if !q.To.IsZero() {
			to = store.TimeKey(q.To) - 1
			if to < from {
				return
			}
		}
		var spans []span
		err = r.step("scan events", func() error {
			var err error
			spans, err = s.keptSpans(ctx, r.txn, from, to, keep)
			return err
		})
		if err != nil {
			yield(nil, err)
			return
		}
		b := mdr.NewBuilder(64)
		n, step := 0, 0
		for _, sp := range spans {
			lo := s.eventKey(make([]byte, 0, eventKeyLen), sp.lo, 0)
			hi := s.eventKey(make([]byte, 0, eventKeyLen), sp.hi, math.MaxUint64)
			first := true
			for ; ; step++ {
				if step%256 == 0 {
					if err := ctx.Err(); err != nil {
						yield(nil, err)
						return
					}
				}
				ev, done, err := r.nextEventIn(s, first, lo, hi, b)
				first = false
				if err != nil {
					yield(nil, err)
					return
				}
				if done {
					break
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
}

// keptSpans reads the summaries of the buckets of [from, to] and returns
// the merged time spans (clipped to the range) of those keep accepts.
func (s *Store) keptSpans(ctx context.Context, txn *bdg.Txn, from, to int64, keep func(*store.Summary) bool) ([]span, error) {
	it := txn.NewIterator(bdg.IteratorOptions{Prefix: []byte{pSummary}, PrefetchValues: false})
	defer it.Close()
	start := binary.BigEndian.AppendUint64([]byte{pSummary}, orderedInt(s.bucketOf(from)))
	last := orderedInt(s.bucketOf(to))
	var spans []span
	for it.Seek(start); it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()
		if len(k) != summaryKeyLen {
			return nil, corrupt(k, "summary key of the wrong length")
		}
		if binary.BigEndian.Uint64(k[1:9]) > last {
			break
		}
		if len(spans)%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var sum *store.Summary
		if err := item.Value(func(v []byte) error {
			var err error
			sum, err = store.DecodeSummary(v)
			return err
		}); err != nil {
			return nil, corrupt(k, err.Error())
		}
		lo, hi := max(sum.MinTime, from), min(sum.MaxTime, to)
		if lo > hi || !keep(sum) {
			continue
		}
		spans = append(spans, span{lo, hi})
	}
	slices.SortFunc(spans, func(a, b span) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	out := spans[:0]
	for _, sp := range spans {
		if n := len(out); n > 0 && sp.lo <= out[n-1].hi {
			out[n-1].hi = max(out[n-1].hi, sp.hi)
			continue
		}
		out = append(out, sp)
	}
	return out, nil
}

// nextEventIn moves the iteration to its next event (the first at or after
// lo when first) and decodes it; done reports a key past hi.
func (r *iteration) nextEventIn(s *Store, first bool, lo, hi []byte, b *mdr.Builder) (ev *mdr.Event, done bool, err error) {
	if err := s.enter("scan events"); err != nil {
		return nil, false, err
	}
	defer s.mu.RUnlock()
	if first {
		r.it.Seek(lo)
	} else {
		r.it.Next()
	}
	if !r.it.Valid() {
		return nil, true, nil
	}
	item := r.it.Item()
	k := item.Key()
	if string(k) > string(hi) {
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
