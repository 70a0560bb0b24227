package reader

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"

	"github.com/klauspost/compress/gzip"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/codec"
)

// ErrorPolicy says what a Reader does with a malformed line.
type ErrorPolicy uint8

const (
	// Stop ends the read at the first malformed line; Err returns it.
	Stop ErrorPolicy = iota
	// Skip skips malformed lines, counts them (Skipped), and reports each to
	// Options.OnSkip when set.
	Skip
)

// DefaultMaxLineBytes is the default limit on one line or array element.
const DefaultMaxLineBytes = 1 << 20

// Options configures a Reader. The zero value is usable: 1 MiB lines, stop
// on the first error.
type Options struct {
	// MaxLineBytes bounds one line or array element (0 means 1 MiB).
	MaxLineBytes int
	// OnError chooses between stopping and skipping malformed lines.
	OnError ErrorPolicy
	// OnSkip, when set with OnError == Skip, is called with each skipped
	// line's error. It must not retain the reader.
	OnSkip func(*LineError)
}

// Reader streams events from one source. It is not safe for concurrent use.
type Reader struct {
	ctx     context.Context
	src     string
	opts    Options
	br      *bufio.Reader
	closers []io.Closer
	b       *mdr.Builder

	array   bool // input is a JSON array
	started bool
	ended   bool
	final   bool // the last record error was at the end of input: stop after it
	// needComma: an array element was read, so a comma must come before
	// the next one
	needComma bool
	polls     uint // records and skips since the context was last checked

	line    int64 // 1-based number of the current line or element
	lineBuf []byte
	ev      *mdr.Event
	raw     []byte
	err     error
	skipped int64
	events  int64
	bytes   int64
}

// Open is OpenContext with context.Background(): it cannot be interrupted
// while it waits on a pipe or a terminal.
func Open(path string, opts Options) (*Reader, error) {
	return OpenContext(context.Background(), path, opts)
}

// OpenContext opens a file by path ("-" is standard input), detecting gzip
// by its magic bytes and JSON array versus NDJSON by the first non-space
// byte. When ctx is done the read ends with ctx.Err(), also while the reader
// waits for input on standard input, a pipe, a FIFO or a terminal (those are
// opened and read on a goroutine of their own, which ends when the source
// is closed or its blocked read returns).
func OpenContext(ctx context.Context, path string, opts Options) (*Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if path == "-" {
		return NewContext(ctx, os.Stdin, "-", opts)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: %w: a directory, not an event file", path, mdr.ErrInvalid)
	}
	if !st.Mode().IsRegular() {
		// opening a FIFO blocks until a writer opens it: open on the
		// reading goroutine, where ctx can abandon it
		cr := newCtxReader(ctx, func() (io.ReadCloser, error) { return os.Open(path) })
		r, err := newReader(ctx, cr, path, opts)
		if err != nil {
			cr.Close()
			return nil, err
		}
		r.closers = append(r.closers, cr)
		return r, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := newReader(ctx, f, path, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closers = append(r.closers, f)
	return r, nil
}

// New is NewContext with context.Background().
func New(r io.Reader, source string, opts Options) (*Reader, error) {
	return NewContext(context.Background(), r, source, opts)
}

// NewContext reads from r, which may be gzip-compressed NDJSON or a JSON
// array. source names the input in errors and event origins. When ctx is
// done the read ends with ctx.Err(); when r is an *os.File that is not a
// regular file (standard input from a pipe or a terminal, a FIFO), it is
// read on a goroutine of its own so that a read waiting for input does not
// hold the reader past ctx. Other readers that may block indefinitely must
// be made to return by the caller (by closing them, or a deadline).
func NewContext(ctx context.Context, r io.Reader, source string, opts Options) (*Reader, error) {
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
			cr := newCtxReader(ctx, func() (io.ReadCloser, error) { return io.NopCloser(f), nil })
			rd, err := newReader(ctx, cr, source, opts)
			if err != nil {
				cr.Close()
				return nil, err
			}
			rd.closers = append(rd.closers, cr)
			return rd, nil
		}
	}
	return newReader(ctx, r, source, opts)
}

func newReader(ctx context.Context, r io.Reader, source string, opts Options) (*Reader, error) {
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	rd := &Reader{ctx: ctx, src: source, opts: opts, b: mdr.NewBuilder(48)}
	br := bufio.NewReaderSize(r, 256<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", source, err)
		}
		rd.closers = append(rd.closers, zr)
		br = bufio.NewReaderSize(zr, 256<<10)
	}
	rd.br = br
	return rd, nil
}

// Source returns the source name.
func (r *Reader) Source() string { return r.src }

// Skipped returns the number of malformed lines skipped so far.
func (r *Reader) Skipped() int64 { return r.skipped }

// Count returns the number of events read so far.
func (r *Reader) Count() int64 { return r.events }

