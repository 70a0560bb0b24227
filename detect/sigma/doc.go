// Package sigma compiles Sigma rules, Sigma correlation rules and Sigma
// filters (meta-filters) into detect rules, so that one engine runs
// hand-written CEL rules and the SigmaHQ corpus.
//
// # Model
//
// A Sigma rule becomes a detect.Rule whose Condition is a CEL expression
// over the event e, written with detect's detection functions in the
// shapes its literal prefilter understands:
//
//	selection:
//	    Image|endswith: ['\a.exe', '\b.exe']
//	    CommandLine|contains|all: ['-x', '-y']
//	condition: selection
//
// compiles to
//
//	e.Image.endsWithFold(["\\a.exe", "\\b.exe"]) && e.CommandLine.containsFold("-x") && e.CommandLine.containsFold("-y")
//
// The whole specification is supported: multi-document files (action:
// global, reset, repeat); the condition grammar (and, or, not,
// parentheses, "1 of", "all of", "N of" a pattern or them, lists of
// conditions); lists of maps; keyword searches over every string field;
// null (absent) versus the empty string (present and empty); * and ? wildcards with
// Sigma's backslash escaping; unquoted numbers compare as numbers (so 4688
// matches "4688" and 0x10 matches "0x10" written as 16), quoted ones as
// text; and every modifier — contains, startswith, endswith, all, re with
// i, m and s, base64, base64offset, utf16le, utf16be, utf16, wide,
// windash, cidr, exists, cased, fieldref, expand, lt, lte, gt, gte, neq and
// the time parts minute, hour, day, week, month and year — in every
// combination that has a meaning. Matching is case-insensitive (Unicode
// folding) unless cased is given; values under base64 or base64offset
// match case-sensitively because the encoding is byte-exact. neq negates
// the whole value list (the field differs from every value). An unknown
// modifier or a combination without meaning (re|contains, a numeric
// modifier on text, a wildcard under base64, ...) is a load error naming
// the file, line, rule id, field and modifier — never a silent no-match.
// (The all modifier on a single value, which the specification discourages,
// is accepted: it means the same as the value alone.)
//
// The condition is built as a boolean tree and simplified before it is
// rendered, so a rule that can never match is rejected at load time.
//
// # Placeholders
//
// The expand modifier replaces %name% placeholders with values the caller
// supplies (WithPlaceholders, or a pipeline's placeholders). A placeholder
// without a value stands for an empty list: a filter built on it excludes
// nothing and the rule still runs, while a rule whose match depends on it
// can never match and is rejected with ErrPlaceholder naming the
// placeholders. WithStrictPlaceholders rejects every rule with an unset
// placeholder.
//
// # Pipelines
//
// A Pipeline routes rules to events by logsource (its Routing part is a
// detect.Pipeline for detect.WithPipeline), maps Sigma field names to the
// names events carry, and supplies placeholder values. A Sigma field may
// map to several event fields; the compiled condition then tries each
// (any may match; null means absent from all).
//
// WindowsPipeline is the built-in one. It routes every windows logsource of
// the SigmaHQ corpus that Windows event logs can serve (process_creation
// from Sysmon 1 and Security 4688; every Sysmon category; PowerShell;
// Defender for antivirus; every service channel; Winlogbeat exports by
// winlog.channel and winlog.event_id) and compares channels
// case-insensitively (exports write "security"). Its field mapping lets
// process_creation rules run over Security 4688 (Image → NewProcessName,
// ParentImage → ParentProcessName, User → SubjectUserName, LogonId →
// SubjectLogonId, IntegrityLevel → MandatoryLabel) and antivirus rules over
// Defender (Signature →
// ThreatName, Filename → Path). It also routes the corpus's other products
// (linux, macos, cloud, network, application logs) and product-less
// categories (webserver, proxy, dns, firewall, database) to their own
// events (ECS event.module/event.category, OCSF class_uid, Linux channels
// and audit record types), so that such rules never meet Windows events.
// CommonSchemaPipeline adds the ECS and OCSF names of the mapped fields
// (Image → process.executable, process.file.path, ...) and Winlogbeat's
// winlog.event_data object, so one rule runs over Sysmon, Windows
// Security, ECS-shaped and OCSF-shaped events; it is
// a separate pipeline because every extra name costs a field lookup and a
// prefilter literal per rule.
//
// Users write their own pipelines in YAML, optionally extending a built-in
// one (see ParsePipeline for the format); mdr scan takes one with
// --pipeline FILE.
//
// # Correlations and filters
//
// A correlation rule becomes a detect.Rule with Correlation set: its rule
// references (ids or names, across all sources compiled together) are
// resolved to rule ids, aliases are keyed by rule id, and the base rules
// are marked Hidden unless the correlation says generate: true. A
// temporal correlation without a condition requires all its rules. A
// filter (meta-filter) adds "and not (filter condition)" to each rule it
// names whose logsource it matches.
//
// # Lifecycle and concurrency
//
// Build a Compiler with New (immutable afterwards, safe for concurrent
// use), then Compile sources or CompileFiles paths; the result is a slice
// of detect.Rule for detect.Compile. Compile returns every rule that
// compiled together with a *LoadError listing every rejected one. Nothing
// in this package keeps state between calls.
package sigma
