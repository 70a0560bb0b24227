package sigma

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/internal/parallel"
)

// Compiler turns Sigma rules, correlation rules and filters into detect
// rules. It is immutable after New and safe for concurrent use.
type Compiler struct {
	pipeline           *Pipeline
	placeholders       map[string][]string
	strictPlaceholders bool
}

// Option configures a Compiler. Options are applied once, by New.
type Option func(*Compiler) error

// WithPipeline sets the processing pipeline (field mapping and
// placeholders). Without one, field names are used as written. The
// pipeline's routing part is handed to detect separately (Pipeline.Routing).
func WithPipeline(p *Pipeline) Option {
	return func(c *Compiler) error {
		if p == nil {
			return fmt.Errorf("%w: nil pipeline", ErrPipeline)
		}
		c.pipeline = p
		return nil
	}
}

// WithPlaceholders supplies values for the %name% placeholders of the
// expand modifier (names without the percent signs). They override the
// pipeline's placeholders of the same name.
func WithPlaceholders(values map[string][]string) Option {
	return func(c *Compiler) error {
		for k, v := range values {
			c.placeholders[strings.Trim(k, "%")] = append([]string(nil), v...)
		}
		return nil
	}
}

// WithStrictPlaceholders rejects every rule that uses a placeholder without
// a value. By default such a placeholder stands for an empty value list:
// a filter built on it excludes nothing, and a rule that can then never
// match is rejected.
func WithStrictPlaceholders() Option {
	return func(c *Compiler) error {
		c.strictPlaceholders = true
		return nil
	}
}

// New returns a Compiler configured by opts.
func New(opts ...Option) (*Compiler, error) {
	c := &Compiler{placeholders: map[string][]string{}}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.pipeline != nil {
		for k, v := range c.pipeline.Placeholders {
			if _, ok := c.placeholders[k]; !ok {
				c.placeholders[k] = v
			}
		}
	}
	return c, nil
}

// Source is one Sigma YAML text and the name (file path) errors give it.
// It is a plain value; the compiler only reads it, so one Source may be
// compiled by several goroutines at once.
type Source struct {
	Name string
	Data []byte
}

// IsSigma reports whether data looks like Sigma YAML: a top-level
// detection or filter key in any of its documents, or a top-level
// correlation key in a file without the keys only detect's native format
// has (a CEL condition, severity or hidden at the top level).
func IsSigma(data []byte) bool {
	if sigmaKeyRE.Match(data) {
		return true
	}
	return sigmaCorrRE.Match(data) && !nativeKeyRE.Match(data)
}

var (
	sigmaKeyRE  = regexp.MustCompile(`(?m)^(detection|filter):`)
	sigmaCorrRE = regexp.MustCompile(`(?m)^correlation:`)
	nativeKeyRE = regexp.MustCompile(`(?m)^(condition|severity|hidden):`)
)

// CompileFiles reads files and directories (recursively, *.yml and *.yaml)
// and compiles them together (see Compile).
func (c *Compiler) CompileFiles(paths ...string) ([]detect.Rule, error) {
	var srcs []Source
	var probs []Problem
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("sigma: %w", err)
		}
		if !st.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("sigma: %w", err)
			}
			srcs = append(srcs, Source{Name: p, Data: data})
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !(strings.HasSuffix(path, ".yml") || strings.HasSuffix(path, ".yaml")) {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				probs = append(probs, Problem{File: path, Reason: err.Error(), Err: ErrSyntax})
				return nil
			}
			srcs = append(srcs, Source{Name: path, Data: data})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("sigma: %w", err)
		}
	}
	rules, err := c.Compile(srcs...)
	if len(probs) > 0 {
		var le *LoadError
		if errors.As(err, &le) {
			le.Problems = append(probs, le.Problems...)
		} else {
			err = &LoadError{Problems: probs}
		}
	}
	return rules, err
}

// document is one Sigma YAML document after multi-document processing.
type document struct {
	src  string
	root *node
	id   string // id, else title
	name string
}

