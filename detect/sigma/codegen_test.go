package sigma

import (
	"errors"
	"strings"
	"testing"
)

// compileOne compiles a rule whose detection is det (YAML, indented by 4)
// without a pipeline and returns its CEL condition.
func compileOne(t *testing.T, det string, opts ...Option) (string, error) {
	t.Helper()
	src := "title: T\nid: test-rule\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n" + det
	c, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := c.Compile(Source{Name: "t.yml", Data: []byte(src)})
	if err != nil {
		return "", err
	}
	if len(rules) != 1 {
		t.Fatalf("got %d rules", len(rules))
	}
	return rules[0].Condition, nil
}

func TestCodegen(t *testing.T) {
	cases := []struct {
		name, det, want string
	}{
		{"contract example", `
    selection:
        Image|endswith: ['\a.exe', '\b.exe']
        CommandLine|contains|all: ['-x', '-y']
    condition: selection
`, `e.Image.endsWithFold(["\\a.exe", "\\b.exe"]) && e.CommandLine.containsFold("-x") && e.CommandLine.containsFold("-y")`},
		{"plain and wildcards", `
    sel:
        A: 'abc'
        B: 'a*c'
        C: '*abc'
        D: 'abc*'
        E: '*abc*'
        F: 'a?c'
        G: 'a\*c'
        H: 'C:\Windows\*'
        H2: 'C:\Windows\\*'
        I: 'C:\\\*'
    condition: sel
`, `e.A.equalsFold("abc") && e.B.wildcardFold("a*c") && e.C.endsWithFold("abc") && e.D.startsWithFold("abc") && e.E.containsFold("abc") && e.F.wildcardFold("a?c") && e.G.equalsFold("a*c") && e.H.equalsFold("C:\\Windows*") && e.H2.startsWithFold("C:\\Windows\\") && e.I.equalsFold("C:\\*")`},
		{"any value", `
    sel:
        A: '*'
        B|startswith: ''
        C|contains: ''
    condition: sel
`, `e.A.wildcardFold("*") && e.B.wildcardFold("*") && e.C.wildcardFold("*")`},
		{"null and empty", `
    sel:
        A: null
        B: ''
    condition: sel
`, `e.A.isNull() && e.B.equalsFold("")`},
		{"numbers versus numeric strings", `
    sel:
        EventID: [4688, 1]
        Status: '0x17'
        Ratio: 1.5
    condition: sel
`, `(e.EventID.numEq(4688) || e.EventID.numEq(1)) && e.Status.equalsFold("0x17") && e.Ratio.numEq(1.5)`},
		{"keywords", `
    keywords:
        - 'evil'
        - 'ba*d'
    condition: keywords
`, `e.keywordFold(["*evil*", "*ba*d*"])`},
		{"keywords all", `
    keywords:
        '|all':
            - 'one'
            - 'two'
    condition: keywords
`, `e.keywordFold("*one*") && e.keywordFold("*two*")`},
		{"regex flags", `
    sel:
        A|re: '^a.b$'
        B|re|i|s: 'x.y'
    condition: sel
`, `e.A.regex("^a.b$") && e.B.regex("(?is)x.y")`},
		{"cidr exists cased", `
    sel:
        Ip|cidr: ['10.0.0.0/8', 'fe80::/10']
        X|exists: true
        Y|exists: false
        Z|cased|contains: 'AbC'
    condition: sel
`, `(e.Ip.inCIDR("10.0.0.0/8") || e.Ip.inCIDR("fe80::/10")) && "X" in e && !("Y" in e) && e.Z.containsCase("AbC")`},
		{"numeric and time", `
    sel:
        N|gt: 5
        M|lte: '0x10'
        T|hour|gte: 22
        D|day: 1
    condition: sel
`, `e.N.numGt(5) && e.M.numLte(16) && e.T.timePart("hour").numGte(22) && e.D.timePart("day").numEq(1)`},
		{"neq", `
    sel:
        A|neq: 'x'
        B|neq: [1, 2]
    condition: sel
`, `!(e.A.equalsFold("x")) && !(e.B.numEq(1) || e.B.numEq(2))`},
		{"fieldref", `
    sel:
        A|fieldref: B
    condition: sel
`, `("B" in e && e.A.equalsFold(e.B))`},
		{"base64 family", `
    sel:
        A|base64: 'abc'
        B|base64offset|contains: 'http'
        C|wide|base64offset|contains: 'ab'
        D|utf16le: 'ab'
    condition: sel
`, `e.A.equalsCase("YWJj") && e.B.containsCase(["aHR0c", "h0dH", "odHRw"]) && e.C.containsCase(["YQBiA", "EAYg", "hAGIA"]) && e.D.equalsFold("a\u0000b\u0000")`},
		{"windash", `
    sel:
        C|windash|contains: ' -e '
    condition: sel
`, `e.C.containsFold([" -e ", " /e ", " –e ", " —e ", " ―e "])`},
		{"odd field names", `
    sel:
        process.executable: 'x'
        Some Field: 'y'
        in: 'z'
    condition: sel
`, `e["process.executable"].equalsFold("x") && e["Some Field"].equalsFold("y") && e["in"].equalsFold("z")`},
		{"list of maps and conditions", `
    sel:
        - A: 1
        - B: 2
    filter_1:
        C: 3
    filter_2:
        D: 4
    _private:
        E: 5
    condition: sel and not 1 of filter_* or all of them
`, `((e.A.numEq(1) || e.B.numEq(2)) && !(e.C.numEq(3) || e.D.numEq(4))) || ((e.A.numEq(1) || e.B.numEq(2)) && e.C.numEq(3) && e.D.numEq(4))`},
		{"x of", `
    s1:
        A: 1
    s2:
        B: 2
    s3:
        C: 3
    condition: 2 of s*
`, `[e.A.numEq(1), e.B.numEq(2), e.C.numEq(3)].filter(m, m).size() >= 2`},
		{"condition list and parentheses", `
    a:
        A: 1
    b:
        B: 2
    c:
        C: 3
    condition:
        - a and (b or c)
        - not (a or b)
`, `(e.A.numEq(1) && (e.B.numEq(2) || e.C.numEq(3))) || !(e.A.numEq(1) || e.B.numEq(2))`},
		{"bool value", `
    sel:
        Initiated: true
    condition: sel
`, `e.Initiated.equalsFold("true")`},
		{"expand", `
    sel:
        H|expand: '%Servers%'
        U|contains|expand: 'x%Admins%'
        V|expand: '\%plain%Servers%'
    condition: sel
`, `e.H.startsWithFold("srv") && e.U.containsFold(["xadm1", "xadm2"]) && e.V.startsWithFold("%plainsrv")`},
		{"backslash escapes", `
    sel:
        A: 'a\\\\b'
        B: 'a\\\*'
        C: 'a\\\'
    condition: sel
`, `e.A.equalsFold("a\\\\b") && e.B.equalsFold("a\\*") && e.C.equalsFold("a\\\\")`},
	}
	ph := WithPlaceholders(map[string][]string{"Servers": {"srv*"}, "Admins": {"adm1", "adm2"}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := compileOne(t, tc.det, ph)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got\n\t%s\nwant\n\t%s", got, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name, det string
		sentinel  error
		modifier  string
		field     string
		line      int
	}{
		{"unknown modifier", "    sel:\n        A|contain: x\n    condition: sel\n", ErrModifier, "contain", "A", 8},
		{"re with contains", "    sel:\n        A|re|contains: x\n    condition: sel\n", ErrModifier, "contains", "A", 8},
		{"flag without re", "    sel:\n        A|i: x\n    condition: sel\n", ErrModifier, "i", "A", 8},
		{"two match types", "    sel:\n        A|contains|endswith: x\n    condition: sel\n", ErrModifier, "endswith", "A", 8},
		{"exists with value", "    sel:\n        A|exists: yes please\n    condition: sel\n", ErrValue, "", "A", 8},
		{"bad regex", "    sel:\n        A|re: '(('\n    condition: sel\n", ErrValue, "", "A", 8},
		{"bad cidr", "    sel:\n        A|cidr: 10.0.0.0/99\n    condition: sel\n", ErrValue, "", "A", 8},
		{"gt not a number", "    sel:\n        A|gt: abc\n    condition: sel\n", ErrValue, "", "A", 8},
		{"undefined identifier", "    sel:\n        A: x\n    condition: sel and other\n", ErrCondition, "", "", 9},
		{"pattern matches nothing", "    sel:\n        A: x\n    condition: 1 of filter*\n", ErrCondition, "", "", 9},
		{"aggregation", "    sel:\n        A: x\n    condition: sel | count() > 5\n", ErrCondition, "", "", 9},
		{"unbalanced", "    sel:\n        A: x\n    condition: (sel\n", ErrCondition, "", "", 9},
		{"base64 of wildcard", "    sel:\n        A|base64: 'a*'\n    condition: sel\n", ErrValue, "", "A", 8},
		{"utf16 twice", "    sel:\n        A|wide|utf16le|base64: 'a'\n    condition: sel\n", ErrModifier, "utf16le", "A", 8},
		{"null with modifier", "    sel:\n        A|contains: null\n    condition: sel\n", ErrModifier, "", "A", 8},
		{"strict placeholder", "    sel:\n        A|expand: '%nothing%'\n    filter:\n        B: 1\n    condition: not filter or sel\n", ErrPlaceholder, "expand", "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []Option
			if tc.sentinel == ErrPlaceholder {
				opts = append(opts, WithStrictPlaceholders())
			}
			_, err := compileOne(t, tc.det, opts...)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("error %v is not %v", err, tc.sentinel)
			}
			var le *LoadError
			if !errors.As(err, &le) || len(le.Problems) != 1 {
				t.Fatalf("want one problem: %v", err)
			}
			p := le.Problems[0]
			if p.File != "t.yml" || p.RuleID != "test-rule" {
				t.Errorf("problem does not name file and rule: %+v", p)
			}
			if tc.modifier != "" && p.Modifier != tc.modifier {
				t.Errorf("modifier %q, want %q (%v)", p.Modifier, tc.modifier, err)
			}
			if tc.field != "" && p.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", p.Field, tc.field, err)
			}
			if tc.line != 0 && p.Line != tc.line {
				t.Errorf("line %d, want %d (%v)", p.Line, tc.line, err)
			}
			if !strings.Contains(err.Error(), "t.yml:") {
				t.Errorf("message does not name the file: %v", err)
			}
		})
	}
}

func TestUnsetPlaceholders(t *testing.T) {
	// In a filter, an unset placeholder excludes nothing.
	got, err := compileOne(t, "    sel:\n        A: x\n    filter:\n        B|expand: '%known%'\n    condition: sel and not filter\n")
	if err != nil {
		t.Fatal(err)
	}
	if got != `e.A.equalsFold("x")` {
		t.Errorf("got %s", got)
	}
	// In a selection, it leaves a rule that can never match: rejected.
	_, err = compileOne(t, "    sel:\n        A|expand: '%known%'\n    condition: sel\n")
	if !errors.Is(err, ErrPlaceholder) || !strings.Contains(err.Error(), "%known%") {
		t.Errorf("want a placeholder error naming %%known%%, got %v", err)
	}
}

func TestYAMLNumbers(t *testing.T) {
	got, err := compileOne(t, "    sel:\n        A: 0x10\n        B: 017\n        C: 0o17\n        D: -5\n    condition: sel\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := `e.A.numEq(16) && e.B.numEq(17) && e.C.numEq(15) && e.D.numEq(-5)`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
