package reader

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/klauspost/compress/gzip"
	"io"
	"iter"
	"os"

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
	src     string
	opts    Options
	br      *bufio.Reader
	closers []io.Closer
	b       *mdr.Builder

	array   bool // input is a JSON array
	started bool
	ended   bool

	line    int64 // 1-based number of the current line or element
	lineBuf []byte
	ev      *mdr.Event
	raw     []byte
	err     error
	skipped int64
	events  int64
	bytes   int64
}

// Open opens a file by path ("-" is standard input), detecting gzip by its
// magic bytes and JSON array versus NDJSON by the first non-space byte.
func Open(path string, opts Options) (*Reader, error) {
	if path == "-" {
		return New(os.Stdin, "-", opts)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := New(f, path, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closers = append(r.closers, f)
	return r, nil
}

// New reads from r, which may be gzip-compressed NDJSON or a JSON array.
// source names the input in errors and event origins.
func New(r io.Reader, source string, opts Options) (*Reader, error) {
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	rd := &Reader{src: source, opts: opts, b: mdr.NewBuilder(48)}
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

// Next reads the next event, reporting whether there is one.
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
		raw, err := r.nextRecord()
		if err == io.EOF {
			r.ended = true
			return false
		}
		if err != nil {
			var le *LineError
			if errors.As(err, &le) && r.opts.OnError == Skip {
				r.skip(le)
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
			return fmt.Errorf("%s: %w", r.src, err)
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
					return nil, &LineError{Source: r.src, Line: r.line, Err: ErrLineTooLong}
				}
				return bytes.TrimSpace(line), nil
			} else {
				r.lineBuf = append(r.lineBuf, chunk...)
			}
		}
		switch {
		case err == nil:
			if tooLong {
				return nil, &LineError{Source: r.src, Line: r.line, Err: ErrLineTooLong}
			}
			return bytes.TrimSpace(r.lineBuf), nil
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if tooLong {
				return nil, &LineError{Source: r.src, Line: r.line, Err: ErrLineTooLong}
			}
			if len(r.lineBuf) == 0 {
				return nil, io.EOF
			}
			return bytes.TrimSpace(r.lineBuf), nil
		default:
			return nil, fmt.Errorf("%s:%d: %w", r.src, r.line, err)
		}
	}
}

// nextElement returns the next element of a JSON array, found by scanning
// for its end (strings and escapes honoured), so elements are decoded one at
// a time in bounded memory.
func (r *Reader) nextElement() ([]byte, error) {
	// skip white space and one comma
	comma := false
	for {
		c, err := r.br.ReadByte()
		if err == io.EOF {
			return nil, &LineError{Source: r.src, Line: r.line + 1, Err: fmt.Errorf("%w: unterminated JSON array", ErrMalformed)}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.src, err)
		}
		r.bytes++
		if isSpace(c) {
			continue
		}
		if c == ']' {
			r.drainTrailing()
			return nil, io.EOF
		}
		if c == ',' && !comma && r.line > 0 {
			comma = true
			continue
		}
		r.br.UnreadByte()
		r.bytes--
		break
	}
	r.line++
	r.lineBuf = r.lineBuf[:0]
	depth, inStr, esc, tooLong := 0, false, false, false
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			if err == io.EOF {
				return nil, &LineError{Source: r.src, Line: r.line, Err: fmt.Errorf("%w: unterminated JSON array", ErrMalformed)}
			}
			return nil, fmt.Errorf("%s: %w", r.src, err)
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
			if tooLong {
				return nil, &LineError{Source: r.src, Line: r.line, Err: ErrLineTooLong}
			}
			return r.lineBuf, nil
		}
		if depth == 0 && c == ',' {
			continue
		}
	}
}

func (r *Reader) drainTrailing() {
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			return
		}
		if !isSpace(c) {
			r.err = &LineError{Source: r.src, Line: r.line, Err: fmt.Errorf("%w: data after the end of the JSON array", ErrMalformed)}
			return
		}
	}
}
