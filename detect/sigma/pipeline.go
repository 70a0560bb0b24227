package sigma

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/mdrkit/mdr/detect"
)

// Pipeline is a processing pipeline: it routes rules to events by logsource
// (Logsources, handed to detect as a detect.Pipeline), maps Sigma field
// names to the names events carry (Fields) and supplies the values of
// expand placeholders (Placeholders).
//
// A Pipeline is a plain value: build or load it, then hand it to New; it is
// not modified by the compiler and is safe for concurrent reads.
type Pipeline struct {
	Name string
	// Logsources route rules to events; see detect.LogsourceMapping.
	Logsources []detect.LogsourceMapping
	// Fields map Sigma field names to event field names for the rules whose
	// logsource they apply to.
	Fields []FieldMapping
	// Placeholders give the values of %name% placeholders of the expand
	// modifier. A value may use Sigma wildcards.
	Placeholders map[string][]string
}

// FieldMapping maps Sigma field names to event field names for the rules
// whose logsource matches: every part of Logsource that is set must equal
// the rule's part (case-insensitively); an empty Logsource applies to every
// rule. Each Sigma field maps to one or more event fields; a value matches
// when it matches in any of them (for null, when it is absent from all).
// List the Sigma name itself among the targets to keep matching it.
// Like Pipeline, it is a plain value, safe for concurrent reads.
type FieldMapping struct {
	Logsource detect.Logsource
	Fields    map[string][]string
	// Prefixes are tried in front of every field name (the Sigma name and
	// its Fields targets), e.g. "winlog.event_data." for Winlogbeat
	// exports that keep the event data under that object.
	Prefixes []string
}

// Routing returns the logsource routing part of the pipeline in detect's
// form (for detect.WithPipeline).
func (p *Pipeline) Routing() detect.Pipeline {
	if p == nil {
		return detect.Pipeline{}
	}
	return detect.Pipeline{Name: p.Name, Logsources: append([]detect.LogsourceMapping(nil), p.Logsources...)}
}

// applies reports whether a mapping logsource applies to a rule logsource.
func applies(m, rule detect.Logsource) bool {
	part := func(a, b string) bool { return a == "" || strings.EqualFold(a, b) }
	return part(m.Product, rule.Product) && part(m.Category, rule.Category) && part(m.Service, rule.Service)
}

// fieldsFor returns the field resolver for a rule's logsource: the union of
// the targets of every applicable mapping, in mapping order.
func (p *Pipeline) fieldsFor(ls detect.Logsource) func(string) []string {
	if p == nil || len(p.Fields) == 0 {
		return nil
	}
	var maps []map[string][]string
	var prefixes []string
	for _, fm := range p.Fields {
		if applies(fm.Logsource, ls) {
			if len(fm.Fields) > 0 {
				maps = append(maps, fm.Fields)
			}
			prefixes = append(prefixes, fm.Prefixes...)
		}
	}
	if len(maps) == 0 && len(prefixes) == 0 {
		return nil
	}
	return func(f string) []string {
		var out []string
		add := func(t string) {
			for _, o := range out {
				if o == t {
					return
				}
			}
			out = append(out, t)
		}
		for _, m := range maps {
			for _, t := range m[f] {
				add(t)
			}
		}
		if len(prefixes) > 0 {
			if len(out) == 0 {
				out = append(out, f)
			}
			base := append([]string(nil), out...)
			for _, pre := range prefixes {
				for _, t := range base {
					if !strings.HasPrefix(t, pre) {
						add(pre + t)
					}
				}
			}
		}
		return out
	}
}

// Extend returns a new pipeline: p with o's entries on top. A logsource
// mapping of o replaces p's mappings for the identical logsource; field
// mappings of o for an identical logsource replace p's targets field by
// field; placeholders of o override p's. Neither input is modified.
func (p *Pipeline) Extend(o *Pipeline) *Pipeline {
	out := &Pipeline{Name: p.Name, Placeholders: map[string][]string{}}
	if o.Name != "" {
		out.Name = o.Name
	}
	same := func(a, b detect.Logsource) bool {
		return strings.EqualFold(a.Product, b.Product) && strings.EqualFold(a.Category, b.Category) && strings.EqualFold(a.Service, b.Service)
	}
	for _, m := range p.Logsources {
		replaced := false
		for _, n := range o.Logsources {
			if same(m.Logsource, n.Logsource) {
				replaced = true
			}
		}
		if !replaced {
			out.Logsources = append(out.Logsources, m)
		}
	}
	out.Logsources = append(out.Logsources, o.Logsources...)
	for _, fm := range p.Fields {
		c := FieldMapping{Logsource: fm.Logsource, Fields: map[string][]string{}, Prefixes: fm.Prefixes}
		for k, v := range fm.Fields {
			c.Fields[k] = v
		}
		for _, ofm := range o.Fields {
			if same(ofm.Logsource, fm.Logsource) {
				for k := range ofm.Fields {
					delete(c.Fields, k)
				}
			}
		}
		out.Fields = append(out.Fields, c)
	}
	out.Fields = append(out.Fields, o.Fields...)
	for k, v := range p.Placeholders {
		out.Placeholders[k] = v
	}
	for k, v := range o.Placeholders {
		out.Placeholders[k] = v
	}
	return out
}

// LoadPipeline reads a pipeline from a YAML file (see ParsePipeline).
func LoadPipeline(path string) (*Pipeline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sigma: pipeline: %w", err)
	}
	return ParsePipeline(path, data)
}

