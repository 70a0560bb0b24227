package jetstream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/jetstream"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
	"github.com/mdrkit/mdr/triage"
)

// TestMain runs a worker as a child process when MDR_JS_CHILD is set (the
// kill test starts and SIGKILLs it).
func TestMain(m *testing.M) {
	if os.Getenv("MDR_JS_CHILD") != "" {
		os.Exit(childWorker())
	}
	os.Exit(m.Run())
}

func childWorker() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	rules, err := engine.Load(ctx, []string{os.Getenv("MDR_JS_RULES")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	st, err := badger.Open(badger.DefaultConfig(os.Getenv("MDR_JS_STORE")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer st.Close()
	w, err := jetstream.NewWorker(ctx, os.Getenv("MDR_JS_URL"), jetstream.WorkerConfig{Config: testConfig(), ID: os.Getenv("MDR_JS_CHILD"), Rules: rules, Store: st, IdleFlush: time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	err = w.Run(ctx)
	fmt.Fprintf(os.Stderr, "worker %s: %+v\n", os.Getenv("MDR_JS_CHILD"), w.Stats())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func testConfig() jetstream.Config {
	c := jetstream.DefaultConfig()
	c.Partitions = 8
	c.LeaseTTL = 3 * time.Second
	c.BundleEvents = 128
	c.AckWait = 5 * time.Second
	c.DuplicateWindow = 10 * time.Minute
	return c
}

func TestPartition(t *testing.T) {
	if jetstream.Partition("WS1.corp.local", 16) != jetstream.Partition("ws1.CORP.local", 16) {
		t.Error("partition depends on case")
	}
	// The hash is part of the wire contract between producers and workers
	// of different versions: these values must never change.
	for host, want := range map[string]int{"": 0, "MSEDGEWIN10": 15, "DC01.corp.local": 6, "ws1": 10} {
		if got := jetstream.Partition(host, 16); got != want {
			t.Errorf("Partition(%q, 16) = %d, want %d", host, got, want)
		}
	}
	// the ASCII fast path and the general one agree with FNV-1a of the
	// lower-cased name
	for _, host := range []string{"WIN-8K3T2 PC", "ÄRZTE-PC", "ärzte-pc", "DESKTOP-Ω1", "x\x80y", "MSEDGEWIN10"} {
		h := fnv.New32a()
		h.Write([]byte(strings.ToLower(host)))
		if got, want := jetstream.Partition(host, 13), int(h.Sum32()%13); got != want {
			t.Errorf("Partition(%q, 13) = %d, want %d", host, got, want)
		}
	}
	counts := make([]int, 8)
	for i := range 8000 {
		counts[jetstream.Partition(fmt.Sprintf("host-%d", i), 8)]++
	}
	for p, n := range counts {
		if n < 800 || n > 1200 {
			t.Errorf("partition %d got %d of 8000 hosts", p, n)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := jetstream.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(*jetstream.Config){
		"partitions": func(c *jetstream.Config) { c.Partitions = 0 },
		"subject":    func(c *jetstream.Config) { c.EventSubject = "mdr.*" },
		"lease":      func(c *jetstream.Config) { c.LeaseTTL = time.Millisecond },
		"bundle":     func(c *jetstream.Config) { c.BundleEvents = 0 },
	} {
		c := jetstream.DefaultConfig()
		f(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "invalid configuration") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func startServer(t *testing.T) *jetstream.Server {
	t.Helper()
	s, err := jetstream.StartServer(jetstream.ServerConfig{Host: "127.0.0.1", Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

var (
	rulesOnce sync.Once
	rules     *engine.Rules
	rulesErr  error
)

func testRules(t *testing.T) *engine.Rules {
	t.Helper()
	rulesOnce.Do(func() {
		rules, rulesErr = engine.Load(context.Background(), []string{rulesDir(t)})
	})
	if rulesErr != nil {
		t.Fatal(rulesErr)
	}
	return rules
}

func rulesDir(t *testing.T) string { return shareddata.Path(t, "sigma", "rules", "windows") }

func eventFiles(t *testing.T) []string {
	return []string{shareddata.Path(t, "events", "evtx_attack_samples.jsonl"), shareddata.Path(t, "events", "benign_baseline.jsonl")}
}

// baseline is what mdr scan finds: the detector over the files in order.
func baseline(t *testing.T, r *engine.Rules, files []string) map[string]bool {
	t.Helper()
	d, err := engine.NewDetector(r, engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	_, err = engine.DetectFiles(context.Background(), d, files, reader.Options{OnError: reader.Skip}, func(_ *mdr.Event, as []mdr.Alert) error {
		for _, a := range as {
			ids[a.ID] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func publish(t *testing.T, url string, files []string) int64 {
	t.Helper()
	ctx := context.Background()
	p, err := jetstream.NewPublisher(ctx, url, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	n, err := p.PublishFiles(ctx, files, reader.Options{OnError: reader.Skip}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// pending returns the events not yet acknowledged over all partitions.
func pending(t *testing.T, j js.JetStream) uint64 {
	t.Helper()
	cfg := testConfig()
	var n uint64
	for p := range cfg.Partitions {
		c, err := j.Consumer(context.Background(), cfg.EventStream, fmt.Sprintf("%s-p%d", cfg.EventStream, p))
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n += info.NumPending + uint64(info.NumAckPending)
	}
	return n
}

// alertsOnStream reads every message of the alert stream: the ids and how
// many messages there were.
func alertsOnStream(t *testing.T, j js.JetStream) (map[string]bool, int) {
	t.Helper()
	ctx := context.Background()
	cfg := testConfig()
	s, err := j.Stream(ctx, cfg.AlertStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := int(info.State.Msgs)
	c, err := s.OrderedConsumer(ctx, js.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for read := 0; read < total; {
		b, err := c.Fetch(1000, js.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range b.Messages() {
			var a mdr.Alert
			if err := json.Unmarshal(m.Data(), &a); err != nil {
				t.Fatal(err)
			}
			ids[a.ID] = true
			read++
		}
		if b.Error() != nil && read < total {
			t.Fatalf("reading alerts: %v after %d of %d", b.Error(), read, total)
		}
	}
	return ids, total
}

func connectJS(t *testing.T, url string) js.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	j, err := js.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// waitDone waits until every event is acknowledged and the alert stream
// stopped growing for longer than the idle flush.
func waitDone(t *testing.T, j js.JetStream, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	cfg := testConfig()
	s, err := j.Stream(context.Background(), cfg.AlertStream)
	if err != nil {
		t.Fatal(err)
	}
	var lastMsgs uint64
	stable := time.Now()
	for time.Now().Before(deadline) {
		info, err := s.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != lastMsgs {
			lastMsgs, stable = info.State.Msgs, time.Now()
		}
		if pending(t, j) == 0 && time.Since(stable) > 3*time.Second {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("events still pending after %s: %d", limit, pending(t, j))
}

func diff(want, got map[string]bool) (missing, extra []string) {
	for id := range want {
		if !got[id] {
			missing = append(missing, id)
		}
	}
	for id := range got {
		if !want[id] {
			extra = append(extra, id)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}

// With 1, 2 and 4 workers the alerts equal those of one detector over the
// files in order (mdr scan), correlations included, none twice.
func TestAlertsMatchScan(t *testing.T) {
	r := testRules(t)
	files := eventFiles(t)
	want := baseline(t, r, files)
	if len(want) < 1000 {
		t.Fatalf("baseline has only %d alerts", len(want))
	}
	for _, workers := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			s := startServer(t)
			n := publish(t, s.URL(), files)
			if n != 8247+18387 {
				t.Fatalf("published %d events", n)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var stores []*store.Memory
			errs := make(chan error, workers)
			for i := range workers {
				st := store.NewMemory()
				stores = append(stores, st)
				w, err := jetstream.NewWorker(ctx, s.URL(), jetstream.WorkerConfig{Config: testConfig(), ID: fmt.Sprintf("w%d", i), Rules: r, Store: st, IdleFlush: time.Second})
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() { defer wg.Done(); errs <- w.Run(ctx) }()
			}
			j := connectJS(t, s.URL())
			waitDone(t, j, 3*time.Minute)
			cancel()
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			got, total := alertsOnStream(t, j)
			if missing, extra := diff(want, got); len(missing)+len(extra) > 0 {
				t.Errorf("%d missing (%.5v), %d extra (%.5v)", len(missing), missing, len(extra), extra)
			}
			if total != len(got) {
				t.Errorf("%d alert messages for %d alerts", total, len(got))
			}
			stored := map[string]bool{}
			for _, st := range stores {
				for rec, err := range st.ListAlerts(context.Background(), store.ListQuery{}) {
					if err != nil {
						t.Fatal(err)
					}
					if stored[rec.Alert.ID] {
						t.Errorf("alert %s stored by two workers", rec.Alert.ID)
					}
					stored[rec.Alert.ID] = true
				}
			}
			if missing, extra := diff(want, stored); len(missing)+len(extra) > 0 {
				t.Errorf("stores: %d missing, %d extra", len(missing), len(extra))
			}
		})
	}
}

// A message that is not an event is dead-lettered with its reason and
// acknowledged, never redelivered.
func TestDeadLetter(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := testConfig()
	if err := jetstream.Setup(ctx, s.URL(), cfg); err != nil {
		t.Fatal(err)
	}
	j := connectJS(t, s.URL())
	// three bad messages, and a bundle with one good event and one bad line
	for _, bad := range []string{"not json", `[1,2]`, `{"EventID": 1, "Computer": "WS1"`, "{\"EventID\": 1, \"Computer\": \"WS1\", \"_id\": \"ok\"}\nbroken\n"} {
		if _, err := j.Publish(ctx, cfg.Subject(0), []byte(bad)); err != nil {
			t.Fatal(err)
		}
	}
	// compressed bundles: a good one, a corrupt one, an unknown encoding
	for _, c := range []struct{ enc, data string }{
		{"s2", string(s2.Encode(nil, []byte("{\"EventID\": 1, \"Computer\": \"WS1\", \"_id\": \"ok2\"}\n")))},
		{"s2", "\xff\xff\xff\xff\x0fgarbage"},
		{"gzip", "whatever"},
	} {
		m := nats.NewMsg(cfg.Subject(0))
		m.Header.Set(jetstream.EncodingHeader, c.enc)
		m.Data = []byte(c.data)
		if _, err := j.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	r, err := engine.LoadSources(ctx, []engine.Source{{Name: "r.yml", Data: []byte("id: x\ntitle: x\nseverity: low\ncondition: e.EventID == 1\n")}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := jetstream.NewWorker(ctx, s.URL(), jetstream.WorkerConfig{Config: cfg, ID: "w", Rules: r, Store: store.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for w.Stats().Dead < 6 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if p := pending(t, j); p != 0 {
		t.Errorf("%d messages still pending", p)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Dead != 6 || st.Events != 2 || st.Alerts != 2 {
		t.Fatalf("stats = %+v", st)
	}
	ds, err := j.Stream(context.Background(), cfg.DeadStream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ds.GetMsg(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != "not json" || m.Header.Get("Mdr-Reason") == "" || m.Header.Get("Mdr-Subject") != cfg.Subject(0) {
		t.Errorf("dead letter %q headers %v", m.Data, m.Header)
	}
}

// A worker process killed with SIGKILL in the middle of the stream and a
// new one started on the same store give the same alerts, none missing and
// none twice.
func TestKillWorker(t *testing.T) {
	r := testRules(t)
	files := eventFiles(t)
	want := baseline(t, r, files)
	s := startServer(t)
	publish(t, s.URL(), files)
	j := connectJS(t, s.URL())
	dir := filepath.Join(t.TempDir(), "store")
	start := func(id string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "MDR_JS_CHILD="+id, "MDR_JS_URL="+s.URL(), "MDR_JS_RULES="+rulesDir(t), "MDR_JS_STORE="+dir)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	first := start("first")
	total := pending(t, j)
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if p := pending(t, j); p < total*3/4 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	left := pending(t, j)
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	if left == 0 {
		t.Fatal("the first worker finished before it could be killed")
	}
	t.Logf("killed the first worker with %d of %d events left", left, total)
	second := start("second")
	waitDone(t, j, 3*time.Minute)
	if err := second.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Fatalf("second worker: %v", err)
	}
	got, msgs := alertsOnStream(t, j)
	if missing, extra := diff(want, got); len(missing)+len(extra) > 0 {
		t.Errorf("%d missing (%.5v), %d extra (%.5v)", len(missing), missing, len(extra), extra)
		for _, id := range missing[:min(len(missing), 8)] {
			t.Logf("missing %s", id)
		}
		if ds, err := j.Stream(context.Background(), testConfig().DeadStream); err == nil {
			if info, err := ds.Info(context.Background()); err == nil {
				t.Logf("dead letters: %d", info.State.Msgs)
			}
		}
	}
	if msgs != len(got) {
		t.Errorf("%d alert messages for %d alerts", msgs, len(got))
	}
	st, err := badger.Open(badger.DefaultConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored := map[string]bool{}
	for rec, err := range st.ListAlerts(context.Background(), store.ListQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		stored[rec.Alert.ID] = true
	}
	if missing, extra := diff(want, stored); len(missing)+len(extra) > 0 {
		t.Errorf("store: %d missing, %d extra", len(missing), len(extra))
	}
}

// With the triage stage, the worker's store holds every alert (written by
// the triage queue, with scores) grouped into incidents.
func TestTriageStage(t *testing.T) {
	r := testRules(t)
	files := []string{shareddata.Path(t, "events", "evtx_attack_samples.jsonl")}
	want := baseline(t, r, files)
	s := startServer(t)
	publish(t, s.URL(), files)
	ctx, cancel := context.WithCancel(context.Background())
	st := store.NewMemory()
	stage, err := jetstream.NewTriageStage(ctx, st, triage.DefaultConfig(), investigate.DefaultConfig(), triage.WithCatalog(triage.CatalogOf(r.Ruleset)))
	if err != nil {
		t.Fatal(err)
	}
	w, err := jetstream.NewWorker(ctx, s.URL(), jetstream.WorkerConfig{Config: testConfig(), ID: "t", Rules: r, Store: st, Stage: stage, IdleFlush: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	waitDone(t, connectJS(t, s.URL()), 3*time.Minute)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for rec, err := range st.ListAlerts(context.Background(), store.ListQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		stored[rec.Alert.ID] = true
	}
	// Triage folds repeats of a rule on one host and process into one
	// alert with a count: every stored alert is one the scan raised.
	if _, extra := diff(want, stored); len(extra) > 0 || len(stored) == 0 {
		t.Errorf("%d alerts stored, %d not raised by the scan", len(stored), len(extra))
	}
	incidents := 0
	for _, err := range st.ListIncidents(context.Background(), store.ListQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		incidents++
	}
	ts := stage.Queue().Stats()
	if incidents == 0 || ts.Pushed != int64(len(want)) {
		t.Errorf("%d incidents stored; %d alerts pushed, want %d", incidents, ts.Pushed, len(want))
	}
	t.Logf("%d alerts pushed, %d stored, %d incidents", ts.Pushed, len(stored), incidents)
}
