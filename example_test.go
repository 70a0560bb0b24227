package mdr_test

import (
	"fmt"
	"time"

	"github.com/mdrkit/mdr"
)

// Build an event in a host product's own format and read it back the way
// rules do: by flat Sigma-style names or by dotted paths (ECS, OCSF).
func ExampleBuilder() {
	b := mdr.NewBuilder(4)
	b.Add("EventID", mdr.Int(1))
	b.Add("Image", mdr.String(`C:\Windows\System32\cmd.exe`))
	b.Add("process.parent.pid", mdr.Int(620)) // nested objects are flattened into dotted keys
	ev := b.FinishAs(mdr.Origin{Source: "edr", Line: 1}, "ev-1", time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))

	id, _ := ev.Int("EventID")
	img, _ := ev.String("Image")
	pid, _ := ev.Int("process.parent.pid")
	_, has := ev.Get("CommandLine")
	fmt.Println(ev.ID(), ev.Time().Format(time.RFC3339), id, img, pid, has)
	// Output:
	// ev-1 2026-03-02T09:00:00Z 1 C:\Windows\System32\cmd.exe 620 false
}

// Read the ATT&CK tactics and techniques of a rule's tags, in kill-chain order.
func ExampleTacticsOf() {
	tags := []string{"attack.t1059.001", "attack.execution", "attack.defense_evasion", "cve.2021-1675"}
	for _, t := range mdr.TacticsOf(tags) {
		fmt.Println(t.Name)
	}
	fmt.Println(mdr.TechniquesOf(tags))
	// Output:
	// execution
	// defense-evasion
	// [T1059.001]
}

// Severities parse from the words rules use and order from low to critical.
func ExampleParseSeverity() {
	s, err := mdr.ParseSeverity("high")
	fmt.Println(s, err, s > mdr.SeverityMedium)
	// Output:
	// high <nil> true
}
