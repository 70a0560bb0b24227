package investigate_test

import (
	"context"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/investigate"
)

// TestScopePrior: a registry value that a benign process set before the
// attack changed it carries the data it held (Prior, PriorSeen) and counts
// as modified; one the graph never saw before is created, with no prior.
// The benign set itself is not in the scope.
func TestScopePrior(t *testing.T) {
	g, err := investigate.New(investigate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	const run = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\Updater`
	const other = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\Other`
	guid := func(n string) string { return "{00000000-0000-0000-0000-00000000000" + n + "}" }
	for _, ev := range []*mdr.Event{
		sysmon("b1", 1, "2026-03-02T08:00:00Z", "ProcessGuid", guid("5"), "ProcessId", "500", "Image", `C:\Program Files\Vendor\updater.exe`,
			"ParentProcessGuid", guid("1"), "ParentProcessId", "100", "ParentImage", `C:\Windows\System32\services.exe`),
		sysmon("b2", 13, "2026-03-02T08:00:01Z", "ProcessGuid", guid("5"), "ProcessId", "500", "Image", `C:\Program Files\Vendor\updater.exe`,
			"EventType", "SetValue", "TargetObject", run, "Details", `C:\Program Files\Vendor\updater.exe /bg`),
		sysmon("a1", 1, "2026-03-02T09:00:00Z", "ProcessGuid", guid("7"), "ProcessId", "700", "Image", `C:\Users\bob\evil.exe`,
			"ParentProcessGuid", guid("2"), "ParentProcessId", "200", "ParentImage", `C:\Windows\explorer.exe`),
		sysmon("a2", 13, "2026-03-02T09:00:05Z", "ProcessGuid", guid("7"), "ProcessId", "700", "Image", `C:\Users\bob\evil.exe`,
			"EventType", "SetValue", "TargetObject", run, "Details", `C:\Users\bob\evil.exe`),
		sysmon("a3", 13, "2026-03-02T09:00:06Z", "ProcessGuid", guid("7"), "ProcessId", "700", "Image", `C:\Users\bob\evil.exe`,
			"EventType", "SetValue", "TargetObject", other, "Details", `C:\Users\bob\evil.exe -x`),
	} {
		if err := g.Add(ev); err != nil {
			t.Fatal(err)
		}
	}
	a := mdr.Alert{ID: "a", Time: evTime(t, "2026-03-02T09:00:00Z"), Host: "WS-1", EventIDs: []string{"a1"},
		Entities: []mdr.Entity{{Kind: mdr.EntityProcess, ID: "process:00000000-0000-0000-0000-000000000007"}}}
	s, err := g.Scope(context.Background(), []mdr.Alert{a}, investigate.ScopeLimits{})
	if err != nil {
		t.Fatal(err)
	}
	regs := s.Of(investigate.ItemRegistry)
	if len(regs) != 2 {
		t.Fatalf("registry items %+v", regs)
	}
	for _, it := range regs {
		switch it.Name {
		case run:
			if !it.PriorSeen || it.Prior != `C:\Program Files\Vendor\updater.exe /bg` || it.Data != `C:\Users\bob\evil.exe` || it.Action != investigate.ActModified {
				t.Errorf("run key item %+v", it)
			}
			if len(it.EventIDs) != 1 || it.EventIDs[0] != "a2" {
				t.Errorf("run key proved by %v, want [a2]", it.EventIDs)
			}
		case other:
			if it.PriorSeen || it.Action != investigate.ActCreated || it.Host != "WS-1" {
				t.Errorf("other key item %+v", it)
			}
		default:
			t.Errorf("unexpected registry item %+v", it)
		}
	}
	if len(s.Of(investigate.ItemProcess)) != 1 {
		t.Errorf("processes %+v: the benign updater is not in the scope", s.Of(investigate.ItemProcess))
	}
}
