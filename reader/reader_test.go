package reader_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
)

func readAll(t *testing.T, r *reader.Reader) ([]*mdr.Event, error) {
	t.Helper()
	var out []*mdr.Event
	for ev, err := range r.All() {
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
	return out, nil
}

func newReader(t *testing.T, data string, opts reader.Options) *reader.Reader {
	t.Helper()
	r, err := reader.New(strings.NewReader(data), "mem", opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func gz(data string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(data))
	w.Close()
	return b.String()
}

func TestFormats(t *testing.T) {
	nd := "{\"a\":1}\n\n{\"a\":2}\r\n  {\"a\":3}  \n"
	arr := " [ {\"a\":1} , {\"a\":2,\"s\":\"],}{\\\"\"},\n{\"a\":3,\"n\":{\"x\":[1,{\"y\":2}]}} ] \n"
	for name, data := range map[string]string{"ndjson": nd, "array": arr, "gzip-ndjson": gz(nd), "gzip-array": gz(arr), "bom": "\xEF\xBB\xBF" + nd, "no-final-newline": strings.TrimRight(nd, "\n")} {
		t.Run(name, func(t *testing.T) {
			evs, err := readAll(t, newReader(t, data, reader.Options{}))
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 3 {
				t.Fatalf("got %d events", len(evs))
			}
			for i, ev := range evs {
				if v, _ := ev.Int("a"); v != int64(i+1) {
					t.Errorf("event %d: a=%d", i, v)
				}
			}
			if strings.Contains(name, "array") {
				if s, _ := evs[1].String("s"); s != `],}{"` {
					t.Errorf("string with brackets: %q", s)
				}
				if evs[2].Origin().Line != 3 {
					t.Errorf("element number %d", evs[2].Origin().Line)
				}
			} else if !strings.Contains(name, "bom") && evs[2].Origin().Line != 4 {
				t.Errorf("line number %d", evs[2].Origin().Line)
			}
		})
	}
}

func TestEmptyInputs(t *testing.T) {
	for _, data := range []string{"", "\n\n", "[]", " [ ] ", gz("")} {
		evs, err := readAll(t, newReader(t, data, reader.Options{}))
		if err != nil || len(evs) != 0 {
			t.Errorf("%q: %d events, %v", data, len(evs), err)
		}
	}
}

func TestMalformedStopAndSkip(t *testing.T) {
	data := "{\"a\":1}\n{\"a\":\n{\"a\":3}\n[1,2]\n{\"a\":5}\n"
	_, err := readAll(t, newReader(t, data, reader.Options{}))
	var le *reader.LineError
	if !errors.As(err, &le) || le.Line != 2 || le.Source != "mem" || !errors.Is(err, reader.ErrMalformed) || !errors.Is(err, mdr.ErrInvalid) {
		t.Fatalf("stop: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "mem:2:") {
		t.Errorf("error text %q", err)
	}
	var skipped []int64
	r := newReader(t, data, reader.Options{OnError: reader.Skip, OnSkip: func(e *reader.LineError) { skipped = append(skipped, e.Line) }})
	evs, err := readAll(t, r)
	if err != nil || len(evs) != 3 || r.Skipped() != 2 || len(skipped) != 2 || skipped[0] != 2 || skipped[1] != 4 {
		t.Fatalf("skip: %d events, %v, skipped %d %v", len(evs), err, r.Skipped(), skipped)
	}
	if evs[2].Origin().Line != 5 {
		t.Errorf("line after skips = %d", evs[2].Origin().Line)
	}
}

func TestLineLimit(t *testing.T) {
	long := `{"a":"` + strings.Repeat("x", 5000) + `"}`
	data := "{\"a\":1}\n" + long + "\n{\"a\":3}\n"
	_, err := readAll(t, newReader(t, data, reader.Options{MaxLineBytes: 1000}))
	if !errors.Is(err, reader.ErrLineTooLong) || !errors.Is(err, mdr.ErrLimit) {
		t.Fatalf("want too long, got %v", err)
	}
	r := newReader(t, data, reader.Options{MaxLineBytes: 1000, OnError: reader.Skip})
	evs, err := readAll(t, r)
	if err != nil || len(evs) != 2 || r.Skipped() != 1 {
		t.Fatalf("skip long: %d %v", len(evs), err)
	}
	if v, _ := evs[1].Int("a"); v != 3 || evs[1].Origin().Line != 3 {
		t.Errorf("after long line: a=%d line=%d", v, evs[1].Origin().Line)
	}
	// a line longer than the bufio buffer but within the limit is read whole
	big := `{"a":"` + strings.Repeat("y", 600<<10) + `"}`
	evs, err = readAll(t, newReader(t, big+"\n", reader.Options{}))
	if err != nil || len(evs) != 1 {
		t.Fatalf("600 KiB line: %v", err)
	}
	// the same limit applies to JSON array elements
	_, err = readAll(t, newReader(t, "["+long+"]", reader.Options{MaxLineBytes: 1000}))
	if !errors.Is(err, reader.ErrLineTooLong) {
		t.Fatalf("array element: %v", err)
	}
}

func TestArrayErrors(t *testing.T) {
	for _, data := range []string{`[{"a":1}`, `[{"a":1},`, `[{"a":1}] x`, `[{"a":1}}]`} {
		if _, err := readAll(t, newReader(t, data, reader.Options{})); err == nil {
			t.Errorf("%q accepted", data)
		}
	}
}

func TestOpenFileAndGzipFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.jsonl.gz")
	os.WriteFile(p, []byte(gz("{\"a\":1}\n{\"a\":2}\n")), 0o600)
	r, err := reader.Open(p, reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	evs, err := readAll(t, r)
	if err != nil || len(evs) != 2 || evs[0].Origin().Source != p {
		t.Fatalf("%d %v", len(evs), err)
	}
	if _, err := reader.Open(filepath.Join(dir, "missing"), reader.Options{}); err == nil {
		t.Error("missing file opened")
	}
	if _, err := reader.New(strings.NewReader("\x1f\x8bnot gzip"), "bad", reader.Options{}); err == nil {
		t.Error("bad gzip accepted")
	}
}

// TestRealLogs reads every real log and checks every line became an event
// with a time and an id.
func TestRealLogs(t *testing.T) {
	for _, name := range shareddata.EventFiles {
		p := shareddata.Path(t, "events", name)
		raw, _ := os.ReadFile(p)
		lines := bytes.Count(raw, []byte("\n"))
		r, err := reader.Open(p, reader.Options{})
		if err != nil {
			t.Fatal(err)
		}
		n, noTime, ids := 0, 0, map[string]bool{}
		for ev, err := range r.All() {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			n++
			if ev.Time().IsZero() {
				noTime++
			}
			ids[ev.ID()] = true
		}
		r.Close()
		if n != lines || len(ids) != n {
			t.Errorf("%s: %d events from %d lines, %d distinct ids", name, n, lines, len(ids))
		}
		if noTime > 0 {
			t.Errorf("%s: %d events without a time", name, noTime)
		}
		t.Logf("%s: %d events", name, n)
	}
}

func BenchmarkReadDecode(b *testing.B) {
	p := shareddata.Path(b, "events", "evtx_attack_samples.jsonl")
	data, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var events int64
	for i := 0; i < b.N; i++ {
		r, _ := reader.New(bytes.NewReader(data), "bench", reader.Options{})
		for r.Next() {
			events++
		}
		if r.Err() != nil {
			b.Fatal(r.Err())
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkReadDecodeGzip(b *testing.B) {
	p := shareddata.Path(b, "events", "benchmark.jsonl.gz")
	b.ReportAllocs()
	var events, bytesRead int64
	for i := 0; i < b.N; i++ {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		r, err := reader.New(f, "bench", reader.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for r.Next() && r.Count() < 200000 {
			events++
		}
		bytesRead += r.Bytes()
		r.Close()
		f.Close()
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(bytesRead)/1e6/b.Elapsed().Seconds(), "MB/s")
}

var _ = io.EOF
