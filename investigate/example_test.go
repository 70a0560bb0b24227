package investigate_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/investigate"
)

func sysmon(id string, code int, at string, kv ...string) *mdr.Event {
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
	return mdr.NewEvent(mdr.Origin{Source: "example"}, fs...)
}

// Build a graph from events, then ask what led to a process and what the
// incident touched.
func Example() {
	g, err := investigate.New(investigate.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	evs := []*mdr.Event{
		sysmon("e1", 1, "2026-03-02T09:00:00Z", "ProcessGuid", "{00000000-0000-0000-0000-000000000002}", "ProcessId", "200",
			"Image", `C:\Program Files\Office\WINWORD.EXE`, "ParentProcessGuid", "{00000000-0000-0000-0000-000000000001}",
			"ParentProcessId", "100", "ParentImage", `C:\Windows\explorer.exe`, "User", `CORP\alice`),
		sysmon("e2", 11, "2026-03-02T09:00:05Z", "ProcessGuid", "{00000000-0000-0000-0000-000000000002}", "ProcessId", "200",
			"Image", `C:\Program Files\Office\WINWORD.EXE`, "TargetFilename", `C:\Users\alice\AppData\Local\Temp\invoice.exe`),
		sysmon("e3", 1, "2026-03-02T09:00:09Z", "ProcessGuid", "{00000000-0000-0000-0000-000000000003}", "ProcessId", "300",
			"Image", `C:\Users\alice\AppData\Local\Temp\invoice.exe`, "CommandLine", `invoice.exe /q`,
			"ParentProcessGuid", "{00000000-0000-0000-0000-000000000001}", "ParentProcessId", "100", "ParentImage", `C:\Windows\explorer.exe`, "User", `CORP\alice`),
		sysmon("e4", 13, "2026-03-02T09:00:12Z", "ProcessGuid", "{00000000-0000-0000-0000-000000000003}", "ProcessId", "300",
			"Image", `C:\Users\alice\AppData\Local\Temp\invoice.exe`, "EventType", "SetValue",
			"TargetObject", `HKU\S-1-5-21-1\Software\Microsoft\Windows\CurrentVersion\Run\Updater`, "Details", `C:\Users\alice\AppData\Local\Temp\invoice.exe`),
	}
	for _, ev := range evs {
		if err := g.Add(ev); err != nil {
			fmt.Println(err)
			return
		}
	}
	ctx := context.Background()
	back, err := g.Backward(ctx, "process:00000000-0000-0000-0000-000000000003", time.Time{}, investigate.Limits{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("root cause:", back.RootCause)

	alert := mdr.Alert{ID: "a1", Time: evs[2].Time(), Host: "WS-1", Entities: []mdr.Entity{{Kind: mdr.EntityProcess, ID: "process:00000000-0000-0000-0000-000000000003"}}}
	s, err := g.Scope(ctx, []mdr.Alert{alert}, investigate.ScopeLimits{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, it := range s.Items {
		fmt.Println(it.Kind, it.Action, it.Role, it.Name, it.EventIDs)
	}
	// Output:
	// root cause: file:ws-1\c:\users\alice\appdata\local\temp\invoice.exe
	// file created cause C:\Users\alice\AppData\Local\Temp\invoice.exe [e2]
	// registry created impact HKU\S-1-5-21-1\Software\Microsoft\Windows\CurrentVersion\Run\Updater [e4]
	// process executed cause C:\Program Files\Office\WINWORD.EXE [e1]
	// process executed alert C:\Users\alice\AppData\Local\Temp\invoice.exe [e3]
}

func evTime(t interface{ Fatal(...any) }, s string) time.Time {
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}
