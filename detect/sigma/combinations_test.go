package sigma

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mdrkit/mdr/detect"
)

var allModifiers = []string{"contains", "startswith", "endswith", "all", "re", "i", "m", "s", "base64", "base64offset",
	"utf16le", "utf16be", "utf16", "wide", "windash", "cidr", "exists", "cased", "fieldref", "expand", "lt", "lte", "gt",
	"gte", "neq", "minute", "hour", "day", "week", "month", "year"}

var comboValues = []string{"'abc'", "5", "true", "'10.0.0.0/8'", "['a%P%b', 'c']", "'x.*y'"}

// TestEveryModifierCombination compiles every ordered pair of modifiers
// (and every triple that starts with a valid pair) with several kinds of
// value. Each either compiles to CEL that detect accepts, or is rejected
// with a load error that names the file, line, rule and the modifier or
// field at fault — never anything in between.
func TestEveryModifierCombination(t *testing.T) {
	c, err := New(WithPlaceholders(map[string][]string{"P": {"x", "y"}}))
	if err != nil {
		t.Fatal(err)
	}
	var chains [][]string
	for _, a := range allModifiers {
		chains = append(chains, []string{a})
		for _, b := range allModifiers {
			chains = append(chains, []string{a, b})
		}
	}
	accepted, rejected := 0, 0
	var rules []detect.Rule
	var validPairs [][]string
	try := func(chain []string, val string) bool {
		id := fmt.Sprintf("r%d", accepted+rejected)
		src := fmt.Sprintf("title: t\nid: %s\nlogsource: {product: x}\ndetection:\n    sel:\n        F|%s: %s\n    condition: sel\n", id, strings.Join(chain, "|"), val)
		rs, err := c.Compile(Source{Name: "c.yml", Data: []byte(src)})
		if err != nil {
			rejected++
			var le *LoadError
			if !errors.As(err, &le) || len(le.Problems) != 1 {
				t.Fatalf("%v %s: %v", chain, val, err)
			}
			p := le.Problems[0]
			if p.File != "c.yml" || p.Line != 6 || p.RuleID != id || (p.Modifier == "" && p.Field != "F") {
				t.Errorf("%v %s: problem does not name where: %+v", chain, val, p)
			}
			if !errors.Is(err, ErrModifier) && !errors.Is(err, ErrValue) && !errors.Is(err, ErrPlaceholder) {
				t.Errorf("%v %s: unexpected error class %v", chain, val, err)
			}
			return false
		}
		accepted++
		rules = append(rules, rs...)
		return true
	}
	for _, ch := range chains {
		ok := false
		for _, v := range comboValues {
			if try(ch, v) {
				ok = true
			}
		}
		if ok && len(ch) == 2 {
			validPairs = append(validPairs, ch)
		}
	}
	for _, p := range validPairs {
		for _, m := range allModifiers {
			for _, v := range comboValues[:3] {
				try(append(append([]string(nil), p...), m), v)
			}
		}
	}
	if _, err := detect.Compile(rules); err != nil {
		for _, r := range detect.Rejections(err) {
			t.Errorf("detect rejected generated CEL: %v", r)
		}
	}
	t.Logf("%d combinations compiled (and accepted by detect), %d rejected with a named modifier or field; %d valid pairs", accepted, rejected, len(validPairs))
	if len(validPairs) < 60 {
		t.Errorf("only %d valid modifier pairs", len(validPairs))
	}
}
