package badger_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
	"github.com/mdrkit/mdr/store/storetest"
)

// The crash test re-runs this test binary as a child process (see
// TestMain) that writes batches into a store and prints each batch before
// and after AppendEvents returns. The parent kills it with SIGKILL at a
// random point, reopens the store, and checks that every acknowledged batch
// is complete and every other batch is complete or absent.

const (
	envCrashDir   = "MDR_BADGER_CRASH_DIR"
	envCrashRound = "MDR_BADGER_CRASH_ROUND"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(envCrashDir); dir != "" {
		round, _ := strconv.Atoi(os.Getenv(envCrashRound))
		if err := crashChild(dir, round); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var crashBase = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// crashBatch builds batch b of round r deterministically: 1 to 400 events
// spread over a few days (several buckets), of varied size.
func crashBatch(r, b int) []*mdr.Event {
	rng := rand.New(rand.NewPCG(uint64(r), uint64(b)))
	n := 1 + rng.IntN(400)
	evs := make([]*mdr.Event, n)
	for i := range evs {
		id := fmt.Sprintf("r%d-b%d-%d", r, b, i)
		at := crashBase.Add(time.Duration(rng.Int64N(int64(72 * time.Hour))))
		pad := strings.Repeat(string(rune('a'+rng.IntN(26))), rng.IntN(2000))
		evs[i] = storetest.Event(id, at, mdr.Field{Key: "Payload", Value: mdr.String(pad)}, mdr.Field{Key: "Batch", Value: mdr.Int(int64(b))})
	}
	return evs
}

func crashChild(dir string, round int) error {
	cfg := badger.DefaultConfig(dir)
	cfg.SyncEvents = round%2 == 0 // both modes must survive a process crash
	// the smallest memtables: with events in the value log a memtable holds
	// keys and pointers only, and 1 MiB makes memtable flushes and level-0
	// compactions happen during the run (a batch still fits one transaction)
	cfg.MemTableSize = 1 << 20
	s, err := badger.Open(cfg)
	if err != nil {
		return err
	}
	ctx := context.Background()
	for b := 0; ; b++ {
		batch := crashBatch(round, b)
		fmt.Fprintf(os.Stdout, "begin %d %d\n", b, len(batch))
		if _, err := s.AppendEvents(ctx, batch); err != nil {
			return err
		}
		fmt.Fprintf(os.Stdout, "ack %d %d\n", b, len(batch))
		if b%4 == 3 {
			r, err := s.AppendAudit(ctx, store.AuditRecord{Actor: "crash", Action: "batch", Target: fmt.Sprintf("r%d-b%d", round, b)})
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stdout, "audit %d\n", r.Seq)
		}
	}
}

func TestCrashRecovery(t *testing.T) {
	dir := t.TempDir()
	const rounds = 6
	acked := map[string]int{} // "r/b" -> size, acknowledged
	begun := map[string]int{} // begun, maybe not acknowledged
	var auditAcked uint64
	deadline := time.Now().Add(25 * time.Second)
	for round := range rounds {
		if time.Now().After(deadline) && round >= 3 {
			t.Logf("time budget spent after %d rounds (a loaded machine); stopping", round)
			break
		}
		seed := uint64(time.Now().UnixNano())
		rng := rand.New(rand.NewPCG(seed, uint64(round)))
		killAfterAcks := rng.IntN(40)
		killDelay := time.Duration(rng.IntN(30)) * time.Millisecond

		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envCrashDir+"="+dir, envCrashRound+"="+strconv.Itoa(round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		acks := 0
		killed := false
		kill := func() {
			if !killed {
				killed = true
				cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		var timer <-chan time.Time
		if killAfterAcks == 0 {
			timer = time.After(killDelay)
		}
		guard := time.After(20 * time.Second)
	read:
		for {
			select {
			case <-timer:
				kill()
				timer = nil
			case <-guard:
				kill()
				t.Fatalf("round %d: child did not reach %d acknowledgements in 20 s; stderr: %s", round, killAfterAcks, stderr.String())
			case line, ok := <-lines:
				if !ok {
					break read
				}
				f := strings.Fields(line)
				if len(f) < 2 {
					t.Fatalf("round %d: child printed %q", round, line)
				}
				switch f[0] {
				case "begin", "ack":
					n, _ := strconv.Atoi(f[2])
					key := fmt.Sprintf("%d/%s", round, f[1])
					begun[key] = n
					if f[0] == "ack" {
						acked[key] = n
						acks++
						if acks == killAfterAcks {
							timer = time.After(killDelay)
						}
					}
				case "audit":
					auditAcked, _ = strconv.ParseUint(f[1], 10, 64)
				}
			}
		}
		err = cmd.Wait()
		if !killed {
			t.Fatalf("round %d: child exited by itself: %v; stderr: %s", round, err, stderr.String())
		}
		t.Logf("round %d (seed %d): killed after %d acknowledged batches + %v", round, seed, acks, killDelay)

		// reopen and check
		s, err := badger.Open(badger.DefaultConfig(dir))
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		var wantTotal int64
		for key, n := range begun {
			var r, b int
			fmt.Sscanf(key, "%d/%d", &r, &b)
			batch := crashBatch(r, b)
			if len(batch) != n {
				t.Fatalf("batch %s: size %d, regenerated %d", key, n, len(batch))
			}
			present := 0
			for _, e := range batch {
				got, err := s.GetEvent(t.Context(), e.ID())
				if err != nil {
					continue
				}
				if err := storetest.EqualEvents(e, got); err != nil {
					t.Fatalf("round %d: batch %s: %v", round, key, err)
				}
				present++
			}
			_, isAcked := acked[key]
			switch {
			case isAcked && present != n:
				t.Errorf("round %d: acknowledged batch %s has %d of %d events", round, key, present, n)
			case present != 0 && present != n:
				t.Errorf("round %d: batch %s is half-written: %d of %d events", round, key, present, n)
			}
			wantTotal += int64(present)
		}
		if n, err := s.CountEvents(t.Context(), time.Time{}, time.Time{}); err != nil || n != wantTotal {
			t.Errorf("round %d: store holds %d events (%v), the batches account for %d", round, n, err, wantTotal)
		}
		n, err := store.Verify(t.Context(), s)
		if err != nil || n < auditAcked {
			t.Errorf("round %d: audit chain: %d records, %v; %d acknowledged", round, n, err, auditAcked)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			return
		}
	}
	t.Logf("%d batches begun, %d acknowledged", len(begun), len(acked))
}
