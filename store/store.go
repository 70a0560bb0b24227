package store

import (
	"context"
	"iter"
	"time"

	"github.com/mdrkit/mdr"
)

// Events stores events ordered by their own time (mdr.Event.Time).
//
// Events are identified by mdr.Event.ID: appending an event whose id is
// already stored keeps the stored one and counts the new one as a
// duplicate, so re-sending a batch after a failure or a crash never stores
// an event twice. Events without a time (the zero time.Time) sort before
// every other event.
type Events interface {
	// AppendEvents stores a batch. An implementation stores the batch
	// atomically (all of it or none of it) where it can and documents the
	// size above which it cannot. A nil event or one without an id refuses
	// the whole batch with a *BatchError.
	AppendEvents(ctx context.Context, batch []*mdr.Event) (AppendResult, error)
	// ScanEvents streams the events of q's time range in time order (ties
	// in the order they were appended). Stopping the range loop early
	// releases everything the scan holds.
	ScanEvents(ctx context.Context, q EventQuery) iter.Seq2[*mdr.Event, error]
	// GetEvent returns the event with the given id, or an error wrapping
	// mdr.ErrNotFound.
	GetEvent(ctx context.Context, id string) (*mdr.Event, error)
	// CountEvents counts the events in [from, to); a zero bound is open.
	CountEvents(ctx context.Context, from, to time.Time) (int64, error)
}

// AppendResult counts what one AppendEvents call did.
type AppendResult struct {
	Added      int // events stored
	Duplicates int // events skipped because their id was already stored
}

// EventQuery selects events for ScanEvents.
type EventQuery struct {
	// From and To bound the event time as [From, To). A zero bound is open.
	From, To time.Time
	// Filter, when set, keeps only the events it returns true for. It is
	// called on the scanning goroutine and must not call back into the
	// store.
	Filter func(*mdr.Event) bool
	// Limit stops the scan after this many events (after filtering);
	// 0 means no limit.
	Limit int
}

// Alerts stores alerts with their triage state under optimistic versioning.
type Alerts interface {
	// PutAlert stores a new alert. a.Version must be 0; the stored record,
	// returned, has Version 1. An alert whose id is already stored is
	// refused with an error wrapping mdr.ErrConflict.
	PutAlert(ctx context.Context, a AlertRecord) (AlertRecord, error)
	// GetAlert returns the alert with the given id, or an error wrapping
	// mdr.ErrNotFound.
	GetAlert(ctx context.Context, id string) (AlertRecord, error)
	// UpdateAlert replaces a stored alert when a.Version equals the stored
	// version, and returns it with the version incremented. Otherwise it
	// fails with an error wrapping mdr.ErrConflict (or mdr.ErrNotFound).
	UpdateAlert(ctx context.Context, a AlertRecord) (AlertRecord, error)
	// ListAlerts streams alerts whose Alert.Time is in q's range, in q's order.
	ListAlerts(ctx context.Context, q ListQuery) iter.Seq2[AlertRecord, error]
}

// Incidents stores incidents under optimistic versioning, with the same
// rules as Alerts. The time range of ListIncidents applies to Created.
type Incidents interface {
	PutIncident(ctx context.Context, in mdr.Incident) (mdr.Incident, error)
	GetIncident(ctx context.Context, id string) (mdr.Incident, error)
	UpdateIncident(ctx context.Context, in mdr.Incident) (mdr.Incident, error)
	ListIncidents(ctx context.Context, q ListQuery) iter.Seq2[mdr.Incident, error]
}

// Order is the order of a listing.
type Order uint8

// Orders of ListAlerts and ListIncidents.
const (
	ByTime     Order = iota // oldest first (ties by id)
	ByTimeDesc              // newest first (ties by id, descending)
	ByScore                 // highest score first (ties oldest first, then by id)
)

// ListQuery selects alerts or incidents.
type ListQuery struct {
	// From and To bound the time as [From, To). A zero bound is open.
	From, To time.Time
	// Status, when not empty, keeps only records with this status.
	Status string
	// MinScore, when greater than 0, keeps only records with
	// Score >= MinScore.
	MinScore float64
	Order    Order
	// Limit stops after this many records; 0 means no limit.
	Limit int
}

// Graph stores the edges of the provenance graph (mdr.Relation).
//
// Edges have no identity: appending the same edge twice stores it twice.
type Graph interface {
	// AppendEdges stores a batch of edges atomically where the
	// implementation can (see AppendEvents). An edge without From or To is
	// refused with a *BatchError.
	AppendEdges(ctx context.Context, edges []mdr.Relation) error
	// Neighbors streams the edges touching node in q's time range and
	// direction, in time order. With Both, an edge from node to itself is
	// yielded once.
	Neighbors(ctx context.Context, node string, q EdgeQuery) iter.Seq2[mdr.Relation, error]
}

// Direction says which edges of a node Neighbors follows.
type Direction uint8

// Directions. The zero value means Both.
const (
	Both Direction = iota // edges in either direction
	Out                   // edges whose From is the node
	In                    // edges whose To is the node
)

// EdgeQuery selects edges for Neighbors.
type EdgeQuery struct {
	// From and To bound Relation.Time as [From, To). A zero bound is open.
	From, To time.Time
	Dir      Direction
	// Limit stops after this many edges; 0 means no limit.
	Limit int
}

// Audit is an append-only, hash-chained log. Records can be appended and
// read; nothing can be changed or removed through this interface. The store
// assigns each record its sequence number (from 1, without gaps) and its
// hash (see AuditRecord.ComputeHash), so a log read back can be checked
// with Verify.
type Audit interface {
	// AppendAudit appends r and returns it as stored (Seq, PrevHash, Hash
	// set; Time set to the current time when zero). A record with Seq,
	// PrevHash or Hash set is refused with ErrAssigned.
	AppendAudit(ctx context.Context, r AuditRecord) (AuditRecord, error)
	// ReadAudit streams records with Seq >= from in order.
	ReadAudit(ctx context.Context, from uint64) iter.Seq2[AuditRecord, error]
}

// State keeps opaque snapshots of stateful components (for example the
// correlation state of package detect) under string keys.
type State interface {
	// PutState stores val under key, replacing what was there. The store
	// keeps its own copy of val.
	PutState(ctx context.Context, key string, val []byte) error
	// GetState returns a copy of the value under key, or an error wrapping
	// mdr.ErrNotFound.
	GetState(ctx context.Context, key string) ([]byte, error)
}

// Store is everything a full implementation provides. Host products that
// only need a part depend on the smaller interfaces.
type Store interface {
	Events
	Alerts
	Incidents
	Graph
	Audit
	State
	// Close releases the store. Calls after Close fail with an error
	// wrapping mdr.ErrClosed.
	Close() error
}

// Retention is an optional capability of an event store (discover it with
// a type assertion): dropping old events in bulk.
type Retention interface {
	// DropEventsBefore removes events older than t. Implementations that
	// keep events in time buckets drop only whole buckets that end at or
	// before t, so events a little older than t may remain; it reports
	// how many events (or, when counting is not cheap, -1) were removed.
	DropEventsBefore(ctx context.Context, t time.Time) (int64, error)
}
