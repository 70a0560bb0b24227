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
// # Key layout (version 2)
//
// All integers are big-endian, so byte order is numeric order. Times are
// store.TimeKey values (Unix nanoseconds; the zero time first) with the sign
// bit flipped; scores likewise in an order-preserving float encoding.
//
//	0x00 "m/layout"                          -> uint32 layout version (2)
//	0x00 "m/bucket"                          -> uint64 bucket width in ns
//	0x00 "q/seq"                             -> badger sequence (event and edge order)
//	0x00 "d/" id(4)                          -> s2 compression dictionary
//	'e' bucket(8) time(8) seq(8)             -> event (compressed binary, see compress.go and codec.go)
//	'i' event id                             -> bucket(8) time(8) seq(8)
//	'b' bucket(8) seq(8)                     -> summary of one write's events in the bucket (store.Summary)
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
// by a newer mdrkit is never misread. Layout 1 (events uncompressed, no
// summaries) is refused the same way: ingest its events again. Any change
// to a key or value encoding
// above must change the version.
//
// Events are encoded in a compact binary form (id, flags, time, origin, then
// each field's key and a tagged value) that rebuilds the event exactly
// through mdr.Builder.FinishAs: id, time, origin, duplicate-key flag, field
// order, value kinds and float bits. Every string of a decoded event shares
// one allocation.
//
// # Compression and summaries
//
// Each event is stored on its own, compressed with s2 and a dictionary made
// from the events written just before: every 20,000 events the store takes
// the newest 64 KiB of a sample of one event in seven and stores it as a
// new dictionary (in a transaction of its own, before any event that uses
// it); the value names the dictionary, and readers keep up to 256
// dictionaries in memory. Making a dictionary costs about a millisecond;
// compressing an event a few microseconds. On benchmark.jsonl.gz, s2
// alone stores 0.68 of the JSON size, s2 with one dictionary trained once
// 0.46, and with dictionaries renewed from the stream 0.31.
//
// Every write (a transaction of up to a few thousand events) also stores,
// for each time bucket it wrote into, a store.Summary of those events: their
// time range, the distinct channels, event ids and hosts (up to 64 each),
// and a Bloom filter of every field value and every token of every value
// (about 10 bits per distinct entry). ScanSummarized reads the summaries of
// a range first and reads only the events of the time spans whose summary a
// caller's predicate keeps: a search for values no segment holds reads no
// event at all.
//
// # Writes and durability
//
// AppendEvents checks each event's id against the 'i' index in the same
// transaction (ids already stored count as duplicates, so a batch re-sent
// after a crash is stored once) and writes event and index entry together.
// A batch is one badger transaction up to badger's transaction limit
// (MaxAtomicBatchBytes, 12% of MemTableSize in badger's own accounting, in
// which an event in the value log counts as its key and a 12-byte pointer;
// badger also bounds the number of entries, which with the default 16 MiB
// memtables is what limits a transaction: about 10,000 events); larger
// batches are split into several transactions before badger would answer
// ErrTxnTooBig, and a transaction that still gets ErrTxnTooBig is retried
// in smaller parts. AppendEdges works the same way.
//
// For bulk loads an Appender (NewAppender) prepares each batch while
// badger still writes the one before, with the same atomicity and
// duplicate rule; `mdr ingest` uses it.
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
// with one badger DropPrefix — no per-key TTL, no tombstone per event.
// Events (values of ValueThreshold bytes or more: 512 by default, which is
// 99% of the bytes of real Windows events) live in badger's value log and
// the LSM tree holds keys, value pointers, the id index and small values; the compaction that
// DropPrefix runs records how much of each value-log file it dropped, and
// value-log GC (RunValueLogGC with Config.GCDiscardRatio), on a ticker
// every Config.GCInterval that stops on Close, rewrites the files that are
// mostly garbage.
//
// # Logging
//
// badger's own log lines go to Config.Logger (a *slog.Logger; nil discards
// them) with their levels: errors, warnings, info, debug, tagged
// component=badger.
//
// # Tuning and measured figures
//
// DefaultConfig is tuned for an embedded, append-mostly event store.
// Events go to the value log (ValueThreshold 512 bytes), which is written
// once and never compacted, so the LSM tree stays small (97 bytes per
// event in the run below) and its compactions cheap; tables are not
// compressed and badger keeps no block or index cache (blocks and indexes
// are read from the memory-mapped tables). Two 16 MiB memtables, 4 MiB
// base tables doubling per level, four level-0 tables before compaction
// (twelve before writes stall), two compactors. The first settings kept events in
// zstd-compressed LSM tables: small on disk, but compaction rewrote every
// event several times, which took most of the CPU and, through badger's
// table builders, gigabytes of Go heap.
//
// Measured on a shared 2-core VM (other jobs running) with
//
//	/usr/bin/time -v mdr ingest --store DIR ../shared/data/events/benchmark.jsonl.gz
//
// (batches of 1,000, SyncEvents off, one Sync at the end) on its 1,072,021
// real Windows events (1,656 MB of JSON, gzip):
//
//   - 14.6 s wall, 73,700 events/s (116% CPU: 12.0 s user, 5.0 s system),
//     gzip and JSON decoding included, which run on goroutines of their
//     own. An earlier run of the same settings with ValueThreshold 256
//     took 16.2 s (66,000 events/s). The first settings took 3 min 20 s
//     (5,400 events/s) and 71 s of CPU. These runs stored with
//     AppendEvents, whose commit the writing goroutine waited for (it was
//     busy 98% of the time, the reader blocked on it); the Appender
//     came later and was measured on the first 300,000 events only
//     (zcat benchmark.jsonl.gz | head -300000 > 300k.jsonl; mdr ingest
//     --store DIR 300k.jsonl): 2.8 s against 3.5–3.8 s when the machine
//     was quiet, no difference when other jobs took most of it; the CPU
//     per event is the same. BenchmarkLoad compares the two.
//   - peak RSS 2.08 GB; sampling /proc/PID/status every 0.5 s gave peaks
//     of 0.34 GB anonymous memory (Go heap:
//     memtables, batches in flight, the reader) and 1.74 GB file pages:
//     badger memory-maps the value log and its tables, and every page
//     written stays mapped (clean after a sync, so the kernel can reclaim
//     it under memory pressure, but it counts in RSS). The file part grows
//     with the data the process writes. The first settings peaked at
//     1.93 GB, mostly Go heap.
//   - 1,762 MB on disk after the run: 1,643 bytes per event (LSM tables 97,
//     value log 1,545), 1.06 times the JSON: events are stored as
//     uncompressed binary. The first settings needed 264 bytes per event
//     (zstd in the LSM tables). Compressing each event with s2 and a 64 KiB
//     dictionary of earlier events measured 0.52 of the binary size
//     (2.3 µs to encode, 0.4 µs to decode), zstd with a dictionary 0.44
//     (18 µs to encode); neither is done here.
//
// See the benchmarks in this package for ingest at batch sizes 1, 100 and
// 1,000, scans, counts and lookups by id.
package badger
