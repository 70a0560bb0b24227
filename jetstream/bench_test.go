package jetstream_test

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"

	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/jetstream"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/store"
)

// benchEvents is the number of events of the benchmark file the
// benchmarks publish (its first events; the whole file is 1.07 M).
const benchEvents = 100_000

type rawEvent struct {
	host, id string
	raw      []byte
}

func loadBenchEvents(b *testing.B) []rawEvent {
	b.Helper()
	r, err := reader.Open(shareddata.Path(b, "events", "benchmark.jsonl.gz"), reader.Options{OnError: reader.Skip})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var out []rawEvent
	for len(out) < benchEvents && r.Next() {
		ev := r.Event()
		h, _ := ev.Text("Computer")
		out = append(out, rawEvent{host: h, id: ev.ID(), raw: append([]byte(nil), r.Raw()...)})
	}
	return out
}

func benchServer(b *testing.B) *jetstream.Server {
	s, err := jetstream.StartServer(jetstream.ServerConfig{Host: "127.0.0.1", Port: -1, StoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Shutdown)
	return s
}

func benchPublish(b *testing.B, url string, cfg jetstream.Config, evs []rawEvent) {
	p, err := jetstream.NewPublisher(context.Background(), url, cfg)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range evs {
		if err := p.PublishRaw(e.host, e.id, e.raw); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPublish publishes 100k events of the benchmark file into an
// embedded server with file storage, with the default bundles (S2, up to
// 512 events or 512 KiB) and variants of size and compression.
func BenchmarkPublish(b *testing.B) {
	evs := loadBenchEvents(b)
	variants := []struct {
		name     string
		compress bool
		events   int
		bytes    int
	}{
		{"s2/512KiB", true, 512, 512 << 10},
		{"plain/512KiB", false, 512, 512 << 10},
		{"s2/128KiB", true, 512, 128 << 10},
		{"s2/900KiB", true, 1024, 900 << 10},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			var el, cpu time.Duration
			var stored uint64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := benchServer(b)
				cfg := jetstream.DefaultConfig()
				cfg.CompressBundles, cfg.BundleEvents, cfg.BundleBytes = v.compress, v.events, v.bytes
				b.StartTimer()
				t0, c0 := time.Now(), cpuTime()
				benchPublish(b, s.URL(), cfg, evs)
				el += time.Since(t0)
				cpu += cpuTime() - c0
				b.StopTimer()
				stored += streamBytes(b, s.URL(), cfg.EventStream)
				b.StartTimer()
			}
			reportRates(b, len(evs)*b.N, el, cpu)
			b.ReportMetric(float64(stored)/float64(len(evs)*b.N), "stored-B/event")
		})
	}
}

// stateBytes returns the bytes of the saved partition states (detector
// snapshots and positions) in the state bucket.
func stateBytes(b *testing.B, url, bucket string) uint64 {
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	j, err := js.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	kv, err := j.KeyValue(ctx, bucket)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var n uint64
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			b.Fatal(err)
		}
		n += uint64(len(e.Value()))
	}
	return n
}

// streamBytes returns the bytes a stream holds.
func streamBytes(b *testing.B, url, stream string) uint64 {
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	j, err := js.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	st, err := j.Stream(context.Background(), stream)
	if err != nil {
		b.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return info.State.Bytes
}

// BenchmarkWorkers runs 1 and 2 workers with the SigmaHQ Windows rules
// over 100k published events of the benchmark file, end to end (fetch,
// decode, detect, store and publish alerts, save state, ack).
func BenchmarkWorkers(b *testing.B) {
	evs := loadBenchEvents(b)
	rules, err := engine.Load(context.Background(), []string{shareddata.Path(b, "sigma", "rules", "windows")})
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.ReportAllocs()
			var el, cpu time.Duration
			var state uint64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := benchServer(b)
				cfg := jetstream.DefaultConfig()
				benchPublish(b, s.URL(), cfg, evs)
				ctx, cancel := context.WithCancel(context.Background())
				var ws []*jetstream.Worker
				for k := range workers {
					w, err := jetstream.NewWorker(ctx, s.URL(), jetstream.WorkerConfig{Config: cfg, ID: fmt.Sprintf("w%d", k), Rules: rules, Store: store.NewMemory()})
					if err != nil {
						b.Fatal(err)
					}
					ws = append(ws, w)
				}
				b.StartTimer()
				t0, c0 := time.Now(), cpuTime()
				var wg sync.WaitGroup
				for _, w := range ws {
					wg.Add(1)
					go func() { defer wg.Done(); _ = w.Run(ctx) }()
				}
				for {
					var n int64
					for _, w := range ws {
						n += w.Stats().Events
					}
					if n >= int64(len(evs)) {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				el += time.Since(t0)
				cpu += cpuTime() - c0
				b.StopTimer()
				cancel()
				wg.Wait()
				state = stateBytes(b, s.URL(), cfg.StateBucket)
			}
			reportRates(b, len(evs)*b.N, el, cpu)
			hosts := map[string]bool{}
			for _, e := range evs {
				hosts[e.host] = true
			}
			b.ReportMetric(float64(len(hosts)), "hosts")
			b.ReportMetric(float64(state), "state-B")
		})
	}
}

// reportRates reports events per second of wall time, and CPU time per
// event with events per second of CPU: on a shared machine the wall clock
// also counts other processes. The CPU time is the whole process's, so it
// includes the embedded server.
func reportRates(b *testing.B, n int, wall, cpu time.Duration) {
	b.ReportMetric(float64(n)/wall.Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/event")
	b.ReportMetric(float64(n)/cpu.Seconds(), "events/cpu-s")
}

// cpuTime is the user and system CPU time of the process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
