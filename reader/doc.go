// Package reader streams events from NDJSON, a JSON array, or gzip of either,
// from files or standard input, in constant memory.
//
// A Reader yields one *mdr.Event at a time; it never holds more than one line
// (bounded by Options.MaxLineBytes) and a read buffer. A malformed line is
// reported as a *LineError naming the source and line number; the caller
// chooses with Options.OnError whether the reader stops there or skips the
// line and counts it (Skipped). A line longer than MaxLineBytes is an error of
// the same kind, never an out-of-memory.
//
// A Reader is not safe for concurrent use. Decoding is done with the codec in
// internal/codec (sonic by default, encoding/json with the mdrstdjson tag).
package reader
