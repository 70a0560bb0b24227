package investigate_test

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/schema"
)

// benchEvents is how many events of benchmark.jsonl.gz the big benchmarks
// read: INV_BENCH_EVENTS, else all of them.
func benchEvents() int64 {
	if n, err := strconv.ParseInt(os.Getenv("INV_BENCH_EVENTS"), 10, 64); err == nil && n > 0 {
		return n
	}
	return 0
}

// mappedResults maps the first n events of the benchmark file into Results
// with one time-ordered ProcessTable, as a Graph's own mapper would.
func mappedResults(b *testing.B, n int) []schema.Result {
	r, err := reader.Open(shareddata.Path(b, "events", "benchmark.jsonl.gz"), reader.Options{OnError: reader.Skip})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	m := schema.Mapper{Processes: schema.NewProcessTable(1 << 18)}
	var res schema.Result
	out := make([]schema.Result, 0, n)
	for ev, err := range r.All() {
		if err != nil {
			b.Fatal(err)
		}
		_ = m.Map(ev, &res)
		out = append(out, res.Clone())
		if len(out) == n {
			break
		}
	}
	return out
}

// BenchmarkAddResult measures insertion from schema.Result alone (the
// mapping done beforehand): relations per second on one goroutine.
func BenchmarkAddResult(b *testing.B) {
	rs := mappedResults(b, 200_000)
	rels := 0
	for i := range rs {
		rels += len(rs[i].Relations)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		g, err := investigate.New(investigate.DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		for i := range rs {
			g.AddResult(&rs[i])
		}
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(rels)*float64(b.N)/b.Elapsed().Seconds(), "relations/s")
	// The machine is shared: CPU time of the process (GC included) is
	// the fair measure of cost per core.
	b.ReportMetric(float64(rels)*float64(b.N)/cpu.Seconds(), "relations/cpu-s")
	b.ReportMetric(float64(rels), "relations/op")
}

// BenchmarkBuild reads, decodes, maps and inserts the benchmark file (or
// its first INV_BENCH_EVENTS events) and reports events per second, the
// heap the graph holds per stored edge (runtime.MemStats after GC) and the
// reduction ratio. Run with -benchtime=1x.
func BenchmarkBuild(b *testing.B) {
	limit := benchEvents()
	path := shareddata.Path(b, "events", "benchmark.jsonl.gz")
	for b.Loop() {
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		g, err := investigate.New(investigate.DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		r, err := reader.Open(path, reader.Options{OnError: reader.Skip})
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		start, cpu0 := time.Now(), cpuTime()
		for ev, err := range r.All() {
			if err != nil {
				b.Fatal(err)
			}
			if err := g.Add(ev); err != nil {
				b.Fatal(err)
			}
			if n++; limit > 0 && n >= limit {
				break
			}
		}
		r.Close()
		el, cpu := time.Since(start), cpuTime()-cpu0
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		st := g.Stats()
		b.ReportMetric(float64(n)/el.Seconds(), "events/s")
		b.ReportMetric(float64(n)/cpu.Seconds(), "events/cpu-s")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(st.Edges), "heap-bytes/edge")
		b.ReportMetric(float64(st.Relations)/float64(st.Edges), "relations/edge")
		b.ReportMetric(float64(st.Edges), "edges")
		b.ReportMetric(float64(st.Nodes), "nodes")
		b.ReportMetric(float64(st.Relations), "relations")
		runtime.KeepAlive(g)
	}
}

// BenchmarkQueries builds the graph of the benchmark file (or its first
// INV_BENCH_EVENTS events), runs the SigmaHQ corpus over it, and times
// Backward and Forward from every alert's actor, Scope of every alert and
// CausalChain of every alert: p50 and p99 in milliseconds. Run with
// -benchtime=1x.
func BenchmarkQueries(b *testing.B) {
	bt := build(b, sigmaCorpus(b), benchEvents(), shareddata.Path(b, "events", "benchmark.jsonl.gz"))
	ctx := context.Background()
	for b.Loop() {
		var back, fwd, scope, chain []time.Duration
		for i := range bt.alerts {
			a := &bt.alerts[i]
			t0 := time.Now()
			if _, err := bt.g.CausalChain(ctx, a); err != nil {
				b.Fatal(err)
			}
			chain = append(chain, time.Since(t0))
			t0 = time.Now()
			if _, err := bt.g.Scope(ctx, []mdr.Alert{*a}, investigate.ScopeLimits{}); err != nil {
				b.Fatal(err)
			}
			scope = append(scope, time.Since(t0))
			for _, e := range a.Entities {
				if e.Kind != mdr.EntityProcess {
					continue
				}
				t0 = time.Now()
				_, err := bt.g.Backward(ctx, e.ID, a.Time, investigate.Limits{})
				if err != nil {
					continue // a process only the stateless mapping named
				}
				back = append(back, time.Since(t0))
				t0 = time.Now()
				if _, err := bt.g.Forward(ctx, e.ID, a.Time, investigate.Limits{}); err != nil {
					b.Fatal(err)
				}
				fwd = append(fwd, time.Since(t0))
				break
			}
		}
		for _, q := range []struct {
			name string
			d    []time.Duration
		}{{"backward", back}, {"forward", fwd}, {"scope", scope}, {"chain", chain}} {
			p50, p99 := percentiles(q.d)
			b.ReportMetric(p50, q.name+"-p50-ms")
			b.ReportMetric(p99, q.name+"-p99-ms")
		}
		b.ReportMetric(float64(len(bt.alerts)), "alerts")
		b.ReportMetric(float64(bt.events), "events")
	}
}

// cpuTime returns the CPU time (user and system) the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func percentiles(d []time.Duration) (p50, p99 float64) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	at := func(q float64) float64 {
		return float64(d[min(len(d)-1, int(q*float64(len(d))))]) / 1e6
	}
	return at(0.50), at(0.99)
}