// Bytes returns the number of uncompressed bytes consumed so far.
func (r *Reader) Bytes() int64 { return r.bytes }

// Raw returns the JSON text of the event Next read, as it was in the
// input (one NDJSON line or one array element). It is valid until the next
// call to Next; copy it to keep it.
func (r *Reader) Raw() []byte { return r.raw }

// Event returns the event read by the last successful call to Next.
func (r *Reader) Event() *mdr.Event { return r.ev }

// Err returns the error that ended the read, or nil at a clean end of input.
func (r *Reader) Err() error { return r.err }

// Close releases the source (and the gzip stream).
func (r *Reader) Close() error {
	var errs []error
	for i := len(r.closers) - 1; i >= 0; i-- {
		errs = append(errs, r.closers[i].Close())
	}
	r.closers = nil
	return errors.Join(errs...)
}

// All iterates over the events. A malformed line ends the iteration with its
// error under Stop, and is skipped under Skip; an I/O error always ends it.
func (r *Reader) All() iter.Seq2[*mdr.Event, error] {
	return func(yield func(*mdr.Event, error) bool) {
		for r.Next() {
			if !yield(r.ev, nil) {
				return
			}
		}
		if r.err != nil {
			yield(nil, r.err)
		}
	}
}

// ctxCheckEvery is how many records (events, skipped or empty lines) Next
// reads between checks of the context.
const ctxCheckEvery = 256

// Next reads the next event, reporting whether there is one. It returns
// false at the end of input, after an error that ends the read (see Err),
// and once the reader's context is done (Err returns ctx.Err()).
func (r *Reader) Next() bool {
	if r.err != nil || r.ended {
		return false
	}
	if !r.started {
		r.started = true
		if err := r.detect(); err != nil {
			r.err = err
			return false
		}
	}
	for {
		if r.polls++; r.polls >= ctxCheckEvery {
			r.polls = 0
			if err := r.ctx.Err(); err != nil {
				r.err = err
				return false
			}
		}
		before := r.bytes
		raw, err := r.nextRecord()
		if err == io.EOF {
			r.ended = true
			return false
		}
		if err != nil {
			var le *LineError
			if errors.As(err, &le) && r.opts.OnError == Skip {
				r.skip(le)
				// A malformed record at the end of input ends the read;
				// so does one that consumed nothing, which would come back
				// on the next call (never an endless loop on bad input).
				if r.final || r.bytes == before {
					r.ended = true
					return false
				}
				continue
			}
			r.err = err
			return false
		}
		if len(raw) == 0 {
			continue
		}
		ev, derr := codec.Decode(raw, mdr.Origin{Source: r.src, Line: r.line}, r.b)
		if derr != nil {
			le := &LineError{Source: r.src, Line: r.line, Err: fmt.Errorf("%w: %v", ErrMalformed, derr)}
			if r.opts.OnError == Skip {
				r.skip(le)
				continue
			}
			r.err = le
			return false
		}
		r.ev = ev
		r.raw = raw
		r.events++
		return true
	}
}

func (r *Reader) skip(le *LineError) {
	r.skipped++
	if r.opts.OnSkip != nil {
		r.opts.OnSkip(le)
	}
}

// detect skips leading white space and a UTF-8 BOM and decides between NDJSON
// and a JSON array.
func (r *Reader) detect() error {
	if b, _ := r.br.Peek(3); bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		r.br.Discard(3)
		r.bytes += 3
	}
	for {
		c, err := r.br.ReadByte()
		if err == io.EOF {
			r.ended = true
			return nil
		}
		if err != nil {
			return r.ioErr(err)
		}
		if isSpace(c) {
			r.bytes++
			if c == '\n' && !r.array {
				r.line++
			}
			continue
		}
		if c == '[' {
			r.array = true
			r.bytes++
			return nil
		}
		return r.br.UnreadByte()
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func (r *Reader) nextRecord() ([]byte, error) {
	if r.array {
		return r.nextElement()
	}
	return r.nextLine()
}

// nextLine returns the next line without its terminator, or a *LineError
// when it is longer than the limit (the rest of the line is consumed).
func (r *Reader) nextLine() ([]byte, error) {
	r.line++
	r.lineBuf = r.lineBuf[:0]
	tooLong := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.bytes += int64(len(chunk))
		if !tooLong {
			if len(r.lineBuf)+len(chunk) > r.opts.MaxLineBytes+2 { // allow for \r\n
				tooLong = true
				r.lineBuf = r.lineBuf[:0]
			} else if err == nil && len(r.lineBuf) == 0 {
				// whole line in the buffer: no copy
				line := bytes.TrimRight(chunk, "\r\n")
				if len(line) > r.opts.MaxLineBytes {
					return nil, r.tooLong()
				}
				return bytes.TrimSpace(line), nil
			} else {
				r.lineBuf = append(r.lineBuf, chunk...)
			}
		}
		switch {
		case err == nil:
			if tooLong {
				return nil, r.tooLong()
			}
			return bytes.TrimSpace(r.lineBuf), nil
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if tooLong {
				return nil, r.tooLong()
			}
			if len(r.lineBuf) == 0 {
				return nil, io.EOF
			}
			return bytes.TrimSpace(r.lineBuf), nil
		default:
			return nil, r.ioErr(err)
		}
	}
}

