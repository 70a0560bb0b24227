package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, t.TempDir(), "", nil); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"top incident:", "root cause:", `EDR <- {"action":"contain","target":{"file"`, "remediation:"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}
