package sigma

import (
	"fmt"
	"strings"
)

// modifiers is the parsed modifier chain of one detection key.
type modifiers struct {
	match    string   // "", "contains", "startswith", "endswith"
	encoders []string // base64, base64offset, utf16le, utf16be, utf16, wide, windash (in order)
	all      bool
	re       bool
	reFlags  string // subset of "ims"
	cidr     bool
	exists   bool
	cased    bool
	fieldref bool
	expand   bool
	neq      bool
	cmp      string // lt, lte, gt, gte
	timePart string // minute, hour, day, week, month, year
	chain    string // as written, for messages
}

func (m *modifiers) encoded() bool {
	for _, e := range m.encoders {
		if e != "windash" {
			return true
		}
	}
	return false
}

func (m *modifiers) has(e string) bool {
	for _, x := range m.encoders {
		if x == e {
			return true
		}
	}
	return false
}

func (m *modifiers) base64() bool { return m.has("base64") || m.has("base64offset") }

// parseModifiers parses and validates a modifier chain ("contains|all").
// The error names the offending modifier.
func parseModifiers(chain []string) (*modifiers, string, error) {
	m := &modifiers{chain: strings.Join(chain, "|")}
	seen := map[string]bool{}
	for _, raw := range chain {
		mod := raw
		if seen[mod] {
			return nil, raw, fmt.Errorf("modifier %q given twice", raw)
		}
		seen[mod] = true
		switch mod {
		case "contains", "startswith", "endswith":
			if m.match != "" {
				return nil, raw, fmt.Errorf("%q conflicts with %q", raw, m.match)
			}
			m.match = mod
		case "base64", "base64offset":
			if m.base64() {
				return nil, raw, fmt.Errorf("%q after another base64 modifier", raw)
			}
			m.encoders = append(m.encoders, mod)
		case "utf16le", "utf16be", "utf16", "wide":
			for _, e := range m.encoders {
				switch e {
				case "utf16le", "utf16be", "utf16", "wide":
					return nil, raw, fmt.Errorf("%q after %q: only one UTF-16 encoding applies", raw, e)
				case "base64", "base64offset":
					return nil, raw, fmt.Errorf("%q after %q: encode to UTF-16 before base64", raw, e)
				}
			}
			m.encoders = append(m.encoders, mod)
		case "windash":
			if m.encoded() {
				return nil, raw, fmt.Errorf("windash after an encoding modifier: apply windash first")
			}
			m.encoders = append(m.encoders, mod)
		case "all":
			m.all = true
		case "re":
			m.re = true
		case "i", "m", "s":
			if !m.re {
				return nil, raw, fmt.Errorf("regular-expression flag %q without a preceding re", raw)
			}
			m.reFlags += mod
		case "cidr":
			m.cidr = true
		case "exists":
			m.exists = true
		case "cased":
			m.cased = true
		case "fieldref":
			m.fieldref = true
		case "expand":
			m.expand = true
		case "neq":
			m.neq = true
		case "lt", "lte", "gt", "gte":
			if m.cmp != "" {
				return nil, raw, fmt.Errorf("%q conflicts with %q", raw, m.cmp)
			}
			m.cmp = mod
		case "minute", "hour", "day", "week", "month", "year":
			if m.timePart != "" {
				return nil, raw, fmt.Errorf("%q conflicts with %q", raw, m.timePart)
			}
			m.timePart = mod
		default:
			return nil, raw, fmt.Errorf("unknown modifier %q", raw)
		}
	}
	if bad, err := m.validate(); err != nil {
		return nil, bad, err
	}
	return m, "", nil
}

// validate rejects combinations that have no meaning. It returns the
// modifier to blame.
func (m *modifiers) validate() (string, error) {
	type flag struct {
		name string
		on   bool
	}
	others := func(allowed ...string) (string, bool) {
		ok := map[string]bool{}
		for _, a := range allowed {
			ok[a] = true
		}
		fl := []flag{
			{"contains", m.match == "contains"}, {"startswith", m.match == "startswith"}, {"endswith", m.match == "endswith"},
			{"all", m.all}, {"re", m.re}, {"cidr", m.cidr}, {"exists", m.exists}, {"cased", m.cased},
			{"fieldref", m.fieldref}, {"expand", m.expand}, {"neq", m.neq}, {m.cmp, m.cmp != ""},
			{m.timePart, m.timePart != ""}, {"i", strings.Contains(m.reFlags, "i")},
			{"m", strings.Contains(m.reFlags, "m")}, {"s", strings.Contains(m.reFlags, "s")},
		}
		for _, e := range m.encoders {
			fl = append(fl, flag{e, true})
		}
		for _, f := range fl {
			if f.on && !ok[f.name] {
				return f.name, false
			}
		}
		return "", true
	}
	switch {
	case m.exists:
		if bad, ok := others("exists"); !ok {
			return bad, fmt.Errorf("%q cannot be combined with exists", bad)
		}
	case m.re:
		if bad, ok := others("re", "i", "m", "s", "all", "neq", "cased"); !ok {
			return bad, fmt.Errorf("%q cannot be combined with re", bad)
		}
	case m.cidr:
		if bad, ok := others("cidr", "all", "neq"); !ok {
			return bad, fmt.Errorf("%q cannot be combined with cidr", bad)
		}
	case m.cmp != "" || m.timePart != "":
		allowed := []string{m.cmp, m.timePart, "all"}
		if m.cmp == "" {
			allowed = append(allowed, "neq")
		}
		if bad, ok := others(allowed...); !ok {
			what := m.cmp
			if what == "" {
				what = m.timePart
			}
			return bad, fmt.Errorf("%q cannot be combined with %q", bad, what)
		}
	case m.fieldref:
		if bad, ok := others("fieldref", "contains", "startswith", "endswith", "cased", "neq", "all"); !ok {
			return bad, fmt.Errorf("%q cannot be combined with fieldref", bad)
		}
	}
	if m.expand && m.encoded() {
		return "expand", fmt.Errorf("expand cannot be combined with encoding modifiers")
	}
	return "", nil
}
