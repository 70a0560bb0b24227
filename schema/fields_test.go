package schema_test

import (
	"testing"

	"github.com/mdrkit/mdr"

	"github.com/mdrkit/mdr/schema"
)

// TestLookupAcrossDialects reads the same canonical fields from the same
// activity written in four dialects.
func TestLookupAcrossDialects(t *testing.T) {
	ecs := readFile(t, "testdata/ecs.ndjson")
	ocsf := readFile(t, "testdata/ocsf.ndjson")
	s1 := sysmon(1, "ProcessGuid", psGUID, "ProcessId", "4312", "Image", psImage, "CommandLine", "powershell.exe -nop -w hidden -c whoami",
		"ParentImage", `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, "User", `CORP\alice`)
	s4688 := security(4688, "SubjectUserName", "alice", "NewProcessName", psImage, "NewProcessId", "0x10d8", "ProcessId", "0x898",
		"ParentProcessName", `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, "CommandLine", "powershell.exe -nop -w hidden -c whoami")
	cases := []struct {
		name      string
		ev        *mdr.Event
		canonical string
		want      string
	}{
		{"sysmon", s1, "process.executable", psImage},
		{"security 4688", s4688, "process.executable", psImage},
		{"ecs", ecs[0], "process.executable", psImage},
		{"ocsf", ocsf[0], "process.executable", psImage},
		{"sysmon", s1, "process.parent.executable", `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`},
		{"security 4688", s4688, "process.parent.executable", `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`},
		{"ecs", ecs[0], "process.parent.executable", `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`},
		{"ocsf", ocsf[0], "process.parent.executable", `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`},
		{"sysmon", s1, "process.command_line", "powershell.exe -nop -w hidden -c whoami"},
		{"security 4688", s4688, "process.command_line", "powershell.exe -nop -w hidden -c whoami"},
		{"ecs", ecs[0], "process.command_line", "powershell.exe -nop -w hidden -c whoami"},
		{"ocsf", ocsf[0], "process.command_line", "powershell.exe -nop -w hidden -c whoami"},
		{"security 4688", s4688, "process.pid", "0x10d8"}, // the raw value; Value.Int reads it as 4312
		{"security 4688", s4688, "process.parent.pid", "0x898"},
		{"sysmon", s1, "host.name", "WS-042.corp.example"},
		{"ecs", ecs[0], "host.name", "WS-042"},
		{"ocsf", ocsf[0], "host.name", "WS-042"},
		{"security 4688", s4688, "user.name", "alice"},
		{"ecs", ecs[0], "user.name", "alice"},
		{"ocsf launch", ocsf[0], "user.name", "alice"},
		{"ocsf auth", ocsf[5], "user.name", "alice"},
		{"ocsf auth", ocsf[5], "host.name", "SRV-FILE01"},
		{"ecs file", ecs[3], "file.path", `C:\Users\alice\AppData\Local\Temp\upd.exe`},
		{"ocsf file", ocsf[1], "file.path", `C:\Users\alice\AppData\Local\Temp\upd.exe`},
		{"ecs net", ecs[1], "destination.ip", "203.0.113.80"},
		{"ocsf net", ocsf[4], "destination.ip", "203.0.113.80"},
		{"security 5156", security(5156, "DestAddress", "203.0.113.80", "ProcessID", "4312", "Application", "x"), "destination.ip", "203.0.113.80"},
		{"sysmon 3", sysmon(3, "DestinationIp", "203.0.113.80"), "destination.ip", "203.0.113.80"},
		{"security 4624", security(4624, "SubjectUserName", "-", "TargetUserName", "bob", "IpAddress", "10.1.4.17"), "user.name", "bob"},
		{"security 4624", security(4624, "SubjectUserName", "-", "TargetUserName", "bob", "IpAddress", "10.1.4.17"), "source.ip", "10.1.4.17"},
		{"sysmon 10", sysmon(10, "SourceImage", psImage, "TargetImage", `C:\Windows\System32\lsass.exe`), "process.executable", psImage},
		{"sysmon 10", sysmon(10, "SourceImage", psImage, "TargetImage", `C:\Windows\System32\lsass.exe`), "target.process.executable", `C:\Windows\System32\lsass.exe`},
	}
	for _, c := range cases {
		v, ok := schema.Lookup(c.ev, c.canonical)
		if !ok || v.Text() != c.want {
			t.Errorf("%s: Lookup(%s) = %q, %v; want %q", c.name, c.canonical, v.Text(), ok, c.want)
		}
	}
}

