package engine_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
)

// Load rules (here from memory; engine.Load reads files and folders), run
// a Detector over events and read the alerts.
func Example() {
	ctx := context.Background()
	rules, err := engine.LoadSources(ctx, []engine.Source{{Name: "rules.yml", Data: []byte(`
id: whoami
title: Whoami run
severity: medium
tags: [attack.discovery, attack.t1033]
condition: e.Image.endsWithFold("\\whoami.exe")
`)}})
	if err != nil {
		fmt.Println(err)
		return
	}
	d, err := engine.NewDetector(rules, engine.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	ev := mdr.NewEvent(mdr.Origin{Source: "example"},
		mdr.Field{Key: "_id", Value: mdr.String("ev-1")},
		mdr.Field{Key: "Computer", Value: mdr.String("WS1")},
		mdr.Field{Key: "TimeCreated", Value: mdr.String(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Format(time.RFC3339))},
		mdr.Field{Key: "Image", Value: mdr.String(`C:\Windows\System32\whoami.exe`)})
	alerts, err := d.Process(ctx, ev)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range alerts {
		fmt.Println(a.ID, a.Severity, a.Host, a.Time.Format(time.RFC3339))
	}
	// Output: whoami:ev-1 medium WS1 2026-03-02T09:00:00Z
}
