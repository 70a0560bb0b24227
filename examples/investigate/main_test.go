package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	path := filepath.Join(t.TempDir(), "scope.svg")
	if err := run(context.Background(), &out, path); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"alert: Credential dumping tool runs (critical)", "root cause: C:\\ProgramData\\", "forward from powershell.exe", "service ", "host           SRV-"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(b, []byte("<svg")) {
		t.Errorf("no SVG written: %v", err)
	}
}
