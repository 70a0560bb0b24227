package detect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mdrkit/mdr"
)

// LoadFile reads a native rule file (see ParseRules). A file that cannot be
// read is an ordinary error; rules that cannot be parsed are reported in a
// *CompileError and the others are returned.
func LoadFile(path string) ([]Rule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("detect: reading rules: %w", err)
	}
	return ParseRules(data, path)
}

// ParseRules parses native YAML rules. data may hold several YAML documents
// (separated by ---); each document is one rule (a mapping) or a list of
// rules. source names the input in Rule.Source and in errors. Every rule
// that cannot be read is reported, with its line, in a *CompileError; the
// rules that could be read are returned with it. ParseRules checks the
// shape of each rule (known keys, value types, severity, timespan), not its
// condition: Compile does that.
func ParseRules(data []byte, source string) ([]Rule, error) {
	var rules []Rule
	var rejected []RuleError
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rejected = append(rejected, RuleError{File: source, Line: yamlErrLine(err), Reason: "YAML: " + err.Error()})
			break // the decoder cannot resynchronise after a syntax error
		}
		if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		switch root.Kind {
		case yaml.MappingNode:
			if r, e := parseRule(root, source); e != nil {
				rejected = append(rejected, *e)
			} else {
				rules = append(rules, r)
			}
		case yaml.SequenceNode:
			for _, n := range root.Content {
				if n.Kind != yaml.MappingNode {
					rejected = append(rejected, RuleError{File: source, Line: int64(n.Line), Reason: "a rule must be a mapping"})
					continue
				}
				if r, e := parseRule(n, source); e != nil {
					rejected = append(rejected, *e)
				} else {
					rules = append(rules, r)
				}
			}
		case yaml.ScalarNode:
			if root.Tag == "!!null" {
				continue // empty document
			}
			fallthrough
		default:
			rejected = append(rejected, RuleError{File: source, Line: int64(root.Line), Reason: "a document must be a rule (mapping) or a list of rules"})
		}
	}
	if len(rejected) > 0 {
		return rules, &CompileError{Rejected: rejected}
	}
	return rules, nil
}

func yamlErrLine(err error) int64 {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		j := i + 5
		k := j
		for k < len(msg) && msg[k] >= '0' && msg[k] <= '9' {
			k++
		}
		if n, err := strconv.ParseInt(msg[j:k], 10, 64); err == nil {
			return n
		}
	}
	return 0
}

type yamlRule struct {
	ID             string           `yaml:"id"`
	Title          string           `yaml:"title"`
	Description    string           `yaml:"description"`
	Author         string           `yaml:"author"`
	References     []string         `yaml:"references"`
	Severity       string           `yaml:"severity"`
	Level          string           `yaml:"level"`
	Status         string           `yaml:"status"`
	Tags           []string         `yaml:"tags"`
	FalsePositives []string         `yaml:"falsepositives"`
	Logsource      Logsource        `yaml:"logsource"`
	Condition      string           `yaml:"condition"`
	Fields         []string         `yaml:"fields"`
	Correlation    *yamlCorrelation `yaml:"correlation"`
	Hidden         bool             `yaml:"hidden"`
}

type yamlCorrelation struct {
	Type      CorrelationType              `yaml:"type"`
	Rules     []string                     `yaml:"rules"`
	GroupBy   []string                     `yaml:"group-by"`
	Timespan  string                       `yaml:"timespan"`
	Condition CorrelationCondition         `yaml:"condition"`
	Aliases   map[string]map[string]string `yaml:"aliases"`
}

var ruleKeys = map[string]bool{
	"id": true, "title": true, "description": true, "author": true, "references": true, "severity": true,
	"level": true, "status": true, "tags": true, "falsepositives": true, "logsource": true, "condition": true,
	"fields": true, "correlation": true, "hidden": true, "date": true, "modified": true,
}

