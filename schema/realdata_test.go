package schema_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/schema"
)

// supportedIDs are the Windows event ids the issue requires per dialect.
var supportedIDs = map[schema.Dialect][]int64{
	schema.DialectSysmon:     {1, 3, 5, 7, 8, 10, 11, 12, 13, 14, 15, 17, 18, 22, 23, 25, 26},
	schema.DialectSecurity:   {4624, 4625, 4634, 4648, 4656, 4663, 4672, 4688, 4697, 4698, 4720, 4728, 4732, 5140, 5145, 5156},
	schema.DialectSystem:     {7045},
	schema.DialectPowerShell: {4103, 4104},
}

func required(d schema.Dialect, ev *mdr.Event) bool {
	ids, ok := supportedIDs[d]
	if !ok {
		return false
	}
	code, _ := ev.Int("EventID")
	for _, id := range ids {
		if id == code {
			return d != schema.DialectSystem || strings.EqualFold(strOf(ev, "Provider_Name"), "Service Control Manager")
		}
	}
	return false
}

func strOf(ev *mdr.Event, k string) string { s, _ := ev.String(k); return s }

type tally struct {
	events, withEntity           int // all events of the dialect
	required, requiredWithEntity int // events among the event ids
	requiredWithRelation         int
	supported                    int
	errs                         int
	missing                      map[string]int
}

