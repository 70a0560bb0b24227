package badger

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/mdrkit/mdr"
)

// Config configures a Store. Start from DefaultConfig and change what you
// need; Open validates it. A Config is a plain value that may be
// serialised (except Logger).
type Config struct {
	// Dir is the store directory; it is created when missing.
	Dir string `json:"dir"`
	// SyncEvents makes every AppendEvents and AppendEdges commit wait for
	// fsync. Alerts, incidents, audit records and state are always synced
	// before their call returns. With SyncEvents off, an acknowledged event
	// batch survives a crash of the process but may be lost on a power
	// failure or kernel crash; bulk loads (mdr ingest) turn it off and call
	// Sync at the end.
	SyncEvents bool `json:"sync_events"`
	// BucketWidth is the width of the time buckets events are keyed under
	// and dropped by (DropEventsBefore). It is fixed when a store is created;
	// opening an existing store uses the width it was created with.
	BucketWidth time.Duration `json:"bucket_width"`
	// GCInterval is how often value-log garbage collection runs; 0 turns it
	// off. GCDiscardRatio is the fraction of a value-log file that must be
	// garbage before it is rewritten.
	GCInterval     time.Duration `json:"gc_interval"`
	GCDiscardRatio float64       `json:"gc_discard_ratio"`
	// MemTableSize bounds one memtable; badger keeps NumMemtables of them.
	// The largest atomic batch is 12% of MemTableSize (MaxAtomicBatchBytes).
	MemTableSize int64 `json:"memtable_size"`
	NumMemtables int   `json:"num_memtables"`
	// BlockCacheSize and IndexCacheSize bound badger's caches. 0 means no
	// block cache (blocks are read from the memory-mapped tables; only
	// possible without Compression) and table indexes kept in the mapped
	// tables rather than a cache.
	BlockCacheSize int64 `json:"block_cache_size"`
	IndexCacheSize int64 `json:"index_cache_size"`
	// NumCompactors is the number of compaction goroutines (at least 2).
	NumCompactors int `json:"num_compactors"`
	// Compression of LSM table blocks: "none", "snappy" or "zstd" (the
	// last two need a BlockCacheSize). It does not apply to the value log.
	Compression string `json:"compression"`
	// ValueThreshold is the value size (64 bytes to 1 MiB) from which
	// values go to the value log instead of the LSM tree. The default, 128,
	// puts compressed events there and keeps the LSM tree to keys, pointers
	// and small values, so that compaction does not rewrite events. A synced commit that writes to
	// the value log waits for two fsyncs (value log and write-ahead log)
	// instead of one; small records (an audit entry without a large
	// payload, for example) stay below it.
	ValueThreshold int64 `json:"value_threshold"`
	// ReleaseMappedPages makes an Appender ask the kernel, every 50,000
	// events, to reclaim the pages of the store's memory-mapped files
	// (Linux MADV_PAGEOUT; elsewhere nothing happens). badger maps the files
	// it writes, and the pages written stay resident: without it a bulk
	// load keeps about as much resident as it wrote. It costs a re-read
	// from disk (or page cache) of pages needed again.
	ReleaseMappedPages bool `json:"release_mapped_pages"`
	// Logger receives badger's own log lines (nil discards them).
	Logger *slog.Logger `json:"-"`
}

// DefaultConfig returns the configuration tuned for embedding (see the
// package doc for what was measured): events in the value log, small
// memtables, no caches and no table compression, synced event writes, day
// buckets, value-log GC every five minutes.
func DefaultConfig(dir string) Config {
	return Config{
		Dir:            dir,
		SyncEvents:     true,
		BucketWidth:    24 * time.Hour,
		GCInterval:     5 * time.Minute,
		GCDiscardRatio: 0.5,
		MemTableSize:   16 << 20,
		NumMemtables:   2,
		BlockCacheSize: 0,
		IndexCacheSize: 0,
		NumCompactors:  2,
		Compression:    "none",
		ValueThreshold: 128,

		ReleaseMappedPages: true,
	}
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	bad := func(field string, format string, args ...any) error {
		return fmt.Errorf("%w: badger store config %s: %s", mdr.ErrInvalid, field, fmt.Sprintf(format, args...))
	}
	switch {
	case c.Dir == "":
		return bad("Dir", "empty")
	case c.BucketWidth < time.Second:
		return bad("BucketWidth", "%v is less than a second", c.BucketWidth)
	case c.GCInterval < 0:
		return bad("GCInterval", "negative (%v)", c.GCInterval)
	case c.GCDiscardRatio <= 0 || c.GCDiscardRatio >= 1:
		return bad("GCDiscardRatio", "%v is not in (0, 1)", c.GCDiscardRatio)
	case c.MemTableSize < 1<<20:
		return bad("MemTableSize", "%d is less than 1 MiB", c.MemTableSize)
	case c.NumMemtables < 1:
		return bad("NumMemtables", "%d is less than 1", c.NumMemtables)
	case c.BlockCacheSize < 0 || c.IndexCacheSize < 0:
		return bad("BlockCacheSize/IndexCacheSize", "negative")
	case c.NumCompactors < 2:
		return bad("NumCompactors", "%d is less than 2 (badger needs two)", c.NumCompactors)
	case c.Compression != "zstd" && c.Compression != "snappy" && c.Compression != "none":
		return bad("Compression", "%q is not zstd, snappy or none", c.Compression)
	case c.Compression != "none" && c.BlockCacheSize == 0:
		return bad("BlockCacheSize", "0 with %s compression (badger needs a block cache to decompress into)", c.Compression)
	case c.ValueThreshold < 64 || c.ValueThreshold > 1<<20 || c.ValueThreshold > c.MemTableSize/10:
		return bad("ValueThreshold", "%d is not between 64 bytes and min(1 MiB, MemTableSize/10)", c.ValueThreshold)
	}
	return nil
}
