package mdr_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/codec"
	"github.com/mdrkit/mdr/internal/shareddata"
)

// wideEvent is one JSON object with n distinct fields and, when dup, the
// first key once more at the end.
func wideEvent(n int, dup bool) []byte {
	var b strings.Builder
	b.WriteString(`{"@timestamp":"2026-01-02T03:04:05Z"`)
	for i := 0; i < n; i++ {
		b.WriteString(`,"f`)
		b.WriteString(strconv.Itoa(i))
		b.WriteString(`":`)
		b.WriteString(strconv.Itoa(i))
	}
	if dup {
		b.WriteString(`,"f0":"last"`)
	}
	b.WriteString("}")
	return []byte(b.String())
}

// TestWideEventDecodesInLinearTime is issue 17 defect 5: the duplicate-key
// check of Builder.Add rescanned every field, so one event of 100,000
// fields took 18 s to decode. The bound here is a hang guard, two orders of
// magnitude above what a linear check needs (BenchmarkDecodeWide measures
// it); duplicates are still found, the last one winning, in wide events.
func TestWideEventDecodesInLinearTime(t *testing.T) {
	line := wideEvent(100_000, true)
	start := time.Now()
	ev, err := codec.Decode(line, mdr.Origin{Source: "wide", Line: 1}, nil)
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("decoding 100,000 fields took %v", el)
	}
	if err != nil {
		t.Fatal(err)
	}
	if ev.Len() != 100_001 || !ev.DuplicateKeys() {
		t.Fatalf("%d fields, duplicate keys %v", ev.Len(), ev.DuplicateKeys())
	}
	if s, _ := ev.String("f0"); s != "last" {
		t.Errorf("f0 = %q, want the last occurrence", s)
	}
	if v, _ := ev.Int("f99999"); v != 99999 {
		t.Errorf("f99999 = %d", v)
	}
	// the builder is reused: a small event after a wide one is exact too
	b := mdr.NewBuilder(8)
	for _, n := range []int{2000, 3, 2000} {
		for i := 0; i < n; i++ {
			b.Add("k"+strconv.Itoa(i), mdr.Int(int64(i)))
		}
		b.Add("k1", mdr.String("again"))
		ev := b.Finish(mdr.Origin{}, nil)
		if ev.Len() != n || !ev.DuplicateKeys() {
			t.Fatalf("n=%d: %d fields, dup %v", n, ev.Len(), ev.DuplicateKeys())
		}
		if s, _ := ev.String("k1"); s != "again" {
			t.Fatalf("n=%d: k1=%q", n, s)
		}
	}
	if ev := mdr.NewEvent(mdr.Origin{}, mdr.Field{Key: "a", Value: mdr.Int(1)}); ev.DuplicateKeys() {
		t.Error("flag leaked into the next event")
	}
}

func BenchmarkDecodeWide(b *testing.B) {
	line := wideEvent(90_000, false)
	bld := mdr.NewBuilder(64)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := codec.Decode(line, mdr.Origin{}, bld); err != nil {
			b.Fatal(err)
		}
	}
}

func decodeLine(t *testing.T, line string) *mdr.Event {
	t.Helper()
	ev, err := codec.Decode([]byte(line), mdr.Origin{Source: "t", Line: 1}, nil)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return ev
}

// TestEventIDFields is issue 17 defect 3: "uid" (on auditd the Unix user id)
// and "id" made unrelated events share an id, and numbers and strings with
// the same text collided, so stores dropped distinct events as duplicates.
func TestEventIDFields(t *testing.T) {
	distinct := []string{
		// auditd records of one user: the uid is not an event id
		`{"type":"SYSCALL","audit_serial":7,"uid":"1000","exe":"/bin/dd"}`,
		`{"type":"SYSCALL","audit_serial":8,"uid":"1000","exe":"/bin/ls"}`,
		`{"id":1,"a":1}`, `{"id":1,"a":2}`,
		`{"EventId":4688,"a":1}`, `{"EventId":4688,"a":2}`,
		// the same text as string, integer and float
		`{"_id":"12345"}`, `{"_id":12345}`, `{"_id":1.2345e4}`,
		// a string that looks like a derived id
		`{"_id":"n:12345"}`, `{"_id":"h:1"}`, `{"_id":"w:1:a/b/1"}`,
		// Windows records: the record number counts per computer and channel
		`{"EventRecordID":5,"Computer":"A","Channel":"Security"}`,
		`{"EventRecordID":5,"Computer":"B","Channel":"Security"}`,
		`{"EventRecordID":5,"Computer":"A","Channel":"System"}`,
		`{"EventRecordID":5,"Computer":"A/x","Channel":"y"}`,
		`{"EventRecordID":5,"Computer":"A","Channel":"x/y"}`,
	}
	seen := map[string]string{}
	for _, line := range distinct {
		id := decodeLine(t, line).ID()
		if prev, ok := seen[id]; ok {
			t.Errorf("%s and %s share the id %q", prev, line, id)
		}
		seen[id] = line
	}
	same := [][2]string{
		// a record number as a number or a numeric string is the same record
		{`{"EventRecordID":5,"Computer":"A","Channel":"Security","x":1}`, `{"EventRecordID":"5","Computer":"A","Channel":"Security","x":2}`},
		{`{"winlog":{"record_id":9,"computer_name":"A","channel":"Security"},"x":1}`, `{"winlog":{"record_id":9,"computer_name":"A","channel":"Security"},"x":2}`},
		{`{"event":{"id":"abc"},"x":1}`, `{"event":{"id":"abc"},"x":2}`},
		{`{"metadata":{"uid":"u1"},"x":1}`, `{"metadata":{"uid":"u1"},"x":2}`},
		{`{"_id":"lnx:1","x":1}`, `{"_id":"lnx:1","x":2}`},
	}
	for _, p := range same {
		if a, b := decodeLine(t, p[0]).ID(), decodeLine(t, p[1]).ID(); a != b {
			t.Errorf("%s: %q, %s: %q: want one id", p[0], a, p[1], b)
		}
	}
	if id := decodeLine(t, `{"_id":"lnx:1"}`).ID(); id != "lnx:1" {
		t.Errorf("a string _id is kept as it is: %q", id)
	}
	if id := decodeLine(t, `{"_id":null,"_x":1}`).ID(); !strings.HasPrefix(id, "h:") {
		t.Errorf("a null _id: %q", id)
	}
}

// TestEventIDsRealLinuxWithoutID: every one of the 404 events of the shared
// linux.jsonl (auditd, Sysmon for Linux) keeps a distinct id when its _id is
// removed (before the fix: 249 distinct ids, 155 events lost as duplicates).
func TestEventIDsRealLinuxWithoutID(t *testing.T) {
	raw, err := os.ReadFile(shareddata.Path(t, "events", "linux.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	strip := regexp.MustCompile(`,?"_id":"[^"]*"`)
	ids := map[string]bool{}
	n := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(raw)), "\n") {
		ev := decodeLine(t, strip.ReplaceAllString(line, ""))
		if ev.Has("_id") {
			t.Fatalf("_id not removed: %s", line)
		}
		ids[ev.ID()] = true
		n++
	}
	if n != 404 || len(ids) != n {
		t.Errorf("%d events, %d distinct ids", n, len(ids))
	}
}
