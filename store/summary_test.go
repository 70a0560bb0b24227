package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// TestSummary checks that a summary never answers "no" for a value or a
// token it was given, that normalisation folds the two non-ASCII runes that
// fold to ASCII, and that the false-positive rate is near its design.
func TestSummary(t *testing.T) {
	b := store.NewSummaryBuilder(nil)
	for i := range 2000 {
		b.Add(mdr.NewEvent(mdr.Origin{}, mdr.Field{Key: "Image", Value: mdr.String(fmt.Sprintf(`C:\Tools\Prog%d.EXE`, i))},
			mdr.Field{Key: "EventID", Value: mdr.Int(int64(i % 10))},
			mdr.Field{Key: "Computer", Value: mdr.String("ſERVER-K")},
			mdr.Field{Key: "Nested", Value: mdr.Object([]mdr.Field{{Key: "Cmd", Value: mdr.String("whoami /all")}})},
			mdr.Field{Key: "TimeCreated", Value: mdr.String(time.Unix(int64(i), 0).UTC().Format(time.RFC3339))}))
	}
	s, err := store.DecodeSummary(b.AppendTo(nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.Events != 2000 {
		t.Fatalf("Events = %d", s.Events)
	}
	for i := range 2000 {
		if !s.MayHaveValue("Image", store.Normalize(fmt.Sprintf(`c:\tools\PROG%d.exe`, i))) || !s.MayHaveToken(fmt.Sprintf("prog%d.exe", i)) {
			t.Fatalf("value or token %d missing", i)
		}
	}
	if !s.MayHaveValue("Computer", "server-k") || !s.MayHaveToken("server-k") || !s.MayHaveValue("Nested.Cmd", "whoami /all") || !s.MayHaveToken("whoami") {
		t.Fatal("normalised or nested values missing")
	}
	if vals, ok := s.Values("EventID"); !ok || len(vals) != 10 {
		t.Fatalf("EventID list = %v, %v", vals, ok)
	}
	if s.MayHaveValue("EventID", "11") {
		t.Fatal("EventID 11 is not in the complete list")
	}
	fp := 0
	for i := range 10000 {
		if s.MayHaveToken(fmt.Sprintf("absent%d", i)) {
			fp++
		}
	}
	if fp > 500 {
		t.Fatalf("false-positive rate %d/10000", fp)
	}
	t.Logf("false positives: %d of 10000 absent tokens", fp)
	// a listed field holding a list is not listed: the filter answers
	b.Reset()
	b.Add(mdr.NewEvent(mdr.Origin{}, mdr.Field{Key: "EventID", Value: mdr.List([]mdr.Value{mdr.Int(7), mdr.Int(8)})}))
	s, err = store.DecodeSummary(b.AppendTo(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, complete := s.Values("EventID"); complete || !s.MayHaveValue("EventID", "8") {
		t.Fatal("a list-valued EventID was listed, or its elements are missing")
	}
	if _, err := store.DecodeSummary([]byte{1, 5}); err == nil {
		t.Fatal("a truncated summary decoded")
	}
}
