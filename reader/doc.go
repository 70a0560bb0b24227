// Package reader streams events from NDJSON, a JSON array, or gzip of either,
// from files or standard input, in constant memory.
//
// A Reader yields one *mdr.Event at a time; it never holds more than one line
// (bounded by Options.MaxLineBytes) and a read buffer. A malformed line is
// reported as a *LineError naming the source and line number; the caller
// chooses with Options.OnError whether the reader stops there or skips the
// line and counts it (Skipped). A line longer than MaxLineBytes is an error of
// the same kind, never an out-of-memory. In a JSON array each element is a
// record of its own: an element that is not an object, an empty element
// (a leading or doubled comma), a trailing comma and a missing comma are
// malformed records, and input that ends before the closing bracket is one
// last malformed record that ends the read under either policy. A damaged
// source (a gzip stream cut short, its trailer included) ends the read with
// its error after the events before the damage.
//
// OpenContext and NewContext tie a Reader to a context: Next checks it
// between records, and a source that can wait forever (standard input from
// a pipe or a terminal, a FIFO) is read on a goroutine of its own, so that
// a Reader waiting for input ends with ctx.Err() once ctx is done.
//
// A Reader is not safe for concurrent use. Decoding is done with the codec in
// internal/codec (sonic by default, encoding/json with the mdrstdjson tag).
package reader
