package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/store/badger"
)

// ingestStats is what an ingest run counted.
type ingestStats struct {
	events, added, dups, skipped, bytes int64
}

// runIngest is "mdr ingest": read events from files or standard input into a
// badger store directory, in batches, with progress on stderr.
func runIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fset.SetOutput(stderr)
	dir := fset.String("store", "", "store directory (created when missing; required)")
	batchSize := fset.Int("batch", 1000, "events per batch (one transaction each)")
	sync := fset.Bool("sync", false, "fsync every batch (slower; without it the store is synced once at the end)")
	onError := fset.String("on-error", "skip", "malformed input lines: skip (reported on stderr and counted) or stop")
	maxLine := fset.Int("max-line-bytes", reader.DefaultMaxLineBytes, "longest input line or JSON array element accepted, in bytes")
	every := fset.Duration("progress", 2*time.Second, "interval of progress lines on stderr (0: none)")
	verbose := fset.Bool("v", false, "log the store engine's messages on stderr")
	cpuProfile := fset.String("cpuprofile", "", "write a CPU profile of the run to this file")
	memProfile := fset.String("memprofile", "", "write a heap profile to this file at the end of the run (before the store closes)")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: mdr ingest --store DIR [--batch N] [--sync] [--on-error skip|stop] [--progress D] [FILE…]\n\nStores events from NDJSON, JSON arrays or gzip of either (standard input without FILE)\nin the embedded badger store. Events already stored (same id) are counted as duplicates.")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	switch {
	case *dir == "":
		return fmt.Errorf("--store is required: %w", errUsage)
	case *batchSize < 1:
		return fmt.Errorf("--batch must be at least 1: %w", errUsage)
	case *every < 0:
		return fmt.Errorf("--progress must not be negative: %w", errUsage)
	case *onError != "skip" && *onError != "stop":
		return fmt.Errorf("--on-error must be skip or stop, not %q: %w", *onError, errUsage)
	case *maxLine < 1:
		return fmt.Errorf("--max-line-bytes must be at least 1: %w", errUsage)
	}
	files := fset.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}

	cfg := badger.DefaultConfig(*dir)
	cfg.SyncEvents = *sync
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	st, err := badger.Open(cfg)
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			st.Close()
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			st.Close()
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	stats, ingestErr := ingest(ctx, st, files, *batchSize, reader.Options{MaxLineBytes: *maxLine}, *onError == "skip", *every, stderr)
	if *memProfile != "" {
		if err := writeHeapProfile(*memProfile); err != nil && ingestErr == nil {
			ingestErr = err
		}
	}
	if err := st.Sync(); err != nil && ingestErr == nil {
		ingestErr = err
	}
	if err := st.Close(); err != nil && ingestErr == nil {
		ingestErr = err
	}
	disk := dirSize(*dir)
	el := time.Since(start)
	fmt.Fprintf(stdout, "ingested %d events into %s: %d stored, %d duplicates, %d malformed lines skipped; %.1f MB read in %v (%.0f events/s); store %.1f MB on disk\n",
		stats.events, *dir, stats.added, stats.dups, stats.skipped, float64(stats.bytes)/1e6, el.Round(time.Millisecond),
		float64(stats.events)/max(el.Seconds(), 1e-9), float64(disk)/1e6)
	return ingestErr
}

