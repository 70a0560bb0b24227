package reader_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
)

// FuzzReader: any input, read as NDJSON, JSON array or gzip, under either
// error policy, never panics, ends (never more events plus skipped records
// than the input has bytes: an endless loop fails here), and every error it
// reports is a *LineError or an I/O error with the source.
func FuzzReader(f *testing.F) {
	var lines []string
	for _, name := range shareddata.EventFiles {
		fh, err := os.Open(shareddata.Path(f, "events", name))
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for i := 0; i < 3 && sc.Scan(); i++ {
			lines = append(lines, sc.Text())
		}
		fh.Close()
	}
	f.Add(strings.Join(lines, "\n"), uint8(0))
	f.Add("["+strings.Join(lines, ",")+"]", uint8(1))
	f.Add(gz(strings.Join(lines, "\n")), uint8(0))
	f.Add("{\"a\":1}\n{bad\n", uint8(1))
	f.Add("[{\"a\":\"]\"},{\"b\":[1,2]}]", uint8(0))
	// issue 17: unterminated arrays under Skip looped forever; commas
	for _, s := range []string{"[", "[{\"a\":1}", "[{\"a\":1},", "[,{\"a\":1}]", "[{\"a\":1},,{}]", "[{},]", "[{} {}]"} {
		f.Add(s, uint8(1))
		f.Add(gz(s), uint8(1))
	}
	f.Add("{\"a\":1}\n{\"a\":2}\n", uint8(2))
	f.Add("[{\"a\":1},{\"a\":2}]", uint8(6))
	f.Fuzz(func(t *testing.T, data string, mode uint8) {
		// mode bit 1: read data gzipped and cut short (by 1 + mode>>2
		// bytes), which must end in an error, never as a clean end
		// (issue 17: a gzip without its trailer was taken for complete)
		cut := mode&2 != 0
		if cut {
			z := gz(data)
			data = z[:len(z)-1-int(mode>>2)%len(z)]
		}
		opts := reader.Options{MaxLineBytes: 4096}
		var skips int
		var r *reader.Reader
		// A record takes at least one byte of the (uncompressed) input:
		// more records than bytes read means the reader loops. Gzip input
		// may hold many more records than compressed bytes, so the bound
		// is the uncompressed bytes the reader consumed.
		limit := func() int64 {
			if r == nil {
				return int64(len(data)) + 1
			}
			return max(r.Bytes(), int64(len(data))) + 1
		}
		if mode&1 == 1 {
			opts.OnError = reader.Skip
			opts.OnSkip = func(le *reader.LineError) {
				if skips++; int64(skips) > limit() {
					panic(fmt.Sprintf("%d records skipped from %d bytes: the reader loops (last %v)", skips, limit()-1, le))
				}
			}
		}
		r, err := reader.New(strings.NewReader(data), "fuzz", opts)
		if err != nil {
			return
		}
		n := 0
		for r.Next() {
			ev := r.Event()
			n++
			if ev.Origin().Source != "fuzz" || ev.Origin().Line < 1 {
				t.Fatalf("bad origin %+v", ev.Origin())
			}
			ev.Get("a")
			if int64(n)+r.Skipped() > limit() {
				break
			}
		}
		// skipped records are counted before Next returns: a reader that
		// loops on a malformed record is caught through OnSkip
		if int64(n)+r.Skipped() > limit() {
			t.Fatalf("%d events and %d skipped from %d bytes", n, r.Skipped(), limit()-1)
		}
		if cut && r.Err() == nil && len(data) >= 10 {
			t.Fatalf("a cut gzip stream read as complete (%d events)", n)
		}
		if err := r.Err(); err != nil {
			var le *reader.LineError
			if !errors.As(err, &le) && !strings.HasPrefix(err.Error(), "fuzz") {
				t.Fatalf("error without source: %v", err)
			}
		}
		_ = mdr.Origin{}
	})
}
