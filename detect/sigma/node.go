package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// kind of a YAML value after alias resolution.
type nodeKind uint8

const (
	nNull nodeKind = iota
	nString
	nInt
	nFloat
	nBool
	nMap
	nList
)

// node is a YAML value with the line it was written on. Maps keep their key
// order. It is built once from a yaml.Node so that documents can be merged
// (action: global/repeat) and every error can name its line.
type node struct {
	kind   nodeKind
	line   int
	str    string // scalar text as written (also for numbers and booleans)
	i      int64
	f      float64
	b      bool
	keys   []string
	vals   []*node
	list   []*node
	quoted bool // the scalar was quoted (a string even if it looks like a number)
}

func (n *node) get(key string) *node {
	if n == nil || n.kind != nMap {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

func (n *node) set(key string, v *node) {
	for i, k := range n.keys {
		if k == key {
			n.vals[i] = v
			return
		}
	}
	n.keys = append(n.keys, key)
	n.vals = append(n.vals, v)
}

// text returns a scalar's text; ok is false for maps and lists.
func (n *node) text() (string, bool) {
	if n == nil {
		return "", false
	}
	switch n.kind {
	case nString, nInt, nFloat, nBool:
		return n.str, true
	case nNull:
		return "", true
	}
	return "", false
}

// strings returns a scalar or a list of scalars as strings.
func (n *node) strings() ([]string, bool) {
	if n == nil {
		return nil, true
	}
	if n.kind == nList {
		out := make([]string, 0, len(n.list))
		for _, e := range n.list {
			s, ok := e.text()
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	s, ok := n.text()
	if !ok {
		return nil, false
	}
	if n.kind == nNull {
		return nil, true
	}
	return []string{s}, true
}

func (n *node) clone() *node {
	if n == nil {
		return nil
	}
	c := *n
	if n.kind == nMap {
		c.keys = append([]string(nil), n.keys...)
		c.vals = make([]*node, len(n.vals))
		for i, v := range n.vals {
			c.vals[i] = v.clone()
		}
	}
	if n.kind == nList {
		c.list = make([]*node, len(n.list))
		for i, v := range n.list {
			c.list[i] = v.clone()
		}
	}
	return &c
}

// merge overlays o onto n: maps merge key by key (recursively), anything
// else is replaced. It returns the result (n is modified when it is a map).
func merge(n, o *node) *node {
	if n == nil || n.kind != nMap || o == nil || o.kind != nMap {
		return o.clone()
	}
	for i, k := range o.keys {
		n.set(k, merge(n.get(k), o.vals[i]))
	}
	return n
}

const (
	maxDepth = 64
	// maxNodes bounds the values of one document after alias expansion
	// (a "billion laughs" document would otherwise expand exponentially).
	maxNodes = 1 << 20
)

type converter struct{ nodes int }

func convert(y *yaml.Node, depth int) (*node, error) {
	c := &converter{}
	return c.convert(y, depth)
}

func (c *converter) convert(y *yaml.Node, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("line %d: nesting deeper than %d", y.Line, maxDepth)
	}
	c.nodes++
	if c.nodes > maxNodes {
		return nil, fmt.Errorf("line %d: more than %d values (after alias expansion)", y.Line, maxNodes)
	}
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return &node{kind: nNull, line: y.Line}, nil
		}
		return c.convert(y.Content[0], depth+1)
	case yaml.AliasNode:
		if y.Alias == nil {
			return nil, fmt.Errorf("line %d: unknown alias", y.Line)
		}
		return c.convert(y.Alias, depth+1)
	case yaml.MappingNode:
		n := &node{kind: nMap, line: y.Line}
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				m, err := c.convert(v, depth+1)
				if err != nil {
					return nil, err
				}
				if m.kind == nMap {
					for j, mk := range m.keys {
						if n.get(mk) == nil {
							n.set(mk, m.vals[j])
						}
					}
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: map key is not a scalar", k.Line)
			}
			val, err := c.convert(v, depth+1)
			if err != nil {
				return nil, err
			}
			if n.get(k.Value) != nil {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			n.keys = append(n.keys, k.Value)
			n.vals = append(n.vals, val)
		}
		return n, nil
	case yaml.SequenceNode:
		n := &node{kind: nList, line: y.Line}
		for _, e := range y.Content {
			v, err := c.convert(e, depth+1)
			if err != nil {
				return nil, err
			}
			n.list = append(n.list, v)
		}
		return n, nil
	case yaml.ScalarNode:
		n := &node{line: y.Line, str: y.Value, quoted: y.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0}
		switch y.ShortTag() {
		case "!!null":
			n.kind = nNull
		case "!!bool":
			n.kind = nBool
			n.b = strings.EqualFold(y.Value, "true")
		case "!!int":
			txt := strings.ReplaceAll(y.Value, "_", "")
			base := 0
			if t := strings.TrimLeft(txt, "+-"); len(t) > 1 && t[0] == '0' && t[1] >= '0' && t[1] <= '9' {
				base = 10 // 0123 is decimal in YAML 1.2, not octal
			}
			i, err := strconv.ParseInt(txt, base, 64)
			if err != nil {
				n.kind = nString // out of range: keep the text
			} else {
				n.kind = nInt
				n.i = i
			}
		case "!!float":
			f, err := strconv.ParseFloat(y.Value, 64)
			if err != nil {
				n.kind = nString
			} else {
				n.kind = nFloat
				n.f = f
			}
		default:
			n.kind = nString
		}
		return n, nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", y.Line)
}

// parseDocuments decodes every YAML document of data.
func parseDocuments(data []byte) ([]*node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*node
	for {
		var y yaml.Node
		err := dec.Decode(&y)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		n, err := convert(&y, 0)
		if err != nil {
			return out, err
		}
		if n.kind == nNull {
			continue // empty document (e.g. a trailing ---)
		}
		out = append(out, n)
	}
}
