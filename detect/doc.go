// Package detect is the rule engine of mdrkit: rules whose condition is a
// CEL expression over the event, compiled once into an immutable Ruleset
// that matches events fast and explains every match.
//
// # Rules
//
// A Rule has an id, a title, descriptive metadata (description, author,
// references, status, falsepositives), a Severity, ATT&CK tags, a Logsource
// (product / category / service), output Fields, and either a Condition (a
// stateless rule) or a Correlation block (a correlation rule over other
// rules' matches). Hidden rules match like any other, but their matches are
// marked Hidden: they feed correlations and raise no alert of their own.
//
// Native rules are written in YAML. A file holds one or more YAML documents
// (separated by ---); each document is one rule (a mapping) or a list of
// rules:
//
//	id: encoded-powershell
//	title: PowerShell with an encoded command
//	severity: high                 # or level:; informational, low, medium, high, critical
//	status: test
//	tags: [attack.execution, attack.t1059.001]
//	logsource: {product: windows, category: process_creation}
//	condition: >
//	  e.Image.endsWithFold(["\\powershell.exe", "\\pwsh.exe"]) &&
//	  e.CommandLine.containsFold(windash(" -enc "))
//	fields: [CommandLine, ParentImage]
//
// A correlation rule has a correlation block instead of a condition:
//
//	id: encoded-powershell-burst
//	title: Many encoded PowerShell starts on one host
//	severity: medium
//	correlation:
//	  type: event_count            # value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile
//	  rules: [encoded-powershell]
//	  group-by: [Computer]
//	  timespan: 5m                 # s, m, h, d, w or a Go duration
//	  condition: {gte: 3}          # gt, gte, lt, lte, eq, neq; field: and percentile: where the type needs them
//
// LoadFile and ParseRules read this format; unknown keys are errors, and
// every rule that cannot be read is reported with its file and line.
//
// # Conditions
//
// A condition is a CEL expression with one variable, e, the event. e.Image,
// e["Field Name"] and nested e.process.parent.executable select fields:
// flat names and dotted paths both resolve through mdr.Event.Get, without
// converting the event to a map. A missing field (or a selection through a
// missing object) yields an absent value, never an error: every detection
// function is false on it, == with it is false, and has(e.X) and "X" in e
// are false. Standard CEL works as usual on present values; a standard
// function applied to a value of the wrong type (or to an absent value) is
// an evaluation error, which makes the rule not match that event.
//
// The detection functions. The receiver x may be a string, a list (true if
// any element satisfies), a number or bool (compared through its text,
// mdr.Value.Text); absent and null give false. The argument is a string or
// a list of strings (true if any satisfies), and must be a constant:
//
//   - x.equalsFold(s), x.containsFold(s), x.startsWithFold(s),
//     x.endsWithFold(s): case-insensitive, with Unicode simple case folding
//     (each character is replaced by a canonical member of its case-folding
//     orbit, so "ſ" equals "s" and "K" (Kelvin) equals "k").
//   - x.equalsCase(s), x.containsCase(s), x.startsWithCase(s),
//     x.endsWithCase(s): case-sensitive.
//   - x.wildcardFold(p), x.wildcardCase(p): the whole value matches the glob
//     p, where * is any run and ? one character; \* and \? are literal, \\ is
//     one backslash and a backslash before anything else is a backslash.
//   - x.regex(p): RE2 (Go regexp), flags inline ((?i), (?m), (?s)); compiled
//     once when the rule is compiled.
//   - x.inCIDR(c): an IPv4 or IPv6 address inside prefix c (IPv4-mapped IPv6
//     addresses count as IPv4).
//   - x.numEq(n), x.numLt(n), x.numLte(n), x.numGt(n), x.numGte(n): x is a
//     number or a numeric string, decimal or 0x hex ("4688", "0x1010"); n an
//     int, double or numeric string; non-numeric values give false.
//   - x.isNull(): x is absent or JSON null.
//   - x.timePart(unit): the minute, hour, day, week (ISO), month or year of
//     the time value x (mdr.TimeOf), or absent; e.g.
//     e.UtcTime.timePart("hour").numLt(6).
//   - e.keywordFold(p), e.keywordCase(p), e.keywordRegex(p): any string
//     value of the event (or string element of a list) matches glob or regex p.
//   - base64(s), base64offset(s) (the three offset variants), utf16le(s),
//     wide(s) (= utf16le), utf16be(s), utf16(s) (with a BOM), windash(s)
//     (every variant where each flag dash - or / is replaced by -, /, en
//     dash, em dash or horizontal bar): pure functions on constants, folded
//     at compile time; each also takes a list. They compose:
//     e.CommandLine.containsCase(base64offset(utf16le("http"))).
//
// # Compiling and matching
//
// Compile checks every rule, collects every rejection (file, line, rule id,
// reason) in a *CompileError, and returns a Ruleset holding every accepted
// rule. Each condition is type-checked, constant-folded, and planned with
// cel.OptOptimize, a per-rule cost limit (WithCostLimit) and context
// interruption (the ctx of Match). No CEL type appears in the API.
//
// Matching does not evaluate every rule on every event:
//
//   - Logsource routing (WithPipeline): a rule only meets the events its
//     logsource covers in the pipeline. The mappings that apply to a rule are
//     those whose set logsource parts all equal the rule's (case-insensitive);
//     the event must satisfy every applicable mapping (OR across a mapping's
//     conditions, AND across a condition's fields). The pipeline is indexed
//     by the normalised values of its condition fields (e.g. Channel and
//     EventID: lower-cased text, integers in decimal, so "0x1" equals 1), so
//     routing costs a few hash lookups per event whatever the number of
//     rules, and nothing when the routing keys equal the previous event's.
//     A rule no mapping applies to is unrouted and meets every event.
//   - The literal prefilter: from each condition Compile derives a set of
//     literals such that every matching event contains one of them in the
//     field it is tested on: a && b picks the best conjunct's set, a || b
//     takes the union (none if a disjunct has none), !a gives none, the
//     text functions give their (folded) arguments, globs their longest
//     literal run, regular expressions a literal regexp/syntax proves
//     required, keyword functions a literal of any string value, and numEq
//     an integer (an event id). Literals are folded with the same folding
//     the *Fold functions use. An equality's literal is looked up as the
//     whole folded value in a map; the others are found by scanning the
//     value once (package internal/ahocorasick: a 4-gram filter plus an
//     Aho-Corasick automaton). An ASCII value is scanned as it is,
//     lower-cased on the fly; any other is folded first, once per event.
//     Fields are scanned only when a rule reading them is routed to the
//     event. Keyword literals are scanned for in every string value: those
//     of the open route classes with keyword rules (one class's own set,
//     or the union of several open together, built on first use). A field
//     that is scanned for its own literals is scanned for the keyword
//     literals in the same pass when they are all at least as long as its
//     shortest literal (so the pass keeps its stride), through a set that
//     holds both. A string value in which a scan found nothing is
//     remembered per field (per event position for keyword literals), so
//     the same value in the next event is neither folded nor scanned. Only rules whose literals were seen are evaluated; rules
//     without a literal set are evaluated on every routed event
//     (Stats.Unfiltered). A rule may also have a second set, from another
//     conjunct (for a || b, the union of the disjuncts' second sets, a
//     disjunct's first standing in for a missing second): it is evaluated
//     only when both sets had a hit (Stats.SecondSets). A second set is
//     used only when it costs no extra scanning — numbers, whole values,
//     or text literals for a field already scanned that are no shorter
//     than its shortest literal (which sets the scan's stride) — and is
//     not made of common fragments. On the SigmaHQ Windows rules over
//     benchmark.jsonl.gz it cuts the evaluations by 38 % (1.29 M to 0.80 M,
//     the same 17,303 matches).
//     Which conjunct's set is used is chosen by a score
//     that discounts fragments common in Windows data (C:\Windows\System32,
//     .exe, …); literals longer than 24 bytes are cut to their most
//     distinctive 24 bytes. Neither choice affects exactness: property tests
//     over random rules and events, and a test over real logs with the
//     SigmaHQ corpus, prove that prefilter + evaluation returns exactly the
//     matches of evaluating every rule.
//   - Conditions built only from the contract shapes (detection functions on
//     fields, &&, ||, !, == with a string, has, in) are evaluated directly on
//     the event with the same semantics as their CEL program (the same tests
//     check both agree); other conditions run their CEL program. Before a
//     regular expression runs, the literals it requires are looked up in the
//     folded value, a value shorter than its shortest match is rejected, and
//     .{n,} ((?s).{n,}) is decided by counting characters per line (in the
//     value) instead of running n copies of . in the regexp engine.
//
// Each Match carries its Explanation: for each predicate that held, the
// field, its value, the operator and the argument, as text and as JSON.
//
// # Correlation
//
// A Correlator (NewCorrelator) runs a Ruleset's correlation rules over the
// matches that Ruleset.Match returns (hidden ones included): feed it each
// event's matches in stream order with Observe, and it returns
// CorrelationMatches naming the correlation rule, its group, its window of
// event time and the base events. Group-by values come from the event's
// fields, through Aliases (alias → rule id → field); a correlation may
// reference correlations (a chain), taking its group-by values from theirs.
// Windows run on event time, and each group (correlation rule and group-by
// values) keeps its own clock, so a skewed host or a replayed recording
// does not make other groups' events late. A threshold with only lower
// bounds (gt, gte) fires as soon as it holds; one with an upper bound (lt,
// lte, eq, neq) is decided when event time passes the window; the events of
// a match are consumed by it. Events up to CorrelatorConfig.Lateness out of
// order are correlated in their place; older ones, and everything the state
// bounds (groups, events per group, events in all) drop, are counted in
// CorrelatorStats. SaveState and LoadState write and read the whole state
// through a StateStore (store.Memory, store/badger), so a restart in the
// middle of a stream gives the matches of an uninterrupted run. The engine
// itself is internal/correlate.
//
// # Errors
//
// Compile returns a *CompileError listing every rejected rule (RuleError:
// file, line, rule id, reason), and ParseRules and LoadFile do the same for
// rules that cannot be read; Rejections extracts the list from any of them.
// All wrap ErrRule (and mdr.ErrInvalid). Match returns *EvalError for a
// rule stopped by the cost limit (wrapping ErrCost and mdr.ErrLimit) or by
// the cancellation of its context. An EvalError names the rule and the
// event (its origin: source and line, and its id) and stops only that rule
// on that event: Match and AppendMatches return every match the other rules
// found together with an error joining one *EvalError per failed rule
// (EvalErrors lists them), so a scan counts and reports them and goes on.
// Only a done context stops a call early. Compile-time work is bounded as
// well: a constant subexpression (which the optimizer folds into a literal)
// is evaluated under the same cost limit (and a 10 s backstop timeout) and
// CompileContext's context first, and a rule whose folding would exceed the
// limit is rejected with its reason.
//
// # Concurrency
//
// A Correlator is stateful and safe for concurrent use, but its result
// depends on the order events are fed in: feed it from one goroutine, in
// stream order.
//
// A Ruleset is immutable and safe for concurrent use; Match may be called
// from any number of goroutines. Per-call scratch state comes from a
// sync.Pool, so a call for an event that no rule matches allocates nothing
// (AppendMatches with a reused slice).
package detect
