// Package store defines how mdrkit persists what it works on — events,
// alerts, incidents, the provenance graph, the response audit log and the
// snapshots of stateful components — as small, context-first interfaces, and
// provides Memory, an in-memory implementation of all of them.
//
// # Model
//
//   - Events are mdr.Event values kept in event-time order and identified by
//     their id. AppendEvents takes a batch and is idempotent per id, so a
//     batch re-sent after a crash is never stored twice; ScanEvents streams a
//     time range [From, To) in order with an optional filter and limit;
//     GetEvent finds one event by id; CountEvents counts a range.
//   - Alerts (AlertRecord: an mdr.Alert with its triage status, score and
//     incident) and Incidents are records under optimistic versioning: Put
//     creates version 1, Update succeeds only when it carries the stored
//     version, and fails with mdr.ErrConflict otherwise. Listings stream by
//     time (either way) or by score, filtered by time range, status and
//     minimum score. Incidents are mdr.Incident values, which package triage
//     builds.
//   - Graph stores mdr.Relation edges and streams the edges of a node in a
//     time range, outgoing, incoming or both, in time order.
//   - Audit is append-only. The store assigns every AuditRecord its sequence
//     number and its SHA-256 hash over the previous hash and the record
//     (AuditRecord.ComputeHash), so nothing can be altered through the API
//     and Verify detects any change made behind it.
//   - State keeps opaque byte snapshots under string keys (PutState,
//     GetState), for components such as detect's correlation engine.
//
// Store bundles all of them with Close. Retention is an optional capability
// (discovered with a type assertion) for dropping old events in bulk.
//
// # Iterators
//
// Every listing returns an iter.Seq2[T, error] used with range. Iterators
// stream: an implementation holds at most a small buffer, never a whole
// range. An error is yielded once, as the last item; breaking out of the loop
// releases what the iteration holds. Iterators must be used on one
// goroutine, and the range body must not call back into a store that
// documents otherwise.
//
// # Implementations
//
// Memory keeps everything in process memory (see its concurrency contract).
// Package store/badger is the embedded, persistent default. A host product
// may bring its own implementation of any of the interfaces; package
// store/storetest is the conformance suite that every implementation in this
// module passes, and that a host runs against its own with storetest.Run.
//
// # Writing an implementation
//
// The helpers TimeKey and InRange (time ordering and half-open ranges),
// MetaOfAlert, MetaOfIncident and ListQuery.Keep (what listings index and
// filter on), CheckEdge, CheckAppend and Seal (edge validation and the audit
// hash chain) are exported so that every implementation orders, filters and
// chains exactly as Memory does; storetest checks the result.
//
// # Errors
//
// Implementations wrap the sentinels of package mdr: mdr.ErrNotFound for a
// missing id, mdr.ErrConflict for a failed version check or an existing id,
// mdr.ErrInvalid for refused input (a *BatchError names the batch element),
// mdr.ErrClosed after Close. Match them with errors.Is.
//
// Unless a type's documentation says otherwise, the record types of this
// package are plain values: safe to copy, not safe to mutate from several
// goroutines at once.
package store
