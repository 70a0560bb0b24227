package runnertest_test

import (
	"testing"

	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/respond/runnertest"
)

// The in-memory CommandRecorder passes the suite.
func TestCommandRecorder(t *testing.T) {
	rec := respond.NewCommandRecorder()
	runnertest.Run(t, rec, func(typ string) respond.CommandRequest {
		return respond.CommandRequest{Command: "echo ok", OutArgs: []string{"__out__"}}
	})
	if n := len(rec.Requests()); n != 10+16 {
		t.Fatalf("recorded %d requests, want 26", n)
	}
}
