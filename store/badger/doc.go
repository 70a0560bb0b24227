// Package badger is the embedded default implementation of the store
// interfaces, on badger v4 (github.com/dgraph-io/badger/v4). It is the only
// package of mdrkit that imports badger; no badger type appears in its API.
//
// # Lifecycle
//
// Open(cfg) opens or creates a store directory (one process at a time:
// badger locks the directory). Start from DefaultConfig(dir); Validate
// reports impossible settings. Close stops the value-log GC ticker, releases
// the sequence lease and closes the database; every call after Close fails
// with mdr.ErrClosed. A Store is safe for concurrent use by many goroutines.
// Iterators read a snapshot taken when the iteration starts and may be
// consumed at any pace; they hold no lock while the loop body runs.
//
// # Key layout (version 1)
//
// All integers are big-endian, so byte order is numeric order. Times are
// store.TimeKey values (Unix nanoseconds; the zero time first) with the sign
// bit flipped; scores likewise in an order-preserving float encoding.
//
//	0x00 "m/layout"                          -> uint32 layout version (1)
//	0x00 "m/bucket"                          -> uint64 bucket width in ns
//	0x00 "q/seq"                             -> badger sequence (event and edge order)
//	'e' bucket(8) time(8) seq(8)             -> event (binary, see codec.go)
//	'i' event id                             -> bucket(8) time(8) seq(8)
//	'a' 'r' id                               -> alert record (JSON)
//	'a' 't' time(8) id                       -> (time index)
//	'a' 's' -score(8) time(8) id             -> (score index)
//	'a' 'S' uvarint(len) status time(8) id   -> (status index)
//	'n' ...                                  -> incidents, as alerts (time = Created)
//	'g' 'o' uvarint(len) from time(8) seq(8) -> edge (binary), under its From node
//	'g' 'i' uvarint(len) to time(8) seq(8)   -> the same edge, under its To node
//	'l' seq(8)                               -> audit record (JSON, hash-chained)
//	's' key                                  -> state snapshot (raw bytes)
//
// bucket is floor(time / bucket width) (one day by default, fixed when the
// store is created). Open writes the layout version into an empty directory
// and refuses a directory with another version, or with data but no
// version, with a *LayoutError (errors.Is(err, ErrLayout)): a store written
// by a newer mdrkit is never misread. Any change to a key or value encoding
// above must change the version.
//
// Events are encoded in a compact binary form (id, flags, time, origin, then
// each field's key and a tagged value) that rebuilds the event exactly
// through mdr.Builder.FinishAs: id, time, origin, duplicate-key flag, field
// order, value kinds and float bits. Every string of a decoded event shares
// one allocation.
//
// # Writes and durability
//
// AppendEvents checks each event's id against the 'i' index in the same
// transaction (ids already stored count as duplicates, so a batch re-sent
// after a crash is stored once) and writes event and index entry together.
// A batch is one badger transaction up to MaxAtomicBatchBytes (12% of
// MemTableSize: 1.9 MiB by default, some 1,300 real Windows events); larger
// batches are split into several transactions before badger would answer
// ErrTxnTooBig, and a transaction that still gets ErrTxnTooBig is retried
// in smaller parts. AppendEdges works the same way.
//
// Config.SyncEvents (on by default) makes every event and edge commit wait
// for fsync; bulk loads turn it off and call Sync at the end. Alerts,
// incidents, audit records and state snapshots are always synced before
// their call returns. A crash of the process (SIGKILL) loses nothing that
// was acknowledged in either mode, and never leaves half a batch: the crash
// test kills a writer at random points, reopens, and checks exactly that.
// With SyncEvents off a power failure may lose the last acknowledged event
// batches.
//
// Alerts and incidents are updated under optimistic versioning inside a
// transaction; two writers racing on one record get mdr.ErrConflict from
// the store or from badger's own conflict detection, never a lost update.
// Audit appends are serialised by the Store, which keeps the last record's
// hash in memory (read back on Open) to chain the next one.
//
// # Retention and garbage collection
//
// DropEventsBefore(t) drops whole time buckets older than the bucket
// holding t: it deletes the buckets' 'i' entries, then removes each bucket
// with one badger DropPrefix — no per-key TTL, no tombstone per event. Value
// log GC (RunValueLogGC with Config.GCDiscardRatio) runs on a ticker every
// Config.GCInterval and stops on Close; with the default ValueThreshold of
// 32 KiB only large values (state snapshots, very large events) live in the
// value log, everything else in the compressed LSM tables.
//
// # Logging
//
// badger's own log lines go to Config.Logger (a *slog.Logger; nil discards
// them) with their levels: errors, warnings, info, debug, tagged
// component=badger.
//
// # Tuning and measured figures
//
// DefaultConfig is tuned for embedding in another program: 16 MiB memtables
// (two), 32 MiB block cache, 16 MiB index cache, two compactors, zstd level
// 1 on 16 KiB blocks, and 2 MiB tables at every level. Badger's table
// builders reserve about twice the target table size in the Go heap and
// several run at once during compaction, which is what dominates memory
// while ingesting; small tables at every level bound it.
//
// Measured on a shared 2-core VM with `mdr ingest` (batches of 1,000,
// SyncEvents off, one Sync at the end) on the 1,072,021 real events of
// benchmark.jsonl.gz (1,656 MB of JSON, gzip) with /usr/bin/time -v:
//
//   - peak RSS 1.93 GB with these defaults (5.05 GB with the first
//     settings: 32 MiB memtables, 8 MiB base tables doubling per level).
//     Most of it is badger's compaction buffers and memtable arenas in the
//     Go heap (about 0.5–0.7 GB live after 300,000 events), doubled by the
//     garbage collector's default GOGC=100. A host that needs less sets a
//     soft memory limit: `mdr ingest` of the first 300,000 events peaks at
//     1.37 GB RSS by default and at 0.91 GB with GOMEMLIMIT=800MiB, for the
//     same CPU time (18.4 s against 17.6 s); a limit below the live heap
//     (GOMEMLIMIT=300MiB: 0.64 GB) costs about 2.5 times the time.
//   - 283 MB on disk after the run: 264 bytes per event, 0.17 of the JSON.
//   - 71 s of CPU (62.7 s user, 8.5 s system) including gzip and JSON
//     decoding: about 15,000 events per CPU-second.
//
// See the benchmarks in this package for ingest at batch sizes 1, 100 and
// 1,000, scans, counts and lookups by id.
package badger
