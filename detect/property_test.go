package detect

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mdrkit/mdr"
)

// The property: for random rules and random events, the matches of the
// prefiltered, natively evaluated ruleset are exactly the matches of
// evaluating every rule's CEL program on every event.

type gen struct{ r *rand.Rand }

var propAtoms = []string{"a", "B", "c", "ab", "Ab", "\\", "-", "/", ".exe", "ſ", "S", "K", "\u212a", "é", "É", " ", "x", "0x1f", "31", "*", "?", "ß"}

func (g gen) word() string {
	n := g.r.IntN(4)
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(propAtoms[g.r.IntN(len(propAtoms))])
	}
	return b.String()
}

func (g gen) nonEmptyWord() string {
	for {
		if w := g.word(); w != "" {
			return w
		}
	}
}

var propFields = []string{"Image", "CommandLine", "User", "EventID", "Hashes", "proc.name", "Odd Name"}

func (g gen) field() string {
	f := propFields[g.r.IntN(len(propFields))]
	switch {
	case f == "proc.name" && g.r.IntN(2) == 0:
		return `e.proc.name`
	case strings.ContainsAny(f, ". "):
		return "e[" + strconv.Quote(f) + "]"
	}
	return "e." + f
}

func (g gen) strArg(wordf func() string) string {
	if g.r.IntN(3) == 0 {
		n := 1 + g.r.IntN(3)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = strconv.Quote(wordf())
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return strconv.Quote(wordf())
}

func (g gen) glob() string {
	var b strings.Builder
	n := 1 + g.r.IntN(4)
	for i := 0; i < n; i++ {
		switch g.r.IntN(6) {
		case 0:
			b.WriteString("*")
		case 1:
			b.WriteString("?")
		case 2:
			b.WriteString(`\*`)
		default:
			b.WriteString(g.word())
		}
	}
	return b.String()
}

var propRegexes = []string{`a.*b`, `(?i)ab|c`, `^c`, `x$`, `(ab)+`, `[ab]c`, `(?i)\.EXE`, `\\a`, `é|É`, `(?i)ſ`, `a?b`, `0x[0-9a-f]+`, `(ab|cd)x`, `.`, `k{2}`}

func (g gen) regex() string { return propRegexes[g.r.IntN(len(propRegexes))] }

func (g gen) leaf() string {
	textOps := []string{"equalsFold", "containsFold", "startsWithFold", "endsWithFold", "equalsCase", "containsCase", "startsWithCase", "endsWithCase"}
	switch g.r.IntN(14) {
	case 0, 1, 2, 3, 4:
		return fmt.Sprintf("%s.%s(%s)", g.field(), textOps[g.r.IntN(len(textOps))], g.strArg(g.word))
	case 5:
		op := []string{"wildcardFold", "wildcardCase"}[g.r.IntN(2)]
		return fmt.Sprintf("%s.%s(%s)", g.field(), op, g.strArg(g.glob))
	case 6:
		return fmt.Sprintf("%s.regex(%s)", g.field(), g.strArg(g.regex))
	case 7:
		op := []string{"numEq", "numLt", "numGte"}[g.r.IntN(3)]
		return fmt.Sprintf("%s.%s(%d)", g.field(), op, g.r.IntN(40))
	case 8:
		return fmt.Sprintf("%s.isNull()", g.field())
	case 9:
		if f := g.field(); g.r.IntN(2) == 0 && !strings.Contains(f, "[") {
			return fmt.Sprintf("has(%s)", f)
		}
		return fmt.Sprintf("%s == %q", g.field(), g.word())
	case 10:
		op := []string{"keywordFold", "keywordCase"}[g.r.IntN(2)]
		return fmt.Sprintf("e.%s(%s)", op, g.strArg(g.glob))
	case 11:
		return fmt.Sprintf("e.keywordRegex(%q)", g.regex())
	case 12:
		return fmt.Sprintf("%s.containsFold(windash(%q))", g.field(), "-"+g.nonEmptyWord())
	default:
		return []string{"true", "false", `e.Image.startsWith("a")`, `e.Hashes.exists(h, h.endsWith("b"))`}[g.r.IntN(4)]
	}
}

func (g gen) cond(depth int) string {
	if depth <= 0 || g.r.IntN(3) == 0 {
		return g.leaf()
	}
	switch g.r.IntN(5) {
	case 0, 1:
		return "(" + g.cond(depth-1) + " && " + g.cond(depth-1) + ")"
	case 2, 3:
		return "(" + g.cond(depth-1) + " || " + g.cond(depth-1) + ")"
	}
	return "!(" + g.cond(depth-1) + ")"
}

func (g gen) event() *mdr.Event {
	var fs []mdr.Field
	for _, f := range propFields {
		if g.r.IntN(4) == 0 {
			continue
		}
		var v mdr.Value
		switch {
		case f == "EventID":
			if g.r.IntN(2) == 0 {
				v = mdr.Int(int64(g.r.IntN(40)))
			} else {
				v = mdr.String("0x" + strconv.FormatInt(int64(g.r.IntN(40)), 16))
			}
		case f == "Hashes":
			l := make([]mdr.Value, g.r.IntN(3))
			for i := range l {
				l[i] = mdr.String(g.word())
			}
			v = mdr.List(l)
		case g.r.IntN(10) == 0:
			v = mdr.Null()
		default:
			v = mdr.String(g.word())
		}
		fs = append(fs, mdr.Field{Key: f, Value: v})
	}
	if g.r.IntN(4) == 0 { // a flat key that is also the prefix of a dotted one
		fs = append(fs, mdr.Field{Key: "proc", Value: mdr.String(g.word())})
	}
	return mdr.NewEvent(mdr.Origin{}, fs...)
}

func matchIDs(t *testing.T, rs *Ruleset, e *mdr.Event) []string {
	ms, err := rs.Match(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.Rule.ID
	}
	slices.Sort(ids)
	return ids
}

func TestPrefilterProperty(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(7, 11))}
	totalMatches, filtered, second := 0, 0, 0
	for round := 0; round < 40; round++ {
		rules := make([]Rule, 60)
		for i := range rules {
			rules[i] = Rule{ID: "r" + strconv.Itoa(i), Condition: g.cond(3)}
		}
		fast, err := Compile(rules)
		if err != nil {
			t.Fatalf("compile: %v", err)
		}
		slow, err := Compile(rules, WithPrefilter(false), WithNativeEvaluation(false))
		if err != nil {
			t.Fatal(err)
		}
		// every rule's second literal set in use (the default keeps only
		// the cheap ones)
		both, err := Compile(rules, withEverySecondSet())
		if err != nil {
			t.Fatal(err)
		}
		filtered += fast.Stats().Rules - fast.Stats().Unfiltered
		second += both.Stats().SecondSets
		for k := 0; k < 150; k++ {
			e := g.event()
			got, want := matchIDs(t, fast, e), matchIDs(t, slow, e)
			totalMatches += len(want)
			if got2 := matchIDs(t, both, e); !slices.Equal(got2, want) {
				got = got2
			}
			if !slices.Equal(got, want) {
				var b strings.Builder
				for _, r := range rules {
					if slices.Contains(got, r.ID) != slices.Contains(want, r.ID) {
						fmt.Fprintf(&b, "\n  %s (fast=%v): %s", r.ID, slices.Contains(got, r.ID), r.Condition)
					}
				}
				var fsb strings.Builder
				for k, v := range e.Fields() {
					fmt.Fprintf(&fsb, " %s=%q", k, v.Text())
				}
				t.Fatalf("event%s: mismatch%s", fsb.String(), b.String())
			}
		}
	}
	if totalMatches < 1000 || filtered < 500 || second < 100 {
		t.Fatalf("the generator is too weak: %d matches, %d prefiltered rules, %d with a second literal set", totalMatches, filtered, second)
	}
	t.Logf("%d matches compared, %d rules with a literal set, %d of them with a second", totalMatches, filtered, second)
}

