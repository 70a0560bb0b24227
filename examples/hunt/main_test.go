package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), t.TempDir(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{
		"3 events found",
		`(EventID="1") and (token "cmd.exe")`, // the plan the badger summaries skip segments with
		"demo-discovery-command",              // the retro-hunt raised the native rules' alerts
		"saved hunt \"shell-discovery\" ran: 3 new results",
		"id: hunt-shell-discovery",
		"live rule matched 3 events; the same as the hunt: true",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), " 0 alerts stored") {
		t.Errorf("the retro-hunt stored no alert:\n%s", out.String())
	}
}
