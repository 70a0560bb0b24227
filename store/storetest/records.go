package storetest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// recordOps adapts Alerts and Incidents to one table of checks.
type recordOps[T any] struct {
	make   func(id string, t time.Time, score float64, status string) T
	put    func(context.Context, T) (T, error)
	get    func(context.Context, string) (T, error)
	update func(context.Context, T) (T, error)
	list   func(context.Context, store.ListQuery) iter.Seq2[T, error]
	meta   func(*T) store.RecordMeta
	// change alters a record's content (not id/time) and set score/status.
	change func(*T, float64, string)
	equal  func(a, b *T) error
}

// RunAlerts checks the Alerts contract.
func RunAlerts(t *testing.T, open func(t *testing.T) store.Alerts) {
	runRecords(t, func(t *testing.T) recordOps[store.AlertRecord] {
		s := open(t)
		return recordOps[store.AlertRecord]{
			make: func(id string, tm time.Time, score float64, status string) store.AlertRecord {
				return store.AlertRecord{Alert: mdr.Alert{ID: id, RuleID: "r-" + id, RuleTitle: "Rule " + id, Severity: mdr.SeverityHigh,
					Tags: []string{"attack.execution", "attack.t1059.001"}, Time: tm, EventIDs: []string{"e1", "e2"}, Host: "ws1",
					Entities:    []mdr.Entity{{Kind: mdr.EntityProcess, ID: "p:1", Name: "cmd.exe", Attrs: map[string]string{"pid": "42"}}},
					Fields:      map[string]string{"Image": `C:\x.exe`},
					Explanation: "because", Confidence: 0.75}, Status: status, Score: score, Updated: tm,
					Parts: []mdr.ScorePart{{Name: "rule", Value: score, Detail: "level high"}}, Count: 2, First: tm.Add(-time.Second), Reason: "why"}
			},
			put: s.PutAlert, get: s.GetAlert, update: s.UpdateAlert, list: s.ListAlerts,
			meta: store.MetaOfAlert,
			change: func(a *store.AlertRecord, score float64, status string) {
				a.Score, a.Status, a.IncidentID = score, status, "inc-1"
				a.Alert.Tags = append(a.Alert.Tags, "changed")
			},
			equal: func(a, b *store.AlertRecord) error {
				if err := sameJSONish(a.Alert.Time, b.Alert.Time); err != nil {
					return err
				}
				aa, bb := *a, *b
				if err := sameJSONish(a.First, b.First); err != nil {
					return err
				}
				aa.Alert.Time, bb.Alert.Time, aa.Updated, bb.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
				aa.First, bb.First = time.Time{}, time.Time{}
				if fmt.Sprintf("%#v", aa) != fmt.Sprintf("%#v", bb) {
					return fmt.Errorf("alert %q differs:\n got  %+v\n want %+v", a.Alert.ID, bb, aa)
				}
				return nil
			},
		}
	})
}

