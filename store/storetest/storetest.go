// Package storetest is the conformance suite of package store. Every
// implementation in this module runs it, and a host product that brings
// its own storage runs it against its implementation:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openMine(t) })
//	}
//
// The open function is called once per subtest and must return a new,
// empty store; the suite closes it. Parts of the contract can be run alone
// (RunEvents, RunAlerts, RunIncidents, RunGraph, RunAudit, RunState) for
// implementations of only some interfaces.
//
// The suite uses only synthetic data it builds itself, so it needs no files.
// Subtests may run in parallel with each other only if the open function
// allows it; the suite itself does not call t.Parallel.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// Run runs the whole suite against stores made by open.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	t.Run("Events", func(t *testing.T) { RunEvents(t, func(t *testing.T) store.Events { return openAndClose(t, open) }) })
	t.Run("Alerts", func(t *testing.T) { RunAlerts(t, func(t *testing.T) store.Alerts { return openAndClose(t, open) }) })
	t.Run("Incidents", func(t *testing.T) {
		RunIncidents(t, func(t *testing.T) store.Incidents { return openAndClose(t, open) })
	})
	t.Run("Graph", func(t *testing.T) { RunGraph(t, func(t *testing.T) store.Graph { return openAndClose(t, open) }) })
	t.Run("Audit", func(t *testing.T) { RunAudit(t, func(t *testing.T) store.Audit { return openAndClose(t, open) }) })
	t.Run("State", func(t *testing.T) { RunState(t, func(t *testing.T) store.State { return openAndClose(t, open) }) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, open(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, openAndClose(t, open)) })
}

func openAndClose(t *testing.T, open func(t *testing.T) store.Store) store.Store {
	s := open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

var base = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// Event builds a synthetic event with id, time and fields of every kind of
// value; the suite uses it and host tests may too.
func Event(id string, t time.Time, extra ...mdr.Field) *mdr.Event {
	b := mdr.NewBuilder(16)
	b.Add("_id", mdr.String(id))
	b.Add("EventID", mdr.Int(4688))
	b.Add("Image", mdr.String(`C:\Windows\System32\cmd.exe`))
	b.Add("Ratio", mdr.Float(0.25))
	b.Add("Elevated", mdr.Bool(true))
	b.Add("Parent", mdr.Null())
	b.Add("Data", mdr.List([]mdr.Value{mdr.String("a"), mdr.Int(-7), mdr.Object([]mdr.Field{{Key: "k", Value: mdr.String("v")}})}))
	b.Add("Empty", mdr.EmptyObjectValue())
	b.Add("Unicode", mdr.String("ü—\x00\u2028"))
	for _, f := range extra {
		b.Add(f.Key, f.Value)
	}
	return b.FinishAs(mdr.Origin{Source: "storetest", Line: int64(len(id))}, id, t)
}

// EqualEvents returns an error describing the first difference between two
// events: id, time, origin, duplicate-key flag, or any field's key or value.
func EqualEvents(want, got *mdr.Event) error {
	switch {
	case want == nil || got == nil:
		if want != got {
			return fmt.Errorf("event %v, want %v", got, want)
		}
		return nil
	case want.ID() != got.ID():
		return fmt.Errorf("id %q, want %q", got.ID(), want.ID())
	case !want.Time().Equal(got.Time()) || want.Time().IsZero() != got.Time().IsZero():
		return fmt.Errorf("event %q: time %v, want %v", want.ID(), got.Time(), want.Time())
	case want.Origin() != got.Origin():
		return fmt.Errorf("event %q: origin %+v, want %+v", want.ID(), got.Origin(), want.Origin())
	case want.DuplicateKeys() != got.DuplicateKeys():
		return fmt.Errorf("event %q: duplicate keys %v, want %v", want.ID(), got.DuplicateKeys(), want.DuplicateKeys())
	case want.Len() != got.Len():
		return fmt.Errorf("event %q: %d fields, want %d", want.ID(), got.Len(), want.Len())
	}
	for i := range want.Len() {
		w, g := want.Field(i), got.Field(i)
		if w.Key != g.Key {
			return fmt.Errorf("event %q: field %d is %q, want %q", want.ID(), i, g.Key, w.Key)
		}
		if !w.Value.Equal(g.Value) {
			return fmt.Errorf("event %q: field %q is %s %q, want %s %q", want.ID(), w.Key, g.Value.Kind(), g.Value.Text(), w.Value.Kind(), w.Value.Text())
		}
		if w.Value.Kind() == mdr.KindFloat {
			wf, _ := w.Value.Float()
			gf, _ := g.Value.Float()
			if math.Float64bits(wf) != math.Float64bits(gf) {
				return fmt.Errorf("event %q: field %q float bits differ", want.ID(), w.Key)
			}
		}
	}
	return nil
}

func collect[T any](t *testing.T, seq func(func(T, error) bool)) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			t.Fatalf("iteration: %v", err)
		}
		out = append(out, v)
	}
	return out
}

