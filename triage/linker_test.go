package triage_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/schema"
	"github.com/mdrkit/mdr/triage"
)

// ancestry is a small real Linker: process ancestry from the schema
// mapping's spawned relations. The chain of an alert is its processes and
// their ancestors, stopping below shared system processes (hubs), which
// would link everything.
type ancestry struct {
	parent map[string]string
	image  map[string]string
	fail   bool
}

var hubs = []string{`\explorer.exe`, `\services.exe`, `\svchost.exe`, `\wininit.exe`, `\winlogon.exe`, `\smss.exe`}

func (l *ancestry) add(t *testing.T, ev *mdr.Event) {
	res, err := schema.Extract(ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Entities {
		if e.Kind == mdr.EntityProcess {
			l.image[e.ID] = strings.ToLower(e.Attrs["image"] + e.Name)
		}
	}
	for _, r := range res.Relations {
		if r.Kind == mdr.RelSpawned {
			l.parent[r.To] = r.From
		}
	}
}

func (l *ancestry) hub(id string) bool {
	for _, h := range hubs {
		if strings.HasSuffix(l.image[id], h) {
			return true
		}
	}
	return false
}

func (l *ancestry) CausalChain(ctx context.Context, a *mdr.Alert) ([]string, error) {
	if l.fail {
		return nil, errors.New("graph unavailable")
	}
	var out []string
	for _, e := range a.Entities {
		if e.Kind != mdr.EntityProcess {
			continue
		}
		for id, n := e.ID, 0; id != "" && n < 8 && !l.hub(id); id, n = l.parent[id], n+1 {
			out = append(out, id)
		}
	}
	return out, nil
}

var _ triage.Linker = (*ancestry)(nil)

func sysmon1(host, guid, parent, image, parentImage string, pid, ppid int, at time.Duration) *mdr.Event {
	tm := t0.Add(at).Format("2006-01-02 15:04:05.000")
	return mdr.NewEvent(mdr.Origin{Source: "linker-test"},
		mdr.Field{Key: "_id", Value: mdr.String("ev-" + guid)},
		mdr.Field{Key: "Channel", Value: mdr.String("Microsoft-Windows-Sysmon/Operational")},
		mdr.Field{Key: "EventID", Value: mdr.Int(1)},
		mdr.Field{Key: "Computer", Value: mdr.String(host)},
		mdr.Field{Key: "TimeCreated", Value: mdr.String(t0.Add(at).Format(time.RFC3339))},
		mdr.Field{Key: "UtcTime", Value: mdr.String(tm)},
		mdr.Field{Key: "ProcessGuid", Value: mdr.String("{" + guid + "}")},
		mdr.Field{Key: "ProcessId", Value: mdr.String(fmt.Sprint(pid))},
		mdr.Field{Key: "Image", Value: mdr.String(image)},
		mdr.Field{Key: "CommandLine", Value: mdr.String(image)},
		mdr.Field{Key: "ParentProcessGuid", Value: mdr.String("{" + parent + "}")},
		mdr.Field{Key: "ParentProcessId", Value: mdr.String(fmt.Sprint(ppid))},
		mdr.Field{Key: "ParentImage", Value: mdr.String(parentImage)},
		mdr.Field{Key: "User", Value: mdr.String(`CORP\bob`)})
}

// TestCausalGrouping: with entity matching that groups nothing, alerts on
// processes of one tree join one incident through the Linker, an alert in
// an unrelated tree (below a hub) does not, and a failing Linker is counted
// and reported while the alert is still queued.
func TestCausalGrouping(t *testing.T) {
	ctx := context.Background()
	rules, err := engine.LoadSources(ctx, []engine.Source{{Name: "rules.yml", Data: []byte(`
- id: whoami
  title: Whoami run
  severity: medium
  tags: [attack.discovery]
  condition: e.Image.endsWithFold("\\whoami.exe")
- id: net
  title: Net run
  severity: medium
  tags: [attack.discovery]
  condition: e.Image.endsWithFold("\\net.exe")
`)}})
	if err != nil {
		t.Fatal(err)
	}
	const sys = `C:\Windows\System32\`
	events := []*mdr.Event{
		sysmon1("WS1", "g1", "g0", `C:\Users\bob\evil.exe`, sys+"explorer.exe", 11, 10, 0),
		sysmon1("WS1", "g2", "g1", sys+"cmd.exe", `C:\Users\bob\evil.exe`, 12, 11, time.Second),
		sysmon1("WS1", "g3", "g2", sys+"whoami.exe", sys+"cmd.exe", 13, 12, 2*time.Second),
		sysmon1("WS1", "g4", "g2", sys+"net.exe", sys+"cmd.exe", 14, 12, 3*time.Second),
		sysmon1("WS1", "g5", "g0", sys+"cmd.exe", sys+"explorer.exe", 15, 10, 4*time.Second),
		sysmon1("WS1", "g6", "g5", sys+"whoami.exe", sys+"cmd.exe", 16, 15, 5*time.Second),
	}
	run := func(l *ancestry) (*triage.Queue, []triage.Pushed, []error) {
		cfg := triage.DefaultConfig()
		cfg.MatchKinds = []string{"share"} // no alert names a share: only causality groups
		cfg.DedupWindow = 0                // the two whoami alerts stay apart
		var opts []triage.Option
		if l != nil {
			opts = append(opts, triage.WithLinker(l))
		}
		q, _ := openMem(t, cfg, opts...)
		d, err := engine.NewDetector(rules, engine.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		var ps []triage.Pushed
		var errs []error
		for _, ev := range events {
			if l != nil {
				l.add(t, ev)
			}
			as, err := d.Process(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range as {
				p, err := q.Push(ctx, a, ev)
				if err != nil {
					errs = append(errs, err)
				}
				ps = append(ps, p)
			}
		}
		return q, ps, errs
	}
	_, ps, _ := run(nil)
	if len(ps) != 3 || ps[0].IncidentID == ps[1].IncidentID {
		t.Fatalf("without a linker: %+v", ps)
	}
	l := &ancestry{parent: map[string]string{}, image: map[string]string{}}
	q, ps, errs := run(l)
	if len(errs) != 0 || ps[0].IncidentID != ps[1].IncidentID || ps[2].IncidentID == ps[0].IncidentID {
		t.Fatalf("with the linker: %+v %v", ps, errs)
	}
	if s := q.Stats(); s.LinkedCausally != 1 {
		t.Errorf("stats %+v", s)
	}
	l2 := &ancestry{parent: map[string]string{}, image: map[string]string{}, fail: true}
	q, ps, errs = run(l2)
	if len(errs) != 3 || len(ps) != 3 || ps[0].IncidentID == "" || q.Stats().LinkErrors != 3 {
		t.Fatalf("failing linker: %+v %v", ps, errs)
	}
}
