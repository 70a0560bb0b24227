// Package jetstream runs mdrkit on NATS JetStream: producers publish events
// to subjects partitioned by host, workers consume the partitions, detect,
// store and publish alerts. It is the only package of the module that
// imports NATS.
//
// # Subjects and streams
//
// Events go to "<prefix>.<partition>" (default "mdr.events.<p>"), the
// partition being a stable hash of the lower-cased host name onto
// Config.Partitions, so every event of a host reaches the same consumer and
// per-host correlation state stays in one worker. They are kept in the
// stream Config.EventStream with file storage; the event id is the
// message id, so JetStream's duplicate window drops an event published
// twice. A publisher packs up to Config.BundleEvents events of one
// partition into one message, as JSON lines (one event per line, each
// ending in a newline); with Config.CompressBundles (the default) the
// lines are compressed with S2 (github.com/klauspost/compress/s2, block
// format) and the message carries the header "Mdr-Encoding: s2" — a
// message without that header is plain JSON lines, any other value is
// dead-lettered. The message id names the bundle's partition, first and
// last event and event count ("<p>:<first>:<last>:<n>"). Alerts go to Config.AlertSubject ("mdr.alerts") in their own
// stream, with the alert id as message id; messages that cannot be decoded
// go to Config.DeadSubject ("mdr.dead") with the reason in a header, and are
// acknowledged so they are never redelivered.
//
// # Partitions, claims and rebalancing
//
// Each partition has one durable pull consumer ("<EventStream>-p<N>"), and
// one worker at a time claims it through a lease in a key-value bucket
// (Config.ClaimBucket): a worker creates the key "p<N>" (which fails when
// another holds it) and renews it every LeaseTTL/3; a lease not renewed
// expires after LeaseTTL and the partition is free again. Workers announce
// themselves in the same bucket ("w.<id>") and each claims at most
// ceil(partitions / live workers), releasing partitions above its share
// between batches, so partitions spread again when workers join or leave.
// Changing Config.Partitions re-hashes hosts: drain the stream first.
//
// # Exactly once, as far as the results show
//
// Each partition's consumer delivers one message at a time (at most one
// unacknowledged), so the events of a host are processed in order even
// across a take-over. A worker processes a message, writes its alerts to
// its store, publishes them and waits for the stream to confirm, then
// saves the detector's state together with the message's stream sequence
// (one write under "p<N>" in the state bucket Config.StateBucket, shared
// by all workers), and only then acknowledges the message. A worker that
// dies before the acknowledgement leaves the message to be redelivered
// (after Config.AckWait); whichever worker claims the partition next loads
// the saved state and skips messages at or below the saved sequence, so
// correlation state counts no event twice, and alerts published twice
// carry the same id
// (deterministic, see package engine) and are dropped by the alert
// stream's duplicate window and by the store's id check.
//
// # Concurrency
//
// A Publisher is safe for concurrent use. A Worker runs its partitions on
// goroutines of its own (one per claimed partition) from Run until ctx ends.
package jetstream