// Compile compiles every document of every source together, so that
// correlation rules and filters may refer to rules of other sources. It
// returns every rule that compiled and, when some did not, a *LoadError
// listing each rejection with its file, line, rule id and reason.
func (c *Compiler) Compile(srcs ...Source) ([]detect.Rule, error) {
	var probs []Problem
	var docs []*document
	type parsed struct {
		docs []*document
		prob *Problem
	}
	parsedSrcs := make([]parsed, len(srcs))
	parallel.For(len(srcs), func(i int) {
		ds, p := splitDocuments(srcs[i])
		parsedSrcs[i] = parsed{ds, p}
	})
	for _, ps := range parsedSrcs {
		if ps.prob != nil {
			probs = append(probs, *ps.prob)
		}
		docs = append(docs, ps.docs...)
	}

	// Index rules by id and name for correlations and filters.
	byRef := map[string]*document{}
	for _, d := range docs {
		if d.id != "" {
			byRef[d.id] = d
		}
		if d.name != "" {
			byRef[d.name] = d
		}
	}

	// Filters first: they modify the rules they name.
	filters := map[*document][]*filterDef{}
	for _, d := range docs {
		if d.root.get("filter") == nil || d.root.get("detection") != nil {
			continue
		}
		f, p := c.parseFilter(d)
		if p != nil {
			probs = append(probs, *p)
			continue
		}
		for _, ref := range f.rules {
			target, ok := byRef[ref.name]
			if !ok {
				probs = append(probs, Problem{File: d.src, Line: ref.line, RuleID: d.id, Reason: fmt.Sprintf("filter names rule %q which was not loaded", ref.name), Err: ErrReference})
				continue
			}
			filters[target] = append(filters[target], f)
		}
	}

	var out []detect.Rule
	// Correlations: resolve references; their base rules are hidden unless
	// the correlation says generate: true (decided once the correlation is
	// known to be accepted).
	var corrRules []detect.Rule
	generate := map[string]bool{}
	for _, d := range docs {
		if d.root.get("correlation") == nil {
			continue
		}
		r, p := c.compileCorrelation(d, byRef)
		if p != nil {
			probs = append(probs, *p)
			continue
		}
		if g := d.root.get("generate"); g != nil && g.kind == nBool {
			generate[r.ID] = g.b
		}
		corrRules = append(corrRules, r)
	}
	type compiled struct {
		rule detect.Rule
		prob *Problem
		ok   bool
	}
	results := make([]compiled, len(docs))
	parallel.For(len(docs), func(i int) {
		d := docs[i]
		if d.root.get("detection") == nil {
			return
		}
		r, p := c.compileRule(d, filters[d])
		results[i] = compiled{r, p, true}
	})
	for _, res := range results {
		switch {
		case !res.ok:
		case res.prob != nil:
			probs = append(probs, *res.prob)
		default:
			out = append(out, res.rule)
		}
	}
	// A correlation over a rule that was rejected is rejected too (and so
	// on up a chain), naming the missing rule.
	accepted := map[string]bool{}
	for _, r := range out {
		accepted[r.ID] = true
	}
	for changed := true; changed; {
		changed = false
		for _, r := range corrRules {
			if accepted[r.ID] {
				continue
			}
			ok := true
			for _, id := range r.Correlation.Rules {
				if !accepted[id] {
					ok = false
				}
			}
			if ok {
				accepted[r.ID] = true
				changed = true
			}
		}
	}
	hidden := map[string]bool{}
	for _, r := range corrRules {
		if accepted[r.ID] && !generate[r.ID] {
			for _, id := range r.Correlation.Rules {
				hidden[id] = true
			}
		}
	}
	for i := range out {
		if hidden[out[i].ID] {
			out[i].Hidden = true
		}
	}
	for _, r := range corrRules {
		if accepted[r.ID] {
			r.Hidden = hidden[r.ID]
			out = append(out, r)
			continue
		}
		var missing []string
		for _, id := range r.Correlation.Rules {
			if !accepted[id] {
				missing = append(missing, id)
			}
		}
		probs = append(probs, Problem{File: r.Source.Source, Line: int(r.Source.Line), RuleID: r.ID,
			Reason: fmt.Sprintf("correlation over rules that were rejected or form a cycle: %s", strings.Join(missing, ", ")), Err: ErrReference})
	}
	if len(probs) > 0 {
		sortProblems(probs)
		return out, &LoadError{Problems: probs}
	}
	return out, nil
}

