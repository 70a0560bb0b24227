package investigate_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/investigate"
)

// otrfRecordings are OTRF Security-Datasets recordings of the benchmark
// file (the "_src" of their events), all in its first 200,000 lines so the
// test reads only that much of it.
var otrfRecordings = []string{
	"cmd_lsass_memory_dumpert_syscalls_2020-10-1822561997",
	"cmd_psexec_lsa_secrets_dump_2020-10-1903305471",
	"cmd_sam_copy_esentutl_2020-10-1900290001",
	"covenant_dcsync_dcerpc_drsuapi_DsGetNCChanges_2020-08-05020926",
	"empire_mimikatz_lsadump_inject_protected_mode_2020-08-07110411",
	"empire_powerdump_sam_access_2020-09-22042230",
	"empire_shell_reg_dump_sam_2020-09-22042823",
	"empire_shell_rubeus_asktgt_ptt_2020-09-21223848",
	"psh_input_capture_promptforcreds_2020-10-2001320841",
	"psh_lsass_memory_dump_comsvcs_2020-10-18T19500924",
	"psh_windows_vault_web_credentials_2020-10-2819191483",
	"cmd_bitsadmin_download_psh_script_2020-10-2302365189",
	"cmd_mshta_javascript_getobject_sct_2020-10-2202214475",
	"cmd_mshta_vbscript_execute_psh_2020-10-2202580804",
	"cmd_process_herpaderping_mimiexplorer_2020-10-2623583501",
	"cmd_process_herpaderping_snippingtool_2020-10-2708290130",
}

const otrfMaxLine = 200_000

