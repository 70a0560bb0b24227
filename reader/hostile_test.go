package reader_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/reader"
)

// hostile returns the path of a file of the hostile-input corpus.
func hostile(name string) string { return filepath.Join("..", "testdata", "hostile", name) }

// drain reads r to its end on another goroutine and fails the test when
// that takes more than a few seconds (the defects here were endless loops),
// or when the reader skips more records than the input has bytes.
func drain(t *testing.T, r *reader.Reader, size int) (events int, err error) {
	t.Helper()
	type res struct {
		n   int
		err error
	}
	done := make(chan res, 1)
	go func() {
		n := 0
		for r.Next() {
			n++
			if r.Skipped() > int64(size)+1 {
				break
			}
		}
		done <- res{n, r.Err()}
	}()
	select {
	case x := <-done:
		if r.Skipped() > int64(size)+1 {
			t.Fatalf("%d records skipped from %d bytes: the reader loops", r.Skipped(), size)
		}
		return x.n, x.err
	case <-time.After(10 * time.Second):
		t.Fatalf("the reader did not end within 10 s (%d skipped)", r.Skipped())
	}
	return 0, nil
}

// TestUnterminatedArrayEnds is issue 17 defect 1: at the end of an array
// without its closing bracket, the reader returned a skippable error and
// Next, skipping, asked again forever. Each case ends, having read the
// complete elements, with exactly one error (Stop) or one skipped record
// (Skip).
func TestUnterminatedArrayEnds(t *testing.T) {
	cut, _ := os.ReadFile(hostile("cut-array.json"))
	for _, c := range []struct {
		name string
		data string
		n    int
	}{
		{"only a bracket", "[", 0},
		{"bracket and space", "[ \n ", 0},
		{"after an element", `[{"a":1}`, 1},
		{"after a comma", `[{"a":1},`, 1},
		{"inside an element", `[{"a":1},{"b":"]`, 1},
		{"corpus cut-array.json", string(cut), 5},
		{"gzip", gz(`[{"a":1},{"a":2}`), 2},
	} {
		for _, pol := range []reader.ErrorPolicy{reader.Stop, reader.Skip} {
			t.Run(c.name, func(t *testing.T) {
				var skipped []*reader.LineError
				r := newReader(t, c.data, reader.Options{OnError: pol, OnSkip: func(le *reader.LineError) { skipped = append(skipped, le) }})
				n, err := drain(t, r, len(c.data))
				if n != c.n {
					t.Errorf("%d events, want %d", n, c.n)
				}
				if pol == reader.Stop {
					if !errors.Is(err, reader.ErrMalformed) || !strings.Contains(err.Error(), "unterminated JSON array") {
						t.Errorf("stop: %v", err)
					}
					return
				}
				if err != nil || len(skipped) != 1 || r.Skipped() != 1 {
					t.Fatalf("skip: err %v, %d skipped %v", err, r.Skipped(), skipped)
				}
				if !strings.Contains(skipped[0].Error(), "unterminated JSON array") {
					t.Errorf("skip reason: %v", skipped[0])
				}
			})
		}
	}
}

// TestArrayCommas: a leading, doubled or trailing comma and two elements
// without a comma between them were accepted silently; each is now a
// malformed record at its position (an error under Stop, one skipped record
// under Skip), and the well-formed elements are read.
func TestArrayCommas(t *testing.T) {
	for _, c := range []struct {
		file   string
		events int
		line   int64
		reason string
	}{
		{"leading-comma.json", 2, 1, "empty JSON array element"},
		{"double-comma.json", 2, 2, "empty JSON array element"},
		{"trailing-comma.json", 2, 3, "trailing comma"},
		{"missing-comma.json", 2, 2, "missing comma"},
	} {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(hostile(c.file))
			if err != nil {
				t.Fatal(err)
			}
			_, err = readAll(t, newReader(t, string(data), reader.Options{}))
			var le *reader.LineError
			if !errors.As(err, &le) || le.Line != c.line || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("stop: %v (want line %d: %s)", err, c.line, c.reason)
			}
			r := newReader(t, string(data), reader.Options{OnError: reader.Skip})
			n, err := drain(t, r, len(data))
			if err != nil || n != c.events || r.Skipped() != 1 {
				t.Fatalf("skip: %d events, %d skipped, %v", n, r.Skipped(), err)
			}
		})
	}
	// well-formed arrays still read, with any white space around commas
	for _, data := range []string{`[{"a":1},{"a":2}]`, "[ {\"a\":1} ,\n\t{\"a\":2} ]", `[{"a":1}]`, `[]`} {
		if _, err := readAll(t, newReader(t, data, reader.Options{})); err != nil {
			t.Errorf("%s: %v", data, err)
		}
	}
}

