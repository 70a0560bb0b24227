package respond

import (
	"context"
	"strings"
	"testing"
)

func condScope() *varScope {
	return newRootScope(map[string]Variable{
		"__count__":  {Type: "integer", Value: "3"},
		"__ratio__":  {Type: "float", Value: "0.25"},
		"__on__":     {Type: "bool", Value: "true"},
		"__ip__":     {Type: "ipv4-addr", Value: "10.1.2.3"},
		"__ip6__":    {Type: "ipv6-addr", Value: "2001:db8::1"},
		"__host__":   {Type: "string", Value: "WS-042"},
		"__date__":   {Type: "string", Value: "01-01-2025"},
		"__empty__":  {Type: "string", Value: ""},
		"__null__":   {Type: "string", Null: true},
		"__limit__":  {Type: "integer", Value: "10"},
		"__target__": {Type: "string", Value: "WS-042"},
		"__seen__":   {Type: "string", Value: "2026-12-03T18:00:00Z"},
		"__sha__":    {Type: "sha256-hash", Value: "9f86d081"},
	}, nil)
}

func TestConditions(t *testing.T) {
	cases := []struct {
		cond string
		want bool
	}{
		// the forms of the shared CACAO examples
		{"__date__:value != '01-01-2025'", false},
		{"__count__:value != '5'", true},
		{"__count__:value > 0", true},
		{"__count__:value > __limit__:value", false},
		// STIX comparison operators
		{"__count__:value = 3", true},
		{"__count__:value >= 3", true},
		{"__count__:value <= 2", false},
		{"__count__:value < 10", true}, // numerically, not "3" < "10" as strings
		{"__ratio__:value < 0.5", true},
		{"__on__:value = true", true},
		{"__on__:value != false", true},
		{"__host__:value = 'WS-042'", true},
		{"__host__:value = \"WS-042\"", true},
		{"__host__:value LIKE 'WS-%'", true},
		{"__host__:value LIKE 'WS-0_2'", true},
		{"__host__:value LIKE 'SRV%'", false},
		{"__host__:value MATCHES '^WS-[0-9]+$'", true},
		{"__host__:value IN ('SRV-1', 'WS-042')", true},
		{"__host__:value NOT IN ('SRV-1', 'WS-042')", false},
		{"__ip__:value ISSUBSET '10.0.0.0/8'", true},
		{"__ip__:value ISSUBSET '192.168.0.0/16'", false},
		{"'10.0.0.0/8' ISSUPERSET __ip__:value", true},
		{"__ip__:value = '10.1.2.3'", true},
		{"__ip6__:value = '2001:0db8::0001'", true},
		{"__host__:value NOT = 'WS-042'", false},
		// boolean structure, STIX brackets, substitution inside strings
		{"[__host__:value = 'WS-042']", true},
		{"__count__:value > 1 AND __host__:value = 'WS-042'", true},
		{"__count__:value > 5 OR __host__:value = 'WS-042'", true},
		{"NOT (__count__:value > 5 OR __host__:value = 'x')", true},
		{"__count__:value > 5 AND __host__:value = 'WS-042' OR __on__:value = true", true},
		{"__host__:value = '__target__:value'", true},
		// null and empty are different; undeclared reads as null
		{"__null__:value = ''", false},
		{"__empty__:value = ''", true},
		{"__null__:value != 'x'", true},
		{"__null__:value > 0", false},
		{"__undeclared__:value = 'x'", false},
		{"__undeclared__:value != 'x'", true},
		// STIX EXISTS and typed constants
		{"EXISTS __host__:value", true},
		{"EXISTS __null__:value", false},
		{"NOT EXISTS __undeclared__:value", true},
		{"__seen__:value > t'2026-01-01T00:00:00Z'", true},
		{"__seen__:value < t'2026-01-01T00:00:00.000Z'", false},
		{"__sha__:value = h'9F86D081'", true},
		{"__sha__:value = '9F86D081'", true},
		// lower-case keywords
		{"__count__:value > 1 and not __host__:value like 'SRV%'", true},
		{"__on__:value = TRUE", true},
		// the CEL extension
		{`cel: vars["__count__"] + 1 == 4 && vars["__host__"].startsWith("WS")`, true},
		{`cel: vars["__on__"] && vars["__ratio__"] < 0.5`, true},
		{`cel: vars["__null__"] == null`, true},
	}
	sc := condScope()
	for _, c := range cases {
		cond, err := compileCondition(c.cond, 10_000)
		if err != nil {
			t.Errorf("%s: compile: %v", c.cond, err)
			continue
		}
		got, err := cond.eval(context.Background(), sc)
		if err != nil {
			t.Errorf("%s: eval: %v", c.cond, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %v, want %v", c.cond, got, c.want)
		}
	}
}

func TestConditionErrors(t *testing.T) {
	compile := []struct{ cond, want string }{
		{"", "condition is empty"},
		{"__count__:value", "no operator"},
		{"__count__:value = = 3", `unexpected "="`},
		{"__count__:value ! 3", "'!' at offset 16 is not an operator"},
		{"(__count__:value = 3", "missing closing bracket"},
		{"__count__ = 3", "not a variable reference"},
		{"file:name = 'x'", "not STIX object paths"},
		{"__host__:value = 'open", "unterminated string"},
		{"__host__:value MATCHES '('", "MATCHES pattern"},
		{"__host__:value = 'a' AND", "unexpected end"},
		{strings.Repeat("(", 40) + "__count__:value = 3" + strings.Repeat(")", 40), "nests deeper"},
		{"cel: vars[", "cel condition"},
		{"__seen__:value > t'yesterday'", "not an RFC 3339 timestamp"},
		{"__sha__:value = h'xyz'", "not hexadecimal"},
		{"EXISTS 'x'", "EXISTS at offset 0 needs a variable"},
		{`cel: "a string"`, "want bool"},
	}
	for _, c := range compile {
		if _, err := compileCondition(c.cond, 10_000); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.cond, err, c.want)
		}
	}
	eval := []struct{ cond, want string }{
		{"__host__:value > 3", "as numbers"},
		{"__on__:value > true", "does not apply to booleans"},
		{"__host__:value ISSUBSET 'x'", "needs IP addresses or CIDR prefixes"},
		{`cel: vars["__count__"] + "x" == "3"`, "no such overload"},
	}
	sc := condScope()
	for _, c := range eval {
		cond, err := compileCondition(c.cond, 10_000)
		if err != nil {
			t.Errorf("%q: compile: %v", c.cond, err)
			continue
		}
		if _, err := cond.eval(context.Background(), sc); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.cond, err, c.want)
		}
	}
}

