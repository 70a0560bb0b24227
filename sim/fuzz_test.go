package sim_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mdrkit/mdr/sim"
)

// FuzzParseScenario feeds scenario scripts (the built-in ones as seeds) to
// ParseScenario and runs what parses under a small step budget: nothing
// may panic, and a failure must be a ScriptError or a context or limit
// error.
func FuzzParseScenario(f *testing.F) {
	for _, name := range sim.Scenarios() {
		data, err := os.ReadFile(filepath.Join("scenarios", name+".yaml"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(miniScript))
	f.Add([]byte("name: x\nhosts: [{id: h, name: H}]\nsteps:\n  - {op: baseline}\n  - {op: noise, count: 1..3}\nnoise:\n  - - {op: logon, host: h, user: 'C\\u{{int 1 3}}'}\n"))
	f.Add([]byte("name: x\nhosts: [{id: h, name: '{{range 100000000}}{{end}}'}]\nsteps: [{op: baseline}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := sim.ParseScenario("fuzz.yaml", data)
		if err != nil {
			var se *sim.ScriptError
			if !errors.As(err, &se) {
				t.Fatalf("not a ScriptError: %v", err)
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := s.Run(ctx, sim.RunConfig{MaxSteps: 500}); err != nil {
			var se *sim.ScriptError
			if !errors.As(err, &se) && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("run: not a ScriptError: %v", err)
			}
		}
	})
}
