package main

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mdrkit/mdr/detect"
)

// uninterrupted runs the whole stream through one correlator.
func uninterrupted(t *testing.T) []detect.CorrelationMatch {
	t.Helper()
	rs, err := compile()
	if err != nil {
		t.Fatal(err)
	}
	c, err := detect.NewCorrelator(rs, detect.DefaultCorrelatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := feed(ctx, rs, c, stream())
	if err != nil {
		t.Fatal(err)
	}
	fl, err := c.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return append(got, fl...)
}

// TestRun restarts at every point of the stream and checks that the output
// names the same correlation match as an uninterrupted run: the attacker's
// address, the five failures that made the threshold.
func TestRun(t *testing.T) {
	want := uninterrupted(t)
	if len(want) != 1 || want[0].Rule.ID != "password-guessing" ||
		!slices.Equal(want[0].EventIDs, []string{"ev-1", "ev-2", "ev-4", "ev-6", "ev-7"}) {
		t.Fatalf("uninterrupted run: %+v", want)
	}
	for after := 0; after <= len(stream()); after++ {
		var out bytes.Buffer
		dir := filepath.Join(t.TempDir(), "state")
		if err := run(context.Background(), &out, dir, after); err != nil {
			t.Fatalf("restart after %d: %v", after, err)
		}
		got := out.String()
		for _, s := range []string{
			"processed " + strconv.Itoa(after) + " events, 0 correlation matches; state saved to " + dir,
			"high  Password guessing from one address (password-guessing)",
			want[0].Explain(),
			"base events [ev-1 ev-2 ev-4 ev-6 ev-7]",
		} {
			if after >= 7 && strings.HasPrefix(s, "processed ") {
				s = "processed " + strconv.Itoa(after) + " events, 1 correlation matches"
			}
			if !strings.Contains(got, s) {
				t.Errorf("restart after %d: output lacks %q:\n%s", after, s, got)
			}
		}
		if n := strings.Count(got, "(password-guessing)"); n != 1 {
			t.Errorf("restart after %d: %d matches, want 1:\n%s", after, n, got)
		}
	}
}
