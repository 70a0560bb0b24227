package investigate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/schema"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// randomResults makes a time-ordered stream of mapped events over a small
// world (a hub, processes, files, registry keys, endpoints, a user, a
// host), so that repeated relations between the same entities are common
// and flows interleave with them.
func randomResults(rng *rand.Rand, n int) []schema.Result {
	procs := []mdr.Entity{{Kind: mdr.EntityProcess, ID: "process:hub", Name: `C:\Windows\System32\services.exe`}}
	for i := range 8 {
		procs = append(procs, mdr.Entity{Kind: mdr.EntityProcess, ID: fmt.Sprintf("process:p%d", i), Name: fmt.Sprintf(`C:\x\p%d.exe`, i),
			Attrs: map[string]string{"pid": fmt.Sprint(100 + i)}})
	}
	var others []mdr.Entity
	for i := range 6 {
		others = append(others, mdr.Entity{Kind: mdr.EntityFile, ID: fmt.Sprintf(`file:h\c:\f%d`, i), Name: fmt.Sprintf(`C:\f%d`, i)})
	}
	for i := range 3 {
		others = append(others, mdr.Entity{Kind: mdr.EntityRegistryKey, ID: fmt.Sprintf(`reg:HKLM\k%d`, i), Name: fmt.Sprintf(`HKLM\k%d`, i)})
		others = append(others, mdr.Entity{Kind: mdr.EntityNetworkEndpoint, ID: fmt.Sprintf("ip:10.0.0.%d:443", i), Name: fmt.Sprintf("10.0.0.%d:443", i)})
	}
	host := mdr.Entity{Kind: mdr.EntityHost, ID: "host:h", Name: "H"}
	user := mdr.Entity{Kind: mdr.EntityUser, ID: `user:corp\u`, Name: `CORP\u`}
	var out []schema.Result
	at := t0
	for i := range n {
		if rng.IntN(3) > 0 { // many relations share a timestamp
			at = at.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
		}
		p := procs[rng.IntN(len(procs))]
		r := schema.Result{Supported: true, Entities: []mdr.Entity{p, host, user}}
		rel := func(k mdr.RelationKind, from, to string, attrs map[string]string) {
			r.Relations = append(r.Relations, mdr.Relation{Kind: k, From: from, To: to, Time: at, EventID: fmt.Sprintf("ev%d", i), Attrs: attrs})
		}
		rel(mdr.RelRanOn, p.ID, host.ID, nil)
		rel(mdr.RelRanAs, p.ID, user.ID, nil)
		o := others[rng.IntN(len(others))]
		q := procs[rng.IntN(len(procs))]
		switch rng.IntN(9) {
		case 0:
			r.Entities = append(r.Entities, q)
			rel(mdr.RelSpawned, p.ID, q.ID, nil)
		case 1, 2:
			if o.Kind == mdr.EntityFile {
				r.Entities = append(r.Entities, o)
				rel(mdr.RelWroteFile, p.ID, o.ID, nil)
			}
		case 3:
			if o.Kind == mdr.EntityFile {
				r.Entities = append(r.Entities, o)
				rel(mdr.RelExecuted, p.ID, o.ID, nil)
			}
		case 4:
			if o.Kind == mdr.EntityFile {
				r.Entities = append(r.Entities, o)
				rel(mdr.RelLoadedImage, p.ID, o.ID, nil)
			}
		case 5:
			if o.Kind == mdr.EntityRegistryKey {
				r.Entities = append(r.Entities, o)
				rel(mdr.RelSetRegistry, p.ID, o.ID, map[string]string{"details": fmt.Sprint(rng.IntN(2))})
			}
		case 6:
			if o.Kind == mdr.EntityNetworkEndpoint {
				r.Entities = append(r.Entities, o)
				rel(mdr.RelConnected, p.ID, o.ID, map[string]string{"direction": "outbound", "local_port": fmt.Sprint(rng.IntN(60000))})
			}
		case 7:
			r.Entities = append(r.Entities, q)
			rel(mdr.RelCreatedRemoteThread, p.ID, q.ID, nil)
		case 8:
			r.Entities = append(r.Entities, q)
			rel(mdr.RelOpenedProcess, p.ID, q.ID, map[string]string{"granted_access": []string{"0x1410", "0x1fffff"}[rng.IntN(2)]})
		}
		out = append(out, r)
	}
	return out
}

