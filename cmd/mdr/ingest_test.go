package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
)

// ingestData returns the path of a file under ../shared/data/events.
func ingestData(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = filepath.Dir(dir)
	}
	p := filepath.Join(dir, "..", "shared", "data", "events", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test data missing: %v", err)
	}
	return p
}

func TestIngest(t *testing.T) {
	ctx := t.Context()
	src := ingestData(t, "sigma_regression.jsonl")
	dir := filepath.Join(t.TempDir(), "store")

	// a gzip copy with a malformed line in the middle
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(raw, []byte("\n"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Join(lines[:100], nil))
	zw.Write([]byte("{not json\n"))
	zw.Write(bytes.Join(lines[100:], nil))
	zw.Close()
	gzPath := filepath.Join(t.TempDir(), "events.jsonl.gz")
	if err := os.WriteFile(gzPath, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	var out, errOut strings.Builder
	if err := runIngest(ctx, []string{"--store", dir, "--batch", "50", gzPath}, &out, &errOut); err != nil {
		t.Fatalf("ingest: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "ingested 237 events") || !strings.Contains(out.String(), "237 stored") ||
		!strings.Contains(out.String(), "1 malformed lines skipped") {
		t.Errorf("summary: %s", out.String())
	}
	if !strings.Contains(errOut.String(), ":101:") {
		t.Errorf("the malformed line is not reported with its number: %s", errOut.String())
	}

	// again, from the plain file: every event is a duplicate
	out.Reset()
	if err := runIngest(ctx, []string{"--store", dir, "--sync", src}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "0 stored, 237 duplicates") {
		t.Errorf("re-ingest summary: %s", out.String())
	}

	// progress lines on stderr
	errOut.Reset()
	if err := runIngest(ctx, []string{"--store", dir, "--batch", "10", "--progress", "1ns", src}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(errOut.String(), "events/s"); n < 10 {
		t.Errorf("%d progress lines, want one per batch:\n%s", n, errOut.String())
	}

	// --on-error stop names the line
	err = runIngest(ctx, []string{"--store", dir, "--on-error", "stop", gzPath}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), ":101:") {
		t.Errorf("--on-error stop: %v", err)
	}

	s, err := badger.Open(badger.DefaultConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.CountEvents(ctx, time.Time{}, time.Time{}); err != nil || n != 237 {
		t.Errorf("store holds %d events (%v), want 237", n, err)
	}
	first := true
	for e, err := range s.ScanEvents(ctx, store.EventQuery{Limit: 1}) {
		if err != nil || e.Origin().Source != gzPath || !first {
			t.Errorf("first event: %v, %v", e.Origin(), err)
		}
		first = false
	}
}

func TestIngestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--store", t.TempDir(), "--batch", "0"},
		{"--store", t.TempDir(), "--on-error", "maybe"},
		{"--store", t.TempDir(), "--progress", "-1s"},
		{"--no-such-flag"},
	} {
		var out, errOut strings.Builder
		if err := runIngest(t.Context(), args, &out, &errOut); !errors.Is(err, errUsage) {
			t.Errorf("runIngest(%q) = %v, want errUsage", args, err)
		}
	}
	var out, errOut strings.Builder
	if err := runIngest(t.Context(), []string{"--store", t.TempDir(), filepath.Join(t.TempDir(), "missing.jsonl")}, &out, &errOut); err == nil || errors.Is(err, errUsage) {
		t.Errorf("missing input file: %v", err)
	}
}

// failAfter is a source that yields n bytes, then fails.
type failAfter struct {
	n   int
	err error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(len(p), f.n)
	for i := range p[:k] {
		p[i] = byte(f.n - i)
	}
	f.n -= k
	return k, nil
}

// opened is an open function for newReadAhead that returns src.
func opened(src io.Reader, release func()) func() (io.Reader, func(), error) {
	return func() (io.Reader, func(), error) { return src, release, nil }
}

func TestReadAhead(t *testing.T) {
	// the bytes come through in order across block boundaries
	want := make([]byte, 3<<20+12345)
	for i := range want {
		want[i] = byte(i*7 + i>>11)
	}
	released := make(chan struct{})
	ra := newReadAhead(t.Context(), opened(bytes.NewReader(want), func() { close(released) }))
	got, err := io.ReadAll(ra)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes (%v), want the %d bytes of the source", len(got), err, len(want))
	}
	ra.Close()
	<-released

	// a source error reaches the reader after the bytes before it
	boom := errors.New("disk on fire")
	ra = newReadAhead(t.Context(), opened(&failAfter{n: 5 << 20, err: boom}, func() {}))
	got, err = io.ReadAll(ra)
	if !errors.Is(err, boom) || len(got) != 5<<20 {
		t.Errorf("read %d bytes, error %v; want 5 MiB then %v", len(got), err, boom)
	}
	ra.Close()

	// Close while the goroutine is blocked on a full queue releases the source
	released = make(chan struct{})
	ra = newReadAhead(t.Context(), opened(&failAfter{n: 64 << 20, err: io.EOF}, func() { close(released) }))
	var p [10]byte
	if _, err := ra.Read(p[:]); err != nil {
		t.Fatal(err)
	}
	ra.Close()
	select {
	case <-released:
	case <-time.After(10 * time.Second):
		t.Fatal("the source was not released after Close")
	}
}

func TestIngestProfiles(t *testing.T) {
	src := ingestData(t, "sigma_regression.jsonl")
	tmp := t.TempDir()
	cpu, mem := filepath.Join(tmp, "cpu.prof"), filepath.Join(tmp, "mem.prof")
	var out, errOut strings.Builder
	if err := runIngest(t.Context(), []string{"--store", filepath.Join(tmp, "store"), "--cpuprofile", cpu, "--memprofile", mem, src}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	for _, p := range []string{cpu, mem} {
		if info, err := os.Stat(p); err != nil || info.Size() == 0 {
			t.Errorf("profile %s: %v", p, err)
		}
	}
}

// TestReadAheadEnds is issue 17 defects 1 and 2 in mdr ingest: a Read after
// the end of input panicked (slice bounds out of range), and the
// io.ErrUnexpectedEOF of a truncated gzip stream was taken for a clean end
// (io.ReadFull's own meaning of it). The end and every error are sticky,
// and a Read waiting for input returns when the context is done.
func TestReadAheadEnds(t *testing.T) {
	ra := newReadAhead(t.Context(), opened(strings.NewReader("["), func() {}))
	var p [8]byte
	if n, err := ra.Read(p[:]); n != 1 || err != nil {
		t.Fatalf("%d %v", n, err)
	}
	for i := 0; i < 3; i++ {
		if n, err := ra.Read(p[:]); n != 0 || err != io.EOF {
			t.Fatalf("read %d after the end: %d %v", i, n, err)
		}
	}
	ra.Close()

	ra = newReadAhead(t.Context(), opened(&failAfter{n: 3 << 20, err: io.ErrUnexpectedEOF}, func() {}))
	got, err := io.ReadAll(ra)
	if err != io.ErrUnexpectedEOF || len(got) != 3<<20 {
		t.Errorf("read %d bytes, %v; want 3 MiB then unexpected EOF", len(got), err)
	}
	if _, err := ra.Read(p[:]); err != io.ErrUnexpectedEOF {
		t.Errorf("the error is not sticky: %v", err)
	}
	ra.Close()

	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(t.Context())
	ra = newReadAhead(ctx, opened(pr, func() {}))
	time.AfterFunc(50*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() { _, err := ra.Read(p[:]); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a Read waiting for input ignored the context")
	}
	ra.Close()
}

// TestIngestHostile is issue 17 defects 1 and 2 through runIngest: an
// unclosed or cut JSON array and a damaged gzip are errors, reported after
// the events before the damage are stored.
func TestIngestHostile(t *testing.T) {
	for _, c := range []struct {
		file   string
		stored string // in the summary
		errSub string // in the error; "" for none
	}{
		{"unclosed-array.json", "0 stored", ""},
		{"cut-array.json", "5 stored", ""},
		{"cut.jsonl.gz", "", "unexpected EOF"},
		{"no-trailer.jsonl.gz", "3000 stored", "unexpected EOF"},
	} {
		t.Run(c.file, func(t *testing.T) {
			var out, errOut strings.Builder
			err := runIngest(t.Context(), []string{"--store", t.TempDir(), filepath.Join("..", "..", "testdata", "hostile", c.file)}, &out, &errOut)
			if c.errSub == "" {
				if err != nil {
					t.Fatalf("%v\n%s", err, errOut.String())
				}
				if !strings.Contains(errOut.String(), "unterminated JSON array") || !strings.Contains(out.String(), "1 malformed lines skipped") {
					t.Errorf("the cut is not reported: %s%s", out.String(), errOut.String())
				}
			} else if err == nil || !strings.Contains(err.Error(), c.errSub) || !strings.Contains(err.Error(), "kept") {
				t.Fatalf("error %v, want %q", err, c.errSub)
			}
			if !strings.Contains(out.String(), c.stored) {
				t.Errorf("summary %q, want %q", out.String(), c.stored)
			}
			if c.file == "cut.jsonl.gz" && strings.Contains(out.String(), " 0 stored") {
				t.Errorf("nothing kept: %s", out.String())
			}
		})
	}
}
