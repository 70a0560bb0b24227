// Package correlate is the state engine behind detect's correlation rules:
// it counts, measures and sequences base-rule matches per group over
// sliding windows of event time. It knows nothing of CEL, events or rules
// beyond their ids; package detect resolves group-by values, aliases and
// measured fields and feeds one Input per (correlation, matching rule).
//
// # Model
//
// A Spec is one correlation: a Kind (event_count, value_count, temporal,
// temporal_ordered, value_sum, value_avg, value_percentile — the Sigma
// correlation types), the referenced rule ids, the names of the group-by
// values, a timespan (Window) and a Condition on the measure. Inputs with
// the same spec and group values form a group. Every hit's events lie
// within Window of each other, inclusive.
//
// A spec whose condition has only lower bounds (gt, gte) is eager: each
// event is correlated with the group's events of the window that ends at
// it, and the group fires as soon as the measure meets the condition. A
// condition with an upper bound (lt, lte, eq, neq) needs to see a whole
// window, so the engine decides it when event time passes the window's
// end: the window starts at the group's oldest event; if the condition
// holds over the events in it, that is a hit, else the oldest event
// leaves and the next one anchors the next window. temporal_ordered keeps,
// per group, at most one partial sequence per position (the most recent,
// as EQL's sequences do); an event extends the partial sequence of the
// position before its own, or starts a new one at position 0, and the
// sequence fires when its length meets the condition (by default all
// rules). Events are consumed by the hit they contribute to: a group
// starts afresh after each hit, so one burst raises one hit, not one per
// event.
//
// value_count counts distinct values; temporal counts distinct referenced
// rules (by default it needs all of them); value_percentile takes the
// Spec.Percentile-th percentile (linear interpolation between closest
// ranks; 0 means the median). Inputs of measured kinds without a value
// are ignored and counted.
//
// # Chained correlations
//
// A spec may reference another spec's ID among its Rules (Sigma allows a
// correlation to refer to correlations). The referenced spec's hits then
// feed it inside the engine, at the hit's End time, with group values
// taken from the hit's group through Spec.GroupFrom and the hit's Value as
// measured value; the chained hit carries the base events' ids. Cycles are
// refused.
//
// # Event time, lateness, determinism
//
// Windows run on the events' own times, never on the wall clock, and each
// group keeps its own clock: the newest time it has seen. A host whose
// clock is off, or a recording replayed after a later one, does not make
// other groups' events late. Events may arrive out of order by up to
// Config.Lateness: the group holds each entry back until its clock is
// Lateness past it, then processes held entries in (time, arrival) order,
// so a group's hits are exactly those of its entries sorted by time, only
// Lateness later. An entry older than its group's clock less Lateness is
// dropped and counted (Stats.Late), never silently. A group's windows
// close when its own clock passes them, at Advance (an idle-time tick for
// every group) or at Flush. The same input sequence always gives the same
// hits in the same order; no map is iterated to produce output.
//
// # Bounds
//
// Config.MaxGroups bounds the groups (over all specs), idle ones included
// (they remember their clock): the least recently active group is evicted,
// and counted when it held state. MaxEntriesPerGroup bounds the events a
// group keeps (the oldest is dropped and counted); MaxEntries bounds the
// entries over all groups, which bounds memory (least recently active
// groups are evicted and counted); MaxPending bounds the entries a group
// holds back (the oldest is processed early and counted); MaxEventIDs
// bounds the ids a Hit carries.
//
// Costs: an eager event_count, value_count, temporal, value_sum or
// value_avg updates running aggregates, O(1) per entry; value_percentile
// sorts the window's values on each entry (O(n log n), n bounded by
// MaxEntriesPerGroup); a window decided at its close is measured once per
// anchor, O(n).
//
// # Lifecycle and concurrency
//
// New validates the specs; Observe feeds inputs and returns hits; Advance
// moves event time on an idle stream; Flush ends the stream, closes every
// window and forgets every group and clock (consecutive recordings of
// different periods can be fed one after the other with Flush between).
// Snapshot serialises the full state into versioned bytes; Restore loads
// them into an engine built with the same specs, so a restart in the
// middle of a stream gives the hits of an uninterrupted run. An Engine is
// not safe for concurrent use.
package correlate
