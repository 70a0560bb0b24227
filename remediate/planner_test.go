package remediate

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/schema"
)

var t0 = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// handScope is a scope written by hand after the phishing story: Outlook
// (running since before) writes a document, Word (started from Outlook)
// starts PowerShell, which drops a tool, runs it against lsass, sets a Run
// key, restores nothing, changes a value whose earlier data was seen,
// creates a task, uses an admin's credentials and installs a service on a
// server whose binary the scope holds.
func handScope() *investigate.Scope {
	const wks, srv = "WKS-1.corp.example", "SRV-1.corp.example"
	tool := `C:\ProgramData\Intel\igfx.exe`
	doc := `C:\Users\a\Downloads\Invoice.docm`
	proc := func(id, img, parent string, pid int64, sec int, role investigate.Role) investigate.Item {
		return investigate.Item{Kind: investigate.ItemProcess, EntityID: id, Host: wks, Name: img, Image: img, PID: pid, ParentID: parent,
			Action: investigate.ActExecuted, Role: role, First: at(sec), Last: at(sec + 1), EventIDs: []string{"ev-" + id}}
	}
	return &investigate.Scope{
		RootCause: investigate.Ref{ID: "process:outlook"},
		Items: []investigate.Item{
			proc("process:explorer", `C:\Windows\explorer.exe`, "", 100, -500, investigate.RoleCause),
			proc("process:outlook", `C:\Program Files\Microsoft Office\OUTLOOK.EXE`, "process:explorer", 200, -400, investigate.RoleCause),
			proc("process:word", `C:\Program Files\Microsoft Office\WINWORD.EXE`, "process:outlook", 300, 20, investigate.RoleCause),
			proc("process:ps", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "process:word", 400, 30, investigate.RoleAlert),
			proc("process:tool", tool, "process:ps", 500, 50, investigate.RoleImpact),
			proc("process:cmd", `C:\Windows\System32\cmd.exe`, "process:tool", 600, 60, investigate.RoleImpact),
			{Kind: investigate.ItemProcess, EntityID: "process:lsass", Host: wks, Name: `C:\Windows\System32\lsass.exe`, Image: `C:\Windows\System32\lsass.exe`,
				Action: investigate.ActAccessed, First: at(55), EventIDs: []string{"ev-open"}},
			{Kind: investigate.ItemFile, EntityID: schema.FileID(wks, doc), Host: wks, Name: doc, Action: investigate.ActCreated, Role: investigate.RoleCause,
				First: at(10), EventIDs: []string{"ev-doc"}},
			{Kind: investigate.ItemFile, EntityID: schema.FileID(wks, tool), Host: wks, Name: tool, Action: investigate.ActCreated, First: at(40), EventIDs: []string{"ev-tool"}},
			{Kind: investigate.ItemFile, EntityID: schema.FileID(wks, tool), Host: wks, Name: tool, Action: investigate.ActExecuted, First: at(50), EventIDs: []string{"ev-run"}},
			{Kind: investigate.ItemFile, EntityID: schema.FileID(wks, `C:\Users\a\Documents\q.xlsx`), Host: wks, Name: `C:\Users\a\Documents\q.xlsx`,
				Action: investigate.ActModified, First: at(70), EventIDs: []string{"ev-enc"}},
			{Kind: investigate.ItemFile, EntityID: schema.FileID(wks, `C:\Windows\System32\Tasks\Intel\Upd`), Host: wks, Name: `C:\Windows\System32\Tasks\Intel\Upd`,
				Action: investigate.ActCreated, First: at(81), EventIDs: []string{"ev-taskfile"}},
			{Kind: investigate.ItemFile, EntityID: schema.FileID(wks, `C:\Windows\System32\kernel32.dll`), Host: wks, Name: `C:\Windows\System32\kernel32.dll`,
				Action: investigate.ActLoaded, First: at(51), EventIDs: []string{"ev-load"}},
			{Kind: investigate.ItemRegistry, EntityID: "reg:run", Host: wks, Name: `HKU\S-1-5-21-1\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\Igfx`,
				Data: tool, Action: investigate.ActCreated, First: at(75), EventIDs: []string{"ev-run-key"}},
			{Kind: investigate.ItemRegistry, EntityID: "reg:policy", Host: wks, Name: `HKLM\SOFTWARE\Policies\Microsoft\Windows Defender\DisableAntiSpyware`,
				Data: "DWORD (0x00000001)", Prior: "DWORD (0x00000000)", PriorSeen: true, Action: investigate.ActModified, First: at(76), EventIDs: []string{"ev-def"}},
			{Kind: investigate.ItemRegistry, EntityID: "reg:svc", Host: srv, Name: `HKLM\System\CurrentControlSet\Services\IgfxSvc\ImagePath`,
				Data: `%SystemRoot%\igfx.exe`, Action: investigate.ActCreated, First: at(101), EventIDs: []string{"ev-svc-reg"}},
			{Kind: investigate.ItemTask, EntityID: "task:upd", Host: wks, Name: `\Intel\Upd`, Command: tool, Action: investigate.ActCreated, First: at(80), EventIDs: []string{"ev-task"}},
			{Kind: investigate.ItemService, EntityID: "service:igfx", Host: srv, Name: "IgfxSvc", ImagePath: `%SystemRoot%\igfx.exe`, Action: investigate.ActCreated,
				First: at(100), EventIDs: []string{"ev-svc"}},
			{Kind: investigate.ItemFile, EntityID: schema.FileID(srv, `C:\Windows\igfx.exe`), Host: srv, Name: `C:\Windows\igfx.exe`, Action: investigate.ActCreated,
				First: at(95), EventIDs: []string{"ev-srv-file"}},
			{Kind: investigate.ItemUser, EntityID: `user:corp\it.admin`, Host: wks, Name: `CORP\it.admin`, Action: investigate.ActUsed, First: at(90), EventIDs: []string{"ev-4648"}},
			{Kind: investigate.ItemAccount, EntityID: "user:wks\\backdoor", Host: wks, Name: `backdoor`, Action: investigate.ActCreated, First: at(85),
				EventIDs: []string{"ev-4720"}, By: "process:ps"},
			{Kind: investigate.ItemGroupMembership, EntityID: "user:wks\\backdoor", Host: wks, Name: `WKS\backdoor`, Groups: []string{"Administrators"},
				Action: investigate.ActAdded, First: at(86), EventIDs: []string{"ev-4732"}, By: "process:ps"},
			// an administrator's account of the same hours: in the scope
			// (a rule fired on it), but neither made nor named by the attack
			{Kind: investigate.ItemAccount, EntityID: "user:wks\\it-support", Host: wks, Name: `it-support`, Action: investigate.ActCreated, First: at(-300),
				EventIDs: []string{"ev-4720b"}, By: `user:corp\it.admin`},
			{Kind: investigate.ItemEndpoint, EntityID: "ip:203.0.113.5:80", Address: "203.0.113.5", Port: "80", Action: investigate.ActContacted, First: at(35)},
			{Kind: investigate.ItemDomain, EntityID: "domain:evil.example", Name: "evil.example", Action: investigate.ActResolved, First: at(34)},
		},
	}
}

