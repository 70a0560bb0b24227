package badger_test

import (
	"bytes"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdrkit/mdr/store/badger"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLifecycle checks that badger's log lines reach the caller's logger,
// that value-log GC runs on its ticker (over a store whose value log holds
// overwritten snapshots) and stops on Close, and that Close stops every
// goroutine the store started.
func TestLifecycle(t *testing.T) {
	before := runtime.NumGoroutine()
	var logs syncBuffer
	cfg := badger.DefaultConfig(t.TempDir())
	cfg.SyncEvents = false
	cfg.GCInterval = 20 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := badger.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("snapshot"), 16<<10) // 128 KiB: goes to the value log
	for i := range 40 {
		big[0] = byte(i)
		if err := s.PutState(t.Context(), "detect/corr", big); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); badger.GCRuns(s) < 2 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := badger.GCRuns(s); n < 2 {
		t.Errorf("value-log GC ran %d times in 5 s with a 20 ms interval", n)
	}
	if got, err := s.GetState(t.Context(), "detect/corr"); err != nil || got[0] != 39 {
		t.Fatalf("state after GC ticks: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	runs := badger.GCRuns(s)
	time.Sleep(60 * time.Millisecond)
	if badger.GCRuns(s) != runs {
		t.Error("value-log GC still runs after Close")
	}
	if !strings.Contains(logs.String(), "component=badger") {
		t.Errorf("no badger log line reached the logger:\n%s", logs.String())
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
