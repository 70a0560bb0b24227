// Command store shows how a host program embeds mdrkit's badger store:
// it reads events (NDJSON, JSON array or gzip of either) and appends them to
// a store directory in batches, then reads them back — one event by id, a
// count of a time range, and a range scan in event-time order with a filter.
//
// Usage:
//
//	go run ./examples/store [-dir DIR] [FILE]
//
// Without FILE it stores the sample events embedded in the program
// (events.ndjson); without -dir it uses a temporary directory. Appending is
// idempotent per event id: running it twice on one -dir stores nothing twice.
package main

import (
	"bytes"
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
)

//go:embed events.ndjson
var sample []byte

func main() {
	dir := flag.String("dir", "", "store directory (default: a temporary directory, removed)")
	flag.Parse()
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "mdr-example-store-*")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer os.RemoveAll(tmp)
		*dir = tmp
	}
	in, name := io.Reader(bytes.NewReader(sample)), "events.ndjson"
	if flag.NArg() > 0 {
		f, err := os.Open(flag.Arg(0))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		in, name = f, flag.Arg(0)
	}
	if err := run(context.Background(), os.Stdout, *dir, in, name); err != nil {
		fmt.Fprintln(os.Stderr, "store:", err)
		os.Exit(1)
	}
}

// batchSize is how many events go into one AppendEvents call: large
// batches amortise the commit (the store splits a batch that is too big for
// one transaction).
const batchSize = 1000

// run stores the events of in under dir and prints what it reads back.
func run(ctx context.Context, w io.Writer, dir string, in io.Reader, name string) error {
	cfg := badger.DefaultConfig(dir)
	cfg.SyncEvents = false // a bulk load: Close syncs at the end
	s, err := badger.Open(cfg)
	if err != nil {
		return err
	}
	defer s.Close()

	// Ingest: stream the events in batches.
	r, err := reader.New(in, name, reader.Options{OnError: reader.Skip})
	if err != nil {
		return err
	}
	defer r.Close()
	var batch []*mdr.Event
	var added, dups int
	var first, last time.Time
	flush := func() error {
		res, err := s.AppendEvents(ctx, batch)
		if err != nil {
			return err
		}
		added, dups = added+res.Added, dups+res.Duplicates
		batch = batch[:0]
		return nil
	}
	for r.Next() {
		ev := r.Event()
		if t := ev.Time(); first.IsZero() || t.Before(first) {
			first = t
		}
		if t := ev.Time(); t.After(last) {
			last = t
		}
		batch = append(batch, ev)
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := r.Err(); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "ingested %d events from %s (%d already stored, %d malformed lines skipped)\n", added, name, dups, r.Skipped())
	if added+dups == 0 {
		return nil
	}

	// Count everything, and one event by id.
	total, err := s.CountEvents(ctx, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "the store holds %d events from %s to %s\n", total, first.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339))

	// A range scan: the first half of the time span, network connections
	// only, in event-time order. The filter runs inside the scan.
	from, to := first, first.Add(last.Sub(first)/2)
	fmt.Fprintf(w, "network connections in [%s, %s):\n", from.UTC().Format("15:04:05"), to.UTC().Format("15:04:05"))
	q := store.EventQuery{From: from, To: to, Filter: func(ev *mdr.Event) bool {
		id, _ := ev.Int("EventID")
		return id == 3
	}}
	var firstID string
	for ev, err := range s.ScanEvents(ctx, q) {
		if err != nil {
			return err
		}
		if firstID == "" {
			firstID = ev.ID()
		}
		host, _ := ev.Text("Computer")
		img, _ := ev.Text("Image")
		dst, _ := ev.Text("DestinationIp")
		port, _ := ev.Text("DestinationPort")
		fmt.Fprintf(w, "  %s  %-8s %s  %s → %s:%s\n", ev.Time().UTC().Format("15:04:05.000"), ev.ID(), host, img, dst, port)
	}
	if firstID != "" {
		ev, err := s.GetEvent(ctx, firstID)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "get %s: %d fields, from %s line %d\n", firstID, ev.Len(), ev.Origin().Source, ev.Origin().Line)
	}
	return nil
}
