package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/jetstream"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
	"github.com/mdrkit/mdr/triage"
)

// natsFlags are the flags publish and worker share.
func natsFlags(fset *flag.FlagSet) (*string, *int) {
	url := fset.String("nats", "nats://127.0.0.1:4222", "NATS server URL")
	parts := fset.Int("partitions", jetstream.DefaultConfig().Partitions, "number of event partitions (producers and workers must agree)")
	return url, parts
}

// runPublish is "mdr publish": read event files and publish them to their
// host partitions.
func runPublish(ctx context.Context, args []string, _, stderr io.Writer) error {
	fset := flag.NewFlagSet("publish", flag.ContinueOnError)
	fset.SetOutput(stderr)
	url, parts := natsFlags(fset)
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: mdr publish --nats URL [--partitions N] [FILE…]\n\nPublishes events (NDJSON, JSON arrays, gzip; standard input without FILE) to mdr.events.<partition>.")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	cfg := jetstream.DefaultConfig()
	cfg.Partitions = *parts
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	files := fset.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	p, err := jetstream.NewPublisher(ctx, *url, cfg)
	if err != nil {
		return err
	}
	defer p.Close()
	start := time.Now()
	n, err := p.PublishFiles(ctx, files, reader.Options{OnError: reader.Skip, OnSkip: func(le *reader.LineError) {
		fmt.Fprintf(stderr, "mdr publish: skipped %v\n", le)
	}}, func(n int64) {
		fmt.Fprintf(stderr, "mdr publish: %d events, %.0f/s\n", n, float64(n)/time.Since(start).Seconds())
	})
	el := time.Since(start)
	fmt.Fprintf(stderr, "mdr publish: %d events published to %d partitions in %.3fs, %.0f events/s\n", n, cfg.Partitions, el.Seconds(), float64(n)/el.Seconds())
	return err
}

// runWorker is "mdr worker": claim partitions, detect, store and publish
// alerts until interrupted.
func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("worker", flag.ContinueOnError)
	fset.SetOutput(stderr)
	url, parts := natsFlags(fset)
	var rulePaths stringsFlag
	fset.Var(&rulePaths, "rules", "rule file or directory (repeatable; required)")
	dir := fset.String("store", "", "badger store directory for alerts (default: in memory)")
	id := fset.String("id", "", "worker id (default: host, pid and start time)")
	idle := fset.Duration("idle-flush", 5*time.Second, "decide open correlation windows of a partition idle this long (0: never)")
	verbose := fset.Bool("v", false, "log claims and releases on stderr")
	addPipelineFlag(fset)
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: mdr worker --nats URL --rules PATH… [--store DIR] [--partitions N]\n\nConsumes event partitions, runs detection (correlations included), triage (incidents linked through\nthe provenance graph), stores alerts and incidents and publishes alerts to mdr.alerts.")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	if len(rulePaths) == 0 {
		return fmt.Errorf("--rules is required: %w", errUsage)
	}
	cfg := jetstream.DefaultConfig()
	cfg.Partitions = *parts
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	rules, err := engine.Load(ctx, rulePaths, engine.WithPipelineFile(sigmaPipelinePath))
	if err != nil {
		return err
	}
	for _, r := range rules.Rejects {
		fmt.Fprintf(stderr, "mdr worker: rejected %s\n", r)
	}
	var st store.Store = store.NewMemory()
	if *dir != "" {
		b, err := badger.Open(badger.DefaultConfig(*dir))
		if err != nil {
			return err
		}
		defer b.Close()
		st = b
	}
	stage, err := jetstream.NewTriageStage(ctx, st, triage.DefaultConfig(), investigate.DefaultConfig(), triage.WithCatalog(triage.CatalogOf(rules.Ruleset)))
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	w, err := jetstream.NewWorker(ctx, *url, jetstream.WorkerConfig{Config: cfg, ID: *id, Rules: rules, Store: st, Stage: stage, IdleFlush: *idle, Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mdr worker: %d rules; consuming %d partitions from %s until interrupted\n", rules.Len(), cfg.Partitions, *url)
	err = w.Run(ctx)
	s := w.Stats()
	fmt.Fprintf(stdout, "mdr worker: %d events, %d alerts, %d dead-lettered, %d redelivered skipped, %d batches, %d rule evaluation errors\n",
		s.Events, s.Alerts, s.Dead, s.Skipped, s.Batches, s.EvalErrors)
	if ts := stage.Queue().Stats(); err == nil {
		fmt.Fprintf(stdout, "mdr worker: triage: %d alerts pushed, %d deduplicated, %d suppressed, %d incidents open\n", ts.Pushed, ts.Deduplicated, ts.Suppressed, ts.OpenIncidents)
	}
	return err
}

// runNatsServer is "mdr nats-server": an embedded single-node JetStream
// server for trying the scale-out on one machine.
func runNatsServer(ctx context.Context, args []string, _, stderr io.Writer) error {
	fset := flag.NewFlagSet("nats-server", flag.ContinueOnError)
	fset.SetOutput(stderr)
	dir := fset.String("store", "", "JetStream store directory (required)")
	host := fset.String("host", "127.0.0.1", "address to listen on")
	port := fset.Int("port", 4222, "port to listen on")
	if err := fset.Parse(args); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	if *dir == "" {
		return fmt.Errorf("--store is required: %w", errUsage)
	}
	s, err := jetstream.StartServer(jetstream.ServerConfig{Host: *host, Port: *port, StoreDir: *dir})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mdr nats-server: JetStream listening on %s (store %s); Ctrl-C stops it\n", s.URL(), *dir)
	<-ctx.Done()
	s.Shutdown()
	return nil
}