// nextElement returns the next element of a JSON array, found by scanning
// for its end (strings and escapes honoured), so elements are decoded one at
// a time in bounded memory. Elements must be separated by exactly one comma:
// a leading, doubled or trailing comma, or two elements without one between
// them, is a *LineError for that position. The end of input before the
// closing bracket is a *LineError that also ends the read (r.final), so that
// a reader skipping malformed records cannot ask again forever.
func (r *Reader) nextElement() ([]byte, error) {
	// skip white space and the comma before the element
	comma := false
	for {
		c, err := r.br.ReadByte()
		if err == io.EOF {
			r.final = true
			return nil, &LineError{Source: r.src, Line: r.line + 1, Err: fmt.Errorf("%w: unterminated JSON array (input ends before its closing bracket)", ErrMalformed)}
		}
		if err != nil {
			return nil, r.ioErr(err)
		}
		r.bytes++
		if isSpace(c) {
			continue
		}
		if c == ']' {
			if comma {
				r.final = true
				r.drainTrailing()
				return nil, &LineError{Source: r.src, Line: r.line + 1, Err: fmt.Errorf("%w: trailing comma before the end of the JSON array", ErrMalformed)}
			}
			r.drainTrailing()
			return nil, io.EOF
		}
		if c == ',' {
			if !r.needComma || comma {
				// this comma separates the empty element from the next
				r.needComma = false
				r.line++
				return nil, &LineError{Source: r.src, Line: r.line, Err: fmt.Errorf("%w: empty JSON array element (a comma without an element before it)", ErrMalformed)}
			}
			comma = true
			continue
		}
		r.br.UnreadByte()
		r.bytes--
		break
	}
	missingComma := r.needComma && !comma
	r.needComma = true
	r.line++
	r.lineBuf = r.lineBuf[:0]
	depth, inStr, esc, tooLong := 0, false, false, false
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			if err == io.EOF {
				r.final = true
				return nil, &LineError{Source: r.src, Line: r.line, Err: fmt.Errorf("%w: unterminated JSON array (input ends inside an element)", ErrMalformed)}
			}
			return nil, r.ioErr(err)
		}
		r.bytes++
		if !tooLong {
			if len(r.lineBuf) >= r.opts.MaxLineBytes {
				tooLong = true
				r.lineBuf = r.lineBuf[:0]
			} else {
				r.lineBuf = append(r.lineBuf, c)
			}
		}
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth < 0 {
				return nil, &LineError{Source: r.src, Line: r.line, Err: fmt.Errorf("%w: unbalanced %q", ErrMalformed, c)}
			}
		case c == ',' && depth == 0:
			r.br.UnreadByte()
			r.bytes--
			if !tooLong {
				r.lineBuf = r.lineBuf[:len(r.lineBuf)-1]
			}
		}
		if depth == 0 && (c == '}' || c == ']' || c == ',') {
			switch {
			case tooLong:
				return nil, r.tooLong()
			case missingComma:
				return nil, &LineError{Source: r.src, Line: r.line, Err: fmt.Errorf("%w: missing comma before this JSON array element", ErrMalformed)}
			}
			return r.lineBuf, nil
		}
	}
}

// tooLong is the error for the current line or element over the limit.
func (r *Reader) tooLong() *LineError {
	return &LineError{Source: r.src, Line: r.line, Err: fmt.Errorf("%w: over %d bytes (raise the limit with Options.MaxLineBytes)", ErrLineTooLong, r.opts.MaxLineBytes)}
}

// ioErr wraps an error of the underlying reader (a damaged gzip stream, a
// failing disk); it ends the read under either policy.
func (r *Reader) ioErr(err error) error {
	if r.line > 0 {
		return fmt.Errorf("%s:%d: %w", r.src, r.line, err)
	}
	return fmt.Errorf("%s: %w", r.src, err)
}

// drainTrailing reads what follows the closing bracket of the array: white
// space only. An error of the source there (a gzip stream cut in its
// trailer) is an error of the read, not a clean end.
func (r *Reader) drainTrailing() {
	for {
		c, err := r.br.ReadByte()
		if err == io.EOF {
			return
		}
		if err != nil {
			r.err = r.ioErr(err)
			return
		}
		if !isSpace(c) {
			r.err = &LineError{Source: r.src, Line: r.line, Err: fmt.Errorf("%w: data after the end of the JSON array", ErrMalformed)}
			return
		}
	}
}