// TestLineLimitNamed: the error of a line over the limit names the limit
// and how to raise it.
func TestLineLimitNamed(t *testing.T) {
	long := `{"a":"` + strings.Repeat("x", 3000) + `"}`
	for _, data := range []string{long + "\n", "[" + long + "]"} {
		_, err := readAll(t, newReader(t, data, reader.Options{MaxLineBytes: 1000}))
		if !errors.Is(err, reader.ErrLineTooLong) || !strings.Contains(err.Error(), "over 1000 bytes") || !strings.Contains(err.Error(), "MaxLineBytes") {
			t.Errorf("%v", err)
		}
	}
	evs, err := readAll(t, newReader(t, long+"\n", reader.Options{MaxLineBytes: 4000}))
	if err != nil || len(evs) != 1 {
		t.Errorf("a raised limit: %d events, %v", len(evs), err)
	}
}

// TestDamagedGzip: a gzip cut in the middle or missing its trailer is an
// error (under either policy) after the events before the damage.
func TestDamagedGzip(t *testing.T) {
	for _, name := range []string{"cut.jsonl.gz", "no-trailer.jsonl.gz"} {
		t.Run(name, func(t *testing.T) {
			want := completeLines(t, hostile(name))
			for _, pol := range []reader.ErrorPolicy{reader.Stop, reader.Skip} {
				r, err := reader.Open(hostile(name), reader.Options{OnError: pol})
				if err != nil {
					t.Fatal(err)
				}
				n, err := drain(t, r, 1<<20)
				r.Close()
				if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.HasPrefix(err.Error(), hostile(name)) {
					t.Errorf("policy %d: %v", pol, err)
				}
				if n < want-1 || n > want {
					t.Errorf("policy %d: %d events before the damage, want %d", pol, n, want)
				}
			}
		})
	}
}

// completeLines counts the newline-terminated lines a damaged gzip yields
// before its error.
func completeLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err == nil {
		t.Fatalf("%s is not damaged", path)
	}
	return bytes.Count(data, []byte("\n"))
}

// TestContextWhileWaiting is issue 17 defect 7 in the reader: a read waiting
// for input on a pipe or a FIFO ends when the context is done.
func TestContextWhileWaiting(t *testing.T) {
	t.Run("pipe", func(t *testing.T) {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pw.Close()
		defer pr.Close()
		pw.Write([]byte("{\"a\":1}\n"))
		ctx, cancel := context.WithCancel(t.Context())
		r, err := reader.NewContext(ctx, pr, "pipe", reader.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Next() {
			t.Fatalf("first event: %v", r.Err())
		}
		time.AfterFunc(100*time.Millisecond, cancel)
		if _, err := drain(t, r, 100); !errors.Is(err, context.Canceled) {
			t.Errorf("%v", err)
		}
		r.Close()
	})
	t.Run("fifo without writer", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "fifo")
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		r, err := reader.OpenContext(ctx, p, reader.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := drain(t, r, 100); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%v", err)
		}
		r.Close()
	})
	t.Run("fifo with writer", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "fifo")
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		go func() {
			w, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			w.Write([]byte("{\"a\":1}\n{\"a\":2}\n"))
			w.Close()
		}()
		r, err := reader.OpenContext(t.Context(), p, reader.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if n, err := drain(t, r, 100); n != 2 || err != nil {
			t.Errorf("%d events, %v", n, err)
		}
	})
	t.Run("cancelled while skipping", func(t *testing.T) {
		data := strings.Repeat("{bad\n", 100_000)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		r, err := reader.NewContext(ctx, strings.NewReader(data), "mem", reader.Options{OnError: reader.Skip})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := drain(t, r, len(data)); !errors.Is(err, context.Canceled) || r.Skipped() > 1000 {
			t.Errorf("%v after %d skipped", err, r.Skipped())
		}
	})
	if _, err := reader.OpenContext(t.Context(), t.TempDir(), reader.Options{}); !errors.Is(err, mdr.ErrInvalid) {
		t.Errorf("a directory: %v", err)
	}
}