func TestFieldMaps(t *testing.T) {
	// Sigma's field names (Sysmon's) translate to every dialect through the
	// canonical names.
	sys := schema.Fields(schema.DialectSysmon)
	for sigma, want := range map[string]map[schema.Dialect]string{
		"Image":          {schema.DialectECS: "process.executable", schema.DialectOCSF: "actor.process.file.path", schema.DialectSecurity: "NewProcessName"},
		"CommandLine":    {schema.DialectECS: "process.command_line", schema.DialectOCSF: "actor.process.cmd_line", schema.DialectSecurity: "CommandLine"},
		"ParentImage":    {schema.DialectECS: "process.parent.executable", schema.DialectSecurity: "ParentProcessName"},
		"TargetFilename": {schema.DialectECS: "file.path", schema.DialectOCSF: "file.path"},
		"DestinationIp":  {schema.DialectECS: "destination.ip", schema.DialectOCSF: "dst_endpoint.ip", schema.DialectSecurity: "DestAddress"},
		"TargetObject":   {schema.DialectECS: "registry.path"},
		"QueryName":      {schema.DialectECS: "dns.question.name", schema.DialectOCSF: "query.hostname"},
	} {
		c, ok := sys.Canonical(sigma)
		if !ok {
			t.Errorf("Sysmon field %s has no canonical name", sigma)
			continue
		}
		for d, w := range want {
			names := schema.Fields(d).Names(c)
			if len(names) == 0 || names[0] != w {
				t.Errorf("%s → %s → %s: %v, want %s first", sigma, c, d, names, w)
			}
		}
	}
	if got := schema.Fields(schema.DialectSecurity).NamesFor(4624, "user.name"); len(got) == 0 || got[0] != "TargetUserName" {
		t.Errorf("Security 4624 user.name = %v", got)
	}
	if got := schema.Fields(schema.DialectSecurity).NamesFor(4688, "user.name"); len(got) == 0 || got[0] != "SubjectUserName" {
		t.Errorf("Security 4688 user.name = %v", got)
	}
	for _, d := range schema.Dialects {
		m := schema.Fields(d)
		if d == schema.DialectWindows {
			if m != nil {
				t.Errorf("windows: want no field map")
			}
			continue
		}
		if m == nil || m.Dialect() != d || len(m.Canonicals()) < 5 {
			t.Errorf("%s: field map missing or too small", d)
		}
		for _, c := range m.Canonicals() {
			for _, n := range m.Names(c) {
				if _, ok := m.Canonical(n); !ok {
					t.Errorf("%s: %s has no reverse entry", d, n)
				}
			}
		}
	}
	if schema.Fields(schema.DialectUnknown) != nil || schema.Fields(schema.Dialect(200)) != nil {
		t.Error("unknown dialects must have no field map")
	}
}

func TestLookupHexPID(t *testing.T) {
	ev := security(4688, "NewProcessId", "0x1a2b", "ProcessId", "-")
	v, ok := schema.Lookup(ev, "process.pid")
	if n, isInt := v.Int(); !ok || !isInt || n != 6699 {
		t.Errorf("process.pid = %v %v", v, ok)
	}
	if _, ok := schema.Lookup(ev, "process.parent.pid"); ok {
		t.Error(`"-" must read as absent`)
	}
}

func TestReversePreference(t *testing.T) {
	sec := schema.Fields(schema.DialectSecurity)
	for field, want := range map[string]string{"ProcessId": "process.pid", "TargetUserName": "user.target.name",
		"NewProcessName": "process.executable", "SubjectUserName": "user.name", "IpAddress": "source.ip"} {
		if got, _ := sec.Canonical(field); got != want {
			t.Errorf("Security %s → %q, want %q", field, got, want)
		}
	}
	if got, _ := schema.Fields(schema.DialectOCSF).Canonical("process.file.path"); got != "process.executable" {
		t.Errorf("OCSF process.file.path → %q", got)
	}
}
