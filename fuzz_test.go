package mdr_test

import (
	"bufio"
	"fmt"
	"os"
	"strings"
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
// every field the event lists is found again by Get with the same value,
// no key is listed twice (the builder's duplicate check, linear since issue
// 17, must hold for wide events too), and the event's id comes only from a
// field that identifies events (never "id" or "uid"), the same on every
// decode; ids of a string, an integer, a float and a Windows record never
// collide.
func FuzzFieldPath(f *testing.F) {
	seedLines(f, 10, func(line string) { f.Add(line, "Image") })
	f.Add(`{"process":{"parent":{"executable":"x"}}}`, "process.parent.executable")
	f.Add(`{"a.b":1,"a":{"b":2}}`, "a.b")
	var wide strings.Builder
	wide.WriteString(`{"uid":"1000","id":7`)
	for i := 0; i < 150; i++ {
		fmt.Fprintf(&wide, `,"k%d":%d`, i%97, i)
	}
	wide.WriteString(`,"k3":{"x":1},"k3.x":2}`)
	f.Add(wide.String(), "k3.x")
	f.Add(`{"EventRecordID":"0x10","Computer":"a/b","Channel":"c"}`, "n:16")
	f.Fuzz(func(t *testing.T, doc, path string) {
		idChecks(t, path, doc)
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
		seen := map[string]bool{}
		for k, v := range ev.Fields() {
			if seen[k] {
				t.Fatalf("key %q listed twice", k)
			}
			seen[k] = true
			got, ok := ev.Get(k)
			if !ok || !got.Equal(v) {
				t.Fatalf("field %q not found again", k)
			}
			v.Text()
			v.Any()
		}
		again, _ := codec.Decode([]byte(doc), mdr.Origin{Source: "other", Line: 9}, nil)
		if again.ID() != ev.ID() {
			t.Fatalf("id %q, then %q", ev.ID(), again.ID())
		}
		identified := false
		for _, k := range mdr.IDFields {
			identified = identified || ev.Has(k)
		}
		for _, w := range mdr.WindowsRecordFields {
			identified = identified || ev.Has(w[0])
		}
		if !identified && !strings.HasPrefix(ev.ID(), "h:") {
			t.Fatalf("id %q of an event without an id field", ev.ID())
		}
	})
}

// idChecks: the ids of events whose id field holds s, an integer or a float
// differ, and so do those of two Windows records that differ in computer or
// channel.
func idChecks(t *testing.T, s, s2 string) {
	id := func(fields ...mdr.Field) string { return mdr.NewEvent(mdr.Origin{}, fields...).ID() }
	f := func(k string, v mdr.Value) mdr.Field { return mdr.Field{Key: k, Value: v} }
	n := int64(len(s))
	ids := []string{id(f("_id", mdr.String(s))), id(f("_id", mdr.Int(n))), id(f("_id", mdr.Float(float64(n)+0.5)))}
	if s == "" {
		ids = ids[1:]
	}
	if s != "" && s != s2 && id(f("event.id", mdr.String(s))) == id(f("event.id", mdr.String(s2))) {
		t.Fatalf("event.id %q and %q share an id", s, s2)
	}
	if s != "" && s2 != "" && s != s2 {
		a := id(f("EventRecordID", mdr.Int(5)), f("Computer", mdr.String(s)), f("Channel", mdr.String(s2)))
		b := id(f("EventRecordID", mdr.Int(5)), f("Computer", mdr.String(s2)), f("Channel", mdr.String(s)))
		ids = append(ids, a, b)
	}
	seen := map[string]bool{}
	for _, x := range ids {
		if seen[x] {
			t.Fatalf("ids %q collide (%q, %q)", ids, s, s2)
		}
		seen[x] = true
	}
}