// ingest reads the files on this goroutine and writes batches on another
// through a badger.Appender, so that reading, decoding, preparing a batch
// and badger's writing of the batch before all overlap.
func ingest(ctx context.Context, st *badger.Store, files []string, batchSize int, base reader.Options, skip bool, every time.Duration, stderr io.Writer) (ingestStats, error) {
	var stats ingestStats
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []*mdr.Event, 4)
	free := make(chan []*mdr.Event, 6)
	type result struct {
		added, dups int64
		err         error
	}
	done := make(chan result, 1)
	go func() {
		// The appender prepares a batch while badger writes the one before;
		// a batch's slice is reused only once the next Append has returned,
		// for until then the appender may need it again.
		var r result
		ap, err := st.NewAppender()
		if err != nil {
			r.err = err
			cancel()
		}
		var prev []*mdr.Event
		for b := range batches {
			if r.err != nil {
				continue
			}
			if err := ap.Append(ctx, b); err != nil {
				r.err = err
				cancel()
				continue
			}
			if prev != nil {
				select {
				case free <- prev[:0]:
				default:
				}
			}
			prev = b
		}
		if ap != nil {
			res, err := ap.Close()
			r.added, r.dups = int64(res.Added), int64(res.Duplicates)
			if err != nil && r.err == nil {
				r.err = err
			}
		}
		done <- r
	}()

	var readErr error
	var lastProgress = time.Now()
	start := lastProgress
	batch := make([]*mdr.Event, 0, batchSize)
	reported := 0
	var done0 int64 // bytes of files already finished
	for _, name := range files {
		opts := base
		if skip {
			opts.OnError = reader.Skip
			opts.OnSkip = func(e *reader.LineError) {
				if reported < 10 {
					fmt.Fprintf(stderr, "mdr ingest: skipped %v\n", e)
				} else if reported == 10 {
					fmt.Fprintln(stderr, "mdr ingest: more malformed lines skipped (counted in the summary)")
				}
				reported++
			}
		}
		r, ahead, err := openAhead(ctx, name, opts)
		if err != nil {
			readErr = err
			break
		}
		for r.Next() {
			batch = append(batch, r.Event())
			stats.events++
			if len(batch) == batchSize {
				select {
				case batches <- batch:
				case <-ctx.Done():
				}
				if ctx.Err() != nil {
					break
				}
				select {
				case batch = <-free:
				default:
					batch = make([]*mdr.Event, 0, batchSize)
				}
				if every > 0 && time.Since(lastProgress) >= every {
					lastProgress = time.Now()
					el := lastProgress.Sub(start).Seconds()
					b := done0 + r.Bytes()
					fmt.Fprintf(stderr, "mdr ingest: %d events, %.1f MB read (%s), %.0f events/s, %.1f MB/s\n",
						stats.events, float64(b)/1e6, name, float64(stats.events)/el, float64(b)/1e6/el)
				}
			}
		}
		stats.skipped += r.Skipped()
		done0 += r.Bytes()
		if err := r.Err(); err != nil {
			readErr = err
		}
		r.Close()
		ahead.Close()
		if readErr != nil || ctx.Err() != nil {
			break
		}
	}
	// The events read before a damaged input are kept (issue 17): the
	// error is reported after they are stored.
	if len(batch) > 0 && ctx.Err() == nil {
		batches <- batch
	}
	close(batches)
	res := <-done
	stats.added, stats.dups, stats.bytes = res.added, res.dups, done0
	switch {
	case res.err != nil:
		return stats, res.err
	case readErr != nil:
		return stats, fmt.Errorf("%w (the %d events read before it were kept: %d stored, %d duplicates)", readErr, stats.events, stats.added, stats.dups)
	}
	return stats, ctx.Err()
}

// openAhead opens a file ("-": standard input) for reading events, with the
// file read and, when it is gzip, decompressed on another goroutine so that
// decompression overlaps with JSON decoding and storing. The caller closes
// the reader, then the returned Closer, which stops that goroutine.
func openAhead(ctx context.Context, name string, opts reader.Options) (*reader.Reader, io.Closer, error) {
	if name != "-" {
		// report a missing file at once; a FIFO is opened (which waits for
		// a writer) on the read-ahead goroutine, where ctx can abandon it
		st, err := os.Stat(name)
		if err != nil {
			return nil, nil, err
		}
		if st.IsDir() {
			return nil, nil, fmt.Errorf("%s: %w: a directory, not an event file", name, mdr.ErrInvalid)
		}
	}
	ra := newReadAhead(ctx, func() (io.Reader, func(), error) {
		var src io.ReadCloser = io.NopCloser(os.Stdin)
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return nil, nil, err
			}
			src = f
		}
		br := bufio.NewReaderSize(src, 256<<10)
		if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
			zr, err := gzip.NewReader(br)
			if err != nil {
				src.Close()
				return nil, nil, fmt.Errorf("gzip: %w", err)
			}
			return zr, func() { zr.Close(); src.Close() }, nil
		}
		return br, func() { src.Close() }, nil
	})
	r, err := reader.NewContext(ctx, ra, name, opts)
	if err != nil {
		ra.Close()
		return nil, nil, err
	}
	return r, ra, nil
}

