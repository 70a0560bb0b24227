// Package mdr holds the shared vocabulary of mdrkit, an embeddable Managed
// Detection and Response library: the Event that every reader produces and
// every rule reads, the Alert a rule raises, the Incident that groups alerts
// into a case, the Entity and Relation that
// schema mappings derive and the investigation graph joins, the Severity
// scale, ATT&CK tag helpers and the sentinel errors every package wraps.
//
// The package is deliberately small and imports nothing outside the standard
// library. The heavy parts live in their own packages, each usable alone:
// reader (NDJSON, JSON arrays, gzip), schema (dialect mappings), detect (the
// CEL rule engine), detect/sigma (Sigma rules), store and store/badger
// (persistence), triage, hunt, investigate, respond and remediate.
//
// # Events
//
// An Event keeps the field names it arrived with. Nested JSON objects are
// flattened into dotted paths when the event is built, so a flat Sigma-style
// name ("Image") and a nested ECS or OCSF path ("process.parent.executable")
// resolve through the same Get call, whether the source wrote the path as
// nested objects or as one dotted key. When a key occurs twice the last
// occurrence wins on every access path and the event reports it through
// DuplicateKeys.
//
// An Event is immutable once built (Builder.Finish) and then safe for
// concurrent reads. Builders are not safe for concurrent use.
package mdr
