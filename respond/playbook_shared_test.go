package respond

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr/internal/shareddata"
)

// sharedRejects are the shared CACAO examples a strict loader must refuse,
// with a piece of the reason it must give. The MANIFEST marks the first
// group invalid; the README lists the official examples that are
// themselves defective; the rest use command types outside CACAO's
// vocabulary, which the test runner does not declare.
var sharedRejects = map[string]string{
	"invalid/soarca__test-playbooks__changed-playbook.json":       "workflow: is a JSON array, want an object",
	"invalid/soarca__test-playbooks__invalid_playbook.json":       `type: is "invalid", but the key names a http-api object`,
	"invalid/soarca__test-playbooks__invalid_email_playbook.json": "is not an e-mail address",
	"invalid/soarca__test-playbooks__missing_step_playbook.json":  "names end--6b23c237-ade8-4d00-9aa1-75999738d558, which is not in the workflow",
	"invalid/soarca__test-playbooks__infinite_playbook.json":      "has no end step",
	"oasis-cacao__layout-extension-example.json":                  "commands: missing",
	"cyentific-layout-ext__example.json":                          "switch: missing",
	"oasis-cacao__locky-bart-mbc-examples.json":                   "which is not in target_definitions",
	"soarca__examples__fin-playbook.json":                         `command type "pong": respond: unsupported`,
	"soarca__examples__openc2-playbook.json":                      `command type "openc2": respond: unsupported`,
	"signature-rsa/step1-input-playbook.json":                     "workflow_start: missing",
	"signature-rsa/step3-playbook-with-new-signature-object.json": "workflow_start: missing",
	"signature-rsa/step4-jcs-canonical.json":                      "workflow_start: missing",
	"signature-rsa/step7-signed-playbook.json":                    "workflow_start: missing",
}

// sharedPlaybooks lists the JSON files of the shared MANIFEST.
func sharedPlaybooks(t testing.TB) (dir string, files []string) {
	dir = shareddata.Path(t, "respond", "cacao")
	manifest, err := os.ReadFile(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSpace(string(manifest)), "\n") {
		if i == 0 {
			continue
		}
		f := strings.SplitN(line, "\t", 2)[0]
		if strings.HasSuffix(f, ".json") {
			files = append(files, f)
		}
	}
	if len(files) < 25 {
		t.Fatalf("MANIFEST lists only %d playbooks", len(files))
	}
	return dir, files
}

// TestSharedCACAOExamples loads every shared CACAO example: the valid ones
// load, validate and run to the end with recording doubles; the invalid and
// defective ones are refused with their reason.
func TestSharedCACAOExamples(t *testing.T) {
	dir, files := sharedPlaybooks(t)
	loaded, rejected, ran := 0, 0, 0
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			runner := &recordingRunner{outputs: map[string]string{"__soarca_ssh_result__": "5"}}
			sender := &recordingSender{}
			manual := &answeringResponder{approve: true, values: map[string]string{"__hyperspeed_ready__": "true"}}
			e := engineFor(t, runner, sender, manual)
			pb, err := e.Load(data, f)
			if want, bad := sharedRejects[f]; bad {
				if err == nil {
					t.Fatalf("loaded; want a rejection containing %q", want)
				}
				if !errors.Is(err, ErrPlaybookInvalid) || !strings.Contains(err.Error(), want) {
					t.Fatalf("rejected with %v; want a reason containing %q", err, want)
				}
				rejected++
				return
			}
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			loaded++
			if !pb.ValidUntil.IsZero() && time.Now().After(pb.ValidUntil) {
				// an expired playbook does not run, except on a clock
				// inside its validity window
				if _, err := e.Run(context.Background(), pb, RunOptions{}); err == nil || !strings.Contains(err.Error(), "is valid from") {
					t.Fatalf("expired playbook ran: %v", err)
				}
				at := pb.ValidUntil.Add(-time.Hour)
				e = engineFor(t, runner, sender, manual, WithPlaybookClock(func() time.Time { return at }, nil))
			}
			ex, err := e.Run(context.Background(), pb, RunOptions{})
			if err != nil {
				t.Fatalf("run: %v (steps %+v)", err, ex.Steps)
			}
			if ex.Failed || len(ex.Steps) == 0 {
				t.Fatalf("execution failed=%v with %d steps", ex.Failed, len(ex.Steps))
			}
			var actions, commands int
			for _, r := range ex.Steps {
				if r.Status != StepSuccess {
					t.Errorf("step %s: %s %s", r.StepID, r.Status, r.Error)
				}
				if r.Type == StepAction {
					actions++
					commands += len(pb.Steps[r.StepID].Commands)
				}
			}
			got := len(runner.commands()) + len(sender.cmds) + len(manual.reqs)
			if actions == 0 || got != commands {
				t.Fatalf("%d action steps ran %d commands; the doubles saw %d", actions, commands, got)
			}
			ran++
		})
	}
	t.Logf("%d loaded and ran, %d refused with the expected reason", ran, rejected)
	if loaded+rejected != len(files) {
		t.Fatalf("loaded %d + rejected %d != %d files", loaded, rejected, len(files))
	}
}

// TestSharedUnsupportedTypesLoadWhenDeclared: the SOARCA examples refused for
// their non-CACAO command types load once a runner declares the types —
// the refusal was about this host, not the playbook.
func TestSharedUnsupportedTypesLoadWhenDeclared(t *testing.T) {
	dir := shareddata.Path(t, "respond", "cacao")
	for f, typ := range map[string]string{"soarca__examples__fin-playbook.json": "pong", "soarca__examples__openc2-playbook.json": "openc2"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		runner := &recordingRunner{types: append([]string{typ}, cacaoVocabulary...)}
		e := engineFor(t, runner, &recordingSender{}, &answeringResponder{approve: true})
		pb, err := e.Load(data, f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := e.Run(context.Background(), pb, RunOptions{}); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(runner.reqs) != 1 || runner.reqs[0].Type != typ {
			t.Fatalf("%s: runner saw %+v", f, runner.reqs)
		}
	}
}