func TestPlanFromScope(t *testing.T) {
	pl := NewPlanner(PlannerConfig{Contained: []string{"WKS-1.corp.example"}, Now: func() time.Time { return t0 }})
	p, err := pl.Plan(t.Context(), "inc-1", handScope())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	byKind := map[StepKind][]*Step{}
	byItem := map[string][]*Step{}
	for i := range p.Steps {
		s := &p.Steps[i]
		byKind[s.Kind] = append(byKind[s.Kind], s)
		byItem[s.ScopeItem] = append(byItem[s.ScopeItem], s)
		switch s.Kind {
		case KindDeleteAccount, KindRemoveMember, KindResetCredentials:
			if XHost(&s.Command) != s.Host {
				t.Errorf("step %s: actuator %s, want x-mdr hostname %s", s.ID, s.Command, s.Host)
			}
		default:
			if s.Command.Actuator == nil || s.Command.Actuator.Profile != "er" || s.Command.Actuator.Hostname != s.Host {
				t.Errorf("step %s: actuator %+v, want er hostname %s", s.ID, s.Command.Actuator, s.Host)
			}
		}
		if err := s.Command.Validate(); err != nil {
			t.Errorf("step %s: command %s invalid: %v", s.ID, s.Command, err)
		}
		if s.Check != nil {
			if err := CheckCondition(s.Check.Expr); err != nil {
				t.Errorf("step %s: %v", s.ID, err)
			}
			if q := s.Check.Query; q == nil || q.Action != "query" || q.Target.Name() == "" || q.Target.Name() == "features" {
				t.Errorf("step %s: query %v", s.ID, q)
			}
		}
		if s.Reason == "" || s.ScopeItem == "" {
			t.Errorf("step %s without reason or scope item", s.ID)
		}
	}
	names := func(k StepKind) []string {
		var out []string
		for _, s := range byKind[k] {
			out = append(out, s.ScopeItem)
		}
		slices.Sort(out)
		return out
	}
	// processes: Word, PowerShell, the tool and cmd; not explorer (hub),
	// not Outlook (running before the attack's first change), not lsass
	want := []string{"process:cmd", "process:ps", "process:tool", "process:word"}
	if got := names(KindStopProcess); !slices.Equal(got, want) {
		t.Errorf("stopped %v, want %v", got, want)
	}
	// descendants first: word waits for ps, ps for tool, tool for cmd
	stop := func(item string) *Step { return byItem[item][0] }
	for _, pc := range [][2]string{{"process:word", "process:ps"}, {"process:ps", "process:tool"}, {"process:tool", "process:cmd"}} {
		if !slices.Contains(stop(pc[0]).DependsOn, stop(pc[1]).ID) {
			t.Errorf("stop of %s does not wait for %s: %v", pc[0], pc[1], stop(pc[0]).DependsOn)
		}
	}
	// files: the document, the tool, the server binary quarantined then
	// deleted; the task's file goes with the task; the encrypted file is
	// not restorable; kernel32 is untouched
	wantFiles := []string{schema.FileID("SRV-1.corp.example", `C:\Windows\igfx.exe`), schema.FileID("WKS-1.corp.example", `C:\ProgramData\Intel\igfx.exe`),
		schema.FileID("WKS-1.corp.example", `C:\Users\a\Downloads\Invoice.docm`)}
	slices.Sort(wantFiles)
	if got := names(KindQuarantineFile); !slices.Equal(got, wantFiles) {
		t.Errorf("quarantined %v, want %v", got, wantFiles)
	}
	if got := names(KindDeleteFile); !slices.Equal(got, wantFiles) {
		t.Errorf("deleted %v, want %v", got, wantFiles)
	}
	toolQ := byItem[schema.FileID("WKS-1.corp.example", `C:\ProgramData\Intel\igfx.exe`)][0]
	for _, dep := range []string{stop("process:tool").ID, byItem["task:upd"][0].ID} {
		if !slices.Contains(toolQ.DependsOn, dep) {
			t.Errorf("quarantine of the tool does not wait for %s: %v", dep, toolQ.DependsOn)
		}
	}
	srvQ := byItem[schema.FileID("SRV-1.corp.example", `C:\Windows\igfx.exe`)][0]
	if !slices.Contains(srvQ.DependsOn, byKind[KindStopService][0].ID) {
		t.Errorf("quarantine of the service binary does not wait for the service stop: %v", srvQ.DependsOn)
	}
	// registry: the Run value deleted, the Defender value restored to its
	// prior data, the service's ImagePath folded into the service deletion
	if got := names(KindDeleteRegistry); !slices.Equal(got, []string{"reg:run"}) {
		t.Errorf("registry deletes %v", got)
	}
	rs := byKind[KindRestoreRegistry]
	if len(rs) != 1 || rs[0].Command.Target.RegistryEntry.Value != "DWORD (0x00000000)" || rs[0].Command.Target.RegistryEntry.Type != "REG_DWORD" {
		t.Errorf("registry restore %+v", rs)
	}
	// services, tasks, accounts
	if len(byKind[KindStopService]) != 1 || len(byKind[KindDeleteService]) != 1 || len(byKind[KindDeleteTask]) != 1 {
		t.Errorf("service/task steps: %d %d %d", len(byKind[KindStopService]), len(byKind[KindDeleteService]), len(byKind[KindDeleteTask]))
	}
	if len(byKind[KindDisableAccount]) != 1 || len(byKind[KindDeleteAccount]) != 1 || !byKind[KindDeleteAccount][0].Advice {
		t.Errorf("account steps %v %v", byKind[KindDisableAccount], byKind[KindDeleteAccount])
	}
	if rm := byKind[KindRemoveMember]; len(rm) != 1 || !strings.Contains(rm[0].Command.String(), "Administrators") {
		t.Errorf("membership steps %v", rm)
	}
	if rc := byKind[KindResetCredentials]; len(rc) != 1 || !rc[0].Advice || rc[0].Reversible {
		t.Errorf("credential reset %+v", rc)
	}
	// containment released last on the contained host
	rel := byKind[KindReleaseContainment]
	if len(rel) != 1 {
		t.Fatalf("release steps %v", rel)
	}
	for _, s := range p.Steps {
		if s.Host == "WKS-1.corp.example" && !s.Advice && s.ID != rel[0].ID && !slices.Contains(rel[0].DependsOn, s.ID) {
			t.Errorf("release does not wait for %s", s.ID)
		}
	}
	if p.Steps[len(p.Steps)-1].ID != rel[0].ID && !p.Steps[len(p.Steps)-1].Advice {
		t.Errorf("last step %s", p.Steps[len(p.Steps)-1].ID)
	}
	// not restorable: the overwritten document
	if len(p.NotRestorable) != 1 || p.NotRestorable[0].Name != `C:\Users\a\Documents\q.xlsx` {
		t.Errorf("not restorable %+v", p.NotRestorable)
	}
	// steps come after their dependencies, event ids justify every step
	pos := map[string]int{}
	for i, s := range p.Steps {
		pos[s.ID] = i
		for _, d := range s.DependsOn {
			if _, ok := pos[d]; !ok {
				t.Errorf("step %s comes before its dependency %s", s.ID, d)
			}
		}
		if s.Kind != KindReleaseContainment && len(s.EventIDs) == 0 {
			t.Errorf("step %s names no event", s.ID)
		}
	}
	// deterministic
	p2, _ := pl.Plan(t.Context(), "inc-1", handScope())
	a, _ := json.Marshal(p)
	b, _ := json.Marshal(p2)
	if string(a) != string(b) {
		t.Error("two plans of one scope differ")
	}
}
