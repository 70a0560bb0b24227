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
package hunt
