// Package triage is the scoring queue of mdrkit: alerts in; explainable
// scores, deduplication, suppression and incidents out; analysts' status
// changes and verdicts back in.
//
// # Scores
//
// Every alert and incident carries a Score: named Parts whose values add up
// (Total = min(100, max(0, Σ values)) to two decimals, see Recompute) and a Level from the
// total (LevelOf). An alert's parts come from AlertScorers run in order,
// each seeing the running total: RuleBase (the rule's level, scaled by its
// Sigma status, confidence, and factors for rules that name no benign cause,
// rules known to fire on benign activity — SigmaHQ's known-FPs.csv, see
// ReadKnownFPs — and hunting or building-block rules), Criticality
// (Bayesian odds update for critical or unimportant hosts and users), rarity (NoDoze's idea: an alert whose rule already fired
// on many other hosts, or whose rule×host×image pattern recurs, weighs
// less; a host may load a Baseline) and feedback (analysts' verdicts on the
// same rule and host). Factors are stored as the amount they added or took
// away, with the factor in the Detail, so totals recompute from parts.
// Hosts add their own scorers with WithScorers and WithIncidentScorers.
//
// An incident's parts are "risk" — the highest alert score of each of its
// rules, sorted, summed with weights 1/i^1.5 (Elastic's entity-risk sum,
// without its ζ(1.5) normalisation so one critical alert keeps its level) —
// "entity_risk" — the risk its hosts and users carry from other alerts in
// the Config.RiskWindow of event time before its last alert (the same
// zeta sum per entity, beyond the incident's own; alerts given a benign
// verdict carry none) — and "tactics" — a bonus per distinct ATT&CK tactic
// beyond the first, ×1.5 when the tactics appeared in kill-chain order.
//
// # Dedup, suppression, incidents
//
// The same rule on the same key (host, process image, Config.DedupFields)
// within Config.DedupWindow of event time is one alert with a Count and a
// First and last time. Suppressions are CEL expressions over the alert and
// its event's fields, with a reason, an author and an expiry in event
// time; a suppressed alert is kept with status "suppressed" and counted.
//
// An alert joins an incident when its causal chain (a Linker, which the
// investigate package implements) meets the chain of one of the
// incident's alerts, or when it shares an entity with the incident (any or
// all of the kinds in Config.MatchKinds; the host by default) within
// Config.Lookback of event time. A closed incident is reopened or a new one
// started, per Config.Reopen. The incidents and alerts held in memory are
// bounded (Config.MaxIncidents, MaxAlerts): the least recently active are
// evicted first and counted in Stats.
//
// # Lifecycle and persistence
//
// Open returns the queue persisted in a store (any store.Memory or
// store/badger). Push works in memory; Flush writes each changed alert and
// incident as one versioned record and the learned state as one snapshot,
// and Open on the same store after a Flush gives the same queue. Incident
// statuses follow one transition table (Allowed, Statuses): every status
// change, assignment and verdict is one versioned incident write plus one
// record in the store's hash-chained audit log.
//
// A verdict (VerdictIncident, VerdictAlert) teaches the queue's Feedback:
// later alerts of the same rule on the same host score lower (benign) or
// higher (malicious), and on any host a little; a benign verdict may also
// create a suppression with an expiry.
//
// # Concurrency
//
// A Queue is safe for concurrent use (one lock). A Feedback is safe for
// concurrent use and may be shared between queues. Config, Score and Alert
// are plain values.
package triage
