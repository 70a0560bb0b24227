package remediate

import (
	"fmt"
	"testing"
	"time"

	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/schema"
)

// bigScope builds a scope of n items on 4 hosts shaped like a large
// incident: process trees (a third of the items), dropped files and the
// processes running them, registry values (some with prior data), services
// and tasks running dropped files, accounts, memberships, endpoints.
func bigScope(n int) *investigate.Scope {
	sc := &investigate.Scope{}
	hosts := []string{"WKS-1.corp.example", "WKS-2.corp.example", "SRV-1.corp.example", "SRV-2.corp.example"}
	for i := 0; len(sc.Items) < n; i++ {
		h := hosts[i%len(hosts)]
		t := t0.Add(time.Duration(i) * time.Second)
		ev := []string{fmt.Sprintf("ev-%d", i)}
		drop := fmt.Sprintf(`C:\ProgramData\x%d\tool%d.exe`, i%50, i)
		pid := fmt.Sprintf("process:%d", i)
		parent := ""
		if i >= 4 {
			parent = fmt.Sprintf("process:%d", i-4) // same host, a chain
		}
		sc.Items = append(sc.Items,
			investigate.Item{Kind: investigate.ItemProcess, EntityID: pid, Host: h, Name: drop, Image: drop, PID: int64(1000 + i), ParentID: parent,
				Action: investigate.ActExecuted, Role: investigate.RoleImpact, First: t, EventIDs: ev},
			investigate.Item{Kind: investigate.ItemFile, EntityID: schema.FileID(h, drop), Host: h, Name: drop, Action: investigate.ActCreated, First: t, EventIDs: ev})
		switch i % 6 {
		case 0:
			sc.Items = append(sc.Items, investigate.Item{Kind: investigate.ItemRegistry, EntityID: fmt.Sprintf("reg:%d", i), Host: h,
				Name: fmt.Sprintf(`HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\v%d`, i), Data: drop, Action: investigate.ActCreated, First: t, EventIDs: ev})
		case 1:
			sc.Items = append(sc.Items, investigate.Item{Kind: investigate.ItemRegistry, EntityID: fmt.Sprintf("reg:%d", i), Host: h,
				Name: fmt.Sprintf(`HKLM\SOFTWARE\Policies\p%d`, i), Data: "DWORD (0x00000001)", Prior: "DWORD (0x00000000)", PriorSeen: true,
				Action: investigate.ActModified, First: t, EventIDs: ev})
		case 2:
			sc.Items = append(sc.Items, investigate.Item{Kind: investigate.ItemService, EntityID: fmt.Sprintf("service:%d", i), Host: h,
				Name: fmt.Sprintf("Svc%d", i), ImagePath: drop, Action: investigate.ActCreated, First: t, EventIDs: ev})
		case 3:
			sc.Items = append(sc.Items, investigate.Item{Kind: investigate.ItemTask, EntityID: fmt.Sprintf("task:%d", i), Host: h,
				Name: fmt.Sprintf(`\Vendor\T%d`, i), Command: drop, Action: investigate.ActCreated, First: t, EventIDs: ev})
		case 4:
			sc.Items = append(sc.Items, investigate.Item{Kind: investigate.ItemEndpoint, EntityID: fmt.Sprintf("ip:10.0.0.%d:443", i%250), Host: h,
				Action: investigate.ActContacted, First: t, EventIDs: ev})
		case 5:
			sc.Items = append(sc.Items, investigate.Item{Kind: investigate.ItemAccount, EntityID: fmt.Sprintf("user:h\\acct%d", i), Host: h,
				Name: fmt.Sprintf("acct%d", i), Action: investigate.ActCreated, First: t, EventIDs: ev},
				investigate.Item{Kind: investigate.ItemGroupMembership, EntityID: fmt.Sprintf("user:h\\acct%d", i), Host: h,
					Name: fmt.Sprintf(`H\acct%d`, i), Groups: []string{"Administrators"}, Action: investigate.ActAdded, First: t, EventIDs: ev})
		}
	}
	sc.Items = sc.Items[:n]
	return sc
}

// BenchmarkPlan1000 plans an incident whose scope holds 1,000 items (goal:
// at most 50 ms).
func BenchmarkPlan1000(b *testing.B) {
	sc := bigScope(1000)
	pl := NewPlanner(PlannerConfig{Contained: []string{"WKS-1.corp.example"}})
	b.ReportAllocs()
	steps := 0
	cpu := processCPU()
	for b.Loop() {
		p, err := pl.Plan(b.Context(), "inc", sc)
		if err != nil {
			b.Fatal(err)
		}
		steps = len(p.Steps)
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
	b.ReportMetric(float64(steps), "steps")
}
