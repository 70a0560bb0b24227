package sigma

import (
	"context"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/internal/evtest"
)

func ev(fields ...any) *mdr.Event { return evtest.Event(fields...) }

// matcher compiles one Sigma rule with detection det through detect.
func matcher(t *testing.T, det string, opts ...Option) func(*mdr.Event) bool {
	t.Helper()
	src := "title: T\nid: r\nlogsource:\n    product: test\ndetection:\n" + det
	c, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := c.Compile(Source{Name: "t.yml", Data: []byte(src)})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := detect.Compile(rules)
	if err != nil {
		t.Fatalf("%v\n%s", err, rules[0].Condition)
	}
	return func(e *mdr.Event) bool {
		ms, err := rs.Match(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		return len(ms) == 1
	}
}

type probe struct {
	e    *mdr.Event
	want bool
}

// TestSemantics compiles rules through detect and checks what they match:
// the behaviour of every modifier, null versus ”, wildcards and escapes,
// numbers versus numeric strings, keywords and case folding.
func TestSemantics(t *testing.T) {
	cases := []struct {
		name, det string
		probes    []probe
	}{
		{"null versus empty", "    a:\n        F: null\n    b:\n        G: ''\n    condition: a and b\n", []probe{
			{ev("G", ""), true},
			{ev("F", nil, "G", ""), true},
			{ev("F", "", "G", ""), false},
			{ev("G", "x"), false},
			{ev(), false},
		}},
		{"case folding, Unicode", "    s:\n        F|contains: 'ÄRGER'\n    condition: s\n", []probe{
			{ev("F", "x ärger y"), true},
			{ev("F", "arger"), false},
		}},
		{"cased", "    s:\n        F|cased: 'Abc'\n    condition: s\n", []probe{
			{ev("F", "Abc"), true},
			{ev("F", "abc"), false},
		}},
		{"wildcards and escapes", "    s:\n        A: 'C:\\\\*\\x?.exe'\n        B: 'lit\\*'\n        C: 'back\\\\*'\n    condition: s\n", []probe{
			{ev("A", `c:\dir\x1.exe`, "B", "lit*", "C", `back\zzz`), true},
			{ev("A", `c:\dir\x12.exe`, "B", "lit*", "C", `back\zzz`), false},
			{ev("A", `c:\dir\x1.exe`, "B", "litX", "C", `back\zzz`), false},
			{ev("A", `c:\dir\x1.exe`, "B", "lit*", "C", `backzzz`), false},
		}},
		{"numbers versus numeric strings", "    s:\n        EventID: 4688\n        Hex: '0x10'\n    condition: s\n", []probe{
			{ev("EventID", 4688, "Hex", "0x10"), true},
			{ev("EventID", "4688", "Hex", "0X10"), true},
			{ev("EventID", "4689", "Hex", "0x10"), false},
			{ev("EventID", 4688, "Hex", "16"), false},
		}},
		{"numeric comparisons", "    s:\n        N|gte: 10\n        M|lt: 0x20\n    condition: s\n", []probe{
			{ev("N", 10, "M", "0x1f"), true},
			{ev("N", "11", "M", 31), true},
			{ev("N", 9, "M", 1), false},
			{ev("N", "x", "M", 1), false},
		}},
		{"neq", "    s:\n        F|neq: [a, b]\n    condition: s\n", []probe{
			{ev("F", "c"), true},
			{ev("F", "A"), false},
			{ev("F", "b"), false},
		}},
		{"all", "    s:\n        F|contains|all: [one, two]\n    condition: s\n", []probe{
			{ev("F", "two and one"), true},
			{ev("F", "one"), false},
		}},
		{"startswith endswith", "    s:\n        A|startswith: 'ab'\n        B|endswith: 'yz'\n    condition: s\n", []probe{
			{ev("A", "ABC", "B", "xYZ"), true},
			{ev("A", "cab", "B", "xYZ"), false},
		}},
		{"regex flags", "    a:\n        F|re: '^a.c$'\n    b:\n        G|re|i|s: '^x.y$'\n    condition: a and b\n", []probe{
			{ev("F", "abc", "G", "X\nY"), true},
			{ev("F", "ABC", "G", "x\ny"), false},
			{ev("F", "abc", "G", "x\n\ny"), false},
		}},
		{"regex multiline", "    s:\n        F|re|m: '^two$'\n    condition: s\n", []probe{
			{ev("F", "one\ntwo\nthree"), true},
			{ev("F", "one two"), false},
		}},
		{"cidr", "    s:\n        Ip|cidr: ['10.0.0.0/8', 'fe80::/10']\n    condition: s\n", []probe{
			{ev("Ip", "10.1.2.3"), true},
			{ev("Ip", "fe80::1"), true},
			{ev("Ip", "11.0.0.1"), false},
			{ev("Ip", "nonsense"), false},
		}},
		{"exists", "    s:\n        A|exists: true\n        B|exists: false\n    condition: s\n", []probe{
			{ev("A", nil), true},
			{ev("A", "x", "B", ""), false},
			{ev(), false},
		}},
		{"fieldref", "    s:\n        A|fieldref: B\n    condition: s\n", []probe{
			{ev("A", "same", "B", "SAME"), true},
			{ev("A", "x", "B", "y"), false},
			{ev("A", "x"), false},
		}},
		{"fieldref startswith", "    s:\n        A|fieldref|startswith: B\n    condition: s\n", []probe{
			{ev("A", "prefix-rest", "B", "prefix"), true},
			{ev("A", "rest", "B", "prefix"), false},
		}},
		{"base64offset contains", "    s:\n        F|base64offset|contains: 'http://'\n    condition: s\n", []probe{
			{ev("F", "powershell -e "+encodeBase64("x = 'http://evil'")), true},
			{ev("F", encodeBase64("ab http://e")), true},
			{ev("F", encodeBase64("nothing here")), false},
		}},
		{"wide base64offset", "    s:\n        F|wide|base64offset|contains: 'Invoke'\n    condition: s\n", []probe{
			{ev("F", encodeBase64(encodeUTF16("iex; Invoke-X", false, false))), true},
			{ev("F", encodeBase64("Invoke")), false},
		}},
		{"base64 exact", "    s:\n        F|base64: 'abc'\n    condition: s\n", []probe{
			{ev("F", "YWJj"), true},
			{ev("F", "ywjj"), false},
		}},
		{"windash", "    s:\n        F|windash|contains: ' -enc '\n    condition: s\n", []probe{
			{ev("F", "ps.exe /enc x"), true},
			{ev("F", "ps.exe –enc x"), true},
			{ev("F", "ps.exe -enc x"), true},
			{ev("F", "ps.exe +enc x"), false},
		}},
		{"time parts", "    s:\n        T|hour: 3\n        T|month|gte: 6\n    condition: s\n", []probe{
			{ev("T", "2024-07-01T03:15:00Z"), true},
			{ev("T", "2024-03-01T03:15:00Z"), false},
			{ev("T", "2024-07-01T04:15:00Z"), false},
		}},
		{"keywords", "    k:\n        - 'mimikatz'\n        - 'sekurlsa::*'\n    condition: k\n", []probe{
			{ev("CommandLine", "run MimiKatz now"), true},
			{ev("Other", "x", "Deep", []string{"a", "sekurlsa::logonpasswords"}), true},
			{ev("CommandLine", "benign"), false},
		}},
		{"keywords all", "    k:\n        '|all': ['one', 'two']\n    condition: k\n", []probe{
			{ev("A", "one", "B", "two"), true},
			{ev("A", "one"), false},
		}},
		{"lists of maps and x of", "    s:\n        - A: 1\n        - B: 2\n    f1:\n        C: x\n    f2:\n        D: y\n    condition: s and not 1 of f*\n", []probe{
			{ev("B", 2), true},
			{ev("A", 1, "D", "y"), false},
			{ev("C", "z"), false},
		}},
		{"two of", "    s1:\n        A: 1\n    s2:\n        B: 1\n    s3:\n        C: 1\n    condition: 2 of s*\n", []probe{
			{ev("A", 1, "C", 1), true},
			{ev("A", 1), false},
		}},
		{"list field values", "    s:\n        Tags|contains: 'evil'\n    condition: s\n", []probe{
			{ev("Tags", []string{"good", "very evil"}), true},
			{ev("Tags", []string{"good"}), false},
		}},
		{"expand", "    s:\n        Host|expand: '%Servers%'\n    condition: s\n", []probe{
			{ev("Host", "SRV-01"), true},
			{ev("Host", "wks-01"), false},
		}},
	}
	ph := WithPlaceholders(map[string][]string{"Servers": {"srv-*", "dc-*"}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := matcher(t, tc.det, ph)
			for i, p := range tc.probes {
				if got := m(p.e); got != p.want {
					var fs []string
					for k, v := range p.e.Fields() {
						fs = append(fs, k+"="+v.Text())
					}
					t.Errorf("probe %d %v: matched %v, want %v", i, fs, got, p.want)
				}
			}
		})
	}
}