// RunIncidents checks the Incidents contract.
func RunIncidents(t *testing.T, open func(t *testing.T) store.Incidents) {
	runRecords(t, func(t *testing.T) recordOps[mdr.Incident] {
		s := open(t)
		return recordOps[mdr.Incident]{
			make: func(id string, tm time.Time, score float64, status string) mdr.Incident {
				return mdr.Incident{ID: id, Title: "Incident " + id, Status: status, Severity: mdr.SeverityCritical, Score: score,
					AlertIDs: []string{"a1", "a2"}, EntityIDs: []string{"host:ws1"}, Created: tm, Updated: tm,
					Level: mdr.SeverityHigh, Parts: []mdr.ScorePart{{Name: "rule", Value: 40, Detail: "high"}, {Name: "feedback", Value: -5}},
					Assignee: "alice", TopAlertIDs: []string{"a2"}, Hosts: []string{"ws1"}, Users: []string{"corp\\bob"},
					Tactics: []string{"execution", "persistence"}, Techniques: []string{"T1059.001"},
					Rules:  []mdr.RuleCount{{RuleID: "r1", Title: "Rule one", Level: mdr.SeverityHigh, Count: 2}},
					Alerts: 3, Suppressed: 1, Reopened: 1, First: tm.Add(-time.Minute), Last: tm,
					Notes: []mdr.Note{{Time: tm, Author: "analyst", Text: "looks bad"}}}
			},
			put: s.PutIncident, get: s.GetIncident, update: s.UpdateIncident, list: s.ListIncidents,
			meta: store.MetaOfIncident,
			change: func(in *mdr.Incident, score float64, status string) {
				in.Score, in.Status = score, status
				in.AlertIDs = append(in.AlertIDs, "a3")
				in.Notes = append(in.Notes, mdr.Note{Text: "more"})
			},
			equal: func(a, b *mdr.Incident) error {
				if err := sameJSONish(a.Created, b.Created); err != nil {
					return err
				}
				aa, bb := *a, *b
				if err := sameJSONish(a.First, b.First); err != nil {
					return err
				}
				if err := sameJSONish(a.Last, b.Last); err != nil {
					return err
				}
				aa.Created, bb.Created, aa.Updated, bb.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
				aa.First, bb.First, aa.Last, bb.Last = time.Time{}, time.Time{}, time.Time{}, time.Time{}
				aa.Notes, bb.Notes = nil, nil
				if fmt.Sprintf("%#v", aa) != fmt.Sprintf("%#v", bb) || len(a.Notes) != len(b.Notes) {
					return fmt.Errorf("incident %q differs:\n got  %+v\n want %+v", a.ID, *b, *a)
				}
				for i := range a.Notes {
					if a.Notes[i].Text != b.Notes[i].Text || a.Notes[i].Author != b.Notes[i].Author || !a.Notes[i].Time.Equal(b.Notes[i].Time) {
						return fmt.Errorf("incident %q: note %d differs", a.ID, i)
					}
				}
				return nil
			},
		}
	})
}

func sameJSONish(a, b time.Time) error {
	if !a.Equal(b) {
		return fmt.Errorf("time %v, want %v", b, a)
	}
	return nil
}

