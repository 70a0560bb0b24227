package badger

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bdg "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// Store is the badger-backed store.Store. It is safe for concurrent use:
// writes are badger transactions (concurrent writers of the same record
// see mdr.ErrConflict rather than lose an update), and every iterator reads
// one consistent snapshot taken when the iteration starts.
type Store struct {
	db          *bdg.DB
	cfg         Config
	log         *slog.Logger
	bucketNanos int64
	seq         *bdg.Sequence
	comp        compressor // encoding side of event compression and summaries
	dicts       dicts      // decoding dictionaries

	// mu guards closed: operations hold it shared, Close exclusively.
	mu     sync.RWMutex
	closed bool

	auditMu   sync.Mutex
	auditLast store.AuditRecord // the last record appended (zero when empty)

	stopGC context.CancelFunc
	gcDone chan struct{}
	gcRuns atomic.Int64 // value-log GC passes run, for tests
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.Retention = (*Store)(nil)
)

// Open opens or creates the store in cfg.Dir. A directory written with a
// different key layout version is refused with a *LayoutError.
func Open(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("badger store: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := bdg.DefaultOptions(cfg.Dir).
		WithLogger(slogLogger{log}).
		WithSyncWrites(cfg.SyncEvents).
		WithMemTableSize(cfg.MemTableSize).
		WithNumMemtables(cfg.NumMemtables).
		WithNumLevelZeroTables(l0Tables).
		WithNumLevelZeroTablesStall(l0Stall).
		WithBlockCacheSize(cfg.BlockCacheSize).
		WithIndexCacheSize(cfg.IndexCacheSize).
		WithNumCompactors(cfg.NumCompactors).
		WithValueThreshold(cfg.ValueThreshold).
		WithValueLogFileSize(256 << 20).
		WithBlockSize(blockSize).
		WithBaseTableSize(baseTableSize).
		WithNumGoroutines(2).
		WithMetricsEnabled(false).
		WithDetectConflicts(true)
	opts.TableSizeMultiplier = tableMult
	switch cfg.Compression {
	case "zstd":
		opts = opts.WithCompression(options.ZSTD).WithZSTDCompressionLevel(1)
	case "snappy":
		opts = opts.WithCompression(options.Snappy)
	default:
		opts = opts.WithCompression(options.None)
	}
	db, err := bdg.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("badger store %s: %w", cfg.Dir, err)
	}
	s := &Store{db: db, cfg: cfg, log: log}
	if err := s.checkLayout(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.loadDictIDs(); err != nil {
		db.Close()
		return nil, fmt.Errorf("badger store %s: %w", cfg.Dir, err)
	}
	if s.seq, err = db.GetSequence(keySeq, 4096); err != nil {
		db.Close()
		return nil, fmt.Errorf("badger store %s: sequence: %w", cfg.Dir, err)
	}
	if err := s.loadAuditTail(); err != nil {
		s.seq.Release()
		db.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopGC = cancel
	s.gcDone = make(chan struct{})
	go s.gcLoop(ctx)
	return s, nil
}

// checkLayout writes the layout version into an empty store, and refuses a
// store with another version or none.
func (s *Store) checkLayout() error {
	return s.db.Update(func(txn *bdg.Txn) error {
		item, err := txn.Get(keyLayout)
		switch {
		case errors.Is(err, bdg.ErrKeyNotFound):
			it := txn.NewIterator(bdg.IteratorOptions{})
			it.Rewind()
			empty := !it.Valid()
			it.Close()
			if !empty {
				return &LayoutError{Dir: s.cfg.Dir, Found: "(none: the directory holds data without an mdrkit layout key)", Supported: layoutVersion}
			}
			if err := txn.Set(keyLayout, binary.BigEndian.AppendUint32(nil, layoutVersion)); err != nil {
				return err
			}
			s.bucketNanos = int64(s.cfg.BucketWidth)
			return txn.Set(keyBucketWidth, binary.BigEndian.AppendUint64(nil, uint64(s.bucketNanos)))
		case err != nil:
			return fmt.Errorf("badger store %s: %w", s.cfg.Dir, err)
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("badger store %s: %w", s.cfg.Dir, err)
		}
		if len(v) != 4 {
			return &LayoutError{Dir: s.cfg.Dir, Found: fmt.Sprintf("(unreadable: %d bytes)", len(v)), Supported: layoutVersion}
		}
		if got := binary.BigEndian.Uint32(v); got != layoutVersion {
			return &LayoutError{Dir: s.cfg.Dir, Found: strconv.FormatUint(uint64(got), 10), Supported: layoutVersion}
		}
		item, err = txn.Get(keyBucketWidth)
		if err != nil {
			return &LayoutError{Dir: s.cfg.Dir, Found: "1 without a bucket width", Supported: layoutVersion}
		}
		v, err = item.ValueCopy(nil)
		if err != nil || len(v) != 8 || int64(binary.BigEndian.Uint64(v)) <= 0 {
			return &LayoutError{Dir: s.cfg.Dir, Found: "1 with an unreadable bucket width", Supported: layoutVersion}
		}
		s.bucketNanos = int64(binary.BigEndian.Uint64(v))
		if s.bucketNanos != int64(s.cfg.BucketWidth) {
			s.log.Info("badger store: using the bucket width the store was created with",
				"dir", s.cfg.Dir, "bucket_width", time.Duration(s.bucketNanos), "configured", s.cfg.BucketWidth)
		}
		return nil
	})
}

// gcLoop runs value-log GC on a ticker until Close.
func (s *Store) gcLoop(ctx context.Context) {
	defer close(s.gcDone)
	if s.cfg.GCInterval <= 0 {
		return
	}
	t := time.NewTicker(s.cfg.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.runGC(ctx)
		}
	}
}

// runGC rewrites value-log files while there are files worth rewriting.
func (s *Store) runGC(ctx context.Context) {
	for i := 0; i < 16 && ctx.Err() == nil; i++ {
		s.mu.RLock()
		if s.closed {
			s.mu.RUnlock()
			return
		}
		err := s.db.RunValueLogGC(s.cfg.GCDiscardRatio)
		s.mu.RUnlock()
		s.gcRuns.Add(1)
		if err != nil {
			if !errors.Is(err, bdg.ErrNoRewrite) && !errors.Is(err, bdg.ErrRejected) {
				s.log.Warn("badger store: value-log GC", "dir", s.cfg.Dir, "err", err)
			}
			return
		}
	}
}

// Close stops the GC ticker and closes the database. Calls after Close fail
// with an error wrapping mdr.ErrClosed.
func (s *Store) Close() error {
	s.stopGC()
	<-s.gcDone
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("badger store %s: close: %w", s.cfg.Dir, mdr.ErrClosed)
	}
	s.closed = true
	err := s.seq.Release()
	return errors.Join(err, s.db.Close())
}