func graphOf(t testing.TB, rs []schema.Result, noReduce bool) *investigate.Graph {
	cfg := investigate.DefaultConfig()
	cfg.NoReduce = noReduce
	g, err := investigate.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rs {
		g.AddResult(&rs[i])
	}
	return g
}

var wide = investigate.Limits{MaxDepth: 1 << 20, MaxNodes: 1 << 20}

// sameAnswers compares Backward and Forward of every entity in ids at each
// of the times between the reduced and the unreduced graph.
func sameAnswers(t *testing.T, red, full *investigate.Graph, ids []string, times []time.Time) (checked int) {
	t.Helper()
	ctx := context.Background()
	for _, id := range ids {
		for _, at := range times {
			for _, dir := range []string{"backward", "forward"} {
				q := red.Backward
				qf := full.Backward
				if dir == "forward" {
					q, qf = red.Forward, full.Forward
				}
				a, err := q(ctx, id, at, wide)
				if err != nil {
					t.Fatal(err)
				}
				b, err := qf(ctx, id, at, wide)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(a.IDs(), b.IDs()) {
					t.Fatalf("%s(%s, %s): reduced graph answers %v, unreduced %v", dir, id, at.Format(time.RFC3339Nano), a.IDs(), b.IDs())
				}
				checked++
			}
		}
	}
	return checked
}

// TestReductionPreservesAnswers is the property test of the reduction:
// over random event streams, Backward and Forward from every entity at many
// times answer the same on the reduced graph as on the unreduced one, while
// the reduced graph holds markedly fewer edges.
func TestReductionPreservesAnswers(t *testing.T) {
	for seed := range uint64(12) {
		rng := rand.New(rand.NewPCG(seed, 7))
		rs := randomResults(rng, 400)
		red, full := graphOf(t, rs, false), graphOf(t, rs, true)
		rst, fst := red.Stats(), full.Stats()
		if rst.Relations != fst.Relations || fst.Edges != int(fst.Relations) {
			t.Fatalf("seed %d: relations %d/%d, unreduced edges %d", seed, rst.Relations, fst.Relations, fst.Edges)
		}
		if rst.Edges*3 > fst.Edges*2 {
			t.Errorf("seed %d: reduction kept %d of %d edges", seed, rst.Edges, fst.Edges)
		}
		ids := []string{"process:hub", `file:h\c:\f0`, `reg:HKLM\k1`, "ip:10.0.0.2:443"}
		for i := range 8 {
			ids = append(ids, fmt.Sprintf("process:p%d", i))
		}
		last := rs[len(rs)-1].Relations[0].Time
		var times []time.Time
		for range 6 {
			times = append(times, t0.Add(time.Duration(rng.Int64N(int64(last.Sub(t0))+1))))
		}
		times = append(times, time.Time{}, rs[len(rs)/2].Relations[0].Time)
		sameAnswers(t, red, full, ids, times)
	}
}

// TestReductionRealData checks the same property on the EVTX attack
// samples: Backward and Forward of a sample of processes and files at their
// own alert-like times agree between the reduced and unreduced graphs.
func TestReductionRealData(t *testing.T) {
	path := shareddata.Path(t, "events", "evtx_attack_samples.jsonl")
	red := build(t, nil, 0, path).g
	cfg := investigate.DefaultConfig()
	cfg.NoReduce = true
	full := buildCfg(t, cfg, nil, 0, path).g
	rst, fst := red.Stats(), full.Stats()
	t.Logf("evtx_attack_samples: %d relations, %d edges reduced (%.2f×), %d unreduced", rst.Relations, rst.Edges, float64(rst.Relations)/float64(rst.Edges), fst.Edges)
	if rst.Edges >= fst.Edges {
		t.Fatalf("no reduction: %d vs %d edges", rst.Edges, fst.Edges)
	}
	var ids []string
	var times []time.Time
	edges := full.EdgesBetween(time.Time{}, time.Time{})
	rng := rand.New(rand.NewPCG(1, 2))
	for range 150 {
		e := edges[rng.IntN(len(edges))]
		ids = append(ids, e.From)
		times = append(times, e.First)
	}
	ctx := context.Background()
	for i, id := range ids {
		for _, at := range []time.Time{times[i], times[i].Add(time.Second), time.Time{}} {
			a, err := red.Backward(ctx, id, at, wide)
			if err != nil {
				t.Fatal(err)
			}
			b, err := full.Backward(ctx, id, at, wide)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.IDs(), b.IDs()) {
				t.Fatalf("backward(%s, %s): reduced %d entities, unreduced %d", id, at, len(a.Nodes), len(b.Nodes))
			}
			a, err = red.Forward(ctx, id, at.Add(-time.Second), wide)
			if err != nil {
				t.Fatal(err)
			}
			b, err = full.Forward(ctx, id, at.Add(-time.Second), wide)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.IDs(), b.IDs()) {
				t.Fatalf("forward(%s, %s): reduced %d entities, unreduced %d", id, at, len(a.Nodes), len(b.Nodes))
			}
		}
	}
}

