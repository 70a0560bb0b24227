package hunt_test

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/hunt"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/store/badger"
)

// The benchmarks run over benchmark.jsonl.gz stored in badger (the first
// MDR_HUNT_BENCH_EVENTS events, all by default), ingested once per run into
// a temporary directory (or opened from MDR_HUNT_BENCH_STORE when set, a
// store mdr ingest filled with the same events). ns/op is per stored
// event; events/cpu-s counts the stored events per CPU-second of the whole
// process.
var (
	benchOnce   sync.Once
	benchStore  *badger.Store
	benchEvents int
	benchErr    error
	benchTemp   string // the temporary store directory to remove, if one was made
)

// TestMain closes and removes the benchmarks' temporary store.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchStore != nil {
		benchStore.Close()
	}
	if benchTemp != "" {
		os.RemoveAll(benchTemp)
	}
	os.Exit(code)
}

func benchLimit() int {
	n, _ := strconv.Atoi(os.Getenv("MDR_HUNT_BENCH_EVENTS"))
	return n
}

func openBench(b *testing.B) (*badger.Store, int) {
	b.Helper()
	file := shareddata.Path(b, "events", "benchmark.jsonl.gz")
	benchOnce.Do(func() {
		dir := os.Getenv("MDR_HUNT_BENCH_STORE")
		fill := dir == ""
		if fill {
			if dir, benchErr = os.MkdirTemp("", "hunt-bench-*"); benchErr != nil {
				return
			}
			benchTemp = dir
		}
		cfg := badger.DefaultConfig(dir)
		cfg.SyncEvents = false
		if benchStore, benchErr = badger.Open(cfg); benchErr != nil {
			return
		}
		if !fill {
			var n int64
			n, benchErr = benchStore.CountEvents(b.Context(), time.Time{}, time.Time{})
			benchEvents = int(n)
			return
		}
		benchEvents, benchErr = ingestFile(b, benchStore, file, benchLimit())
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchStore, benchEvents
}

func ingestFile(b *testing.B, s *badger.Store, file string, limit int) (int, error) {
	r, err := reader.Open(file, reader.Options{})
	if err != nil {
		return 0, err
	}
	defer r.Close()
	ap, err := s.NewAppender()
	if err != nil {
		return 0, err
	}
	batch := make([]*mdr.Event, 0, 1000)
	n := 0
	for ev, err := range r.All() {
		if err != nil {
			return n, err
		}
		batch = append(batch, ev)
		n++
		if len(batch) == cap(batch) {
			if err := ap.Append(b.Context(), batch); err != nil {
				return n, err
			}
			batch = make([]*mdr.Event, 0, 1000)
		}
		if limit > 0 && n >= limit {
			break
		}
	}
	if len(batch) > 0 {
		if err := ap.Append(b.Context(), batch); err != nil {
			return n, err
		}
	}
	_, err = ap.Close()
	return n, err
}

func report(b *testing.B, cpu0 time.Duration, events int) {
	el := b.Elapsed().Seconds()
	b.ReportMetric(float64(events*b.N)/el, "events/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(events*b.N)/cpu.Seconds(), "events/cpu-s")
	}
	b.ReportMetric(el*1e9/float64(events*b.N), "ns/event")
}

// BenchmarkQuery runs single-field equality queries over the whole stored
// history: "skip" is one the summaries answer (EventID 4794 is in 2 of 1.07
// M events), "full" the same question written so that no plan can be made
// (numEq), which reads every event.
func BenchmarkQuery(b *testing.B) {
	s, n := openBench(b)
	for _, tc := range []struct{ name, cond string }{
		{"skip", `e.EventID == 4794`},
		{"full", `e.EventID.numEq(4794)`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := hunt.Compile(b.Context(), hunt.Query{Condition: tc.cond})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			for range b.N {
				for _, err := range p.Run(b.Context(), s) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			report(b, cpu0, n)
		})
	}
}

// BenchmarkRetroHunt runs the SigmaHQ Windows rules (and the test
// correlations) over the stored events, and, for comparison, over the same
// events read from the gzip file as mdr scan does (engine.DetectFiles).
func BenchmarkRetroHunt(b *testing.B) {
	s, n := openBench(b)
	rules := corpus(b)
	b.Run("store", func(b *testing.B) {
		b.ReportAllocs()
		b.ResetTimer()
		cpu0 := processCPU()
		for range b.N {
			for _, err := range hunt.RetroHunt(b.Context(), s, rules, hunt.Retro{}, nil) {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		report(b, cpu0, n)
	})
	b.Run("file", func(b *testing.B) {
		file := shareddata.Path(b, "events", "benchmark.jsonl.gz")
		b.ReportAllocs()
		b.ResetTimer()
		cpu0 := processCPU()
		for range b.N {
			d, err := engine.NewDetector(rules, engine.DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			r, err := reader.Open(file, reader.Options{})
			if err != nil {
				b.Fatal(err)
			}
			i := 0
			for ev, err := range r.All() {
				if err != nil {
					b.Fatal(err)
				}
				if _, err := d.Process(b.Context(), ev); err != nil {
					b.Fatal(err)
				}
				if i++; i >= n {
					break
				}
			}
			r.Close()
			if _, err := d.Flush(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
		report(b, cpu0, n)
	})
}

// BenchmarkRetroHunt200k checks by hand (too slow for CI on a shared
// machine) that the retro-hunt over the first 200,000 events equals the
// detector over the file: go test ./hunt -run XXX -bench RetroHunt200k
// -benchtime 1x.
func BenchmarkRetroHunt200k(b *testing.B) {
	for range b.N {
		testRetroPrefix(b, 200_000)
	}
}

// BenchmarkSweep sweeps the stored events for 10 and for 10,000 indicators
// (the 10 and 9,990 that occur nowhere): the cost per event should not
// depend on the number.
func BenchmarkSweep(b *testing.B) {
	s, n := openBench(b)
	base, _, err := hunt.ParseIndicators("bench", []byte(realIndicators))
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{10, 10_000} {
		inds := append([]hunt.Indicator(nil), base...)
		for i := len(inds); i < size; i++ {
			switch i % 3 {
			case 0:
				inds = append(inds, hunt.Indicator{ID: fmt.Sprint(i), Kind: hunt.KindHash, Value: fmt.Sprintf("%064x", i*7919)})
			case 1:
				inds = append(inds, hunt.Indicator{ID: fmt.Sprint(i), Kind: hunt.KindDomain, Value: fmt.Sprintf("host%d.bad.example", i)})
			default:
				inds = append(inds, hunt.Indicator{ID: fmt.Sprint(i), Kind: hunt.KindCmdline, Value: fmt.Sprintf("-payload-%d-x", i)})
			}
		}
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			sw, err := hunt.NewSweeper(inds[:size])
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			for range b.N {
				for _, err := range sw.Sweep(b.Context(), s, hunt.Sweep{}) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			report(b, cpu0, n)
		})
	}
}
