package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mdrkit/mdr/internal/scenario"
	"github.com/mdrkit/mdr/reader"
)

// TestDemo runs `mdr demo` and checks that its report states the facts of
// the generated story: what ran, what it touched, where it moved.
func TestDemo(t *testing.T) {
	for _, seed := range []int64{1, 2, 77} {
		var out, errb bytes.Buffer
		if code := run([]string{"demo", "--seed", itoa(seed)}, &out, &errb); code != 0 {
			t.Fatalf("seed %d: exit %d: %s", seed, code, errb.String())
		}
		got := out.String()
		f := scenario.Generate(scenario.Config{Seed: seed}).Facts
		user := strings.TrimPrefix(f.User, `CORP\`)
		for _, want := range []string{
			"read back: ", " 0 malformed", "0 mapping errors",
			f.Workstation, f.Server, // hosts
			f.User, f.Admin, // users
			"WINWORD.EXE", "powershell.exe", // the tree
			"decoded -enc: " + f.DecodedCommand[:60], // the encoded command, decoded
			"resolved " + f.C2Domain,
			"connected to " + f.C2IP + ":80",
			"wrote " + f.Tool + "  → later executed as igfxsvc.exe",
			"opened lsass.exe", "with access " + f.LsassAccess,
			f.RunKey + " = " + f.Tool,
			"scheduled task " + f.Task + " created on WKS-FIN07 by " + f.User,
			"service " + f.Service + " installed on SRV-FS01 by " + f.Admin,
			"used the credentials of " + f.Admin + " for " + f.Server,
			f.Admin + " logged on to SRV-FS01 (type 3 from " + f.WorkstationIP + ")",
			`accessed \\*\ADMIN$\igfxsvc.exe from ` + f.WorkstationIP,
			"wrote " + f.ToolOnServer,
			"net group \"Domain Admins\" /domain",
			`C:\Users\` + user + `\AppData\Local\Microsoft\Windows\INetCache\Content.Outlook\`,
		} {
			if !strings.Contains(got, want) {
				t.Errorf("seed %d: report lacks %q", seed, want)
			}
		}
		// The service is reported once although 7045 and 4697 both say it.
		if n := strings.Count(got, "service "+f.Service+" installed"); n != 2 { // once under Persistence, once in the timeline
			t.Errorf("seed %d: service reported %d times, want 2", seed, n)
		}
		// Each process appears once in the trees although Sysmon 1 and
		// Security 4688 both report its creation.
		trees := section(got, "Process trees")
		if n := strings.Count(trees, "powershell.exe ("); n != 1 {
			t.Errorf("seed %d: powershell appears %d times in the process trees:\n%s", seed, n, trees)
		}
		if strings.Contains(trees, "? (") {
			t.Errorf("seed %d: a process without an image in the trees:\n%s", seed, trees)
		}
		if t.Failed() {
			t.Logf("report:\n%s", got)
			return
		}
	}
}

func section(report, title string) string {
	i := strings.Index(report, "\n"+title+"\n")
	if i < 0 {
		return ""
	}
	rest := report[i+len(title)+2:]
	if j := strings.Index(rest, "\n\n"); j >= 0 {
		return rest[:j]
	}
	return rest
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestDemoOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demo.ndjson")
	var out, errb bytes.Buffer
	if code := run([]string{"demo", "--seed", "9", "--out", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "written to "+path) {
		t.Errorf("report does not name the file: %s", strings.SplitN(out.String(), "\n", 2)[0])
	}
	r, err := reader.Open(path, reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for r.Next() {
		n++
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if want := len(scenario.Generate(scenario.Config{Seed: 9}).Events); n != want {
		t.Errorf("file holds %d events, want %d", n, want)
	}
	// Same seed, same report (the file name aside).
	var again bytes.Buffer
	run([]string{"demo", "--seed", "9", "--out", path}, &again, &errb)
	if again.String() != out.String() {
		t.Error("same seed, different report")
	}
}

func TestDemoUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"demo", "--seed", "x"}, &out, &errb); code != 2 {
		t.Errorf("bad --seed: exit %d, want 2", code)
	}
	if code := run([]string{"demo", "extra"}, &out, &errb); code != 2 {
		t.Errorf("extra argument: exit %d, want 2", code)
	}
	if code := run([]string{"demo", "--out", filepath.Join(t.TempDir(), "no", "such", "dir", "x.ndjson")}, &out, &errb); code != 1 {
		t.Errorf("unwritable --out: exit %d, want 1", code)
	}
	if _, err := os.Stat("x.ndjson"); err == nil {
		t.Error("stray file")
	}
}