func ids(evs []*mdr.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID()
	}
	return out
}

func mustAppend(t *testing.T, s store.Events, evs ...*mdr.Event) store.AppendResult {
	t.Helper()
	res, err := s.AppendEvents(t.Context(), evs)
	if err != nil {
		t.Fatalf("AppendEvents: %v", err)
	}
	return res
}

// RunEvents checks the Events contract.
func RunEvents(t *testing.T, open func(t *testing.T) store.Events) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t)
		b := mdr.NewBuilder(4)
		b.Add("k", mdr.String("first"))
		b.Add("k", mdr.String("second"))
		dup := b.FinishAs(mdr.Origin{Source: "-", Line: 99}, "dup", base)
		evs := []*mdr.Event{Event("a", base), Event("notime", time.Time{}), dup,
			Event("nanos", base.Add(123456789*time.Nanosecond)), Event("ancient", time.Date(1200, 1, 1, 0, 0, 0, 0, time.UTC))}
		if res := mustAppend(t, s, evs...); res.Added != len(evs) || res.Duplicates != 0 {
			t.Fatalf("AppendEvents = %+v, want %d added", res, len(evs))
		}
		for _, want := range evs {
			got, err := s.GetEvent(t.Context(), want.ID())
			if err != nil {
				t.Fatalf("GetEvent(%q): %v", want.ID(), err)
			}
			if err := EqualEvents(want, got); err != nil {
				t.Error(err)
			}
		}
		if _, err := s.GetEvent(t.Context(), "missing"); !errors.Is(err, mdr.ErrNotFound) {
			t.Errorf("GetEvent(missing) = %v, want ErrNotFound", err)
		}
	})
	t.Run("Duplicates", func(t *testing.T) {
		s := open(t)
		mustAppend(t, s, Event("x", base), Event("y", base))
		res := mustAppend(t, s, Event("y", base.Add(time.Hour), mdr.Field{Key: "v", Value: mdr.Int(2)}), Event("z", base), Event("z", base))
		if res.Added != 1 || res.Duplicates != 2 {
			t.Fatalf("AppendEvents = %+v, want 1 added, 2 duplicates", res)
		}
		got, err := s.GetEvent(t.Context(), "y")
		if err != nil {
			t.Fatal(err)
		}
		if got.Has("v") || !got.Time().Equal(base) {
			t.Errorf("duplicate replaced the stored event")
		}
		if n, err := s.CountEvents(t.Context(), time.Time{}, time.Time{}); err != nil || n != 3 {
			t.Errorf("CountEvents = %d, %v, want 3", n, err)
		}
	})
	t.Run("InvalidBatch", func(t *testing.T) {
		s := open(t)
		noID := mdr.NewBuilder(1).FinishAs(mdr.Origin{}, "", base)
		for name, batch := range map[string][]*mdr.Event{
			"nil":  {Event("ok1", base), nil},
			"noid": {Event("ok2", base), noID},
		} {
			_, err := s.AppendEvents(t.Context(), batch)
			var be *store.BatchError
			if !errors.Is(err, mdr.ErrInvalid) || !errors.As(err, &be) || be.Index != 1 {
				t.Errorf("%s: AppendEvents = %v, want *BatchError at index 1 wrapping ErrInvalid", name, err)
			}
		}
		if n, _ := s.CountEvents(t.Context(), time.Time{}, time.Time{}); n != 0 {
			t.Errorf("refused batches stored %d events", n)
		}
		if res, err := s.AppendEvents(t.Context(), nil); err != nil || res.Added != 0 {
			t.Errorf("empty batch: %+v, %v", res, err)
		}
	})
	t.Run("ScanOrderAndRange", func(t *testing.T) {
		s := open(t)
		// appended out of order, in several batches, with ties
		mustAppend(t, s, Event("t3", base.Add(3*time.Second)), Event("t1", base.Add(time.Second)))
		mustAppend(t, s, Event("t2a", base.Add(2*time.Second)), Event("t0", time.Time{}), Event("t2b", base.Add(2*time.Second)))
		mustAppend(t, s, Event("t2c", base.Add(2*time.Second)), Event("t5", base.Add(5*time.Second)), Event("tneg", base.Add(-time.Hour)))
		all := collect(t, s.ScanEvents(t.Context(), store.EventQuery{}))
		want := []string{"t0", "tneg", "t1", "t2a", "t2b", "t2c", "t3", "t5"}
		if got := ids(all); !slices.Equal(got, want) {
			t.Fatalf("scan all = %v, want %v", got, want)
		}
		cases := []struct {
			q    store.EventQuery
			want []string
		}{
			{store.EventQuery{From: base.Add(2 * time.Second), To: base.Add(3 * time.Second)}, []string{"t2a", "t2b", "t2c"}},
			{store.EventQuery{From: base.Add(2 * time.Second)}, []string{"t2a", "t2b", "t2c", "t3", "t5"}},
			{store.EventQuery{To: base.Add(2 * time.Second)}, []string{"t0", "tneg", "t1"}},
			{store.EventQuery{From: base.Add(1500 * time.Millisecond), Limit: 2}, []string{"t2a", "t2b"}},
			{store.EventQuery{Filter: func(e *mdr.Event) bool { return e.ID() != "t2b" && e.Time().After(base) }, Limit: 3}, []string{"t1", "t2a", "t2c"}},
			{store.EventQuery{From: base.Add(time.Minute)}, nil},
			{store.EventQuery{From: base.Add(3 * time.Second), To: base.Add(3 * time.Second)}, nil},
		}
		for i, c := range cases {
			if got := ids(collect(t, s.ScanEvents(t.Context(), c.q))); !slices.Equal(got, c.want) {
				t.Errorf("case %d: scan = %v, want %v", i, got, c.want)
			}
		}
		for i, c := range []struct {
			from, to time.Time
			want     int64
		}{{time.Time{}, time.Time{}, 8}, {base, time.Time{}, 6}, {base.Add(2 * time.Second), base.Add(3 * time.Second), 3}, {time.Time{}, base, 2}, {base.Add(time.Hour), time.Time{}, 0}} {
			if n, err := s.CountEvents(t.Context(), c.from, c.to); err != nil || n != c.want {
				t.Errorf("count case %d = %d, %v, want %d", i, n, err, c.want)
			}
		}
		// breaking out early, and cancellation
		n := 0
		for range s.ScanEvents(t.Context(), store.EventQuery{}) {
			n++
			if n == 2 {
				break
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		var gotErr error
		for _, err := range s.ScanEvents(ctx, store.EventQuery{}) {
			gotErr = err
		}
		if !errors.Is(gotErr, context.Canceled) {
			t.Errorf("scan with cancelled context: last error %v, want context.Canceled", gotErr)
		}
	})
	t.Run("ManyEvents", func(t *testing.T) {
		s := open(t)
		const n = 3000
		batch := make([]*mdr.Event, 0, 500)
		for i := range n {
			// times interleave across batches
			batch = append(batch, Event("m"+strconv.Itoa(i), base.Add(time.Duration((i*7919)%n)*time.Millisecond)))
			if len(batch) == cap(batch) {
				mustAppend(t, s, batch...)
				batch = batch[:0]
			}
		}
		var last time.Time
		count := 0
		for e, err := range s.ScanEvents(t.Context(), store.EventQuery{}) {
			if err != nil {
				t.Fatal(err)
			}
			if e.Time().Before(last) {
				t.Fatalf("event %q at %v after %v", e.ID(), e.Time(), last)
			}
			last = e.Time()
			count++
		}
		if count != n {
			t.Errorf("scanned %d events, want %d", count, n)
		}
	})
	t.Run("Retention", func(t *testing.T) {
		s := open(t)
		r, ok := s.(store.Retention)
		if !ok {
			t.Log("the implementation does not offer store.Retention")
			return
		}
		testRetention(t, s, r)
	})
}

func testRetention(t *testing.T, s store.Events, r store.Retention) {
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	recent := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	var evs []*mdr.Event
	for i := range 50 {
		evs = append(evs, Event("old"+strconv.Itoa(i), old.Add(time.Duration(i)*time.Hour)))
		evs = append(evs, Event("new"+strconv.Itoa(i), recent.Add(time.Duration(i)*time.Hour)))
	}
	mustAppend(t, s, evs...)
	n, err := r.DropEventsBefore(t.Context(), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("DropEventsBefore: %v", err)
	}
	if n != 50 && n != -1 {
		t.Errorf("DropEventsBefore reported %d dropped, want 50 (or -1)", n)
	}
	if c, _ := s.CountEvents(t.Context(), time.Time{}, time.Time{}); c != 50 {
		t.Errorf("%d events left, want 50", c)
	}
	if _, err := s.GetEvent(t.Context(), "old3"); !errors.Is(err, mdr.ErrNotFound) {
		t.Errorf("GetEvent(dropped) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetEvent(t.Context(), "new3"); err != nil {
		t.Errorf("GetEvent(kept) = %v", err)
	}
	// a dropped id can be stored again
	if res := mustAppend(t, s, Event("old3", old)); res.Added != 1 {
		t.Errorf("re-append of dropped id: %+v", res)
	}
}