// readAhead opens its source and reads it in 1 MiB blocks on its own
// goroutine, up to four blocks ahead of the consumer, and releases the
// source when that goroutine ends. A read waiting for a block returns ctx.Err() once ctx is done (the
// goroutine may stay blocked on standard input until it returns). Every
// error of the source, io.ErrUnexpectedEOF of a truncated gzip stream
// included, reaches the consumer after the data read before it; the end of
// input and errors are sticky. It is not safe for concurrent use (one
// consumer).
type readAhead struct {
	ctx    context.Context
	blocks chan []byte
	free   chan []byte
	stop   chan struct{}
	err    error  // set by the goroutine before it closes blocks
	block  []byte // the block being consumed
	off    int    // how much of block is consumed
	end    error  // io.EOF or the error returned by every later Read
	closed bool
}

func newReadAhead(ctx context.Context, open func() (io.Reader, func(), error)) *readAhead {
	ra := &readAhead{
		ctx:    ctx,
		blocks: make(chan []byte, 4), free: make(chan []byte, 6),
		stop: make(chan struct{}),
	}
	go func() {
		defer close(ra.blocks)
		src, release, err := open()
		if err != nil {
			ra.err = err
			return
		}
		defer release()
		for {
			var b []byte
			select {
			case b = <-ra.free:
			default:
				b = make([]byte, 1<<20)
			}
			n, err := fill(src, b[:cap(b)])
			if n > 0 {
				select {
				case ra.blocks <- b[:n]:
				case <-ra.stop:
					return
				}
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				ra.err = err
				return
			}
		}
	}()
	return ra
}

// fill reads into b until it is full, the source returns an error — io.EOF
// at a clean end, any other as the source returned it (unlike io.ReadFull,
// which would turn a clean end after a partial block into
// io.ErrUnexpectedEOF and so hide a truncated gzip stream's own) — or a
// read returns less than asked: a pipe or a terminal with nothing more for
// now, whose data must reach the consumer without waiting for a full block.
func fill(src io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := src.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
		if m < len(b)-(n-m) && n > 0 {
			return n, nil
		}
	}
	return n, nil
}

// Read implements io.Reader.
func (ra *readAhead) Read(p []byte) (int, error) {
	if ra.end != nil {
		return 0, ra.end
	}
	for ra.off == len(ra.block) {
		if ra.block != nil {
			select {
			case ra.free <- ra.block:
			default:
			}
			ra.block, ra.off = nil, 0
		}
		select {
		case b, ok := <-ra.blocks:
			if !ok {
				ra.end = io.EOF
				if ra.err != nil {
					ra.end = ra.err
				}
				return 0, ra.end
			}
			ra.block, ra.off = b, 0
		case <-ra.ctx.Done():
			ra.end = ra.ctx.Err()
			return 0, ra.end
		}
	}
	n := copy(p, ra.block[ra.off:])
	ra.off += n
	return n, nil
}

// Close tells the read-ahead goroutine to stop; it releases the source
// when its read in progress returns.
func (ra *readAhead) Close() error {
	if !ra.closed {
		ra.closed = true
		close(ra.stop)
	}
	return nil
}

// writeHeapProfile writes the heap profile (allocations since the start and
// what is live now) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// dirSize returns the bytes of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