// TestSaveLoad saves a graph into the memory store and a badger store and
// loads it back: the same entities, edges and answers.
func TestSaveLoad(t *testing.T) {
	path := shareddata.Path(t, "events", "evtx_attack_samples.jsonl")
	g := build(t, nil, 0, path).g
	ctx := context.Background()
	bs, err := badger.Open(badger.DefaultConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	for name, st := range map[string]store.Graph{"memory": store.NewMemory(), "badger": bs} {
		t.Run(name, func(t *testing.T) {
			if err := g.Save(ctx, st); err != nil {
				t.Fatal(err)
			}
			h, err := investigate.Load(ctx, st, investigate.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			gs, hs := g.Stats(), h.Stats()
			if gs.Nodes != hs.Nodes || gs.Edges != hs.Edges || gs.Relations != hs.Relations {
				t.Fatalf("loaded %d nodes, %d edges, %d relations; saved %d, %d, %d", hs.Nodes, hs.Edges, hs.Relations, gs.Nodes, gs.Edges, gs.Relations)
			}
			edges := g.EdgesBetween(time.Time{}, time.Time{})
			for i := 0; i < len(edges); i += 37 {
				e := edges[i]
				for _, id := range []string{e.From, e.To} {
					x, _ := g.Entity(id)
					y, ok := h.Entity(id)
					if !ok || x.Name != y.Name || x.Kind != y.Kind || fmt.Sprint(x.Attrs) != fmt.Sprint(y.Attrs) {
						t.Fatalf("entity %s: loaded %+v, saved %+v", id, y, x)
					}
				}
				a, err := g.Backward(ctx, e.To, e.Last, investigate.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				b, err := h.Backward(ctx, e.To, e.Last, investigate.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(a.IDs(), b.IDs()) || a.RootCause != b.RootCause {
					t.Fatalf("backward(%s): loaded graph answers %v (root %s), saved %v (root %s)", e.To, b.IDs(), b.RootCause, a.IDs(), a.RootCause)
				}
				fa, err := g.Forward(ctx, e.From, e.First, investigate.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				fb, err := h.Forward(ctx, e.From, e.First, investigate.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(fa.IDs(), fb.IDs()) {
					t.Fatalf("forward(%s): loaded graph answers %d entities, saved %d", e.From, len(fb.Nodes), len(fa.Nodes))
				}
			}
		})
	}
}

// TestBounded: a graph past its caps evicts its oldest edges and the
// nodes left without any, counts them, stays within the caps and still
// answers about what it kept.
func TestBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	rs := randomResults(rng, 3000)
	cfg := investigate.DefaultConfig()
	cfg.MaxEdges, cfg.MaxNodes = 400, 64
	g, err := investigate.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rs {
		g.AddResult(&rs[i])
		if st := g.Stats(); st.Edges > cfg.MaxEdges || st.Nodes > cfg.MaxNodes {
			t.Fatalf("after %d events: %d edges, %d nodes over the caps", i+1, st.Edges, st.Nodes)
		}
	}
	st := g.Stats()
	if st.Evictions == 0 || st.EdgesDrop == 0 {
		t.Fatalf("no eviction: %+v", st)
	}
	// What is left is the newest part: its earliest edge is later than
	// the stream's start, and queries run on it.
	edges := g.EdgesBetween(time.Time{}, time.Time{})
	if len(edges) == 0 || !edges[0].First.After(t0) {
		t.Fatalf("kept edges start at %v", edges[0].First)
	}
	last := edges[len(edges)-1]
	if _, err := g.Backward(context.Background(), last.To, last.Last, investigate.Limits{}); err != nil {
		t.Fatal(err)
	}
	bad := investigate.DefaultConfig()
	bad.MaxEdges = 1
	if _, err := investigate.New(bad); err == nil {
		t.Error("a config with MaxEdges 1 was accepted")
	}
}