// TestSecondLiteralSet checks which rules get a second literal set (an
// independent conjunct's literals, required too before the rule is
// evaluated) and that matching is unchanged by it.
func TestSecondLiteralSet(t *testing.T) {
	rules := []Rule{
		// the event id is the first set, the exact user name a second
		{ID: "two", Condition: `e.EventID.numEq(4663) && e.User.equalsFold("svc_backup")`},
		// one conjunct only: no second set
		{ID: "one", Condition: `e.Image.endsWithFold("\\whoami.exe")`},
		// a second set of a field nobody else scans would add a scan: unused
		{ID: "costly", Condition: `e.EventID.numEq(4688) && e.ParentImage.containsFold("\\temp\\")`},
		// a disjunction: the union of the first sets, and of the second
		{ID: "or", Condition: `(e.EventID.numEq(1) && e.User.equalsFold("xavier")) || (e.EventID.numEq(2) && e.User.equalsFold("yvonne"))`},
	}
	rs, err := Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	if got := rs.Stats().SecondSets; got != 2 {
		t.Fatalf("SecondSets = %d, want 2 (rules two and or)", got)
	}
	cases := []struct {
		ev   *mdr.Event
		want []string
	}{
		{ev("EventID", 4663, "User", "SVC_Backup"), []string{"two"}},
		{ev("EventID", 4663, "User", "someone"), nil},
		{ev("EventID", 4662, "User", "svc_backup"), nil},
		{ev("EventID", 4688, "ParentImage", `C:\Temp\a.exe`), []string{"costly"}},
		{ev("EventID", 1, "User", "yvonne"), nil},
		{ev("EventID", 2, "User", "YVONNE"), []string{"or"}},
		{ev("EventID", 1, "User", "Xavier", "Image", `c:\windows\system32\WHOAMI.EXE`), []string{"one", "or"}},
	}
	for _, c := range cases {
		if got := matchIDs(t, rs, c.ev); !slices.Equal(got, c.want) {
			t.Errorf("%v: matches %v, want %v", c.ev, got, c.want)
		}
	}
}

