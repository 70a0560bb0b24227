package respond

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mdrkit/mdr/internal/shareddata"
)

// FuzzParsePlaybook feeds the loader arbitrary JSON, seeded with the shared
// CACAO examples and this package's playbooks. It must never panic; a
// playbook that loads must run to an end under small limits with doubles
// for every command type.
func FuzzParsePlaybook(f *testing.F) {
	dir := shareddata.Path(f, "respond", "cacao")
	for _, pattern := range []string{filepath.Join(dir, "*.json"), filepath.Join(dir, "invalid", "*.json"),
		filepath.Join("testdata", "playbooks", "*.json"), filepath.Join("testdata", "playbooks", "invalid", "*.json")} {
		files, _ := filepath.Glob(pattern)
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	l := DefaultPlaybookLimits()
	l.MaxExecutedSteps = 200
	l.MaxWhileIterations = 10
	l.MaxDepth = 2
	l.Timeout = 2 * time.Second
	l.StepTimeout = 100 * time.Millisecond
	l.CELCost = 1000
	f.Fuzz(func(t *testing.T, data []byte) {
		runner := &recordingRunner{types: append([]string{"openc2", "pong"}, cacaoVocabulary...), outputs: map[string]string{}}
		e := engineFor(t, runner, &recordingSender{}, &answeringResponder{approve: true}, WithPlaybookLimits(l))
		pb, err := e.Load(data, "fuzz")
		if err != nil {
			if _, ok := err.(*PlaybookError); !ok {
				t.Fatalf("load error of type %T: %v", err, err)
			}
			return
		}
		e2 := engineFor(t, runner, &recordingSender{}, &answeringResponder{approve: true}, WithPlaybookLimits(l), WithPlaybookLibrary(NewPlaybookSet(pb)))
		start := time.Now()
		ex, _ := e2.Run(context.Background(), pb, RunOptions{})
		if ex == nil {
			t.Fatal("no execution record")
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("run took %v, past its 2 s limit", d)
		}
	})
}

// FuzzCondition feeds the condition compiler arbitrary text; what compiles
// must evaluate without panicking.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{"__count__:value > 0", "[__host__:value = 'WS-042'] AND NOT __on__:value = true",
		"__host__:value IN ('a', 'b')", "__ip__:value ISSUBSET '10.0.0.0/8'", "__host__:value LIKE 'W%_'",
		`cel: vars["__count__"] > 1`, "__host__:value MATCHES '^W'", "(((__count__:value = 3)))"} {
		f.Add(s)
	}
	sc := condScope()
	f.Fuzz(func(t *testing.T, src string) {
		c, err := compileCondition(src, 1000)
		if err != nil {
			return
		}
		_, _ = c.eval(context.Background(), sc)
	})
}
