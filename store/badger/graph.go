package badger

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"

	bdg "github.com/dgraph-io/badger/v4"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// AppendEdges implements store.Graph. Each edge is written twice, under
// its From node (out) and its To node (in). Batches are atomic up to
// MaxAtomicBatchBytes, as for AppendEvents.
func (s *Store) AppendEdges(ctx context.Context, edges []mdr.Relation) error {
	for i := range edges {
		if err := store.CheckEdge(&edges[i]); err != nil {
			return &store.BatchError{Index: i, Err: err}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(edges) == 0 {
		return nil
	}
	if err := s.enter("append edges"); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	maxBytes, maxCount := s.txnBudget()
	for start := 0; start < len(edges); {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("badger store: append edges stopped at batch[%d]: %w", start, err)
		}
		n, err := s.appendEdgeChunk(edges[start:], maxBytes, maxCount)
		if errors.Is(err, errShrink) && maxBytes > 1<<16 {
			maxBytes /= 2
			continue
		}
		if err != nil {
			return fmt.Errorf("badger store: append edges (batch[%d:]): %w", start, err)
		}
		start += n
	}
	return nil
}

func (s *Store) appendEdgeChunk(edges []mdr.Relation, maxBytes, maxCount int64) (int, error) {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	var size, count int64
	n := 0
	for i := range edges {
		r := &edges[i]
		val := appendRelation(nil, r)
		seq, err := s.seq.Next()
		if err != nil {
			return 0, err
		}
		tk := orderedInt(store.TimeKey(r.Time))
		out := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(adjPrefix(gOut, r.From), tk), seq)
		in := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(adjPrefix(gIn, r.To), tk), seq)
		entry := s.entrySize(len(out), len(val)) + s.entrySize(len(in), len(val))
		if n > 0 && (size+entry > maxBytes || count+2 > maxCount) {
			break
		}
		for _, k := range [][]byte{out, in} {
			if err := txn.Set(k, val); err != nil {
				if errors.Is(err, bdg.ErrTxnTooBig) {
					return 0, errShrink
				}
				return 0, err
			}
		}
		size += entry
		count += 2
		n++
	}
	if err := txn.Commit(); err != nil {
		if errors.Is(err, bdg.ErrTxnTooBig) {
			return 0, errShrink
		}
		return 0, err
	}
	return n, nil
}

// edgeStream is one direction of a Neighbors walk.
type edgeStream struct {
	r        *iteration
	prefix   []byte
	started  bool
	done     bool
	skipSelf bool
	hiKey    []byte
	head     *mdr.Relation
	headKey  []byte // time(8) seq(8) of head
}

// Neighbors implements store.Graph. It merges the out and in adjacency
// lists of node by time, reading one snapshot.
func (s *Store) Neighbors(ctx context.Context, node string, q store.EdgeQuery) iter.Seq2[mdr.Relation, error] {
	return func(yield func(mdr.Relation, error) bool) {
		var streams []*edgeStream
		defer func() {
			for _, st := range streams {
				st.r.close()
			}
		}()
		for _, d := range []struct {
			dir  store.Direction
			code byte
		}{{store.Out, gOut}, {store.In, gIn}} {
			if q.Dir != store.Both && q.Dir != d.dir {
				continue
			}
			p := adjPrefix(d.code, node)
			r, err := s.startIteration("neighbors", bdg.IteratorOptions{Prefix: p})
			if err != nil {
				yield(mdr.Relation{}, err)
				return
			}
			st := &edgeStream{r: r, prefix: p, skipSelf: d.dir == store.In && q.Dir == store.Both}
			if !q.To.IsZero() {
				st.hiKey = binary.BigEndian.AppendUint64(append([]byte(nil), p...), orderedInt(store.TimeKey(q.To)))
			}
			streams = append(streams, st)
		}
		from := orderedInt(store.TimeKey(q.From))
		n := 0
		for {
			if err := ctx.Err(); err != nil {
				yield(mdr.Relation{}, err)
				return
			}
			var best *edgeStream
			for _, st := range streams {
				if err := st.fill(from); err != nil {
					yield(mdr.Relation{}, err)
					return
				}
				if st.head != nil && (best == nil || string(st.headKey) < string(best.headKey)) {
					best = st
				}
			}
			if best == nil {
				return
			}
			rel := *best.head
			best.head = nil
			if !yield(rel, nil) {
				return
			}
			n++
			if q.Limit > 0 && n >= q.Limit {
				return
			}
		}
	}
}

// fill reads the stream's next edge into head when head is empty.
func (st *edgeStream) fill(from uint64) error {
	for st.head == nil && !st.done {
		err := st.r.step("neighbors", func() error {
			if !st.started {
				st.r.it.Seek(binary.BigEndian.AppendUint64(append([]byte(nil), st.prefix...), from))
				st.started = true
			} else {
				st.r.it.Next()
			}
			if !st.r.it.Valid() {
				st.done = true
				return nil
			}
			item := st.r.it.Item()
			k := item.Key()
			if st.hiKey != nil && string(k) >= string(st.hiKey) || len(k) != len(st.prefix)+16 {
				st.done = true
				return nil
			}
			return item.Value(func(v []byte) error {
				rel, err := decodeRelation(v)
				if err != nil {
					return corrupt(k, err.Error())
				}
				if st.skipSelf && rel.From == rel.To {
					return nil
				}
				st.head = &rel
				st.headKey = append(st.headKey[:0], k[len(st.prefix):]...)
				return nil
			})
		})
		if err != nil {
			return err
		}
	}
	return nil
}