// splitDocuments parses a source and applies action: global / reset /
// repeat.
func splitDocuments(s Source) ([]*document, *Problem) {
	nodes, err := parseDocuments(s.Data)
	var prob *Problem
	if err != nil {
		prob = &Problem{File: s.Name, Line: yamlErrorLine(err), Reason: "YAML: " + err.Error(), Err: ErrSyntax}
	}
	var out []*document
	var global, prev *node
	for _, n := range nodes {
		if n.kind != nMap {
			prob = &Problem{File: s.Name, Line: n.line, Reason: "a Sigma document must be a YAML map", Err: ErrSyntax}
			continue
		}
		action, _ := n.get("action").text()
		body := n.clone()
		if action != "" {
			body = withoutKey(body, "action")
		}
		switch action {
		case "global":
			if global == nil {
				global = body
			} else {
				global = merge(global, body)
			}
			continue
		case "reset":
			global = nil
			continue
		case "repeat":
			if prev == nil {
				prob = &Problem{File: s.Name, Line: n.line, Reason: "action: repeat without a preceding rule", Err: ErrSyntax}
				continue
			}
			body = merge(prev.clone(), body)
		case "":
			if global != nil {
				body = merge(global.clone(), body)
			}
		default:
			prob = &Problem{File: s.Name, Line: n.get("action").line, Reason: fmt.Sprintf("unknown action %q (want global, reset or repeat)", action), Err: ErrSyntax}
			continue
		}
		body.line = n.line
		prev = body
		d := &document{src: s.Name, root: body}
		d.id, _ = body.get("id").text()
		d.name, _ = body.get("name").text()
		if d.id == "" {
			d.id, _ = body.get("title").text()
		}
		if body.get("detection") == nil && body.get("correlation") == nil && body.get("filter") == nil {
			prob = &Problem{File: s.Name, Line: body.line, RuleID: d.id, Reason: "not a Sigma rule: no detection, correlation or filter section", Err: ErrSyntax}
			continue
		}
		out = append(out, d)
	}
	return out, prob
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func yamlErrorLine(err error) int {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func withoutKey(n *node, key string) *node {
	out := *n
	out.keys, out.vals = nil, nil
	for i, k := range n.keys {
		if k != key {
			out.keys = append(out.keys, k)
			out.vals = append(out.vals, n.vals[i])
		}
	}
	return &out
}

func problemFrom(d *document, err error) *Problem {
	p := &Problem{File: d.src, RuleID: d.id, Reason: err.Error(), Err: ErrSyntax}
	var pe *problemError
	if errors.As(err, &pe) {
		p.Line, p.Field, p.Modifier, p.Reason, p.Err = pe.line, pe.field, pe.modifier, pe.reason, pe.err
	}
	if p.Line == 0 {
		p.Line = d.root.line
	}
	return p
}

// metadata fills the descriptive fields of a detect.Rule.
func metadata(d *document) (detect.Rule, *Problem) {
	r := detect.Rule{ID: d.id, Source: mdr.Origin{Source: d.src, Line: int64(d.root.line)}}
	r.Title, _ = d.root.get("title").text()
	if r.Title == "" {
		return r, &Problem{File: d.src, Line: d.root.line, RuleID: d.id, Reason: "missing title", Err: ErrSyntax}
	}
	r.Description, _ = d.root.get("description").text()
	r.Status, _ = d.root.get("status").text()
	if a := d.root.get("author"); a != nil {
		if s, ok := a.text(); ok {
			r.Author = s
		} else if l, ok := a.strings(); ok {
			r.Author = strings.Join(l, ", ")
		}
	}
	r.References, _ = d.root.get("references").strings()
	r.Tags, _ = d.root.get("tags").strings()
	r.FalsePositives, _ = d.root.get("falsepositives").strings()
	r.Fields, _ = d.root.get("fields").strings()
	if lv := d.root.get("level"); lv != nil {
		s, _ := lv.text()
		sev, err := mdr.ParseSeverity(s)
		if err != nil {
			return r, &Problem{File: d.src, Line: lv.line, RuleID: d.id, Reason: fmt.Sprintf("level %q: want informational, low, medium, high or critical", s), Err: ErrSyntax}
		}
		r.Severity = sev
	}
	if ls := d.root.get("logsource"); ls != nil {
		l, err := parseLogsource(ls)
		if err != nil {
			return r, &Problem{File: d.src, Line: ls.line, RuleID: d.id, Reason: err.Error(), Err: ErrSyntax}
		}
		r.Logsource = l
	}
	return r, nil
}

// compileRule compiles one detection document and the filters that apply
// to it.
func (c *Compiler) compileRule(d *document, filters []*filterDef) (detect.Rule, *Problem) {
	r, p := metadata(d)
	if p != nil {
		return r, p
	}
	if d.root.get("logsource") == nil {
		return r, &Problem{File: d.src, Line: d.root.line, RuleID: d.id, Reason: "missing logsource", Err: ErrSyntax}
	}
	dc := &detectionCompiler{placeholders: c.placeholders, unset: map[string]bool{}}
	dc.fields = c.pipeline.fieldsFor(r.Logsource)
	x, err := dc.compileDetection(d.root.get("detection"))
	if err != nil {
		return r, problemFrom(d, err)
	}
	for _, f := range filters {
		if !f.appliesTo(r.Logsource) {
			continue
		}
		fc := &detectionCompiler{placeholders: c.placeholders, unset: dc.unset, fields: dc.fields}
		fx, err := fc.compileDetection(f.detection)
		if err != nil {
			p := problemFrom(&document{src: f.src, root: f.detection, id: f.id}, err)
			p.Reason = fmt.Sprintf("filter %s for rule %s: %s", f.id, r.ID, p.Reason)
			return r, p
		}
		x = and(x, not(fx))
	}
	if len(dc.unset) > 0 {
		names := sortedKeys(dc.unset)
		for i := range names {
			names[i] = "%" + names[i] + "%"
		}
		if c.strictPlaceholders {
			return r, &Problem{File: d.src, Line: d.root.get("detection").line, RuleID: d.id, Modifier: "expand",
				Reason: fmt.Sprintf("placeholders without a value: %s", strings.Join(names, ", ")), Err: ErrPlaceholder}
		}
		if x == eConst(false) {
			return r, &Problem{File: d.src, Line: d.root.get("detection").line, RuleID: d.id, Modifier: "expand",
				Reason: fmt.Sprintf("placeholders without a value (%s) leave a rule that can never match; supply them in a pipeline's placeholders", strings.Join(names, ", ")), Err: ErrPlaceholder}
		}
	}
	switch x {
	case eConst(false):
		return r, &Problem{File: d.src, Line: d.root.get("detection").line, RuleID: d.id, Reason: "the condition can never match", Err: ErrCondition}
	case eConst(true):
		reason := "the condition matches every event"
		if len(dc.unset) > 0 {
			names := sortedKeys(dc.unset)
			for i := range names {
				names[i] = "%" + names[i] + "%"
			}
			reason += fmt.Sprintf(" once its placeholders without a value (%s) are empty; supply them in a pipeline's placeholders", strings.Join(names, ", "))
		}
		return r, &Problem{File: d.src, Line: d.root.get("detection").line, RuleID: d.id, Modifier: modIf(len(dc.unset) > 0, "expand"), Reason: reason, Err: errIf(len(dc.unset) > 0, ErrPlaceholder, ErrCondition)}
	}
	r.Condition = cel(x)
	return r, nil
}

// filterDef is a parsed Sigma meta-filter.
type filterDef struct {
	src       string
	id        string
	logsource detect.Logsource
	hasLS     bool
	rules     []ref
	detection *node // selection identifiers + condition
}

type ref struct {
	name string
	line int
}

func (f *filterDef) appliesTo(ls detect.Logsource) bool {
	return !f.hasLS || applies(f.logsource, ls)
}

func (c *Compiler) parseFilter(d *document) (*filterDef, *Problem) {
	f := &filterDef{src: d.src, id: d.id}
	fn := d.root.get("filter")
	if fn.kind != nMap {
		return nil, &Problem{File: d.src, Line: fn.line, RuleID: d.id, Reason: "filter must be a map with rules, search identifiers and a condition", Err: ErrSyntax}
	}
	if ls := d.root.get("logsource"); ls != nil {
		l, err := parseLogsource(ls)
		if err != nil {
			return nil, &Problem{File: d.src, Line: ls.line, RuleID: d.id, Reason: err.Error(), Err: ErrSyntax}
		}
		f.logsource, f.hasLS = l, true
	}
	rn := fn.get("rules")
	if rn == nil {
		return nil, &Problem{File: d.src, Line: fn.line, RuleID: d.id, Reason: "filter has no rules list", Err: ErrSyntax}
	}
	list := rn.list
	if rn.kind != nList {
		list = []*node{rn}
	}
	for _, e := range list {
		s, ok := e.text()
		if !ok || s == "" {
			return nil, &Problem{File: d.src, Line: e.line, RuleID: d.id, Reason: "filter rules must be rule ids or names", Err: ErrSyntax}
		}
		f.rules = append(f.rules, ref{s, e.line})
	}
	f.detection = withoutKey(fn, "rules")
	return f, nil
}

var timespanRE = regexp.MustCompile(`^(\d+)([smhdwMy])$`)

// parseTimespan reads Sigma's number+unit timespans (s, m, h, d; also w,
// M for 30-day months and y for 365 days).
func parseTimespan(s string) (time.Duration, error) {
	m := timespanRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("timespan %q: want a number and one of s, m, h, d", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("timespan %q: want a positive number", s)
	}
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour,
		"w": 7 * 24 * time.Hour, "M": 30 * 24 * time.Hour, "y": 365 * 24 * time.Hour}[m[2]]
	if n > int64((1<<62)/unit) {
		return 0, fmt.Errorf("timespan %q is too long", s)
	}
	return time.Duration(n) * unit, nil
}

// compileCorrelation compiles a correlation document.
func (c *Compiler) compileCorrelation(d *document, byRef map[string]*document) (detect.Rule, *Problem) {
	r, p := metadata(d)
	if p != nil {
		return r, p
	}
	cn := d.root.get("correlation")
	bad := func(n *node, err error, format string, args ...any) (detect.Rule, *Problem) {
		line := cn.line
		if n != nil {
			line = n.line
		}
		return r, &Problem{File: d.src, Line: line, RuleID: d.id, Reason: fmt.Sprintf(format, args...), Err: err}
	}
	if cn.kind != nMap {
		return bad(cn, ErrSyntax, "correlation must be a map")
	}
	corr := &detect.Correlation{}
	tn := cn.get("type")
	t, _ := tn.text()
	switch detect.CorrelationType(t) {
	case detect.EventCount, detect.ValueCount, detect.Temporal, detect.TemporalOrdered, detect.ValueSum, detect.ValueAvg, detect.ValuePercentile:
		corr.Type = detect.CorrelationType(t)
	default:
		return bad(tn, ErrSyntax, "correlation type %q: want event_count, value_count, temporal, temporal_ordered, value_sum, value_avg or value_percentile", t)
	}
	rn := cn.get("rules")
	names, ok := rn.strings()
	if !ok || len(names) == 0 {
		return bad(rn, ErrSyntax, "correlation needs a list of rules")
	}
	nameToID := map[string]string{}
	for _, n := range names {
		target, ok := byRef[n]
		if !ok {
			return bad(rn, ErrReference, "correlation names rule %q which was not loaded", n)
		}
		if target == d {
			return bad(rn, ErrReference, "correlation refers to itself")
		}
		corr.Rules = append(corr.Rules, target.id)
		nameToID[n] = target.id
		if target.name != "" {
			nameToID[target.name] = target.id
		}
		nameToID[target.id] = target.id
	}
	corr.GroupBy, ok = cn.get("group-by").strings()
	if !ok {
		return bad(cn.get("group-by"), ErrSyntax, "group-by must be a field or a list of fields")
	}
	tsn := cn.get("timespan")
	if tsn == nil {
		tsn = cn.get("timeframe")
	}
	if tsn == nil {
		return bad(cn, ErrSyntax, "correlation needs a timespan")
	}
	ts, _ := tsn.text()
	dur, err := parseTimespan(ts)
	if err != nil {
		return bad(tsn, ErrSyntax, "%v", err)
	}
	corr.Timespan = dur
	if an := cn.get("aliases"); an != nil {
		if an.kind != nMap {
			return bad(an, ErrSyntax, "aliases must be a map of alias: {rule: field}")
		}
		corr.Aliases = map[string]map[string]string{}
		for i, alias := range an.keys {
			m := an.vals[i]
			if m.kind != nMap {
				return bad(m, ErrSyntax, "alias %q must map rule names to fields", alias)
			}
			corr.Aliases[alias] = map[string]string{}
			for j, rname := range m.keys {
				id, ok := nameToID[rname]
				if !ok {
					return bad(m, ErrReference, "alias %q names rule %q which the correlation does not list", alias, rname)
				}
				field, _ := m.vals[j].text()
				corr.Aliases[alias][id] = field
			}
		}
	}
	condn := cn.get("condition")
	needField := corr.Type == detect.ValueCount || corr.Type == detect.ValueSum || corr.Type == detect.ValueAvg || corr.Type == detect.ValuePercentile
	if condn == nil {
		if corr.Type != detect.Temporal && corr.Type != detect.TemporalOrdered {
			return bad(cn, ErrSyntax, "%s correlation needs a condition", corr.Type)
		}
		n := float64(len(corr.Rules))
		corr.Condition.GTE = &n
	} else {
		if condn.kind != nMap {
			return bad(condn, ErrSyntax, "condition must be a map of gt/gte/lt/lte/eq/neq (and field)")
		}
		bounds := 0
		for i, k := range condn.keys {
			v := condn.vals[i]
			switch k {
			case "field":
				fs, ok := v.strings()
				if !ok || len(fs) == 0 {
					return bad(v, ErrSyntax, "condition field must name a field")
				}
				corr.Condition.Field = strings.Join(fs, ",")
				continue
			case "percentile":
				num, ok := numberLiteral(v)
				f, err := strconv.ParseFloat(num, 64)
				if !ok || err != nil || f < 0 || f > 100 {
					return bad(v, ErrSyntax, "percentile must be a number from 0 to 100")
				}
				corr.Condition.Percentile = f
				continue
			}
			num, ok := numberLiteral(v)
			f, err := strconv.ParseFloat(num, 64)
			if !ok || err != nil {
				return bad(v, ErrSyntax, "condition %s needs a number", k)
			}
			switch k {
			case "gt":
				corr.Condition.GT = &f
			case "gte":
				corr.Condition.GTE = &f
			case "lt":
				corr.Condition.LT = &f
			case "lte":
				corr.Condition.LTE = &f
			case "eq":
				corr.Condition.EQ = &f
			case "neq":
				corr.Condition.NEQ = &f
			default:
				return bad(v, ErrSyntax, "unknown condition operator %q (want gt, gte, lt, lte, eq, neq)", k)
			}
			bounds++
		}
		if bounds == 0 {
			return bad(condn, ErrSyntax, "condition needs at least one of gt, gte, lt, lte, eq, neq")
		}
	}
	if needField && corr.Condition.Field == "" {
		return bad(condn, ErrSyntax, "%s correlation needs condition.field", corr.Type)
	}
	if corr.Type == detect.ValuePercentile && corr.Condition.Percentile == 0 {
		// The specification's example states the percentile as the
		// threshold itself (lte: 1 = the rarest 1 %); keep that reading.
		for _, b := range []*float64{corr.Condition.LTE, corr.Condition.LT, corr.Condition.GTE, corr.Condition.GT} {
			if b != nil {
				corr.Condition.Percentile = *b
				break
			}
		}
	}
	r.Correlation = corr
	r.Logsource = detect.Logsource{}
	return r, nil
}

// sortProblems orders problems by file and line.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		return ps[i].Line < ps[j].Line
	})
}

func modIf(c bool, m string) string {
	if c {
		return m
	}
	return ""
}

func errIf(c bool, a, b error) error {
	if c {
		return a
	}
	return b
}