// splitOTRF writes each recording's events from the benchmark file to its
// own NDJSON file in a temporary folder and returns the paths by name.
func splitOTRF(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(shareddata.Path(t, "events", "benchmark.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := map[string]*os.File{}
	paths := map[string]string{}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 0; n < otrfMaxLine && sc.Scan(); n++ {
		line := sc.Bytes()
		i := strings.Index(string(line), `OTRF/Security-Datasets:`)
		if i < 0 {
			continue
		}
		rest := string(line[i+len(`OTRF/Security-Datasets:`):])
		name, _, _ := strings.Cut(rest, ".json")
		w, ok := out[name]
		if !ok {
			want := false
			for _, r := range otrfRecordings {
				want = want || r == name
			}
			if !want {
				continue
			}
			paths[name] = filepath.Join(dir, name+".jsonl")
			if w, err = os.Create(paths[name]); err != nil {
				t.Fatal(err)
			}
			out[name] = w
		}
		w.Write(line)
		w.Write([]byte{'\n'})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, w := range out {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range otrfRecordings {
		if paths[r] == "" {
			t.Fatalf("recording %s not found in the first %d lines of the benchmark file", r, otrfMaxLine)
		}
	}
	return paths
}

// backwardFromAlerts runs Backward from every process of every alert and
// fails when one errs or finds no root; it returns how many it ran.
func backwardFromAlerts(t *testing.T, name string, b built) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	for _, a := range b.alerts {
		for _, e := range a.Entities {
			if e.Kind != mdr.EntityProcess {
				continue
			}
			if _, ok := b.g.Entity(e.ID); !ok {
				continue // named by the alert's stateless mapping only (a pid without its start)
			}
			p, err := b.g.Backward(ctx, e.ID, a.Time, investigate.Limits{})
			if err != nil {
				t.Fatalf("%s: backward from %s of alert %s: %v", name, e.ID, a.ID, err)
			}
			if p.RootCause == "" || len(p.Roots) == 0 && !p.Nodes[0].Hub {
				t.Errorf("%s: backward from %s of alert %s found no root: %+v", name, e.ID, a.ID, p)
			}
			n++
		}
	}
	return n
}

// TestBackwardEvtxAttackSamples: from every process of every alert the
// SigmaHQ corpus raises on the EVTX attack samples, backward tracking
// reaches a root cause without error.
func TestBackwardEvtxAttackSamples(t *testing.T) {
	b := build(t, sigmaCorpus(t), 0, shareddata.Path(t, "events", "evtx_attack_samples.jsonl"))
	n := backwardFromAlerts(t, "evtx_attack_samples", b)
	if n < 500 {
		t.Errorf("only %d backward queries from %d alerts", n, len(b.alerts))
	}
	t.Logf("%d alerts, %d backward queries", len(b.alerts), n)
}

// TestOTRFRecordings: on 16 OTRF recordings of the benchmark, backward
// tracking from every alert's process reaches a root; for three of them the
// scope is the one written down from reading their events.
func TestOTRFRecordings(t *testing.T) {
	paths := splitOTRF(t)
	ctx := context.Background()
	rules := sigmaCorpus(t)
	scopes := map[string]*investigate.Scope{}
	total := 0
	for _, name := range otrfRecordings {
		b := build(t, rules, 0, paths[name])
		total += backwardFromAlerts(t, name, b)
		s, err := b.g.Scope(ctx, b.alerts, investigate.ScopeLimits{})
		if err != nil {
			t.Fatal(err)
		}
		scopes[name] = s
	}
	if total < 50 {
		t.Errorf("only %d backward queries over the recordings", total)
	}

	// PsExec runs "reg save HKLM\security\policy\secrets" as SYSTEM: it
	// accepts the EULA (registry), drops PSEXESVC.exe into C:\Windows,
	// which the SCM installs and starts as the PSEXESVC service, whose
	// child reg.exe writes the hive to the user's temp folder.
	ps := scopes["cmd_psexec_lsa_secrets_dump_2020-10-1903305471"]
	wantItem(t, ps, investigate.ItemFile, `C:\Windows\PSEXESVC.exe`, "")
	wantItem(t, ps, investigate.ItemFile, `C:\Users\wardog\AppData\Local\Temp\secrets`, "created")
	wantItem(t, ps, investigate.ItemService, "PSEXESVC", "created")
	wantItem(t, ps, investigate.ItemRegistry, `HKU\S-1-5-21-3940915590-64593676-1414006259-500\Software\Sysinternals\PsExec\EulaAccepted`, "created")
	wantProcess(t, ps, `reg.exe`, `save HKLM\security\policy\secrets`)
	wantProcess(t, ps, `PsExec.exe`, `-accepteula -s reg save`)
	if !contains(ps.Hosts, "WORKSTATION5") {
		t.Errorf("psexec hosts %v", ps.Hosts)
	}

	// esentutl copies the SAM hive through a volume shadow copy to
	// C:\ProgramData\SAM; the VSS diagnostics it writes on the way are
	// API bookkeeping, not changes of the attack.
	es := scopes["cmd_sam_copy_esentutl_2020-10-1900290001"]
	wantItem(t, es, investigate.ItemFile, `C:\ProgramData\SAM`, "created")
	wantProcess(t, es, `esentutl.exe`, `/y /vss C:\windows/system32/config/SAM /d C:\ProgramData\SAM`)
	for _, it := range es.Of(investigate.ItemRegistry) {
		if strings.Contains(it.Name, `\VSS\Diag\`) {
			t.Errorf("esentutl scope holds VSS bookkeeping %s", it.Name)
		}
	}

	// comsvcs.dll MiniDump run by rundll32 from PowerShell dumps lsass to
	// a file.
	cs := scopes["psh_lsass_memory_dump_comsvcs_2020-10-18T19500924"]
	wantProcess(t, cs, `rundll32.exe`, `comsvcs.dll`)
	if t.Failed() {
		for _, name := range []string{"cmd_psexec_lsa_secrets_dump_2020-10-1903305471", "cmd_sam_copy_esentutl_2020-10-1900290001", "psh_lsass_memory_dump_comsvcs_2020-10-18T19500924"} {
			var sb strings.Builder
			for _, it := range scopes[name].Items {
				sb.WriteString(it.Kind.String() + " " + it.Action.String() + " " + it.Name + " " + it.CommandLine + "\n")
			}
			t.Logf("%s:\n%s", name, sb.String())
		}
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if strings.EqualFold(v, x) {
			return true
		}
	}
	return false
}

func wantItem(t *testing.T, s *investigate.Scope, k investigate.ItemKind, name, action string) {
	t.Helper()
	for _, it := range s.Of(k) {
		if strings.EqualFold(it.Name, name) && (action == "" || it.Action.String() == action) {
			if len(it.EventIDs) == 0 {
				t.Errorf("%s %s has no event ids", k, name)
			}
			return
		}
	}
	t.Errorf("scope lacks %s %q (%s)", k, name, action)
}

func wantProcess(t *testing.T, s *investigate.Scope, image, cmd string) {
	t.Helper()
	for _, it := range s.Of(investigate.ItemProcess) {
		if strings.HasSuffix(strings.ToLower(it.Image), strings.ToLower(`\`+image)) && strings.Contains(it.CommandLine, cmd) {
			return
		}
	}
	t.Errorf("scope lacks process %s with %q", image, cmd)
}