func TestCELConditionCostLimit(t *testing.T) {
	cond, err := compileCondition(`cel: [1,2,3,4,5,6,7,8,9,10].all(x, [1,2,3,4,5,6,7,8,9,10].all(y, [1,2,3,4,5,6,7,8,9,10].all(z, x+y+z > 0)))`, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cond.eval(context.Background(), condScope()); err == nil || !strings.Contains(err.Error(), "cost") {
		t.Fatalf("err %v, want a cost limit error", err)
	}
}

func TestLikeMatch(t *testing.T) {
	for _, c := range []struct {
		s, p string
		want bool
	}{
		{"", "", true}, {"", "%", true}, {"a", "", false}, {"abc", "a%c", true}, {"abc", "a_c", true},
		{"abc", "%b%", true}, {"abc", "%d%", false}, {"aaa", "a%a%a", true}, {"ab", "a%b%c", false},
		{"héllo", "h_llo", true},
	} {
		if got := likeMatch(c.s, c.p); got != c.want {
			t.Errorf("likeMatch(%q, %q) = %v", c.s, c.p, got)
		}
	}
}

func TestVariableScopes(t *testing.T) {
	root := newRootScope(map[string]Variable{"__g__": {Type: "string", Value: "g"}, "__k__": {Type: "string", Value: "k", Constant: true}}, map[string]string{"__g__": "input"})
	loop := root.child(map[string]Variable{"__n__": {Type: "integer", Value: "0"}})
	body := loop.child(map[string]Variable{"__n__": {Type: "integer", Null: true}, "__local__": {Type: "string", Null: true}})
	if v, _ := body.lookup("__n__"); v.Value != "0" || v.Null {
		t.Fatalf("a redeclared variable without value inherits: %+v", v)
	}
	if err := body.assign("__n__", "1", false); err != nil {
		t.Fatal(err)
	}
	if v, _ := loop.lookup("__n__"); v.Value != "1" {
		t.Fatalf("the loop's counter was not updated: %+v", v)
	}
	if _, ok := root.lookup("__n__"); ok {
		t.Fatal("the loop's counter leaked to the root")
	}
	if err := body.assign("__local__", "out", false); err != nil {
		t.Fatal(err)
	}
	if v, _ := root.lookup("__local__"); v.Value != "out" {
		t.Fatalf("an output only the step declares goes to the root: %+v", v)
	}
	if err := body.assign("__k__", "x", false); err == nil {
		t.Fatal("a constant was assigned")
	}
	got, err := body.substitute("g=__g__:value n=__n__:value k=__k__:value")
	if err != nil || got != "g=input n=1 k=k" {
		t.Fatalf("substitute: %q %v", got, err)
	}
	if _, err := body.substitute("__nope__:value"); err == nil {
		t.Fatal("an undefined variable was substituted")
	}
}
