package svg_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/investigate/svg"
)

func ev(id string, code int, at string, kv ...string) *mdr.Event {
	fs := []mdr.Field{
		{Key: "_id", Value: mdr.String(id)},
		{Key: "EventID", Value: mdr.Int(int64(code))},
		{Key: "Channel", Value: mdr.String("Microsoft-Windows-Sysmon/Operational")},
		{Key: "Computer", Value: mdr.String("WS-1")},
		{Key: "TimeCreated", Value: mdr.String(at)},
		{Key: "UtcTime", Value: mdr.String(at)},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		fs = append(fs, mdr.Field{Key: kv[i], Value: mdr.String(kv[i+1])})
	}
	return mdr.NewEvent(mdr.Origin{Source: "svg_test"}, fs...)
}

// TestRenderScope draws a small scope (a process that wrote a file and set
// a Run key) and checks that the SVG holds the analyst's labels.
func TestRenderScope(t *testing.T) {
	g, err := investigate.New(investigate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []*mdr.Event{
		ev("e1", 1, "2026-03-02T09:00:00Z", "ProcessGuid", "{00000000-0000-0000-0000-000000000003}", "ProcessId", "300",
			"Image", `C:\Users\alice\dropper.exe`, "CommandLine", `dropper.exe "quoted"`, "ParentProcessGuid", "{00000000-0000-0000-0000-000000000001}",
			"ParentProcessId", "100", "ParentImage", `C:\Windows\explorer.exe`),
		ev("e2", 11, "2026-03-02T09:00:05Z", "ProcessGuid", "{00000000-0000-0000-0000-000000000003}", "ProcessId", "300",
			"Image", `C:\Users\alice\dropper.exe`, "TargetFilename", `C:\Users\alice\payload.dll`),
		ev("e3", 13, "2026-03-02T09:00:06Z", "ProcessGuid", "{00000000-0000-0000-0000-000000000003}", "ProcessId", "300",
			"Image", `C:\Users\alice\dropper.exe`, "EventType", "SetValue", "TargetObject", `HKU\S-1\Software\Microsoft\Windows\CurrentVersion\Run\x`, "Details", "payload"),
	} {
		if err := g.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	s, err := g.Scope(ctx, []mdr.Alert{{ID: "a", Time: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		Entities: []mdr.Entity{{Kind: mdr.EntityProcess, ID: "process:00000000-0000-0000-0000-000000000003"}}}}, investigate.ScopeLimits{})
	if err != nil {
		t.Fatal(err)
	}
	var dot bytes.Buffer
	if err := g.WriteDOT(&dot, s); err != nil {
		t.Fatal(err)
	}
	r, err := svg.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out bytes.Buffer
	if err := r.Render(ctx, dot.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"<svg", "dropper.exe (300)", `C:\Users\alice\payload.dll`, "#dc3545", "wrote_file"} {
		if !strings.Contains(got, want) {
			t.Errorf("SVG lacks %q:\n%s", want, got)
		}
	}
	if err := r.Render(ctx, []byte("digraph {"), &out); !errors.Is(err, svg.ErrRender) {
		t.Errorf("broken DOT: got %v, want ErrRender", err)
	}
}