func TestLiteralGroups(t *testing.T) {
	rs, err := Compile([]Rule{{ID: "r", Condition: `e.A.containsFold("alpha1") && (e.B.containsFold("beta22") || e.C.equalsFold("gamma333")) && e.D.startsWithFold("d")`}}, withEverySecondSet())
	if err != nil {
		t.Fatal(err)
	}
	a, b, okA, okB := rs.rules[0].root.literalGroups()
	if !okA || !okB {
		t.Fatalf("okA %v okB %v, want both", okA, okB)
	}
	lits := func(s []fieldLit) (out []string) {
		for _, l := range s {
			out = append(out, l.path+":"+l.lit)
		}
		slices.Sort(out)
		return out
	}
	// the two best sets: the B-or-C union (lowest score 6) and A (6, one
	// literal, so better); D's one-byte literal is the worst
	if got := lits(a); !slices.Equal(got, []string{"A:alpha1"}) {
		t.Errorf("first set %v", got)
	}
	if got := lits(b); !slices.Equal(got, []string{"B:beta22", "C:gamma333"}) {
		t.Errorf("second set %v", got)
	}
}

// TestShortLiteralScore checks that a searched-for literal under four bytes
// loses to any longer one: "add" and "reg" would make the field's scan read
// every byte through the automaton. A whole-value literal of that length
// is a map lookup and keeps its score.
func TestShortLiteralScore(t *testing.T) {
	rs, err := Compile([]Rule{
		{ID: "search", Condition: `e.A.containsFold("add") && e.A.containsFold("reg") && e.A.containsFold("\\currentversion\\run")`},
		{ID: "whole", Condition: `e.A.equalsFold("add") && e.B.containsFold("x")`},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{`A:\currentversion\run`, "A:add"} {
		a, _, okA, _ := rs.rules[i].root.literalGroups()
		if !okA || len(a) != 1 || a[0].path+":"+a[0].lit != want {
			t.Errorf("rule %s: first set %+v, want %s", rs.rules[i].rule.ID, a, want)
		}
	}
}
