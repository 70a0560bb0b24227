package badger_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
	"github.com/mdrkit/mdr/store/storetest"
)

func TestAppender(t *testing.T) {
	s := openTemp(t, func(cfg *badger.Config) {
		cfg.MemTableSize = 1 << 20 // about 650 events per transaction: the batch of 2,000 below is split
	})
	defer s.Close()
	evs := readEvents(t, "evtx_attack_samples.jsonl", 0)
	ap, err := s.NewAppender()
	if err != nil {
		t.Fatal(err)
	}
	// batches of 300 that repeat the last 10 events of the batch before
	// (stored by the commit in flight while the batch is prepared), one
	// batch with an event twice, one batch larger than a transaction, and
	// a refused batch in the middle
	sent, batches := 0, 0
	for start := 0; start < len(evs); {
		size := 300
		if batches == 7 {
			size = 2000
		}
		from := max(0, start-10)
		end := min(len(evs), start+size)
		batch := append([]*mdr.Event(nil), evs[from:end]...)
		if batches == 3 {
			batch = append(batch, batch[5])
		}
		if batches == 5 {
			var be *store.BatchError
			if err := ap.Append(t.Context(), []*mdr.Event{evs[0], nil}); !errors.As(err, &be) || be.Index != 1 {
				t.Fatalf("batch with a nil event: %v", err)
			}
		}
		if err := ap.Append(t.Context(), batch); err != nil {
			t.Fatalf("batch %d: %v", batches, err)
		}
		sent += len(batch)
		batches++
		start = end
	}
	res, err := ap.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != len(evs) || res.Added+res.Duplicates != sent {
		t.Errorf("Close = %+v; want %d added of %d sent", res, len(evs), sent)
	}
	if n, err := s.CountEvents(t.Context(), time.Time{}, time.Time{}); err != nil || n != int64(len(evs)) {
		t.Errorf("CountEvents = %d, %v; want %d", n, err, len(evs))
	}
	for _, i := range []int{0, 299, 300, 301, len(evs) / 2, len(evs) - 1} {
		if got, err := s.GetEvent(t.Context(), evs[i].ID()); err != nil || got.Len() != evs[i].Len() {
			t.Errorf("GetEvent(%s): %v", evs[i].ID(), err)
		}
	}
	// everything again: all duplicates
	ap, err = s.NewAppender()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(evs); i += 1000 {
		if err := ap.Append(t.Context(), evs[i:min(i+1000, len(evs))]); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := ap.Close(); err != nil || res.Added != 0 || res.Duplicates != len(evs) {
		t.Errorf("second load: %+v, %v; want all %d duplicates", res, err, len(evs))
	}
}

// TestAppenderOrder checks that events of the same time come back in the
// order they were appended across batches.
func TestAppenderOrder(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ap, err := s.NewAppender()
	if err != nil {
		t.Fatal(err)
	}
	const n, size = 5000, 100
	for i := 0; i < n; i += size {
		batch := make([]*mdr.Event, size)
		for j := range batch {
			batch[j] = storetest.Event(fmt.Sprintf("ev-%05d", i+j), at)
		}
		if err := ap.Append(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ap.Close(); err != nil {
		t.Fatal(err)
	}
	i := 0
	for e, err := range s.ScanEvents(t.Context(), store.EventQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("ev-%05d", i); e.ID() != want {
			t.Fatalf("event %d is %s, want %s", i, e.ID(), want)
		}
		i++
	}
	if i != n {
		t.Errorf("%d events back, want %d", i, n)
	}
}

// TestAppenderCanceled checks that a canceled context stops the Appender
// and that Close still waits for the commit in flight.
func TestAppenderCanceled(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	evs := readEvents(t, "evtx_attack_samples.jsonl", 600)
	ap, err := s.NewAppender()
	if err != nil {
		t.Fatal(err)
	}
	if err := ap.Append(t.Context(), evs[:300]); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := ap.Append(ctx, evs[300:]); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a canceled context: %v", err)
	}
	if err := ap.Append(t.Context(), evs[300:]); !errors.Is(err, context.Canceled) {
		t.Errorf("Append after the error: %v, want the first error again", err)
	}
	res, err := ap.Close()
	if !errors.Is(err, context.Canceled) || res.Added != 300 {
		t.Errorf("Close = %+v, %v; want 300 added and the error", res, err)
	}
	if n, _ := s.CountEvents(t.Context(), time.Time{}, time.Time{}); n != 300 {
		t.Errorf("%d events stored, want 300", n)
	}
}
