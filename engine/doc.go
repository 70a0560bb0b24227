// Package engine is the reference wiring of rule loading and detection:
// rule files in, alerts out.
//
// Load reads rule files (native detect rules and Sigma rules, told apart per
// file) and compiles them into one immutable detect.Ruleset, returning every
// rejection with its file, line and rule id instead of failing on the first.
// Only regular files are read (a FIFO or device in a rules folder is skipped
// with a note, never opened), each under a size cap, and the context is
// checked between files, so a hostile rules folder can neither hang nor
// exhaust the loader.
//
// A Detector runs the compiled rules over events in order, feeds the
// matches to a correlator for the Sigma correlation rules, and turns matches
// into mdr.Alert values with deterministic ids, so that the same events give
// the same alerts in every process (a retro-hunt, a restarted worker). A rule
// whose evaluation fails on one event (for example a cost limit) is counted
// and reported through Config.OnEvalError, and detection goes on.
//
// Rules is immutable and safe for concurrent use once returned. A Detector
// holds correlation state and is not safe for concurrent use: run one per
// stream (per host partition, per file).
package engine
