package badger_test

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
)

var (
	benchOnce   sync.Once
	benchEvents []*mdr.Event
	benchBytes  int64 // raw JSON bytes of benchEvents
)

// realEvents returns the events of evtx_attack_samples.jsonl (8,247 real
// Windows events) and their raw size.
func realEvents(b *testing.B) ([]*mdr.Event, int64) {
	benchOnce.Do(func() {
		benchEvents, benchBytes = readEventsRaw(b, "evtx_attack_samples.jsonl", 0)
	})
	return benchEvents, benchBytes
}

// reportCPU reports the process CPU time used since cpu0 per operation
// ("cpu-ns/op", all goroutines) and the events per CPU-second, next to the
// wall-clock figures that a shared machine inflates.
func reportCPU(b *testing.B, cpu0 time.Duration, events int) {
	if cpu := processCPU() - cpu0; cpu > 0 && cpu0 > 0 {
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(events)/cpu.Seconds(), "events/cpu-s")
	}
}

func benchStore(b *testing.B, sync bool) *badger.Store {
	cfg := badger.DefaultConfig(b.TempDir())
	cfg.SyncEvents = sync
	s, err := badger.Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkAppendEvents stores real events in batches of 1, 100 and 1,000,
// with and without fsync per batch. Every iteration stores one event under a
// fresh id, so ns/op is the cost per event and MB/s is in JSON bytes (the
// average line of the source file). cpu-ns/op is the process CPU (all
// goroutines, badger's flushes and compactions included) while
// AppendEvents runs.
// appendCopies appends copies of evs[k % len(evs)] for k in [from, to), each
// under the fresh id k, so that a benchmark appends new events however many
// it needs.
func appendCopies(dst []*mdr.Event, bld *mdr.Builder, evs []*mdr.Event, from, to int) []*mdr.Event {
	for k := from; k < to; k++ {
		e := evs[k%len(evs)]
		for j := range e.Len() {
			f := e.Field(j)
			bld.Add(f.Key, f.Value)
		}
		dst = append(dst, bld.FinishAs(e.Origin(), strconv.Itoa(k), e.Time()))
	}
	return dst
}

func BenchmarkAppendEvents(b *testing.B) {
	evs, raw := realEvents(b)
	per := raw / int64(len(evs))
	for _, sync := range []bool{false, true} {
		for _, size := range []int{1, 100, 1000} {
			b.Run(fmt.Sprintf("sync=%v/batch=%d", sync, size), func(b *testing.B) {
				s := benchStore(b, sync)
				batch := make([]*mdr.Event, 0, size)
				bld := mdr.NewBuilder(64)
				b.SetBytes(per)
				b.ReportAllocs()
				b.ResetTimer()
				var cpu time.Duration // CPU of the timed parts only
				for i := 0; i < b.N; i += size {
					// copies of real events under fresh ids, built outside the timing
					b.StopTimer()
					batch = appendCopies(batch[:0], bld, evs, i, min(i+size, b.N))
					b.StartTimer()
					c0 := processCPU()
					if _, err := s.AppendEvents(b.Context(), batch); err != nil {
						b.Fatal(err)
					}
					cpu += processCPU() - c0
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
				if cpu > 0 {
					b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
					b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
				}
			})
		}
	}
}

func loadedStore(b *testing.B) (*badger.Store, []*mdr.Event) {
	evs, _ := realEvents(b)
	s := benchStore(b, false)
	for i := 0; i < len(evs); i += 1000 {
		if _, err := s.AppendEvents(b.Context(), evs[i:min(i+1000, len(evs))]); err != nil {
			b.Fatal(err)
		}
	}
	return s, evs
}

// BenchmarkScanEvents scans all stored events in time order; ns/op is per
// event.
func BenchmarkScanEvents(b *testing.B) {
	s, evs := loadedStore(b)
	n, _ := s.CountEvents(b.Context(), time.Time{}, time.Time{})
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	got := 0
	for got < b.N {
		for _, err := range s.ScanEvents(b.Context(), store.EventQuery{Limit: b.N - got}) {
			if err != nil {
				b.Fatal(err)
			}
			got++
		}
	}
	b.ReportMetric(float64(got)/b.Elapsed().Seconds(), "events/s")
	reportCPU(b, cpu0, got)
	_ = evs
	_ = n
}

// BenchmarkCountEvents counts a full range (keys only); ns/op is per event.
func BenchmarkCountEvents(b *testing.B) {
	s, evs := loadedStore(b)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	counted := int64(0)
	for counted < int64(b.N) {
		n, err := s.CountEvents(b.Context(), time.Time{}, time.Time{})
		if err != nil || n != int64(len(evs)) {
			b.Fatal(n, err)
		}
		counted += n
	}
	b.ReportMetric(float64(counted)/b.Elapsed().Seconds(), "events/s")
	reportCPU(b, cpu0, int(counted))
}

// BenchmarkGetEvent looks events up by id.
func BenchmarkGetEvent(b *testing.B) {
	s, evs := loadedStore(b)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	defer func() { reportCPU(b, cpu0, b.N) }()
	for i := 0; i < b.N; i++ {
		if _, err := s.GetEvent(b.Context(), evs[(i*7919)%len(evs)].ID()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDiskBytesPerEvent ingests the first 100,000 events of
// benchmark.jsonl.gz in batches of 1,000, closes the store, and reports the
// bytes its files take per event (and relative to the raw JSON).
func BenchmarkDiskBytesPerEvent(b *testing.B) {
	const n = 100_000
	evs, raw := readEventsRaw(b, "benchmark.jsonl.gz", n)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var dir string // measured after closing
		s := openTemp(b, func(c *badger.Config) { dir = c.Dir })
		for i := 0; i < len(evs); i += 1000 {
			if _, err := s.AppendEvents(b.Context(), evs[i:min(i+1000, len(evs))]); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		var disk int64
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && (filepath.Ext(p) == ".sst" || filepath.Ext(p) == ".vlog" || filepath.Ext(p) == ".mem") {
				info, _ := d.Info()
				disk += info.Size()
			}
			return nil
		})
		b.ReportMetric(float64(disk)/float64(len(evs)), "disk-bytes/event")
		b.ReportMetric(float64(raw)/float64(len(evs)), "raw-bytes/event")
		b.ReportMetric(float64(disk)/float64(raw), "disk/raw")
	}
}

// BenchmarkLoad compares AppendEvents with an Appender for a bulk load of
// real events in batches of 1,000, fed by a producer goroutine that builds
// the batches (as a reader would) while the timer runs. ns/op is per event;
// cpu-ns/op is the process CPU of all goroutines.
func BenchmarkLoad(b *testing.B) {
	evs, raw := realEvents(b)
	per := raw / int64(len(evs))
	const size = 1000
	for _, mode := range []string{"append-events", "appender"} {
		b.Run(mode, func(b *testing.B) {
			s := benchStore(b, false)
			batches := make(chan []*mdr.Event, 4)
			go func() {
				defer close(batches)
				bld := mdr.NewBuilder(64)
				for i := 0; i < b.N; i += size {
					batch := appendCopies(make([]*mdr.Event, 0, size), bld, evs, i, min(i+size, b.N))
					batches <- batch
				}
			}()
			b.SetBytes(per)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			var ap *badger.Appender
			if mode == "appender" {
				var err error
				if ap, err = s.NewAppender(); err != nil {
					b.Fatal(err)
				}
			}
			added := 0
			for batch := range batches {
				if ap != nil {
					if err := ap.Append(b.Context(), batch); err != nil {
						b.Fatal(err)
					}
					continue
				}
				res, err := s.AppendEvents(b.Context(), batch)
				if err != nil {
					b.Fatal(err)
				}
				added += res.Added
			}
			if ap != nil {
				res, err := ap.Close()
				if err != nil {
					b.Fatal(err)
				}
				added = res.Added
			}
			if added != b.N {
				b.Fatalf("%d events stored, want %d", added, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			reportCPU(b, cpu0, b.N)
		})
	}
}
