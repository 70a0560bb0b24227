package remediate

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
)

// The crash test re-runs this test binary as a child process (TestMain)
// that applies a plan on a badger store, through a host whose state is an
// append-only, fsynced log file (a host product's actuator survives the
// crash of the program that drives it). The parent kills the child with
// SIGKILL at a random point, several times, then resumes the plan itself
// and checks that every step's command was executed exactly once, every
// step ended verified, and the audit chain verifies with a record for
// every move.

const (
	envCrashDir = "MDR_REMEDIATE_CRASH_DIR"
	crashSteps  = 48
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(envCrashDir); dir != "" {
		if err := crashChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashPlanDef: a tree of dependencies over 48 steps (each step i > 0
// depends on step i/3, as processes depend on their descendants).
func crashPlanDef() *Plan {
	deps := map[int][]int{}
	for i := 1; i < crashSteps; i++ {
		deps[i] = []int{(i - 1) / 3}
	}
	return chainPlan("crash", crashSteps, deps)
}

// logHost is a fakeHost whose changes are an fsynced log: "x <item>" when
// a command removed an item, so every execution is durable before the
// command returns.
type logHost struct {
	mu   sync.Mutex
	path string
	gone map[string]int // item -> executions
}

func openLogHost(path string) (*logHost, error) {
	h := &logHost{path: path, gone: map[string]int{}}
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "x" {
			h.gone[f[1]]++
		}
	}
	return h, nil
}

func (h *logHost) apply(ctx context.Context, _ *Plan, s *Step, _ int, dryRun bool) (outcome, error) {
	time.Sleep(time.Millisecond)
	h.mu.Lock()
	defer h.mu.Unlock()
	f, err := os.OpenFile(h.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return outcome{}, err
	}
	defer f.Close()
	if _, err := f.WriteString("x " + s.ScopeItem + "\n"); err != nil {
		return outcome{}, err
	}
	if err := f.Sync(); err != nil {
		return outcome{}, err
	}
	h.gone[s.ScopeItem]++
	undo, _ := json.Marshal(map[string]string{"restore": s.ScopeItem})
	return outcome{status: 200, undo: undo}, nil
}

func (h *logHost) undo(context.Context, *Plan, *Step, StepRecord) error {
	return fmt.Errorf("not used")
}

func (h *logHost) query(_ context.Context, s *Step) (map[string]any, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gone[s.ScopeItem] > 0 {
		return map[string]any{"status": int64(404)}, nil
	}
	return map[string]any{"status": int64(200), "results": map[string]any{"exists": true}}, nil
}

func crashChild(dir string) error {
	cfg := badger.DefaultConfig(filepath.Join(dir, "store"))
	cfg.MemTableSize = 1 << 20
	st, err := badger.Open(cfg)
	if err != nil {
		return err
	}
	h, err := openLogHost(filepath.Join(dir, "host.log"))
	if err != nil {
		return err
	}
	e, err := newExecutor(st, h, Config{Parallel: 3, Progress: func(r StepRecord) {
		fmt.Fprintf(os.Stdout, "move %s %s\n", r.Step, r.State)
	}})
	if err != nil {
		return err
	}
	// Apply saves the plan on the first run and continues it afterwards
	res, err := e.Apply(context.Background(), crashPlanDef())
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "done %d\n", res.Counts.Verified)
	select {} // wait to be killed
}

func TestCrashResume(t *testing.T) {
	dir := t.TempDir()
	const rounds = 4
	for round := range rounds {
		seed := uint64(time.Now().UnixNano())
		rng := rand.New(rand.NewPCG(seed, uint64(round)))
		killAfter := 1 + rng.IntN(40) // moves
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envCrashDir+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		moves := 0
		guard := time.AfterFunc(20*time.Second, func() { cmd.Process.Signal(syscall.SIGKILL) })
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) > 0 && (f[0] == "move" || f[0] == "done") {
				moves++
			}
			if moves >= killAfter || f[0] == "done" {
				cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		guard.Stop()
		cmd.Wait()
		if stderr.Len() > 0 {
			t.Fatalf("round %d: child: %s", round, stderr.String())
		}
		t.Logf("round %d (seed %d): killed after %d moves", round, seed, moves)
	}
	// the parent resumes and finishes
	st, err := badger.Open(badger.DefaultConfig(filepath.Join(dir, "store")))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := openLogHost(filepath.Join(dir, "host.log"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := newExecutor(st, h, Config{Parallel: 3})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Resume(t.Context(), "crash")
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil || res.Counts.Verified != crashSteps {
		t.Fatalf("after resume: %+v %v", res.Counts, res.Err)
	}
	h2, _ := openLogHost(filepath.Join(dir, "host.log"))
	for _, it := range items(crashSteps) {
		if n := h2.gone[it]; n != 1 {
			t.Errorf("%s executed %d times, want exactly once", it, n)
		}
	}
	// the audit chain verifies, and holds a record of every move of every
	// step (some perhaps written by the recovery of a later load)
	if _, err := store.Verify(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	last := map[string]uint64{}
	for r, err := range st.ReadAudit(t.Context(), 1) {
		if err != nil {
			t.Fatal(err)
		}
		var p auditPayload
		if json.Unmarshal(r.Payload, &p) == nil && p.Plan == "crash" && p.Step != "" {
			last[p.Step] = max(last[p.Step], p.Version)
		}
	}
	resumed, recovered := 0, 0
	for r := range st.ReadAudit(t.Context(), 1) {
		if strings.Contains(string(r.Payload), "in effect when resumed") {
			resumed++
		}
		if strings.HasSuffix(r.Action, auditRecovered) {
			recovered++
		}
	}
	t.Logf("%d steps were found in flight and in effect on resume; %d audit records recovered", resumed, recovered)
	for _, rec := range res.Steps {
		if last[rec.Step] != rec.Version {
			t.Errorf("step %s at version %d (%+v), last audited version %d", rec.Step, rec.Version, rec, last[rec.Step])
			for r := range st.ReadAudit(t.Context(), 1) {
				if strings.HasSuffix(r.Target, "/"+rec.Step) {
					t.Logf("  audit %d %s %s", r.Seq, r.Action, r.Payload)
				}
			}
		}
	}
}
