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
// Events (values of ValueThreshold bytes or more: 128 by default, which is
// every compressed event of real Windows data) live in badger's value log and
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
// Events, compressed (see above), go to the value log (ValueThreshold 128
// bytes: a compressed event is 150 to a few thousand bytes), which is
// written once and never compacted, so the LSM tree stays small (109 bytes
// per event in the run below: keys, value pointers, the id index) and its
// compactions cheap; tables are not compressed and badger keeps no block
// or index cache (blocks and indexes are read from the memory-mapped
// tables). Two 16 MiB memtables, 4 MiB base tables doubling per level, four
// level-0 tables before compaction (twelve before writes stall), two
// compactors. Layout 1 stored events uncompressed (1.06 times the JSON);
// before it, events in zstd-compressed LSM tables made compaction rewrite
// every event several times (most of the CPU, gigabytes of Go heap).
//
// badger memory-maps the value log and its tables, and every page it
// writes stays mapped and resident (clean after a sync, so the kernel could
// reclaim it under pressure, but it counts in RSS): layout 1's ingest of
// the benchmark file peaked at 2.08 GB RSS, 1.74 GB of it file pages. With
// Config.ReleaseMappedPages (the default) an Appender asks the kernel
// (MADV_PAGEOUT, Linux 5.4 and later) every 50,000 events to reclaim the
// pages of the store's mappings; MADV_PAGEOUT leaves anonymous memory
// alone, so a mapping badger has meanwhile replaced cannot be harmed.
//
// Measured on a shared 2-core VM (load average 18 to 24 from other jobs)
// with
//
//	/usr/bin/time -v mdr ingest --progress 0 --store DIR ../shared/data/events/benchmark.jsonl.gz
//
// (batches of 1,000 through an Appender, SyncEvents off, one Sync at the
// end) on its 1,072,021 real Windows events (1,656 MB of JSON, gzip):
//
//   - 30.1 s of CPU (25.2 s user, 4.9 s system; 28 µs per event, gzip and
//     JSON decoding included), against 17.0 s for layout 1: compression
//     costs about 3 µs per event and the summaries about 5 µs (tokenising
//     and hashing every value). The run got 23% of a CPU (2 min 9 s wall,
//     8,400 events/s); at 200% the CPU per event allows about 71,000
//     events/s if the reader, the Appender and badger's writer overlap as
//     they did for layout 1 (which measured 73,700 events/s at 116% CPU on
//     a quiet machine). An earlier run at load average 12 took 47 s wall.
//     A later run, with the summaries built on a goroutine of their own,
//     at load average 28: 37.6 s of CPU, 3 min wall, 358 MB peak RSS.
//   - peak RSS 357 MB (layout 1: 2.08 GB); without ReleaseMappedPages the
//     same build peaked at 904 MB.
//   - 660 MB on disk after the run, 0.40 times the JSON: 615 bytes per
//     event (value log 505: the compressed event and badger's entry
//     header, plus the summaries; LSM tables 109). Per-event compression
//     alone measured 0.68 of the JSON with plain s2, 0.46 with one trained
//     s2 dictionary and 0.31 with dictionaries renewed from the stream
//     every 20,000 events; zstd with a dictionary reached 0.40 but took
//     16–44 µs per event to encode.
//
// See the benchmarks in this package for ingest at batch sizes 1, 100 and
// 1,000, scans, counts and lookups by id.
package badger
