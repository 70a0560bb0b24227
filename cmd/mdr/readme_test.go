package main

import (
	"context"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/detect/sigma"
)

// TestReadmeSnippet runs the embedding example of README.md.
func TestReadmeSnippet(t *testing.T) {
	ctx := context.Background()
	rules, err := detect.ParseRules([]byte(`
id: encoded-powershell
title: PowerShell with an encoded command
severity: high
tags: [attack.execution, attack.t1059.001]
logsource: {product: windows, category: process_creation}
condition: e.Image.endsWithFold("\\powershell.exe") && e.CommandLine.containsFold(windash(" -enc "))
`), "inline.yml")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := detect.Compile(rules, detect.WithPipeline(sigma.WindowsPipeline().Routing()))
	if err != nil {
		t.Fatal(err)
	}
	ev := mdr.NewEvent(mdr.Origin{}, mdr.Field{Key: "EventID", Value: mdr.Int(1)}, mdr.Field{Key: "Channel", Value: mdr.String("Microsoft-Windows-Sysmon/Operational")},
		mdr.Field{Key: "Image", Value: mdr.String(`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`)}, mdr.Field{Key: "CommandLine", Value: mdr.String("powershell /ENC abc")})
	matches, err := rs.Match(ctx, ev)
	if err != nil || len(matches) != 1 {
		t.Fatalf("%v %v", matches, err)
	}
	t.Log(matches[0])
}