// TestRealDataCoverage maps every event of the shared logs and measures, per
// dialect, the share of events that yield at least one entity.
func TestRealDataCoverage(t *testing.T) {
	var m schema.Mapper
	m.Processes = schema.NewProcessTable(1 << 16)
	tallies := map[schema.Dialect]*tally{}
	var res schema.Result
	total := 0
	parents, resolved := 0, 0 // Security 4688 creators, and those joined to a known creation
	for _, name := range shareddata.EventFiles {
		path := shareddata.Path(t, "events", name)
		r, err := reader.Open(path, reader.Options{})
		if err != nil {
			t.Fatal(err)
		}
		fileEvents, fileWith := 0, 0
		for r.Next() {
			ev := r.Event()
			total++
			fileEvents++
			err := m.Map(ev, &res)
			if len(res.Entities) > 0 {
				fileWith++
			}
			tl := tallies[res.Dialect]
			if tl == nil {
				tl = &tally{missing: map[string]int{}}
				tallies[res.Dialect] = tl
			}
			tl.events++
			if len(res.Entities) > 0 {
				tl.withEntity++
			}
			if res.Supported {
				tl.supported++
			}
			if required(res.Dialect, ev) {
				tl.required++
				if len(res.Entities) > 0 {
					tl.requiredWithEntity++
				}
				if len(res.Relations) > 0 {
					tl.requiredWithRelation++
				}
			}
			if res.Dialect == schema.DialectSecurity && res.Code == "4688" {
				for _, rel := range res.Relations {
					if rel.Kind == mdr.RelSpawned {
						parents++
						if id := strings.TrimPrefix(rel.From, "process:"); strings.Contains(id, "@") || !strings.Contains(id, ":") {
							resolved++
						}
					}
				}
			}
			if err != nil {
				var ee *schema.EventError
				if !errors.As(err, &ee) || !errors.Is(err, schema.ErrMissingField) {
					t.Fatalf("%s: unexpected error type %T: %v", filepath.Base(path), err, err)
				}
				if ee.Origin.Source != path || ee.Origin.Line == 0 {
					t.Errorf("error does not name its origin: %v", err)
				}
				tl.errs++
				tl.missing[res.Code+":"+ee.Field]++
			}
			checkResult(t, ev, &res)
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		r.Close()
		t.Logf("%-28s %6d events, %6d with an entity (%5.1f%%)", name, fileEvents, fileWith, pct(fileWith, fileEvents))
	}
	var ds []schema.Dialect
	for d := range tallies {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	for _, d := range ds {
		tl := tallies[d]
		line := fmt.Sprintf("%-10s events %6d  with entity %6d (%5.1f%%)  supported kinds %6d",
			d, tl.events, tl.withEntity, pct(tl.withEntity, tl.events), tl.supported)
		if tl.required > 0 {
			line += fmt.Sprintf("  issue's event ids %6d with entity %6d (%5.1f%%) with relation %6d (%5.1f%%)", tl.required,
				tl.requiredWithEntity, pct(tl.requiredWithEntity, tl.required), tl.requiredWithRelation, pct(tl.requiredWithRelation, tl.required))
		}
		if tl.errs > 0 {
			line += fmt.Sprintf("  missing-field errors %d %v", tl.errs, tl.missing)
		}
		t.Log(line)
	}
	t.Logf("%d events in all, process table %d entries, %d dropped", total, m.Processes.Len(), m.Processes.Dropped())
	t.Logf("Security 4688: %d of %d creators (%.1f%%) joined to the id of their own creation event", resolved, parents, pct(resolved, parents))

	// Minimums: every event of the event ids must yield an entity
	// (within a small allowance for broken records), and Sysmon on Linux
	// counts as Sysmon.
	mins := map[schema.Dialect]float64{
		schema.DialectSysmon: 99, schema.DialectSecurity: 99, schema.DialectSystem: 99, schema.DialectPowerShell: 99,
	}
	for d, min := range mins {
		tl := tallies[d]
		if tl == nil || tl.required == 0 {
			t.Errorf("%s: no events of the issue's ids in the shared data", d)
			continue
		}
		if got := pct(tl.requiredWithEntity, tl.required); got < min {
			t.Errorf("%s: %.1f%% of the issue's event ids yield an entity, want >= %.0f%%", d, got, min)
		}
		if got := pct(tl.requiredWithRelation, tl.required); got < min-4 {
			t.Errorf("%s: %.1f%% of the issue's event ids yield a relation, want >= %.0f%%", d, got, min-4)
		}
	}
	if tl := tallies[schema.DialectAuditd]; tl == nil || pct(tl.withEntity, tl.supported) < 95 {
		t.Errorf("auditd: too few SYSCALL/EXECVE records yield an entity: %+v", tl)
	}
	if tl := tallies[schema.DialectUnknown]; tl != nil && tl.events > 0 {
		t.Errorf("%d events of no recognised dialect", tl.events)
	}
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// checkResult asserts the invariants every result holds: relations join
// entities of the result, ids are unique and carry their kind's prefix, and
// every relation has the event's time and id.
func checkResult(t *testing.T, ev *mdr.Event, r *schema.Result) {
	t.Helper()
	seen := make(map[string]bool, len(r.Entities))
	for _, e := range r.Entities {
		if seen[e.ID] {
			t.Fatalf("%s:%d: duplicate entity %s", ev.Origin().Source, ev.Origin().Line, e.ID)
		}
		seen[e.ID] = true
		if !strings.HasPrefix(e.ID, prefixOf[e.Kind]) || schema.KindOfID(e.ID) != e.Kind {
			t.Fatalf("%s:%d: entity %s of kind %s has the wrong prefix", ev.Origin().Source, ev.Origin().Line, e.ID, e.Kind)
		}
	}
	for _, rel := range r.Relations {
		if !seen[rel.From] || !seen[rel.To] {
			t.Fatalf("%s:%d: relation %s %s -> %s joins an entity not in the result", ev.Origin().Source, ev.Origin().Line, rel.Kind, rel.From, rel.To)
		}
		if rel.EventID != ev.ID() || !rel.Time.Equal(ev.Time()) {
			t.Fatalf("%s:%d: relation %s does not carry the event's id and time", ev.Origin().Source, ev.Origin().Line, rel.Kind)
		}
	}
}

var prefixOf = map[mdr.EntityKind]string{
	mdr.EntityHost: "host:", mdr.EntityUser: "user:", mdr.EntityProcess: "process:", mdr.EntityFile: "file:",
	mdr.EntityNetworkEndpoint: "ip:", mdr.EntityDomain: "domain:", mdr.EntityRegistryKey: "reg:",
	mdr.EntityService: "service:", mdr.EntityScheduledTask: "task:", mdr.EntityPipe: "pipe:",
	mdr.EntityShare: "share:", mdr.EntityScript: "script:",
}

func init() {
	prefixOf[mdr.EntityAccount] = "" // groups ("group:") and SIDs ("sid:")
}
