package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRun maps the sample and checks the tree: parents above children, the
// Security 4688 process joined under its Sysmon parent by pid, and the
// file write and connection under the processes that did them.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, bytes.NewReader(sample), "events.ndjson"); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	want := `LAB-WS01.lab.example
└─ C:\Windows\System32\userinit.exe (4388)
   └─ C:\Windows\explorer.exe (4410)  C:\Windows\Explorer.EXE  [LAB\ana]
      ├─ C:\Windows\System32\cmd.exe (6120)  cmd.exe /k cd C:\build  [LAB\ana]
      │  ├─ C:\Program Files\Git\cmd\git.exe (7004)  git pull --ff-only  [LAB\ana]
      │  │  · connected to 192.0.2.80:443
      │  ├─ C:\Tools\go\bin\go.exe (7330)  go build -o app.exe .  [LAB\ana]
      │  │  · wrote C:\build\app.exe
      │  └─ C:\build\app.exe (7712)  app.exe --selftest  [LAB\ana]
      └─ C:\Windows\System32\notepad.exe (7952)  notepad.exe C:\build\README.txt  [LAB\ana]
`
	if !strings.Contains(got, want) {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
	if !strings.HasPrefix(got, "8 events (0 of kinds the mapper does not know): ") {
		t.Errorf("summary: %s", strings.SplitN(got, "\n", 2)[0])
	}
}

// TestRunMalformed: a malformed line stops the run with an error naming
// the line.
func TestRunMalformed(t *testing.T) {
	err := run(context.Background(), &bytes.Buffer{}, strings.NewReader("{\"EventID\":1}\n{oops\n"), "bad.ndjson")
	if err == nil || !strings.Contains(err.Error(), "bad.ndjson") || !strings.Contains(err.Error(), "2") {
		t.Errorf("error %v, want one naming bad.ndjson line 2", err)
	}
}
