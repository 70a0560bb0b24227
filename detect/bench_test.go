package detect_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
)

// dataDir returns ../shared/data beside the module root; tests fail (never
// skip) when it is missing.
func dataDir(tb testing.TB) string {
	tb.Helper()
	return shareddata.Dir(tb)
}

var (
	benchEventsOnce sync.Once
	benchEvents     []*mdr.Event
)

// realEvents returns 20,000 real events: every 10th of the first 200,000
// events of benchmark.jsonl.gz (Sysmon, Security, PowerShell …).
func realEvents(tb testing.TB) []*mdr.Event {
	tb.Helper()
	benchEventsOnce.Do(func() {
		r, err := reader.Open(filepath.Join(dataDir(tb), "events", "benchmark.jsonl.gz"), reader.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		defer r.Close()
		for i := 0; r.Next() && i < 200_000; i++ {
			if i%10 == 0 {
				benchEvents = append(benchEvents, r.Event())
			}
		}
		if err := r.Err(); err != nil {
			tb.Fatal(err)
		}
	})
	if len(benchEvents) < 20_000 {
		tb.Fatalf("only %d benchmark events", len(benchEvents))
	}
	return benchEvents
}

// The vocabulary of the generated rules: Windows binaries, command-line
// fragments, registry keys and file locations of the kind detection rules
// test, written for this benchmark.
var (
	benchImages = strings.Fields(`powershell.exe pwsh.exe cmd.exe rundll32.exe regsvr32.exe mshta.exe wscript.exe cscript.exe
		certutil.exe bitsadmin.exe schtasks.exe wmic.exe net.exe net1.exe reg.exe sc.exe vssadmin.exe bcdedit.exe
		wevtutil.exe msiexec.exe installutil.exe regasm.exe regsvcs.exe msbuild.exe cmstp.exe forfiles.exe hh.exe
		odbcconf.exe pcalua.exe mavinject.exe esentutl.exe expand.exe extrac32.exe findstr.exe ftp.exe makecab.exe
		nltest.exe dsquery.exe whoami.exe tasklist.exe taskkill.exe netsh.exe attrib.exe icacls.exe takeown.exe
		curl.exe procdump.exe psexec.exe adfind.exe ntdsutil.exe diskshadow.exe wbadmin.exe quser.exe qwinsta.exe
		route.exe arp.exe ipconfig.exe systeminfo.exe hostname.exe explorer.exe winword.exe excel.exe outlook.exe`)
	benchCmd = []string{" -enc ", " -nop ", " -w hidden", "downloadstring", "iex(", "invoke-expression", "frombase64string",
		"/create ", "/delete ", "shadowcopy", "delete shadows", "urlcache", "-decode", "/transfer", "javascript:", "vbscript:",
		"\\appdata\\", "\\temp\\", "http://", "https://", "bypass", "-noni", "add-mppreference", "set-mppreference",
		"disablerealtimemonitoring", "comsvcs.dll", "minidump", "sekurlsa", "ntds.dit", "reg save", "process call create",
		"/node:", "-split", "hklm\\sam", "net user", "/add", "localgroup administrators", "start-bitstransfer", "-exec bypass",
		"resetpassword", "sc config", "binpath=", "/rl highest", "wscript.shell", "new-object net.webclient", "-ep bypass"}
	benchReg = []string{"\\software\\microsoft\\windows\\currentversion\\run", "\\currentversion\\runonce", "\\services\\",
		"\\image file execution options\\", "\\winlogon\\", "\\policies\\system", "\\control\\lsa\\", "\\environment\\",
		"\\shell\\open\\command", "\\classes\\clsid\\", "\\appinit_dlls", "\\windows defender\\", "\\terminal server\\"}
	benchFiles = []string{"\\appdata\\roaming\\", "\\temp\\", "\\programdata\\", "\\users\\public\\", "\\windows\\tasks\\",
		"\\start menu\\programs\\startup\\", "\\downloads\\"}
	benchExts = strings.Fields(".ps1 .vbs .js .hta .dll .exe .bat .lnk .scr .iso .zip .cmd .wsf .jse")
)

func randWord(r *rand.Rand, n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	return string(b)
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	if len(q) == 1 {
		return q[0]
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func pick(r *rand.Rand, xs []string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = xs[r.IntN(len(xs))]
	}
	return out
}

// generateRules returns n realistic native rules: process creation (image
// and command line), registry, file and script-block rules; about 60 % of
// their literals are specific tool or file names (the long tail real
// rulesets have), 5 % of the rules use a regular expression, 5 % a
// wildcard, and 2 % a condition that only CEL evaluates.
func generateRules(n int, seed uint64) []detect.Rule {
	r := rand.New(rand.NewPCG(seed, 42))
	rules := make([]detect.Rule, n)
	rare := func(ext string) string { return randWord(r, 5+r.IntN(6)) + ext }
	for i := range rules {
		var cond string
		ls := detect.Logsource{Product: "windows"}
		switch k := r.IntN(100); {
		case k < 45:
			ls.Category = "process_creation"
			imgs := pick(r, benchImages, 1+r.IntN(3))
			for j := range imgs {
				if r.IntN(10) < 6 {
					imgs[j] = rare(".exe")
				}
				imgs[j] = "\\" + imgs[j]
			}
			cmds := pick(r, benchCmd, 1+r.IntN(3))
			if r.IntN(10) < 6 {
				cmds[0] = " -" + rare("")
			}
			cond = fmt.Sprintf("e.Image.endsWithFold(%s) && e.CommandLine.containsFold(%s)", quoteList(imgs), quoteList(cmds))
			if r.IntN(4) == 0 {
				cond += fmt.Sprintf(" && !e.ParentImage.endsWithFold(%q)", "\\"+benchImages[r.IntN(len(benchImages))])
			}
		case k < 60:
			ls.Category = "process_creation"
			cond = fmt.Sprintf("e.CommandLine.containsFold(%s) && e.CommandLine.containsFold(%s)",
				quoteList([]string{rare(""), benchCmd[r.IntN(len(benchCmd))]}), quoteList(pick(r, benchCmd, 1+r.IntN(2))))
		case k < 75:
			ls.Category = "registry_set"
			key := benchReg[r.IntN(len(benchReg))]
			if r.IntN(10) < 6 {
				key += "\\" + rare("")
			}
			cond = fmt.Sprintf("e.TargetObject.containsFold(%q) && e.Details.containsFold(%s)", key, quoteList([]string{rare(""), ".exe"}))
		case k < 88:
			ls.Category = "file_event"
			cond = fmt.Sprintf("e.TargetFilename.containsFold(%q) && e.TargetFilename.endsWithFold(%s)",
				benchFiles[r.IntN(len(benchFiles))], quoteList([]string{"\\" + rare(benchExts[r.IntN(len(benchExts))])}))
		case k < 93:
			ls.Category = "ps_script"
			cond = fmt.Sprintf("e.ScriptBlockText.containsFold(%s)", quoteList([]string{rare(""), "-" + rare("")}))
		case k < 98:
			ls.Category = "process_creation"
			if r.IntN(2) == 0 {
				cond = fmt.Sprintf(`e.CommandLine.regex("(?i)\\\\%s\\.exe\\s+/[a-z]+")`, randWord(r, 7))
			} else {
				cond = fmt.Sprintf(`e.CommandLine.wildcardFold("*\\\\%s.exe*-%s*")`, randWord(r, 7), randWord(r, 4))
			}
		default:
			ls.Category = "process_creation"
			cond = fmt.Sprintf("e.CommandLine.size() > %d && e.Image.endsWithFold(%q)", 2000+r.IntN(1000), "\\"+benchImages[r.IntN(len(benchImages))])
		}
		rules[i] = detect.Rule{ID: fmt.Sprintf("gen-%05d", i), Title: "generated " + strconv.Itoa(i), Severity: mdr.SeverityMedium, Logsource: ls, Condition: cond}
	}
	return rules
}

// benchPipeline routes the generated rules' categories to Sysmon and
// PowerShell events (written for this benchmark).
var benchPipeline = detect.Pipeline{Name: "bench", Logsources: []detect.LogsourceMapping{
	{Logsource: detect.Logsource{Category: "process_creation", Product: "windows"}, Conditions: []map[string][]string{
		{"Channel": {"Microsoft-Windows-Sysmon/Operational"}, "EventID": {"1"}}, {"Channel": {"Security"}, "EventID": {"4688"}}}},
	{Logsource: detect.Logsource{Category: "registry_set", Product: "windows"}, Conditions: []map[string][]string{
		{"Channel": {"Microsoft-Windows-Sysmon/Operational"}, "EventID": {"13"}}}},
	{Logsource: detect.Logsource{Category: "file_event", Product: "windows"}, Conditions: []map[string][]string{
		{"Channel": {"Microsoft-Windows-Sysmon/Operational"}, "EventID": {"11"}}}},
	{Logsource: detect.Logsource{Category: "ps_script", Product: "windows"}, Conditions: []map[string][]string{
		{"Channel": {"Microsoft-Windows-PowerShell/Operational"}, "EventID": {"4104"}}}},
}}

func compileBench(tb testing.TB, rules []detect.Rule, opts ...detect.Option) *detect.Ruleset {
	tb.Helper()
	rs, err := detect.Compile(rules, append([]detect.Option{detect.WithPipeline(benchPipeline)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

// BenchmarkMatch measures matching cost per real event (ns/op is per
// event; events/s = 1e9 / ns/op) for 1, 100, 1,000 and 3,000 generated
// rules, with and without the literal prefilter.
func BenchmarkMatch(b *testing.B) {
	events := realEvents(b)
	for _, n := range []int{1, 100, 1000, 3000} {
		rules := generateRules(n, 1)
		for _, pre := range []bool{true, false} {
			rs := compileBench(b, rules, detect.WithPrefilter(pre))
			b.Run(fmt.Sprintf("rules=%d/prefilter=%v", n, pre), func(b *testing.B) {
				ctx := context.Background()
				var ms []detect.Match
				var total int
				b.ReportAllocs()
				i := 0
				c0 := cpuNanos()
				for b.Loop() {
					var err error
					ms, err = rs.AppendMatches(ctx, ms[:0], events[i%len(events)])
					if err != nil {
						b.Fatal(err)
					}
					total += len(ms)
					i++
				}
				b.ReportMetric(float64(cpuNanos()-c0)/float64(i), "cpu-ns/op")
				b.ReportMetric(float64(total)/float64(i), "matches/event")
			})
		}
	}
}

// BenchmarkNoMatch measures an event that no rule matches with 3,000 rules:
// it must not allocate.
func BenchmarkNoMatch(b *testing.B) {
	rs := compileBench(b, generateRules(3000, 1))
	e := mdr.NewEvent(mdr.Origin{},
		mdr.Field{Key: "EventID", Value: mdr.Int(1)},
		mdr.Field{Key: "Channel", Value: mdr.String("Microsoft-Windows-Sysmon/Operational")},
		mdr.Field{Key: "Image", Value: mdr.String(`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`)},
		mdr.Field{Key: "CommandLine", Value: mdr.String(`powershell.exe -NoProfile -Command Get-Date`)},
		mdr.Field{Key: "ParentImage", Value: mdr.String(`C:\Windows\explorer.exe`)},
		mdr.Field{Key: "User", Value: mdr.String(`CONTOSO\alice`)})
	ctx := context.Background()
	ms, _ := rs.AppendMatches(ctx, nil, e)
	if len(ms) != 0 {
		b.Fatalf("the no-match event matched %s", ms[0].Rule.ID)
	}
	b.ReportAllocs()
	c0 := cpuNanos()
	for b.Loop() {
		ms, _ = rs.AppendMatches(ctx, ms[:0], e)
	}
	b.ReportMetric(float64(cpuNanos()-c0)/float64(b.N), "cpu-ns/op")
}

// cpuNanos is the process's user+system CPU time: on a shared machine it
// is a steadier measure than wall time.
func cpuNanos() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkRuleEval measures one rule evaluated on an event it matches
// (the cost per candidate rule), natively and through its CEL program.
func BenchmarkRuleEval(b *testing.B) {
	e := mdr.NewEvent(mdr.Origin{},
		mdr.Field{Key: "Image", Value: mdr.String(`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`)},
		mdr.Field{Key: "CommandLine", Value: mdr.String(`powershell.exe -NoP -W Hidden -Enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA`)},
		mdr.Field{Key: "ParentImage", Value: mdr.String(`C:\Windows\explorer.exe`)})
	miss := mdr.NewEvent(mdr.Origin{},
		mdr.Field{Key: "Image", Value: mdr.String(`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`)},
		mdr.Field{Key: "CommandLine", Value: mdr.String(`powershell.exe -NoP -W Normal -Command Get-ChildItem -Recurse C:\Users\Public | Select-Object Name, Length`)},
		mdr.Field{Key: "ParentImage", Value: mdr.String(`C:\Windows\explorer.exe`)})
	cases := map[string]string{
		"endswith+contains": `e.Image.endsWithFold(["\\powershell.exe", "\\pwsh.exe"]) && e.CommandLine.containsFold(windash([" -enc ", " -ec "]))`,
		"regex":             `e.CommandLine.regex("(?i)-enc\\s+[a-z0-9+/=]{20,}")`,
		"wildcard":          `e.CommandLine.wildcardFold("*powershell*-w hidden*")`,
	}
	for name, cond := range cases {
		for _, native := range []bool{true, false} {
			rs, err := detect.Compile([]detect.Rule{{ID: "r", Condition: cond}}, detect.WithNativeEvaluation(native), detect.WithPrefilter(false))
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/native=%v/match", name, native), func(b *testing.B) {
				ctx := context.Background()
				var ms []detect.Match
				b.ReportAllocs()
				for b.Loop() {
					ms, _ = rs.AppendMatches(ctx, ms[:0], e)
					if len(ms) != 1 {
						b.Fatal("no match")
					}
				}
			})
			// the same rule evaluated on an event it does not match (what a
			// prefilter candidate that fails costs; no explanation is built)
			b.Run(fmt.Sprintf("%s/native=%v/nomatch", name, native), func(b *testing.B) {
				ctx := context.Background()
				var ms []detect.Match
				b.ReportAllocs()
				for b.Loop() {
					ms, _ = rs.AppendMatches(ctx, ms[:0], miss)
					if len(ms) != 0 {
						b.Fatal("match")
					}
				}
			})
		}
	}
}

// TestGeneratedRulesPrefilterExact checks on real events that the
// prefiltered, natively evaluated generated ruleset gives exactly the
// matches of evaluating every rule's CEL program.
func TestGeneratedRulesPrefilterExact(t *testing.T) {
	events := realEvents(t)[:5000]
	rules := generateRules(1000, 3)
	// make some rules match real events: common literals only
	rules = append(rules,
		detect.Rule{ID: "ps", Logsource: detect.Logsource{Product: "windows", Category: "ps_script"}, Condition: `e.ScriptBlockText.containsFold(["invoke-", "new-object"])`},
		detect.Rule{ID: "lsass", Logsource: detect.Logsource{Product: "windows", Category: "process_creation"}, Condition: `e.CommandLine.containsFold(["lsass", "whoami", "\\temp\\"])`},
		detect.Rule{ID: "any", Condition: `e.Image.endsWithFold(".exe") && !e.Image.containsFold("\\system32\\")`},
	)
	fast := compileBench(t, rules)
	slow := compileBench(t, rules, detect.WithPrefilter(false), detect.WithNativeEvaluation(false))
	ctx := context.Background()
	n := 0
	for i, e := range events {
		a, err := fast.Match(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		b, err := slow.Match(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != len(b) {
			t.Fatalf("event %d: %d matches with the prefilter, %d without", i, len(a), len(b))
		}
		for k := range a {
			if a[k].Rule.ID != b[k].Rule.ID {
				t.Fatalf("event %d: %s vs %s", i, a[k].Rule.ID, b[k].Rule.ID)
			}
		}
		n += len(a)
	}
	if n < 100 {
		t.Fatalf("only %d matches: the test shows nothing", n)
	}
	st := fast.Stats()
	t.Logf("%d matches on %d events; stats %+v", n, len(events), st)
}
