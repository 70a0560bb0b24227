package sim_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/mdrkit/mdr/sim"
)

func generate(t testing.TB, name string, seed int64) *sim.Run {
	t.Helper()
	r, err := sim.Generate(context.Background(), name, seed)
	if err != nil {
		t.Fatalf("%s seed %d: %v", name, seed, err)
	}
	return r
}

func ndjson(t testing.TB, r *sim.Run) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := r.Fleet.WriteNDJSON(&b, 0); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDeterministic(t *testing.T) {
	for _, name := range sim.Scenarios() {
		a := ndjson(t, generate(t, name, 42))
		b := ndjson(t, generate(t, name, 42))
		c := ndjson(t, generate(t, name, 43))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: same seed, different events", name)
		}
		if bytes.Equal(a, c) {
			t.Errorf("%s: different seeds, same events", name)
		}
	}
}
