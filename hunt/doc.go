// Package hunt searches stored history for what the rules missed: CEL
// queries in the language of detect rules (Sigma rules too), retro-hunts of
// whole rulesets over a stored range, IOC sweeps, stacking (least frequency
// of occurrence) and first-seen values, and saved hunts with differential
// results that can be promoted into live rules.
//
// # Reading the history
//
// Every hunt reads a store.Events over a Range (event time and hosts). A
// store that also implements Summarized (store/badger does) keeps a
// summary of each stored segment (store.Summary: time span, channels,
// event ids, hosts, a Bloom filter of values and tokens); a hunt derives
// from its condition the values and tokens every match must hold (its
// plan: e.EventID == 4688 needs EventID=4688, e.Image.endsWithFold("\\cmd.exe")
// needs the token cmd.exe) and the store reads only the segments whose
// summary may hold them. The plan is conservative (a condition it cannot
// read constrains nothing), so the memory store, host stores without
// summaries, and badger give the same results; only the work differs.
//
// # Queries
//
// Compile checks a Query once (a condition that does not compile is a
// *QueryError naming line and column) and returns a Prepared query, safe
// for concurrent use; Run streams Results as an iter.Seq2 in time order,
// under the query's limit, timeout (ErrTimeout), budget of events read
// (ErrBudget) and per-event CEL cost limit, with Progress reports through
// a callback.
//
// # Retro-hunts
//
// RetroHunt runs an engine.Rules (native rules, the SigmaHQ corpus,
// correlations) over a stored range through one engine.Detector and
// streams its alerts, optionally storing them (alert ids are deterministic,
// so a second run stores nothing twice). The store reads events in time
// order, but a live stream (or mdr scan over a file) saw them in arrival
// order, and correlations drop base events that arrive late; to raise
// exactly the alerts the stream raised, OrderIngest holds back the events
// that feed a correlation (origin and id, about 64 bytes each, bounded by
// Retro.MaxHeld) and feeds them after the scan in ingest order (origin:
// source, then line). OrderTime feeds everything in time order instead,
// which finds correlations the stream missed.
//
// # IOC sweeps
//
// ParseIndicators reads STIX 2.1 bundles (indicators whose pattern is one
// equality or IN comparison; others are rejected with the reason), CSV and
// plain lists. A Sweeper matches hashes, IPv4 addresses, domains and file
// names as whole tokens of any value through one hash map, substrings
// (paths, registry keys, command lines) through one Aho-Corasick automaton,
// and prefixes through one lookup per prefix length, so 10,000 indicators
// cost about what 10 do. Each hit names the indicator, the field and the
// event.
//
// # Stacking and first seen
//
// StackEvents groups a range by fields (case-insensitively) and lists the
// groups least frequent first with their count, distinct hosts (up to
// MaxHostsPerGroup) and first and last time. Memory is bounded: at most
// Stack.MaxGroups groups (200,000 by default, about 100 MB); events of
// groups beyond it are counted in StackResult.Dropped. FirstSeenEvents
// lists the groups of a range absent from a baseline range, whose groups
// are remembered as 64-bit hashes (at most FirstSeen.MaxBaseline, 8 MB by
// default; a larger baseline is an error, since a partial one would make
// old values look new).
//
// # Saved hunts and promotion
//
// A Library keeps hunts (name, query, interval, last run) in a
// store.State; Library.Run reports only the results no earlier run
// reported (up to MaxSeen remembered per hunt), like osquery's
// differential results. Promote turns a hunt into a detect.Rule with the
// same condition (hosts folded in), which RuleYAML writes as a native rule
// file: run by mdr scan or any Detector it finds what the hunt found.
//
// # Concurrency
//
// Prepared, Sweeper and Library are safe for concurrent use; each Run,
// Sweep, RetroHunt and stacking call holds its own state and runs on the
// caller's goroutine. Progress callbacks run on that goroutine.
package hunt
