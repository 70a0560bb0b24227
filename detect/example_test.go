package detect_test

import (
	"context"
	"fmt"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
)

// Parse native rules, compile them, match an event and read the
// explanation.
func Example() {
	rules, err := detect.ParseRules([]byte(`
id: encoded-powershell
title: PowerShell with an encoded command
severity: high
tags: [attack.execution, attack.t1059.001]
logsource: {product: windows, category: process_creation}
condition: >
  e.Image.endsWithFold(["\\powershell.exe", "\\pwsh.exe"]) &&
  e.CommandLine.containsFold(windash(" -enc "))
`), "example.yml")
	if err != nil {
		fmt.Println(err)
		return
	}
	rs, err := detect.Compile(rules)
	if err != nil {
		fmt.Println(err)
		return
	}
	ev := mdr.NewEvent(mdr.Origin{Source: "example"},
		mdr.Field{Key: "Image", Value: mdr.String(`C:\Windows\System32\WindowsPowerShell\v1.0\PowerShell.exe`)},
		mdr.Field{Key: "CommandLine", Value: mdr.String(`powershell /ENC SQBFAFgA`)})
	matches, err := rs.Match(context.Background(), ev)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range matches {
		fmt.Println(m.Rule.ID, m.Rule.Severity)
		fmt.Println(m.Explanation)
	}
	// Output:
	// encoded-powershell high
	// Image = "C:\Windows\System32\WindowsPowerShell\v1.0\PowerShell.exe" endsWithFold ["\\powershell.exe", "\\pwsh.exe"]
	// CommandLine = "powershell /ENC SQBFAFgA" containsFold [" -enc ", " /enc ", " –enc ", " —enc ", " ―enc "]
}

// Every rejected rule is reported with its file, line, id and reason; the
// accepted rules are compiled all the same.
func ExampleCompile_errors() {
	rules := []detect.Rule{
		{ID: "ok", Condition: `e.Image.endsWithFold("\\cmd.exe")`},
		{ID: "typo", Condition: `e.Image.endsWithFlod("\\cmd.exe")`, Source: mdr.Origin{Source: "rules.yml", Line: 12}},
		{ID: "bad-regex", Condition: `e.CommandLine.regex("(unclosed")`, Source: mdr.Origin{Source: "rules.yml", Line: 20}},
	}
	rs, err := detect.Compile(rules)
	for _, r := range detect.Rejections(err) {
		fmt.Printf("%s:%d %s\n", r.File, r.Line, r.RuleID)
	}
	fmt.Println(rs.Len(), "accepted")
	// Output:
	// rules.yml:12 typo
	// rules.yml:20 bad-regex
	// 1 accepted
}

// A pipeline routes rules to the events of their logsource: here a process
// creation rule only meets Sysmon event 1 and Security event 4688.
func ExampleWithPipeline() {
	p := detect.Pipeline{Name: "windows", Logsources: []detect.LogsourceMapping{{
		Logsource: detect.Logsource{Product: "windows", Category: "process_creation"},
		Conditions: []map[string][]string{
			{"Channel": {"Microsoft-Windows-Sysmon/Operational"}, "EventID": {"1"}},
			{"Channel": {"Security"}, "EventID": {"4688"}},
		},
	}}}
	rs, _ := detect.Compile([]detect.Rule{{
		ID: "whoami", Logsource: detect.Logsource{Product: "windows", Category: "process_creation"},
		Condition: `e.CommandLine.containsFold("whoami")`,
	}}, detect.WithPipeline(p))
	for _, id := range []int64{4688, 4624} {
		ev := mdr.NewEvent(mdr.Origin{},
			mdr.Field{Key: "Channel", Value: mdr.String("Security")},
			mdr.Field{Key: "EventID", Value: mdr.Int(id)},
			mdr.Field{Key: "CommandLine", Value: mdr.String("whoami /all")})
		ms, _ := rs.Match(context.Background(), ev)
		fmt.Println(id, len(ms))
	}
	// Output:
	// 4688 1
	// 4624 0
}
