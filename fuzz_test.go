package mdr_test

import (
	"bufio"
	"os"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/codec"
	"github.com/mdrkit/mdr/internal/shareddata"
)

// seedLines adds up to n lines of each real log as fuzz seeds.
func seedLines(f *testing.F, n int, add func(line string)) {
	for _, name := range shareddata.EventFiles {
		fh, err := os.Open(shareddata.Path(f, "events", name))
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for i := 0; i < n && sc.Scan(); i++ {
			add(sc.Text())
		}
		fh.Close()
	}
}

// FuzzParseTime: the timestamp parser never panics, and what it accepts
// parses identically twice and lies in a sane range.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2025-12-06T21:11:02.649150800Z", "2025-12-06 21:11:02.632", "1604996384.965", "1604996384965", "2025-12-06T23:11:02+02:00", "", "0x10"} {
		f.Add(s)
	}
	seedLines(f, 20, func(line string) {
		ev, err := codec.Decode([]byte(line), mdr.Origin{}, nil)
		if err != nil {
			return
		}
		for _, k := range mdr.TimeFields {
			if s, ok := ev.String(k); ok {
				f.Add(s)
			}
		}
	})
	f.Fuzz(func(t *testing.T, s string) {
		a, errA := mdr.ParseTime(s)
		b, errB := mdr.ParseTime(s)
		if (errA == nil) != (errB == nil) || !a.Equal(b) {
			t.Fatalf("unstable parse of %q", s)
		}
		if errA == nil && (a.Year() < -1 || a.Year() > 10000) {
			t.Fatalf("%q parsed to %v", s, a)
		}
	})
}

// FuzzFieldPath: decoding arbitrary JSON and reading any path never panics,
// and every field the event lists is found again by Get with the same value.
func FuzzFieldPath(f *testing.F) {
	seedLines(f, 10, func(line string) { f.Add(line, "Image") })
	f.Add(`{"process":{"parent":{"executable":"x"}}}`, "process.parent.executable")
	f.Add(`{"a.b":1,"a":{"b":2}}`, "a.b")
	f.Fuzz(func(t *testing.T, doc, path string) {
		ev, err := codec.Decode([]byte(doc), mdr.Origin{}, nil)
		if err != nil {
			return
		}
		ev.Get(path)
		ev.Int(path)
		ev.Float(path)
		ev.Bool(path)
		ev.Text(path)
		ev.HasPrefix(path)
		for k, v := range ev.Fields() {
			got, ok := ev.Get(k)
			if !ok || !got.Equal(v) {
				t.Fatalf("field %q not found again", k)
			}
			v.Text()
			v.Any()
		}
	})
}
