package badger

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/reader"
)

func sampleEvents(t testing.TB) []*mdr.Event {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = filepath.Dir(dir)
	}
	r, err := reader.Open(filepath.Join(dir, "..", "shared", "data", "events", "sigma_regression.jsonl"), reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []*mdr.Event
	for e, err := range r.All() {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestCodecEdgeValues(t *testing.T) {
	b := mdr.NewBuilder(8)
	b.Add("nan", mdr.Float(math.NaN()))
	b.Add("negzero", mdr.Float(math.Copysign(0, -1)))
	b.Add("min", mdr.Int(math.MinInt64))
	b.Add("max", mdr.Int(math.MaxInt64))
	b.Add("", mdr.String(""))
	b.Add("emptylist", mdr.List(nil))
	b.Add("nested", mdr.List([]mdr.Value{mdr.List([]mdr.Value{mdr.Object([]mdr.Field{{Key: "a", Value: mdr.List([]mdr.Value{mdr.Null()})}})})}))
	at := time.Date(1601, 1, 1, 0, 0, 0, 1, time.UTC) // before the Unix epoch
	e := b.FinishAs(mdr.Origin{Source: "x", Line: -1}, "id", at)
	got, err := decodeEvent(appendEvent(nil, e), mdr.NewBuilder(8))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Time().Equal(at) || got.Len() != e.Len() || got.Origin() != e.Origin() {
		t.Fatalf("got %v %d %+v", got.Time(), got.Len(), got.Origin())
	}
	for i := range e.Len() {
		w, g := e.Field(i), got.Field(i)
		if w.Key != g.Key {
			t.Fatalf("field %d key %q, want %q", i, g.Key, w.Key)
		}
		wf, wok := w.Value.Float()
		gf, _ := g.Value.Float()
		if w.Value.Kind() == mdr.KindFloat && wok && math.Float64bits(wf) != math.Float64bits(gf) {
			t.Errorf("field %q: float bits differ", w.Key)
		} else if w.Value.Kind() != mdr.KindFloat && !w.Value.Equal(g.Value) {
			t.Errorf("field %q: %v, want %v", w.Key, g.Value.Text(), w.Value.Text())
		}
	}
}

// TestCodecTruncated checks that every truncation of a real encoded event
// is an error, never a panic or a wrong event.
func TestCodecTruncated(t *testing.T) {
	evs := sampleEvents(t)
	var total int
	for _, e := range evs {
		enc := appendEvent(nil, e)
		total += len(enc)
		for i := 0; i < len(enc); i += 1 + len(enc)/50 {
			if _, err := decodeEvent(enc[:i], mdr.NewBuilder(8)); err == nil {
				t.Fatalf("event %q truncated to %d of %d bytes decoded without error", e.ID(), i, len(enc))
			}
		}
	}
	t.Logf("%d events, %.0f encoded bytes per event on average", len(evs), float64(total)/float64(len(evs)))
}

// FuzzDecodeEvent feeds damaged values to the decoder: it must return an
// error or an event, never panic, and a decoded event must re-encode to the
// same bytes.
func FuzzDecodeEvent(f *testing.F) {
	for _, e := range sampleEvents(f)[:20] {
		f.Add(appendEvent(nil, e))
	}
	f.Add([]byte{})
	f.Add([]byte{0, 2, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := decodeEvent(data, mdr.NewBuilder(8))
		if err != nil {
			return
		}
		if e == nil {
			t.Fatal("nil event without error")
		}
		if _, err := decodeEvent(appendEvent(nil, e), mdr.NewBuilder(8)); err != nil {
			t.Fatalf("re-encoded event does not decode: %v", err)
		}
	})
}

func BenchmarkEncodeEvent(b *testing.B) {
	evs := sampleEvents(b)
	var buf []byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = appendEvent(buf[:0], evs[i%len(evs)])
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	evs := sampleEvents(b)
	encs := make([][]byte, len(evs))
	for i, e := range evs {
		encs[i] = appendEvent(nil, e)
	}
	bld := mdr.NewBuilder(64)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := decodeEvent(encs[i%len(encs)], bld); err != nil {
			b.Fatal(err)
		}
	}
}
