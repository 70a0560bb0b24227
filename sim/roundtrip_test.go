package sim_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/schema"
	"github.com/mdrkit/mdr/sim"
)

// graph is what schema made of a run's telemetry.
type graph struct {
	entities map[string]mdr.Entity
	rels     []mdr.Relation
	events   []*mdr.Event
}

func (g *graph) has(kind mdr.RelationKind, to string) bool {
	for _, r := range g.rels {
		if r.Kind == kind && r.To == to {
			return true
		}
	}
	return false
}

// notMapped are the event ids the fleet writes that schema does not map to
// entities (they change no entity schema knows: service state changes,
// account enabled or disabled, task deleted).
var notMapped = map[int64]bool{7036: true, 4722: true, 4725: true, 4699: true}

// mapRun reads a run's NDJSON back through package reader and maps every
// event through schema, failing on a malformed line, an unsupported event
// or a mapping error.
func mapRun(t *testing.T, r *sim.Run) *graph {
	t.Helper()
	rd, err := reader.New(bytes.NewReader(ndjson(t, r)), r.Scenario.Name, reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := &graph{entities: map[string]mdr.Entity{}}
	m := schema.Mapper{Processes: schema.NewProcessTable(1 << 12)}
	var res schema.Result
	for ev, err := range rd.All() {
		if err != nil {
			t.Fatalf("reading back: %v", err)
		}
		g.events = append(g.events, ev)
		if err := m.Map(ev, &res); err != nil {
			t.Errorf("event %s: %v", ev.ID(), err)
		}
		if code, _ := ev.Int("EventID"); !res.Supported && !notMapped[code] {
			t.Errorf("event %s (EventID %d, %s): schema does not support it", ev.ID(), code, schema.Detect(ev))
		}
		for _, e := range res.Entities {
			if _, ok := g.entities[e.ID]; !ok {
				g.entities[e.ID] = e
			}
		}
		g.rels = append(g.rels, res.Relations...)
	}
	recs := map[string]int64{}
	for i, ev := range g.events {
		if i > 0 && ev.Time().Before(g.events[i-1].Time()) {
			t.Errorf("event %s is earlier than the one before it", ev.ID())
		}
		host, _ := ev.Text("Computer")
		ch, _ := ev.Text("Channel")
		rec, ok := ev.Int("EventRecordID")
		if !ok || rec <= recs[host+ch] {
			t.Errorf("event %s: EventRecordID %d does not follow %d on %s %s", ev.ID(), rec, recs[host+ch], host, ch)
		}
		recs[host+ch] = rec
	}
	if len(g.events) != len(r.Events) {
		t.Fatalf("read back %d events, emitted %d", len(g.events), len(r.Events))
	}
	return g
}

// TestRoundTrip reads every scenario's telemetry back through reader and
// schema and checks that every artifact the attack left is an entity with
// the relation that made it: the process spawned, the file written, the
// registry value set, the service installed, the task created, the
// account created, the member added to the group.
func TestRoundTrip(t *testing.T) {
	for _, name := range sim.Scenarios() {
		t.Run(name, func(t *testing.T) {
			r := generate(t, name, 7)
			g := mapRun(t, r)
			if len(r.Truth.Attack) == 0 {
				t.Fatal("the attack changed nothing")
			}
			for _, c := range r.Truth.Attack {
				a := c.Artifact
				id := a.EntityID()
				kind := map[sim.ArtifactKind]mdr.RelationKind{sim.KindProcess: mdr.RelSpawned, sim.KindFile: mdr.RelWroteFile,
					sim.KindRegistry: mdr.RelSetRegistry, sim.KindService: mdr.RelInstalledService, sim.KindTask: mdr.RelCreatedTask,
					sim.KindAccount: mdr.RelCreatedAccount, sim.KindGroupMember: mdr.RelAddedToGroup}[a.Kind]
				if id == "" || kind == 0 {
					t.Errorf("unexpected attack artifact %s", a)
					continue
				}
				if c.Op == sim.Removed {
					continue
				}
				if _, ok := g.entities[id]; !ok {
					t.Errorf("%s: no entity %s", a, id)
					continue
				}
				if !g.has(kind, id) {
					t.Errorf("%s: no %s relation to %s", a, kind, id)
				}
			}
		})
	}
}

// TestRoundTripPhish checks the demo story's key facts in the mapped graph.
func TestRoundTripPhish(t *testing.T) {
	r := generate(t, "phish-lateral", 3)
	g := mapRun(t, r)
	wks, srv := r.HostIDs["wks"], r.HostIDs["srv"]
	var opened, logon3, creds bool
	for _, rel := range g.rels {
		switch rel.Kind {
		case mdr.RelOpenedProcess:
			if e := g.entities[rel.To]; strings.HasSuffix(strings.ToLower(e.Name), `\lsass.exe`) && rel.Attrs["granted_access"] == "0x1010" {
				opened = true
			}
		case mdr.RelLoggedOn:
			if rel.To == schema.HostID(srv) && rel.Attrs["logon_type"] == "3" && rel.Attrs["source_ip"] != "" &&
				strings.EqualFold(g.entities[rel.From].Name, r.Vars["admin"]) {
				logon3 = true
			}
		case mdr.RelUsedCredentials:
			if rel.Attrs["target_server"] == srv {
				creds = true
			}
		}
	}
	if !opened {
		t.Error("no lsass access with 0x1010")
	}
	if !logon3 {
		t.Errorf("no network logon of %s on %s", r.Vars["admin"], srv)
	}
	if !creds {
		t.Error("no explicit-credential use (4648)")
	}
	// The tool is the same content on both hosts.
	tool, copied := schema.FileID(wks, r.Vars["tool"]), schema.FileID(srv, `C:\Windows\`+r.Vars["toolname"]+".exe")
	for _, id := range []string{tool, copied} {
		if !g.has(mdr.RelWroteFile, id) {
			t.Errorf("no write of %s", id)
		}
	}
}
