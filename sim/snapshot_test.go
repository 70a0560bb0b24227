package sim_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr/sim"
)

func newFleet(t testing.TB, hosts ...string) *sim.Fleet {
	t.Helper()
	f, err := sim.New(sim.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if err := f.AddHost(sim.HostSpec{Name: h}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// TestSnapshotDiff changes one thing of each kind and checks that Diff
// names exactly those changes, with the right operation, and nothing once
// they are undone.
func TestSnapshotDiff(t *testing.T) {
	f := newFleet(t, "WKS-A")
	base, err := f.Snapshot("WKS-A")
	if err != nil {
		t.Fatal(err)
	}
	if d := sim.Diff(base, base); !d.Empty() {
		t.Fatalf("a snapshot differs from itself:\n%s", d)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = f.SetRegistry("WKS-A", `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\Shell`, "REG_SZ", "explorer.exe, x.exe")
	must(err)
	_, err = f.SetRegistry("WKS-A", `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\X`, "REG_SZ", `C:\x.exe`)
	must(err)
	_, err = f.DeleteFile("WKS-A", `C:\Windows\System32\certutil.exe`)
	must(err)
	_, err = f.StopService("WKS-A", "Spooler")
	must(err)
	_, err = f.DeleteTask("WKS-A", `\Microsoft\Windows\Defrag\ScheduledDefrag`)
	must(err)
	_, err = f.SetAccountEnabled("WKS-A", "Guest", true)
	must(err)
	must(f.RemoveGroupMember("WKS-A", "Administrators", `CORP\Domain Admins`))
	_, err = f.Contain("WKS-A", sim.ContainIsolation, []string{"10.0.0.1"})
	must(err)
	d := sim.Diff(base, mustSnap(t, f, "WKS-A"))
	want := map[string]sim.ChangeOp{
		`registry|HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\Shell`: sim.Changed,
		`registry|HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\X`:             sim.Added,
		`file|C:\Windows\System32\certutil.exe`:                                     sim.Removed,
		`service|Spooler`:                                                           sim.Changed,
		`task|\Microsoft\Windows\Defrag\ScheduledDefrag`:                            sim.Removed,
		`file|C:\Windows\System32\Tasks\Microsoft\Windows\Defrag\ScheduledDefrag`:   sim.Removed,
		`account|Guest`: sim.Changed,
		`group_member|administrators\CORP\Domain Admins`: sim.Removed,
		`containment|`: sim.Changed,
	}
	var spooler string
	for _, c := range d {
		k := string(c.Artifact.Kind) + "|" + c.Artifact.Key
		if c.Artifact.Kind == sim.KindProcess && c.Op == sim.Removed && strings.Contains(c.Before, "spoolsv.exe") {
			spooler = c.Artifact.Key
			continue
		}
		op, ok := want[k]
		if !ok {
			t.Errorf("unexpected change %s", c)
			continue
		}
		if op != c.Op {
			t.Errorf("%s: %s, want %s", k, c.Op, op)
		}
		delete(want, k)
	}
	for k := range want {
		t.Errorf("change of %s not reported", k)
	}
	if spooler == "" {
		t.Error("the stopped spooler's process still runs")
	}
	// Undo everything by hand: the host equals its snapshot again (the
	// spooler's new process runs the same program).
	_, err = f.SetRegistry("WKS-A", `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\Shell`, "REG_SZ", "explorer.exe")
	must(err)
	_, err = f.DeleteRegistry("WKS-A", `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\X`)
	must(err)
	_, err = f.StartService("WKS-A", "Spooler")
	must(err)
	_, err = f.SetAccountEnabled("WKS-A", "Guest", false)
	must(err)
	_, err = f.Release("WKS-A")
	must(err)
	d = sim.Diff(base, mustSnap(t, f, "WKS-A"))
	for _, c := range d {
		if c.Artifact.Kind != sim.KindFile && c.Artifact.Kind != sim.KindTask && c.Artifact.Kind != sim.KindGroupMember {
			t.Errorf("still changed after undo: %s", c)
		}
	}
	if len(d) != 4 { // certutil, the task and its file, the membership
		t.Errorf("after undo:\n%s", d)
	}
}

func TestFleetErrors(t *testing.T) {
	f := newFleet(t, "WKS-A")
	if err := f.AddHost(sim.HostSpec{Name: "wks-a"}); !errors.Is(err, sim.ErrExists) {
		t.Errorf("duplicate host: %v", err)
	}
	if err := f.AddHost(sim.HostSpec{Name: `bad\name`}); !errors.Is(err, sim.ErrInvalid) {
		t.Errorf("bad host name: %v", err)
	}
	if _, err := f.Snapshot("nope"); !errors.Is(err, sim.ErrNotFound) {
		t.Errorf("unknown host: %v", err)
	}
	if _, err := f.DeleteRegistry("WKS-A", `HKLM\nope\x`); !errors.Is(err, sim.ErrNotFound) {
		t.Errorf("missing value: %v", err)
	}
	if _, err := f.KillProcess("WKS-A", 4); !errors.Is(err, sim.ErrInvalid) {
		t.Errorf("killing System: %v", err)
	}
	if _, err := f.Contain("WKS-A", "sealed", nil); !errors.Is(err, sim.ErrInvalid) {
		t.Errorf("unknown containment: %v", err)
	}
	if _, err := f.CreateService("WKS-A", sim.Service{Name: "Spooler", ImagePath: `C:\x.exe`}); !errors.Is(err, sim.ErrExists) {
		t.Errorf("duplicate service: %v", err)
	}
	if _, err := f.CreateService("WKS-A", sim.Service{Name: "Ghost"}); !errors.Is(err, sim.ErrNotFound) {
		t.Errorf("restoring a service never deleted: %v", err)
	}
	if _, err := sim.New(sim.Config{MaxEvents: -1}); !errors.Is(err, sim.ErrInvalid) {
		t.Errorf("negative limit: %v", err)
	}
}

// TestLimits checks the bounds: kept events stop at MaxEvents (the rest
// counted), objects stop at MaxObjects with ErrLimit.
func TestLimits(t *testing.T) {
	f, err := sim.New(sim.Config{Seed: 1, MaxEvents: 3, MaxObjects: 80})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.AddHost(sim.HostSpec{Name: "WKS-A"}); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for i := 0; i < 100 && lastErr == nil; i++ {
		_, lastErr = f.SetRegistry("WKS-A", `HKLM\SOFTWARE\T\v`+strings.Repeat("x", i+1), "REG_SZ", "1")
	}
	if !errors.Is(lastErr, sim.ErrLimit) {
		t.Fatalf("no limit on registry values: %v", lastErr)
	}
	st := f.Stats()
	if got := len(f.Events(0)); got != 3 || st.DroppedEvents != int64(st.Events-3) || st.DroppedEvents == 0 {
		t.Errorf("kept %d events, stats %+v", got, st)
	}
}

// TestContainment: isolating a host closes its connections except to the
// permitted addresses; releasing it is the undo.
func TestContainment(t *testing.T) {
	r := generate(t, "phish-lateral", 4)
	f, wks := r.Fleet, r.HostIDs["wks"]
	conns, err := f.Connections(wks)
	if err != nil || len(conns) < 2 {
		t.Fatalf("connections %v, %v", conns, err)
	}
	keep := conns[0].RemoteIP
	if _, err := f.Contain(wks, sim.ContainIsolation, []string{keep}); err != nil {
		t.Fatal(err)
	}
	after, _ := f.Connections(wks)
	for _, c := range after {
		if c.RemoteIP != keep {
			t.Errorf("connection to %s survived isolation", c.RemoteIP)
		}
	}
	if len(after) == 0 {
		t.Error("the permitted connection was closed")
	}
	before, err := f.Release(wks)
	if err != nil || before.Mode != sim.ContainIsolation {
		t.Errorf("release: %+v %v", before, err)
	}
}

// TestCrowdedHost: a script that starts more processes than the usual pid
// range holds still gets distinct pids.
func TestCrowdedHost(t *testing.T) {
	script := "name: crowd\nhosts: [{id: h, name: H}]\nsteps:\n  - {op: baseline}\n  - {op: phase, name: spawn}\n  - {op: noise, count: '5000'}\nnoise:\n  - - {op: start, host: h, image: 'C:\\Windows\\System32\\notepad.exe', cmdline: notepad.exe, user: 'C\\u'}\n"
	s, err := sim.ParseScenario("crowd.yaml", []byte(script))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(context.Background(), sim.RunConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	snap := mustSnap(t, r.Fleet, r.HostIDs["h"])
	pids := map[int]bool{}
	for _, p := range snap.Processes {
		if pids[p.PID] {
			t.Fatalf("pid %d used twice", p.PID)
		}
		pids[p.PID] = true
	}
	if len(pids) < 5000 {
		t.Errorf("%d processes", len(pids))
	}
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// TestInjectedClock: events carry the injected clock's time (each at least
// a millisecond after the one before, so a frozen clock still gives an
// ordered log).
func TestInjectedClock(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f, err := sim.New(sim.Config{Seed: 1}, sim.WithClock(fixedClock{at}))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.AddHost(sim.HostSpec{Name: "H"}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := f.SetRegistry("H", `HKLM\SOFTWARE\T\v`, "REG_SZ", "x"); err != nil {
			t.Fatal(err)
		}
	}
	evs := f.Events(0)
	if len(evs) != 4 { // CreateKey, then three SetValue
		t.Fatalf("%d events", len(evs))
	}
	for i, e := range evs {
		want := at.Add(time.Duration(i) * time.Millisecond).Format("2006-01-02 15:04:05.000")
		if got := e.Record.Str("UtcTime"); got != want {
			t.Errorf("event %d at %s, want %s", i, got, want)
		}
	}
	if _, err := sim.New(sim.Config{}, sim.WithClock(nil)); err == nil {
		t.Error("nil clock accepted")
	}
}
