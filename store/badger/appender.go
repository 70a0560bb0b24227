package badger

import (
	"context"
	"errors"
	"fmt"

	bdg "github.com/dgraph-io/badger/v4"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// Appender loads event batches in bulk: it prepares each batch (encoding,
// duplicate checks by id, keys and sequence numbers) while badger is still
// writing the batch before, so that a loader with a batch ready keeps both
// a CPU on encoding and badger's writer busy. Batches are stored in the
// order they are appended, each atomically when it fits one transaction
// (as with AppendEvents), with the same duplicate rule.
//
// A batch is prepared in a transaction whose snapshot does not yet hold the
// batch before it; an id stored by that batch is still seen, because
// badger then refuses the commit as a conflict and the Appender stores the
// batch again with AppendEvents, which counts the id as a duplicate. Such a
// batch (and one larger than a transaction) is stored after the batches
// appended before it, but its events sort after theirs among events of the
// same time.
//
// An Append returns once its batch is prepared and its commit started; the
// outcome of a batch is known at the next Append or at Close, which report
// its error: a batch is stored (durably as far as Config.SyncEvents makes
// it) once the next Append or Close has returned without error. An
// Appender is not safe for concurrent use: one goroutine calls Append and
// Close, and Close must be called before the Store is closed.
type Appender struct {
	s       *Store
	next    *bdg.Txn           // the transaction the next batch is prepared in
	flight  chan error         // outcome of the commit in flight; nil when none
	fbatch  []*mdr.Event       // the batch in flight
	fres    store.AppendResult // what it stores when its commit succeeds
	total   store.AppendResult // what committed batches stored
	err     error              // the first error; every later call returns it
	scratch []byte
	since   int // events appended since mapped pages were last released
}

// releaseEvery is the number of events an Appender appends between two
// releases of the store's mapped pages (see Config.ReleaseMappedPages).
const releaseEvery = 50000

// NewAppender starts a bulk load.
func (s *Store) NewAppender() (*Appender, error) {
	if err := s.enter("appender"); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	return &Appender{s: s, next: s.db.NewTransaction(true)}, nil
}

// Append prepares batch, waits for the commit of the batch before it, and
// starts the commit of batch. A nil event or one without an id refuses the
// batch with a *store.BatchError (the Appender stays usable); any other
// error stops the Appender.
func (a *Appender) Append(ctx context.Context, batch []*mdr.Event) error {
	if a.err != nil {
		return a.err
	}
	if err := checkBatch(batch); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return a.fail(err)
	}
	if len(batch) == 0 {
		return nil
	}
	txn := a.next
	a.next = nil
	n, res, err := a.prepare(txn, batch)
	if err != nil || n < len(batch) {
		// too big for one transaction (or badger said so): stored in parts,
		// synchronously, after the batch in flight
		txn.Discard()
		if err != nil && !errors.Is(err, errShrink) {
			return a.fail(err)
		}
		if err := a.wait(ctx); err != nil {
			return err
		}
		r, err := a.s.AppendEvents(ctx, batch)
		a.add(r)
		if err != nil {
			return a.fail(err)
		}
		return a.renew()
	}
	if err := a.wait(ctx); err != nil {
		txn.Discard()
		return err
	}
	// the next batch's transaction starts before this commit, so that its
	// preparation does not wait for this commit to be written
	if err := a.renew(); err != nil {
		txn.Discard()
		return err
	}
	if a.since += len(batch); a.since >= releaseEvery && a.s.cfg.ReleaseMappedPages {
		a.since = 0
		releaseMappedPages(a.s.cfg.Dir)
	}
	done := make(chan error, 1)
	a.flight, a.fbatch, a.fres = done, batch, res
	txn.CommitWith(func(err error) { done <- err })
	return nil
}

// prepare writes batch into txn under the store's shared lock.
func (a *Appender) prepare(txn *bdg.Txn, batch []*mdr.Event) (int, store.AppendResult, error) {
	if err := a.s.enter("append events"); err != nil {
		return 0, store.AppendResult{}, err
	}
	defer a.s.mu.RUnlock()
	maxBytes, maxCount := a.s.txnBudget()
	return a.s.prepareChunk(txn, batch, maxBytes, maxCount, &a.scratch)
}

// renew starts the transaction of the next batch.
func (a *Appender) renew() error {
	if err := a.s.enter("append events"); err != nil {
		return a.fail(err)
	}
	defer a.s.mu.RUnlock()
	a.next = a.s.db.NewTransaction(true)
	return nil
}

// wait waits for the commit in flight; a batch refused as a conflict (or as
// too big) is stored again with AppendEvents.
func (a *Appender) wait(ctx context.Context) error {
	if a.flight == nil {
		return nil
	}
	err := <-a.flight
	batch, res := a.fbatch, a.fres
	a.flight, a.fbatch = nil, nil
	switch {
	case err == nil:
		a.add(res)
		return nil
	case errors.Is(err, bdg.ErrConflict) || errors.Is(err, bdg.ErrTxnTooBig):
		r, err := a.s.AppendEvents(ctx, batch)
		a.add(r)
		if err != nil {
			return a.fail(err)
		}
		return nil
	}
	return a.fail(fmt.Errorf("badger store: append events: %w", err))
}

func (a *Appender) add(r store.AppendResult) {
	a.total.Added += r.Added
	a.total.Duplicates += r.Duplicates
}

func (a *Appender) fail(err error) error {
	if a.err == nil {
		a.err = err
	}
	return a.err
}

// Close waits for the last commit and reports what the Appender stored,
// and its first error. It does not close the Store.
func (a *Appender) Close() (store.AppendResult, error) {
	werr := a.wait(context.Background())
	if a.next != nil {
		a.s.mu.RLock()
		if !a.s.closed {
			a.next.Discard()
		}
		a.s.mu.RUnlock()
		a.next = nil
	}
	if a.err != nil {
		return a.total, a.err
	}
	return a.total, werr
}
