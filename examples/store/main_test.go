package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun stores the sample twice in one directory and checks what the
// scan reads back: the network connections of the first half, in time
// order, and no event stored twice.
func TestRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	var out bytes.Buffer
	if err := run(context.Background(), &out, dir, bytes.NewReader(sample), "events.ndjson"); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"ingested 7 events from events.ndjson (0 already stored, 0 malformed lines skipped)",
		"the store holds 7 events from 2026-05-04T10:00:01Z to 2026-05-04T10:30:00Z",
		"network connections in [10:00:01, 10:15:00):",
		"10:00:01.410  lab-2",
		"10:12:30.550  lab-4",
		"get lab-2: ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"lab-1 ", "lab-3", "lab-5", "lab-7"} {
		if strings.Contains(got, "  "+not) {
			t.Errorf("scan yielded %s:\n%s", not, got)
		}
	}
	if strings.Index(got, "lab-2") > strings.Index(got, "lab-4") {
		t.Errorf("scan out of time order:\n%s", got)
	}
	out.Reset()
	if err := run(context.Background(), &out, dir, bytes.NewReader(sample), "events.ndjson"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ingested 0 events from events.ndjson (7 already stored") ||
		!strings.Contains(out.String(), "the store holds 7 events") {
		t.Errorf("second run:\n%s", out.String())
	}
}

// TestRunBadInput: a malformed line is skipped and counted.
func TestRunBadInput(t *testing.T) {
	in := strings.NewReader("{\"_id\":\"a\",\"UtcTime\":\"2026-05-04 10:00:00.000\",\"EventID\":3}\nnot json\n")
	var out bytes.Buffer
	if err := run(context.Background(), &out, t.TempDir(), in, "bad.ndjson"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ingested 1 events from bad.ndjson (0 already stored, 1 malformed lines skipped)") {
		t.Errorf("output:\n%s", out.String())
	}
}