var correlationKeys = map[string]bool{
	"type": true, "rules": true, "group-by": true, "timespan": true, "condition": true, "aliases": true, "generate": true,
}

func checkKeys(n *yaml.Node, known map[string]bool, what string) (int, string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !known[k.Value] {
			return k.Line, fmt.Sprintf("unknown %s key %q", what, k.Value)
		}
	}
	return 0, ""
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func parseRule(n *yaml.Node, source string) (Rule, *RuleError) {
	var id string
	if v := mapValue(n, "id"); v != nil && v.Kind == yaml.ScalarNode {
		id = v.Value
	}
	fail := func(line int, format string, args ...any) (Rule, *RuleError) {
		return Rule{}, &RuleError{File: source, Line: int64(line), RuleID: id, Reason: fmt.Sprintf(format, args...)}
	}
	if line, msg := checkKeys(n, ruleKeys, "rule"); msg != "" {
		return fail(line, "%s", msg)
	}
	if c := mapValue(n, "correlation"); c != nil && c.Kind == yaml.MappingNode {
		if line, msg := checkKeys(c, correlationKeys, "correlation"); msg != "" {
			return fail(line, "%s", msg)
		}
	}
	var y yamlRule
	if err := n.Decode(&y); err != nil {
		return fail(int(yamlErrLine(err)), "%v", err)
	}
	r := Rule{
		ID: y.ID, Title: y.Title, Description: y.Description, Author: y.Author, References: y.References,
		Status: y.Status, Tags: y.Tags, FalsePositives: y.FalsePositives, Logsource: y.Logsource,
		Condition: strings.TrimSpace(y.Condition), Fields: y.Fields, Hidden: y.Hidden,
		Source: mdr.Origin{Source: source, Line: int64(n.Line)},
	}
	sev := y.Severity
	if sev == "" {
		sev = y.Level
	} else if y.Level != "" && !strings.EqualFold(y.Level, y.Severity) {
		return fail(n.Line, "severity %q and level %q disagree", y.Severity, y.Level)
	}
	s, err := mdr.ParseSeverity(sev)
	if err != nil {
		line := n.Line
		if v := mapValue(n, "severity"); v != nil {
			line = v.Line
		} else if v := mapValue(n, "level"); v != nil {
			line = v.Line
		}
		return fail(line, "%v", err)
	}
	r.Severity = s
	if y.Correlation != nil {
		c := y.Correlation
		var ts time.Duration
		if c.Timespan != "" {
			ts, err = ParseTimespan(c.Timespan)
			if err != nil {
				line := n.Line
				if cn := mapValue(n, "correlation"); cn != nil {
					if v := mapValue(cn, "timespan"); v != nil {
						line = v.Line
					}
				}
				return fail(line, "%v", err)
			}
		}
		r.Correlation = &Correlation{Type: c.Type, Rules: c.Rules, GroupBy: c.GroupBy, Timespan: ts, Condition: c.Condition, Aliases: c.Aliases}
	}
	return r, nil
}

// ParseTimespan parses a correlation timespan: a Go duration ("90s",
// "1h30m") or Sigma's integer-and-unit form ("30s", "5m", "1h", "2d", "1w").
func ParseTimespan(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if len(t) >= 2 {
		unit := t[len(t)-1]
		if n, err := strconv.ParseInt(t[:len(t)-1], 10, 64); err == nil && n > 0 {
			var d time.Duration
			switch unit {
			case 's':
				d = time.Second
			case 'm':
				d = time.Minute
			case 'h':
				d = time.Hour
			case 'd':
				d = 24 * time.Hour
			case 'w':
				d = 7 * 24 * time.Hour
			}
			if d != 0 {
				if n > int64((1<<63-1)/d) {
					return 0, fmt.Errorf("timespan %q is too long", s)
				}
				return time.Duration(n) * d, nil
			}
		}
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("timespan %q: want a number with unit s, m, h, d or w", s)
	}
	return d, nil
}