func runRecords[T any](t *testing.T, open func(t *testing.T) recordOps[T]) {
	t.Run("PutGetUpdate", func(t *testing.T) {
		o := open(t)
		ctx := t.Context()
		r := o.make("r1", base, 10, store.StatusNew)
		got, err := o.put(ctx, r)
		if err != nil {
			t.Fatalf("put: %v", err)
		}
		if v := o.meta(&got).Version; v != 1 {
			t.Fatalf("put returned version %d, want 1", v)
		}
		if o.meta(&r).Version != 0 {
			t.Fatalf("put changed the caller's record")
		}
		stored, err := o.get(ctx, "r1")
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		if err := o.equal(&got, &stored); err != nil {
			t.Error(err)
		}
		if _, err := o.put(ctx, r); !errors.Is(err, mdr.ErrConflict) {
			t.Errorf("second put = %v, want ErrConflict", err)
		}
		if _, err := o.put(ctx, got); !errors.Is(err, mdr.ErrInvalid) && !errors.Is(err, mdr.ErrConflict) {
			t.Errorf("put with a version = %v, want ErrInvalid or ErrConflict", err)
		}
		if _, err := o.put(ctx, o.make("", base, 0, "")); !errors.Is(err, mdr.ErrInvalid) {
			t.Errorf("put without id = %v, want ErrInvalid", err)
		}
		if _, err := o.get(ctx, "missing"); !errors.Is(err, mdr.ErrNotFound) {
			t.Errorf("get(missing) = %v, want ErrNotFound", err)
		}

		upd := stored
		o.change(&upd, 50, store.StatusOpen)
		v2, err := o.update(ctx, upd)
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		if o.meta(&v2).Version != 2 {
			t.Fatalf("update returned version %d, want 2", o.meta(&v2).Version)
		}
		back, err := o.get(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if err := o.equal(&v2, &back); err != nil {
			t.Error(err)
		}
		// a writer that read version 1 loses
		stale := stored
		o.change(&stale, 1, store.StatusClosed)
		if _, err := o.update(ctx, stale); !errors.Is(err, mdr.ErrConflict) {
			t.Errorf("stale update = %v, want ErrConflict", err)
		}
		if back, _ := o.get(ctx, "r1"); o.meta(&back).Status != store.StatusOpen {
			t.Errorf("stale update changed the record")
		}
		missing := o.make("nope", base, 0, "")
		if _, err := o.update(ctx, missing); !errors.Is(err, mdr.ErrNotFound) {
			t.Errorf("update(missing) = %v, want ErrNotFound", err)
		}
	})
	t.Run("List", func(t *testing.T) {
		o := open(t)
		ctx := t.Context()
		// id, time offset (s), score, status
		rows := []struct {
			id     string
			at     int
			score  float64
			status string
		}{{"c", 3, 70, store.StatusOpen}, {"a", 1, 20, store.StatusNew}, {"e", 5, 90, store.StatusNew},
			{"b", 2, 90, store.StatusOpen}, {"d", 4, 10, store.StatusClosed}, {"b2", 2, 5, store.StatusNew}}
		for _, r := range rows {
			if _, err := o.put(ctx, o.make(r.id, base.Add(time.Duration(r.at)*time.Second), r.score, r.status)); err != nil {
				t.Fatal(err)
			}
		}
		list := func(q store.ListQuery) []string {
			var out []string
			for r, err := range o.list(ctx, q) {
				if err != nil {
					t.Fatalf("list: %v", err)
				}
				out = append(out, o.meta(&r).ID)
			}
			return out
		}
		cases := []struct {
			q    store.ListQuery
			want []string
		}{
			{store.ListQuery{}, []string{"a", "b", "b2", "c", "d", "e"}},
			{store.ListQuery{Order: store.ByTimeDesc}, []string{"e", "d", "c", "b2", "b", "a"}},
			{store.ListQuery{Order: store.ByScore}, []string{"b", "e", "c", "a", "d", "b2"}},
			{store.ListQuery{Order: store.ByScore, Limit: 3}, []string{"b", "e", "c"}},
			{store.ListQuery{From: base.Add(2 * time.Second), To: base.Add(4 * time.Second)}, []string{"b", "b2", "c"}},
			{store.ListQuery{From: base.Add(2 * time.Second), To: base.Add(4 * time.Second), Order: store.ByTimeDesc}, []string{"c", "b2", "b"}},
			{store.ListQuery{Status: store.StatusNew}, []string{"a", "b2", "e"}},
			{store.ListQuery{Status: store.StatusOpen, Order: store.ByScore}, []string{"b", "c"}},
			{store.ListQuery{MinScore: 50, Order: store.ByTimeDesc, Limit: 2}, []string{"e", "c"}},
			{store.ListQuery{Status: "no-such"}, nil},
			{store.ListQuery{Status: store.StatusNew, Order: store.ByTimeDesc}, []string{"e", "b2", "a"}},
			{store.ListQuery{Status: store.StatusOpen, From: base.Add(3 * time.Second)}, []string{"c"}},
			{store.ListQuery{Status: store.StatusNew, To: base.Add(5 * time.Second), Order: store.ByTimeDesc}, []string{"b2", "a"}},
			{store.ListQuery{Status: store.StatusNew, MinScore: 10}, []string{"a", "e"}},
		}
		for i, c := range cases {
			if got := list(c.q); !slices.Equal(got, c.want) {
				t.Errorf("case %d (%+v): %v, want %v", i, c.q, got, c.want)
			}
		}
		// an update that changes score and status moves the record in the listings
		r, err := o.get(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		o.change(&r, 95, store.StatusOpen)
		if _, err := o.update(ctx, r); err != nil {
			t.Fatal(err)
		}
		if got, want := list(store.ListQuery{Order: store.ByScore, Limit: 2}), []string{"a", "b"}; !slices.Equal(got, want) {
			t.Errorf("after update, by score: %v, want %v", got, want)
		}
		if got, want := list(store.ListQuery{Status: store.StatusOpen}), []string{"a", "b", "c"}; !slices.Equal(got, want) {
			t.Errorf("after update, open: %v, want %v", got, want)
		}
		if got, want := list(store.ListQuery{Status: store.StatusNew}), []string{"b2", "e"}; !slices.Equal(got, want) {
			t.Errorf("after update, new: %v, want %v", got, want)
		}
	})
	t.Run("ManyVersions", func(t *testing.T) {
		o := open(t)
		ctx := t.Context()
		r, err := o.put(ctx, o.make("v", base, 1, store.StatusNew))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			o.change(&r, float64(i), "s"+strconv.Itoa(i))
			if r, err = o.update(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if v := o.meta(&r).Version; v != 21 {
			t.Errorf("version %d after 20 updates, want 21", v)
		}
		n := 0
		for range o.list(ctx, store.ListQuery{}) {
			n++
		}
		if n != 1 {
			t.Errorf("listing holds %d records after updates, want 1", n)
		}
	})
}

// RunGraph checks the Graph contract.
func RunGraph(t *testing.T, open func(t *testing.T) store.Graph) {
	edge := func(kind mdr.RelationKind, from, to string, sec int) mdr.Relation {
		return mdr.Relation{Kind: kind, From: from, To: to, Time: base.Add(time.Duration(sec) * time.Second), EventID: fmt.Sprintf("ev-%s-%s-%d", from, to, sec)}
	}
	t.Run("Neighbors", func(t *testing.T) {
		g := open(t)
		ctx := t.Context()
		edges := []mdr.Relation{
			edge(mdr.RelSpawned, "p1", "p2", 5),
			edge(mdr.RelWroteFile, "p2", "f1", 7),
			edge(mdr.RelSpawned, "p0", "p1", 1),
			edge(mdr.RelConnected, "p1", "n1", 3),
			edge(mdr.RelOpenedProcess, "p1", "p1", 4),
			edge(mdr.RelOpenedProcess, "p3", "p1", 9),
		}
		edges[1].Attrs = map[string]string{"hash": "abc"}
		if err := g.AppendEdges(ctx, edges[:3]); err != nil {
			t.Fatal(err)
		}
		if err := g.AppendEdges(ctx, edges[3:]); err != nil {
			t.Fatal(err)
		}
		str := func(node string, q store.EdgeQuery) []string {
			var out []string
			for r, err := range g.Neighbors(ctx, node, q) {
				if err != nil {
					t.Fatalf("neighbors: %v", err)
				}
				out = append(out, fmt.Sprintf("%s>%s@%d", r.From, r.To, int(r.Time.Sub(base).Seconds())))
			}
			return out
		}
		cases := []struct {
			node string
			q    store.EdgeQuery
			want []string
		}{
			{"p1", store.EdgeQuery{}, []string{"p0>p1@1", "p1>n1@3", "p1>p1@4", "p1>p2@5", "p3>p1@9"}},
			{"p1", store.EdgeQuery{Dir: store.Out}, []string{"p1>n1@3", "p1>p1@4", "p1>p2@5"}},
			{"p1", store.EdgeQuery{Dir: store.In}, []string{"p0>p1@1", "p1>p1@4", "p3>p1@9"}},
			{"p1", store.EdgeQuery{From: base.Add(3 * time.Second), To: base.Add(9 * time.Second)}, []string{"p1>n1@3", "p1>p1@4", "p1>p2@5"}},
			{"p1", store.EdgeQuery{Limit: 2}, []string{"p0>p1@1", "p1>n1@3"}},
			{"f1", store.EdgeQuery{Dir: store.Out}, nil},
			{"f1", store.EdgeQuery{}, []string{"p2>f1@7"}},
			{"nobody", store.EdgeQuery{}, nil},
		}
		for i, c := range cases {
			if got := str(c.node, c.q); !slices.Equal(got, c.want) {
				t.Errorf("case %d (%s %+v): %v, want %v", i, c.node, c.q, got, c.want)
			}
		}
		for r, err := range g.Neighbors(ctx, "f1", store.EdgeQuery{}) {
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind != mdr.RelWroteFile || r.EventID != edges[1].EventID || r.Attrs["hash"] != "abc" || !r.Time.Equal(edges[1].Time) {
				t.Errorf("edge read back as %+v, want %+v", r, edges[1])
			}
		}
		if err := g.AppendEdges(ctx, []mdr.Relation{edge(0, "a", "b", 1), {From: "x"}}); !errors.Is(err, mdr.ErrInvalid) {
			t.Errorf("edge without To: %v, want ErrInvalid", err)
		}
		if got := str("a", store.EdgeQuery{}); got != nil {
			t.Errorf("refused batch stored edges: %v", got)
		}
	})
}

// RunAudit checks the Audit contract.
func RunAudit(t *testing.T, open func(t *testing.T) store.Audit) {
	t.Run("Chain", func(t *testing.T) {
		a := open(t)
		ctx := t.Context()
		var recs []store.AuditRecord
		for i := range 10 {
			in := store.AuditRecord{Actor: "analyst", Action: "isolate", Target: "host:ws" + strconv.Itoa(i), Payload: []byte(`{"n":` + strconv.Itoa(i) + `}`)}
			if i%2 == 0 {
				in.Time = base.Add(time.Duration(i) * time.Minute)
			}
			r, err := a.AppendAudit(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Seq != uint64(i+1) || r.Time.IsZero() || r.Hash != r.ComputeHash(r.PrevHash) {
				t.Fatalf("appended record %+v", r)
			}
			if i > 0 && r.PrevHash != recs[i-1].Hash {
				t.Fatalf("record %d does not chain to the one before", r.Seq)
			}
			if i%2 == 0 && !r.Time.Equal(in.Time) {
				t.Errorf("record %d time %v, want %v", r.Seq, r.Time, in.Time)
			}
			r.Payload[0] = 'X' // must not reach the store
			recs = append(recs, r)
		}
		n, err := store.Verify(ctx, a)
		if err != nil || n != 10 {
			t.Fatalf("Verify = %d, %v; want 10, nil", n, err)
		}
		var got []uint64
		for r, err := range a.ReadAudit(ctx, 4) {
			if err != nil {
				t.Fatal(err)
			}
			if r.Payload[0] != '{' || r.Hash != recs[r.Seq-1].Hash || !r.Time.Equal(recs[r.Seq-1].Time) || r.Target != recs[r.Seq-1].Target {
				t.Errorf("record %d read back as %+v", r.Seq, r)
			}
			got = append(got, r.Seq)
			if r.Seq == 7 {
				break
			}
		}
		if !slices.Equal(got, []uint64{4, 5, 6, 7}) {
			t.Errorf("ReadAudit(4) = %v", got)
		}
		bad := store.AuditRecord{Actor: "x", Seq: 99}
		if _, err := a.AppendAudit(ctx, bad); !errors.Is(err, store.ErrAssigned) {
			t.Errorf("append with Seq set = %v, want ErrAssigned", err)
		}
		bad = store.AuditRecord{Actor: "x", Hash: recs[0].Hash}
		if _, err := a.AppendAudit(ctx, bad); !errors.Is(err, store.ErrAssigned) {
			t.Errorf("append with Hash set = %v, want ErrAssigned", err)
		}
	})
	t.Run("VerifyDetectsTampering", func(t *testing.T) {
		a := open(t)
		ctx := t.Context()
		for i := range 3 {
			if _, err := a.AppendAudit(ctx, store.AuditRecord{Actor: "a", Action: strconv.Itoa(i)}); err != nil {
				t.Fatal(err)
			}
		}
		tampered := tamper{a}
		_, err := store.Verify(ctx, tampered)
		var ce *store.ChainError
		if !errors.As(err, &ce) || ce.Seq != 2 || !errors.Is(err, store.ErrChainBroken) {
			t.Errorf("Verify of a tampered log = %v, want *ChainError at 2", err)
		}
	})
}

// tamper changes record 2 as a reader sees it, as someone writing behind
// the store's back would.
type tamper struct{ store.Audit }

func (t tamper) ReadAudit(ctx context.Context, from uint64) iter.Seq2[store.AuditRecord, error] {
	return func(yield func(store.AuditRecord, error) bool) {
		for r, err := range t.Audit.ReadAudit(ctx, from) {
			if r.Seq == 2 {
				r.Target = "someone-else"
			}
			if !yield(r, err) {
				return
			}
		}
	}
}

// RunState checks the State contract.
func RunState(t *testing.T, open func(t *testing.T) store.State) {
	t.Run("PutGet", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		if _, err := s.GetState(ctx, "detect/corr"); !errors.Is(err, mdr.ErrNotFound) {
			t.Errorf("GetState(missing) = %v, want ErrNotFound", err)
		}
		val := []byte("snapshot-1\x00\xff")
		if err := s.PutState(ctx, "detect/corr", val); err != nil {
			t.Fatal(err)
		}
		val[0] = 'X'
		got, err := s.GetState(ctx, "detect/corr")
		if err != nil || string(got) != "snapshot-1\x00\xff" {
			t.Fatalf("GetState = %q, %v", got, err)
		}
		got[0] = 'Y'
		if again, _ := s.GetState(ctx, "detect/corr"); string(again) != "snapshot-1\x00\xff" {
			t.Errorf("GetState returned the store's own memory")
		}
		if err := s.PutState(ctx, "detect/corr", []byte("v2")); err != nil {
			t.Fatal(err)
		}
		if err := s.PutState(ctx, "empty", nil); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetState(ctx, "detect/corr"); err != nil || string(got) != "v2" {
			t.Errorf("after overwrite GetState = %q, %v", got, err)
		}
		if got, err := s.GetState(ctx, "empty"); err != nil || len(got) != 0 {
			t.Errorf("empty value: %q, %v", got, err)
		}
		big := make([]byte, 3<<20)
		for i := range big {
			big[i] = byte(i * 7)
		}
		if err := s.PutState(ctx, "big", big); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetState(ctx, "big"); err != nil || !slices.Equal(got, big) {
			t.Errorf("3 MiB value did not round-trip: %v", err)
		}
	})
}

func testClosed(t *testing.T, s store.Store) {
	ctx := t.Context()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checks := map[string]error{}
	_, checks["AppendEvents"] = s.AppendEvents(ctx, []*mdr.Event{Event("x", base)})
	_, checks["GetEvent"] = s.GetEvent(ctx, "x")
	_, checks["CountEvents"] = s.CountEvents(ctx, time.Time{}, time.Time{})
	_, checks["PutAlert"] = s.PutAlert(ctx, store.AlertRecord{Alert: mdr.Alert{ID: "a"}})
	_, checks["GetIncident"] = s.GetIncident(ctx, "i")
	checks["AppendEdges"] = s.AppendEdges(ctx, []mdr.Relation{{From: "a", To: "b"}})
	_, checks["AppendAudit"] = s.AppendAudit(ctx, store.AuditRecord{Actor: "a"})
	checks["PutState"] = s.PutState(ctx, "k", nil)
	for _, err := range s.ScanEvents(ctx, store.EventQuery{}) {
		checks["ScanEvents"] = err
	}
	for _, err := range s.ReadAudit(ctx, 1) {
		checks["ReadAudit"] = err
	}
	for name, err := range checks {
		if !errors.Is(err, mdr.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

func testConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const writers, batches, per = 4, 10, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*2+2)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				batch := make([]*mdr.Event, per)
				for i := range batch {
					id := fmt.Sprintf("w%d-b%d-%d", w, b, i)
					batch[i] = Event(id, base.Add(time.Duration(i*writers+w)*time.Millisecond))
				}
				if _, err := s.AppendEvents(ctx, batch); err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() {
			for i := range 20 {
				if _, err := s.AppendAudit(ctx, store.AuditRecord{Actor: "w" + strconv.Itoa(w), Action: strconv.Itoa(i)}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() { // a reader running beside the writers
		for range 5 {
			var last time.Time
			for e, err := range s.ScanEvents(ctx, store.EventQuery{}) {
				if err != nil {
					errs <- err
					return
				}
				if e.Time().Before(last) {
					errs <- fmt.Errorf("concurrent scan out of order at %q", e.ID())
					return
				}
				last = e.Time()
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, err := s.CountEvents(ctx, time.Time{}, time.Time{}); err != nil || n != writers*batches*per {
		t.Errorf("CountEvents = %d, %v; want %d", n, err, writers*batches*per)
	}
	if n, err := store.Verify(ctx, s); err != nil || n != writers*20 {
		t.Errorf("Verify = %d, %v; want %d", n, err, writers*20)
	}
}
