package jetstream_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/jetstream"
	"github.com/mdrkit/mdr/loop"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store"
)

// Scale detection out on NATS JetStream on one machine: an embedded server,
// a publisher that partitions a simulated attack's events by host, and a
// worker that claims the partitions, runs the native rules and stores the
// alerts. Production points the same publisher and any number of workers at
// a NATS cluster.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir, _ := os.MkdirTemp("", "mdr-jetstream-example-*")
	defer os.RemoveAll(dir)

	srv, err := jetstream.StartServer(jetstream.ServerConfig{Host: "127.0.0.1", Port: -1, StoreDir: filepath.Join(dir, "nats")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown()
	cfg := jetstream.DefaultConfig()
	cfg.Partitions = 4
	if err := jetstream.Setup(ctx, srv.URL(), cfg); err != nil {
		fmt.Println(err)
		return
	}

	// The producer side: events from a file, partitioned by host.
	run, _ := sim.Generate(ctx, "phish-lateral", 1)
	f, _ := os.Create(filepath.Join(dir, "events.jsonl"))
	_ = run.Fleet.WriteNDJSON(f, 0)
	f.Close()
	pub, err := jetstream.NewPublisher(ctx, srv.URL(), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	n, err := pub.PublishFiles(ctx, []string{f.Name()}, reader.Options{}, nil)
	if err == nil {
		err = pub.Flush(ctx)
	}
	pub.Close()
	if err != nil {
		fmt.Println(err)
		return
	}

	// The worker side: claim partitions, detect, store alerts, acknowledge.
	rules, _ := engine.LoadSources(ctx, []engine.Source{loop.NativeRules()})
	st := store.NewMemory()
	defer st.Close()
	w, err := jetstream.NewWorker(ctx, srv.URL(), jetstream.WorkerConfig{Config: cfg, ID: "w1", Rules: rules, Store: st, IdleFlush: 200 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	for w.Stats().Events < n && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let the idle partitions flush their correlations
	stop()
	if err := <-done; err != nil && wctx.Err() == nil {
		fmt.Println(err)
	}
	s := w.Stats()
	fmt.Println("published", n, "events; the worker processed", s.Events, "and raised alerts:", s.Alerts > 0)
	// Output:
	// published 107 events; the worker processed 107 and raised alerts: true
}
