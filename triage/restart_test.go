package triage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
	"github.com/mdrkit/mdr/triage"
)

// comparable strips what legitimately differs between two runs that wrote
// at different moments (versions, write times).
func comparable(t *testing.T, incs []mdr.Incident) string {
	t.Helper()
	for i := range incs {
		incs[i].Version, incs[i].Updated = 0, time.Time{}
	}
	b, err := json.MarshalIndent(incs, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRestartBadgerSameQueue: a queue that is flushed, whose badger store
// is closed and reopened half way through real alerts, ends with exactly
// the incidents (scores, parts, alerts, statuses) of a queue that saw every
// alert without a restart.
func TestRestartBadgerSameQueue(t *testing.T) {
	ctx := context.Background()
	rules := loadCorpus(t)
	det := corpus.det
	n := min(300, len(det.alerts))
	clock := triage.WithClock(func() time.Time { return t0 })
	cat := triage.WithCatalog(triage.CatalogOf(rules.Ruleset))
	cfg := qualityConfig(t)

	ref, err := triage.Open(ctx, store.NewMemory(), cfg, clock, cat)
	if err != nil {
		t.Fatal(err)
	}
	pushRange := func(q *triage.Queue, from, to int) {
		for i := from; i < to; i++ {
			if _, err := q.Push(ctx, det.alerts[i], det.events[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	pushRange(ref, 0, n/2)
	first, err := ref.Top(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.SetStatus(ctx, first[0].ID, mdr.IncidentInvestigating, "ana", "looking"); err != nil {
		t.Fatal(err)
	}
	pushRange(ref, n/2, n)
	want, err := ref.Top(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	open := func() *badger.Store {
		st, err := badger.Open(badger.DefaultConfig(dir))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	q1, err := triage.Open(ctx, st, cfg, clock, cat)
	if err != nil {
		t.Fatal(err)
	}
	pushRange(q1, 0, n/2)
	if err := q1.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q1.SetStatus(ctx, first[0].ID, mdr.IncidentInvestigating, "ana", "looking"); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open()
	defer st.Close()
	q2, err := triage.Open(ctx, st, cfg, clock, cat)
	if err != nil {
		t.Fatal(err)
	}
	pushRange(q2, n/2, n)
	got, err := q2.Top(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) < 5 {
		t.Fatalf("%d incidents after restart, %d without", len(got), len(want))
	}
	if g, w := comparable(t, got), comparable(t, want); g != w {
		t.Errorf("queue after restart differs from the queue without: %s", firstDiff(g, w))
	} else {
		t.Logf("%d alerts, %d incidents, identical after a restart on badger", n, len(got))
	}
	if n, err := store.Verify(ctx, st); err != nil || n != 1 {
		t.Errorf("audit chain after restart: %d records, %v", n, err)
	}
}

// firstDiff shows the first line where got and want differ, with context.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		if i >= len(g) || i >= len(w) || g[i] != w[i] {
			lo := max(0, i-8)
			return fmt.Sprintf("line %d\n got: %s\nwant: %s", i+1, strings.Join(g[lo:min(i+1, len(g))], "\n"), strings.Join(w[lo:min(i+1, len(w))], "\n"))
		}
	}
	return ""
}