// ParsePipeline reads a pipeline from YAML:
//
//	name: my-soc
//	extends: windows            # optional: start from a built-in pipeline (windows or common-schema)
//	logsources:                 # routing: which events a logsource covers
//	  - logsource: {product: windows, category: process_creation}
//	    conditions:             # OR across conditions, AND across fields of one
//	      - {Channel: Microsoft-Windows-Sysmon/Operational, EventID: 1}
//	      - {Channel: Security, EventID: [4688]}
//	fields:                     # Sigma field → event fields
//	  - logsource: {category: process_creation}   # optional; omitted = every rule
//	    map:
//	      Image: [Image, process.executable]
//	      CommandLine: process.command_line
//	  - logsource: {product: windows}
//	    prefixes: [winlog.event_data.]   # also try every field under this object
//	placeholders:               # values of %name% for the expand modifier
//	  Workstations: ['WKS-*', 'LAPTOP-*']
//
// Errors name the source and line.
func ParsePipeline(name string, data []byte) (*Pipeline, error) {
	docs, err := parseDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrPipeline, err)
	}
	if len(docs) != 1 || docs[0].kind != nMap {
		return nil, fmt.Errorf("%s: %w: want one YAML map", name, ErrPipeline)
	}
	root := docs[0]
	bad := func(n *node, format string, args ...any) error {
		line := 0
		if n != nil {
			line = n.line
		}
		return fmt.Errorf("%s:%d: %w: %s", name, line, ErrPipeline, fmt.Sprintf(format, args...))
	}
	p := &Pipeline{Placeholders: map[string][]string{}}
	for i, k := range root.keys {
		v := root.vals[i]
		switch k {
		case "name":
			p.Name, _ = v.text()
		case "extends":
			s, _ := v.text()
			if !strings.EqualFold(s, "windows") && !strings.EqualFold(s, "common-schema") {
				return nil, bad(v, "extends %q: the built-in pipelines are \"windows\" and \"common-schema\"", s)
			}
		case "logsources":
			if v.kind != nList {
				return nil, bad(v, "logsources must be a list")
			}
			for _, e := range v.list {
				ls, err := parseLogsource(e.get("logsource"))
				if err != nil {
					return nil, bad(e, "%v", err)
				}
				if ls == (detect.Logsource{}) {
					return nil, bad(e, "a logsource mapping needs a product, category or service")
				}
				cn := e.get("conditions")
				if cn == nil || cn.kind != nList || len(cn.list) == 0 {
					return nil, bad(e, "conditions must be a non-empty list of maps")
				}
				m := detect.LogsourceMapping{Logsource: ls}
				for _, c := range cn.list {
					if c.kind != nMap || len(c.keys) == 0 {
						return nil, bad(c, "a condition must be a non-empty map of field: value(s)")
					}
					cm := map[string][]string{}
					for j, f := range c.keys {
						vals, ok := c.vals[j].strings()
						if !ok || len(vals) == 0 {
							return nil, bad(c.vals[j], "condition field %q needs a value or a list of values", f)
						}
						cm[f] = vals
					}
					m.Conditions = append(m.Conditions, cm)
				}
				p.Logsources = append(p.Logsources, m)
			}
		case "fields":
			if v.kind != nList {
				return nil, bad(v, "fields must be a list")
			}
			for _, e := range v.list {
				ls, err := parseLogsource(e.get("logsource"))
				if err != nil {
					return nil, bad(e, "%v", err)
				}
				mn := e.get("map")
				pn := e.get("prefixes")
				if (mn == nil || mn.kind != nMap) && pn == nil {
					return nil, bad(e, "a field mapping needs a map of Sigma field: event field(s), or prefixes")
				}
				fm := FieldMapping{Logsource: ls, Fields: map[string][]string{}}
				if pn != nil {
					pre, ok := pn.strings()
					if !ok || len(pre) == 0 {
						return nil, bad(pn, "prefixes must be a string or a list of strings")
					}
					fm.Prefixes = pre
				}
				if mn == nil {
					mn = &node{kind: nMap}
				}
				if mn.kind != nMap {
					return nil, bad(mn, "map must be a map of Sigma field: event field(s)")
				}
				for j, f := range mn.keys {
					t, ok := mn.vals[j].strings()
					if !ok || len(t) == 0 {
						return nil, bad(mn.vals[j], "field %q needs a target field or a list of them", f)
					}
					fm.Fields[f] = t
				}
				p.Fields = append(p.Fields, fm)
			}
		case "placeholders":
			if v.kind != nMap {
				return nil, bad(v, "placeholders must be a map of name: value(s)")
			}
			for j, ph := range v.keys {
				vals, ok := v.vals[j].strings()
				if !ok {
					return nil, bad(v.vals[j], "placeholder %q needs a value or a list of values", ph)
				}
				p.Placeholders[strings.Trim(ph, "%")] = vals
			}
		default:
			return nil, bad(v, "unknown key %q (want name, extends, logsources, fields, placeholders)", k)
		}
	}
	switch s, _ := root.get("extends").text(); strings.ToLower(s) {
	case "windows":
		return WindowsPipeline().Extend(p), nil
	case "common-schema":
		return CommonSchemaPipeline().Extend(p), nil
	}
	return p, nil
}

func parseLogsource(n *node) (detect.Logsource, error) {
	var ls detect.Logsource
	if n == nil {
		return ls, nil
	}
	if n.kind != nMap {
		return ls, fmt.Errorf("logsource must be a map")
	}
	for i, k := range n.keys {
		s, ok := n.vals[i].text()
		if !ok {
			return ls, fmt.Errorf("logsource %s must be a string", k)
		}
		switch k {
		case "product":
			ls.Product = s
		case "category":
			ls.Category = s
		case "service":
			ls.Service = s
		}
	}
	return ls, nil
}

// sortedKeys returns the keys of m in order (for deterministic output).
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
