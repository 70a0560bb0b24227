package badger_test

import (
	"slices"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
)

// TestScanSummarized stores real events in small batches (many summaries)
// and checks that a summarized scan keeping every segment yields exactly
// what ScanEvents yields, that one keeping the segments that may hold a
// value yields every event with that value, and that one keeping nothing
// yields nothing.
func TestScanSummarized(t *testing.T) {
	evs := readEvents(t, "evtx_attack_samples.jsonl", 0)
	s := openTemp(t, func(c *badger.Config) { c.BucketWidth = time.Hour; c.SyncEvents = false })
	ctx := t.Context()
	for i := 0; i < len(evs); i += 500 {
		if _, err := s.AppendEvents(ctx, evs[i:min(i+500, len(evs))]); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(seq func(func(*mdr.Event, error) bool)) []string {
		var out []string
		for e, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, e.ID())
		}
		return out
	}
	all := ids(s.ScanEvents(ctx, store.EventQuery{}))
	segs := 0
	kept := ids(s.ScanSummarized(ctx, store.EventQuery{}, func(*store.Summary) bool { segs++; return true }))
	if !slices.Equal(all, kept) {
		t.Fatalf("keeping every segment: %d events, ScanEvents %d", len(kept), len(all))
	}
	if none := ids(s.ScanSummarized(ctx, store.EventQuery{}, func(*store.Summary) bool { return false })); len(none) != 0 {
		t.Fatalf("keeping no segment yielded %d events", len(none))
	}
	// every event with EventID 4688 and the token "cmd.exe" anywhere
	var want []string
	for _, e := range evs {
		v, _ := e.Get("EventID")
		if v.Text() == "4688" {
			want = append(want, e.ID())
		}
	}
	read := 0
	got := ids(s.ScanSummarized(ctx, store.EventQuery{Filter: func(e *mdr.Event) bool {
		read++
		v, _ := e.Get("EventID")
		return v.Text() == "4688"
	}}, func(sum *store.Summary) bool { return sum.MayHaveValue("EventID", "4688") }))
	slices.Sort(got)
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("EventID 4688: %d events, want %d", len(got), len(want))
	}
	t.Logf("%d events, %d segments; EventID 4688: %d events read for %d matches", len(all), segs, read, len(want))
	if read >= len(all) {
		t.Errorf("the summaries skipped nothing")
	}
	// a token
	tok := 0
	for range s.ScanSummarized(ctx, store.EventQuery{}, func(sum *store.Summary) bool { return sum.MayHaveToken("no-such-token-anywhere") }) {
		tok++
	}
	if tok > len(all)/10 {
		t.Errorf("a token no event has: %d events read", tok)
	}
}
