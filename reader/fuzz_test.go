package reader_test

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
)

// FuzzReader: any input, read as NDJSON, JSON array or gzip, under either
// error policy, never panics, never yields more events than it has records,
// and every error it reports is a *LineError or an I/O error with the source.
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
	f.Fuzz(func(t *testing.T, data string, mode uint8) {
		opts := reader.Options{MaxLineBytes: 4096}
		if mode&1 == 1 {
			opts.OnError = reader.Skip
		}
		r, err := reader.New(strings.NewReader(data), "fuzz", opts)
		if err != nil {
			return
		}
		n := 0
		for ev, err := range r.All() {
			if err != nil {
				var le *reader.LineError
				if !errors.As(err, &le) && !strings.HasPrefix(err.Error(), "fuzz") {
					t.Fatalf("error without source: %v", err)
				}
				break
			}
			n++
			if ev.Origin().Source != "fuzz" || ev.Origin().Line < 1 {
				t.Fatalf("bad origin %+v", ev.Origin())
			}
			ev.Get("a")
		}
		if n > len(data) {
			t.Fatalf("%d events from %d bytes", n, len(data))
		}
		_ = mdr.Origin{}
	})
}