// TestOneRuleManyDialects runs one process_creation rule over Sysmon,
// Security 4688, ECS and OCSF events with the common-schema pipeline.
func TestOneRuleManyDialects(t *testing.T) {
	src := `title: Whoami
id: whoami
logsource: {product: windows, category: process_creation}
detection:
    sel:
        Image|endswith: '\whoami.exe'
        CommandLine|contains: '/priv'
    condition: sel
`
	for _, p := range []*Pipeline{CommonSchemaPipeline(), WindowsPipeline()} {
		c, _ := New(WithPipeline(p))
		rules, err := c.Compile(Source{Name: "w.yml", Data: []byte(src)})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := detect.Compile(rules, detect.WithPipeline(p.Routing()))
		if err != nil {
			t.Fatal(err)
		}
		common := p.Name == "common-schema"
		probes := []struct {
			name string
			e    *mdr.Event
			want bool
		}{
			{"sysmon", ev("Channel", "Microsoft-Windows-Sysmon/Operational", "EventID", 1, "Image", `C:\Windows\System32\whoami.exe`, "CommandLine", "whoami /priv"), true},
			{"security 4688 lower-case channel", ev("Channel", "security", "EventID", "4688", "NewProcessName", `C:\Windows\System32\whoami.exe`, "CommandLine", "whoami /priv"), true},
			{"ecs", ev("event.category", "process", "event.type", "start", "process.executable", `C:\Windows\System32\whoami.exe`, "process.command_line", "whoami /priv"), common},
			{"ocsf", ev("class_uid", 1007, "activity_id", 1, "process.file.path", `C:\Windows\System32\whoami.exe`, "process.cmd_line", "whoami /priv"), common},
			{"winlogbeat", ev("winlog.channel", "Microsoft-Windows-Sysmon/Operational", "winlog.event_id", "1", "winlog.event_data.Image", `C:\Windows\System32\whoami.exe`, "winlog.event_data.CommandLine", "whoami /priv"), common},
			{"sysmon wrong event id", ev("Channel", "Microsoft-Windows-Sysmon/Operational", "EventID", 3, "Image", `C:\Windows\System32\whoami.exe`, "CommandLine", "whoami /priv"), false},
			{"system channel", ev("Channel", "System", "EventID", 1, "Image", `C:\Windows\System32\whoami.exe`, "CommandLine", "whoami /priv"), false},
		}
		for _, pr := range probes {
			ms, err := rs.Match(context.Background(), pr.e)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(ms) == 1; got != pr.want {
				t.Errorf("%s pipeline, %s event: matched %v, want %v", p.Name, pr.name, got, pr.want)
			}
		}
	}
}