// Sync flushes everything written so far to stable storage (for use after a
// bulk load with SyncEvents off).
func (s *Store) Sync() error {
	if err := s.enter("sync"); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	return s.db.Sync()
}

// DiskSize returns the bytes the store's files take on disk (LSM tables
// and value log), as badger last measured them.
func (s *Store) DiskSize() (lsm, vlog int64) { return s.db.Size() }

// BucketWidth returns the width of the store's event time buckets.
func (s *Store) BucketWidth() time.Duration { return time.Duration(s.bucketNanos) }

// enter takes the shared lock, or fails when the store is closed. The
// caller releases with s.mu.RUnlock.
func (s *Store) enter(op string) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return fmt.Errorf("badger store: %s: %w", op, mdr.ErrClosed)
	}
	return nil
}

// syncCritical makes a committed write of a record that must not be lost
// durable when the database does not sync every write.
func (s *Store) syncCritical() error {
	if s.cfg.SyncEvents {
		return nil
	}
	return s.db.Sync()
}

// Fixed LSM tuning for embedding (see the package doc). With events in the
// value log the tree holds keys and pointers only, so modest tables
// doubling per level keep both the number of files and the memory of
// badger's table builders (about twice the table size each) small.
const (
	baseTableSize = 4 << 20
	blockSize     = 16 << 10
	tableMult     = 2
	l0Tables      = 4
	l0Stall       = 12
)

// slogLogger routes badger's log lines into a *slog.Logger.
type slogLogger struct{ l *slog.Logger }

func (a slogLogger) logf(level slog.Level, format string, args ...any) {
	ctx := context.Background()
	if !a.l.Enabled(ctx, level) {
		return
	}
	a.l.Log(ctx, level, strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
}

func (a slogLogger) Errorf(f string, args ...any)   { a.logf(slog.LevelError, f, args...) }
func (a slogLogger) Warningf(f string, args ...any) { a.logf(slog.LevelWarn, f, args...) }
func (a slogLogger) Infof(f string, args ...any)    { a.logf(slog.LevelInfo, f, args...) }
func (a slogLogger) Debugf(f string, args ...any)   { a.logf(slog.LevelDebug, f, args...) }
