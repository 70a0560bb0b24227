package respond

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
)

// join builds a dotted field path.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// jsonKind names the JSON type of raw for error messages.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// object decodes raw as a JSON object; on failure it records a problem and
// returns ok=false.
func object(raw json.RawMessage, path string, p *problems) (map[string]json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		p.add(path, "must be an object, not %s", jsonKind(raw))
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		p.add(path, "malformed object: %v", err)
		return nil, false
	}
	if n := countMembers(raw); n != len(m) {
		// I-JSON (RFC 7493), which OpenC2's JSON serialisation follows,
		// forbids duplicate member names
		p.add(path, "object has %d members but %d distinct names: a member name is repeated", n, len(m))
	}
	return m, true
}

// countMembers counts the members of the JSON object raw (well-formed) by
// counting the colons at its top level outside strings.
func countMembers(raw []byte) int {
	n, depth, inStr := 0, 0, false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ':':
			if depth == 1 {
				n++
			}
		}
	}
	return n
}

// sortedKeys returns m's keys in order, so problems come out in a stable
// order.
func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func str(raw json.RawMessage, path string, p *problems) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		p.add(path, "must be a string, not %s", jsonKind(raw))
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		p.add(path, "malformed string: %v", err)
		return "", false
	}
	return s, true
}

func boolean(raw json.RawMessage, path string, p *problems) (bool, bool) {
	raw = bytes.TrimSpace(raw)
	switch string(raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	p.add(path, "must be a boolean, not %s", jsonKind(raw))
	return false, false
}

// integer decodes a JSON number with an integral value (200.0 is 200).
func integer(raw json.RawMessage, path string, p *problems) (int64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		p.add(path, "must be an integer, not %s", jsonKind(raw))
		return 0, false
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		p.add(path, "must be an integer, not %s", raw)
		return 0, false
	}
	return int64(f), true
}

func number(raw json.RawMessage, path string, p *problems) (float64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		p.add(path, "must be a number, not %s", jsonKind(raw))
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		p.add(path, "malformed number %s", raw)
		return 0, false
	}
	return f, true
}

func array(raw json.RawMessage, path string, p *problems) ([]json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		p.add(path, "must be an array, not %s", jsonKind(raw))
		return nil, false
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		p.add(path, "malformed array: %v", err)
		return nil, false
	}
	if a == nil {
		a = []json.RawMessage{}
	}
	return a, true
}

func strList(raw json.RawMessage, path string, p *problems) ([]string, bool) {
	a, ok := array(raw, path, p)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(a))
	good := true
	for i, e := range a {
		s, ok := str(e, index(path, i), p)
		if !ok {
			good = false
			continue
		}
		out = append(out, s)
	}
	return out, good
}
