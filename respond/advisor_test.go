package respond

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
)

// attackAlerts runs the Sigma corpus's process-access rules over the
// EVTX attack samples.
func attackAlerts(t *testing.T) []mdr.Alert {
	t.Helper()
	ctx := context.Background()
	rules, err := engine.Load(ctx, []string{shareddata.Path(t, "sigma", "rules", "windows", "process_access")})
	if err != nil {
		t.Fatal(err)
	}
	det, err := engine.NewDetector(rules, engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var alerts []mdr.Alert
	_, err = engine.DetectFiles(ctx, det, []string{shareddata.Path(t, "events", "evtx_attack_samples.jsonl")}, reader.Options{OnError: reader.Skip},
		func(_ *mdr.Event, as []mdr.Alert) error { alerts = append(alerts, as...); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) < 10 {
		t.Fatalf("only %d alerts", len(alerts))
	}
	return alerts
}

func TestAdviseOnAttackSamples(t *testing.T) {
	alerts := attackAlerts(t)
	adv, err := NewAdvisor()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	incidents, err := adv.AdviseAlerts(ctx, alerts, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(incidents) == 0 {
		t.Fatal("no advice")
	}
	contained := 0
	for _, ia := range incidents {
		host := ia.Incident.Alerts[0].Host
		credDump := false
		for _, a := range ia.Incident.Alerts {
			for _, tech := range mdr.TechniquesOf(a.Tags) {
				credDump = credDump || strings.HasPrefix(tech, "T1003")
			}
		}
		for i, a := range ia.Advice {
			if err := a.Command.Validate(); err != nil {
				t.Errorf("%s: invalid command %s: %v", ia.Incident.ID, a.Command, err)
			}
			if a.Rank != i+1 || a.Score <= 0 || a.Score > 1 || (i > 0 && a.Score > ia.Advice[i-1].Score) {
				t.Errorf("%s: bad ranking at %d: %+v", ia.Incident.ID, i, a)
			}
			if !strings.Contains(a.Rationale, a.Countermeasure) || !strings.Contains(a.Rationale, a.Techniques[0]) {
				t.Errorf("rationale %q lacks its countermeasure or technique", a.Rationale)
			}
			if p := a.Command.Target.Process; p != nil && p.Executable != nil && criticalProcesses[strings.ToLower(baseName(p.Executable.Path))] {
				t.Errorf("proposes to stop a critical process: %s", a.Command)
			}
		}
		if credDump {
			top := ia.Advice[0].Command
			if top.Action != ActionContain || top.Target.Device == nil || top.Target.Device.Hostname != host {
				t.Errorf("%s: credential dumping, but the top advice is %s", ia.Incident.ID, top)
			} else {
				contained++
			}
		}
	}
	if contained == 0 {
		t.Fatal("no credential-dumping incident was advised to contain its host")
	}
	// deterministic: the same alerts give the same commands and ids
	again, _ := adv.AdviseAlerts(ctx, alerts, 30*time.Minute)
	if !reflect.DeepEqual(incidents, again) {
		t.Fatal("advice is not deterministic")
	}
	t.Logf("%d alerts, %d incidents with advice, %d contain their host for credential dumping", len(alerts), len(incidents), contained)
}

type fixedScope []mdr.Entity

func (s fixedScope) ScopeEntities() []mdr.Entity { return s }

func TestAdviseKindsAndScope(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	in := Incident{ID: "inc-1", Alerts: []mdr.Alert{
		{ID: "a1", RuleTitle: "Run key persistence", Severity: mdr.SeverityHigh, Host: "ws1", Time: t0,
			Tags: []string{"attack.persistence", "attack.t1547.001"},
			Entities: []mdr.Entity{
				{Kind: mdr.EntityRegistryKey, ID: `reg:hkcu\software\microsoft\windows\currentversion\run\updater`, Name: `HKCU\Software\Microsoft\Windows\CurrentVersion\Run\Updater`},
				{Kind: mdr.EntityFile, ID: `file:ws1\c:\users\bob\appdata\updater.exe`, Name: `C:\Users\bob\AppData\updater.exe`},
			}},
		{ID: "a2", RuleTitle: "C2 beacon", Severity: mdr.SeverityCritical, Host: "ws1", Time: t0.Add(time.Minute),
			Tags: []string{"attack.t1071.001"},
			Entities: []mdr.Entity{
				{Kind: mdr.EntityDomain, ID: "domain:evil.example", Name: "evil.example"},
				{Kind: mdr.EntityNetworkEndpoint, ID: "ip:198.51.100.7:443", Name: "198.51.100.7:443"},
				{Kind: mdr.EntityNetworkEndpoint, ID: "ip:10.0.0.5:445", Name: "10.0.0.5:445"},
				{Kind: mdr.EntityProcess, ID: "proc:1", Name: `C:\Users\bob\AppData\updater.exe`, Attrs: map[string]string{"pid": "4242"}},
			}},
		{ID: "a3", RuleTitle: "Scheduled task", Severity: mdr.SeverityMedium, Host: "ws1", Time: t0.Add(2 * time.Minute),
			Tags:     []string{"attack.t1053.005"},
			Entities: []mdr.Entity{{Kind: mdr.EntityScheduledTask, ID: `task:ws1\\updater`, Name: `\Updater`}}},
	}, Techniques: []string{"attack.t1021.002"}, Scope: fixedScope{
		{Kind: mdr.EntityHost, ID: "host:srv2", Name: "srv2"},
		{Kind: mdr.EntityUser, ID: `user:corp\bob`, Name: `CORP\bob`, Attrs: map[string]string{"host": "ws1"}},
		{Kind: mdr.EntityUser, ID: `user:nt authority\system`, Name: `NT AUTHORITY\SYSTEM`, Attrs: map[string]string{"host": "ws1"}},
	}}
	adv, _ := NewAdvisor()
	out, err := adv.Advise(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, a := range out {
		got[string(a.Command.Action)+" "+a.Command.Target.Name()+" "+strings.Join(a.Command.Hosts(), ",")] = true
		if a.Command.Target.IPv4Net == "10.0.0.5" {
			t.Error("proposes to block a private address")
		}
		if acct := a.Command.Target.Account; acct != nil && strings.EqualFold(acct.AccountName, "SYSTEM") {
			t.Error("proposes to disable SYSTEM")
		}
	}
	for _, want := range []string{
		"delete er:registry_entry ws1", "contain file ws1", "deny domain_name ws1", "deny ipv4_net ws1",
		"stop process ws1", "delete mdr:scheduled_task ws1", "contain device ws1", "contain device srv2",
		"set er:account ws1",
	} {
		if !got[want] {
			t.Errorf("missing advice %q; got %v", want, got)
		}
	}
}

func TestAdvisorTableIsExtensible(t *testing.T) {
	adv, err := NewAdvisor(
		WithCountermeasures(Countermeasure{ID: "X-SUPPLY", Name: "Vendor domain block", Kind: CounterBlockDomain, Weight: 0.9, Why: "cuts the compromised update channel"}),
		WithMappings(Mapping{Technique: "T1195.002", Name: "Compromise Software Supply Chain", Countermeasures: []string{"X-SUPPLY", "D3-NI"}}),
	)
	if err != nil {
		t.Fatal(err)
	}
	in := Incident{ID: "x", Alerts: []mdr.Alert{{ID: "a", Host: "ws9", Severity: mdr.SeverityHigh, Tags: []string{"attack.t1195.002"},
		Entities: []mdr.Entity{{Kind: mdr.EntityDomain, ID: "domain:update.vendor.example", Name: "update.vendor.example"}}}}}
	out, err := adv.Advise(context.Background(), in)
	if err != nil || len(out) != 2 || out[0].Countermeasure != "D3-NI" && out[0].Countermeasure != "X-SUPPLY" {
		t.Fatalf("%v %+v", err, out)
	}
	for _, bad := range []AdvisorOption{
		WithCountermeasures(Countermeasure{ID: "B", Kind: "teleport", Weight: 0.5}),
		WithCountermeasures(Countermeasure{ID: "B", Kind: CounterBlockDomain, Weight: 2}),
		WithMappings(Mapping{Technique: "lateral", Countermeasures: []string{"D3-NI"}}),
		WithMappings(Mapping{Technique: "T1000", Countermeasures: []string{"NOPE"}}),
	} {
		if _, err := NewAdvisor(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad option accepted: %v", err)
		}
	}
}

func TestGroupAlerts(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	al := func(id, host string, min int) mdr.Alert {
		return mdr.Alert{ID: id, Host: host, Time: t0.Add(time.Duration(min) * time.Minute)}
	}
	got := GroupAlerts([]mdr.Alert{al("1", "a", 0), al("2", "b", 5), al("3", "a", 20), al("4", "a", 90), al("5", "a", 100)}, 30*time.Minute)
	var ids [][]string
	for _, in := range got {
		var s []string
		for _, a := range in.Alerts {
			s = append(s, a.ID)
		}
		ids = append(ids, s)
	}
	want := [][]string{{"1", "3"}, {"4", "5"}, {"2"}}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("groups %v, want %v", ids, want)
	}
	if got[0].ID != "a@2026-01-01T00:00:00Z" {
		t.Fatalf("id %q", got[0].ID)
	}
}
