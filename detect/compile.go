package detect

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/parser"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/parallel"
)

// sortByIndex orders errs (stably) by the input index idx[k] of errs[k].
func sortByIndex(idx []int, errs []RuleError) {
	order := make([]int, len(errs))
	for k := range order {
		order[k] = k
	}
	sort.SliceStable(order, func(a, b int) bool { return idx[order[a]] < idx[order[b]] })
	sorted := make([]RuleError, len(errs))
	for k, o := range order {
		sorted[k] = errs[o]
	}
	copy(errs, sorted)
}

// compiledRule is one accepted stateless rule.
type compiledRule struct {
	rule      Rule
	prg       cel.Program
	root      *node
	native    bool       // evaluate root directly
	lits      []fieldLit // dropped once the prefilter is built
	litsB     []fieldLit // a second set (see node.literalGroups), or nil
	hasLit    bool       // lits is a usable prefilter set
	class     int32
	cacheKeys []string // matchers the CEL program looks up (not directly evaluated rules)
}

// Ruleset is a compiled, immutable set of rules. It is safe for concurrent
// use: any number of goroutines may call Match at the same time.
type Ruleset struct {
	cfg   config
	rules []*compiledRule
	byID  map[string]*Rule
	corr  []Rule
	all   []*Rule // every accepted rule in input order (pointing into rules and corr)

	// field table: every path a leaf, literal or route reads
	paths  []string
	slotOf map[string]int32
	fidx   fieldIndex

	pre   prefilter
	route router

	pool  sync.Pool
	stats Stats

	kwCombos  sync.Map     // keyword sets of several route classes (see kwCombo)
	nKWCombos atomic.Int32 // entries in kwCombos
}

// Stats describes a compiled Ruleset. It is a plain value, safe for
// concurrent use.
type Stats struct {
	Rules        int // stateless rules (including hidden ones)
	Hidden       int // rules that raise no alert of their own
	Correlations int // correlation rules
	Unrouted     int // stateless rules whose logsource no pipeline mapping covers (they meet every event)
	Unfiltered   int // stateless rules without a usable literal set: evaluated on every routed event
	Native       int // rules evaluated directly rather than through the CEL interpreter
	Literals     int // literals in the prefilter
	SecondSets   int // rules evaluated only when literals of two independent sets are seen
	RouteClasses int // distinct logsource routes
}

// Compile is CompileContext with context.Background().
func Compile(rules []Rule, opts ...Option) (*Ruleset, error) {
	return CompileContext(context.Background(), rules, opts...)
}

// CompileContext compiles rules into a Ruleset. Every rule that cannot be
// accepted is reported in a *CompileError (file, line, rule id, reason); the
// returned Ruleset still holds every accepted rule, so callers may go on
// with it. An error in the options is returned alone with a nil Ruleset.
//
// Compiling is bounded: the constant subexpressions the optimizer folds at
// compile time are evaluated under the rule's cost limit first (a rule that
// exceeds it is rejected with its reason; a 10 s timeout per expression backs
// the limit up), and when ctx is done the compile stops and returns
// ctx.Err() with a nil Ruleset.
func CompileContext(ctx context.Context, rules []Rule, opts ...Option) (*Ruleset, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	cache := &matcherCache{}
	env, err := newEnv(cache)
	if err != nil {
		return nil, fmt.Errorf("detect: building the CEL environment: %w", err)
	}
	folder, err := cel.NewConstantFoldingOptimizer()
	if err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	optimizer, err := cel.NewStaticOptimizer(pathFlattener{}, folder)
	if err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	rs := &Ruleset{cfg: cfg, byID: map[string]*Rule{}, slotOf: map[string]int32{}}
	var rejected []RuleError
	seen := map[string]bool{}
	var corrs []Rule
	var todo []int   // indexes of the stateless rules to compile
	var rejIdx []int // input index of each rejection so far
	for i := range rules {
		r := rules[i]
		switch {
		case strings.TrimSpace(r.ID) == "":
			rejIdx = append(rejIdx, i)
			rejected = append(rejected, ruleErr(&r, "the rule has no id"))
			continue
		case seen[r.ID]:
			rejIdx = append(rejIdx, i)
			rejected = append(rejected, ruleErr(&r, "duplicate rule id"))
			continue
		}
		seen[r.ID] = true
		if r.Correlation != nil {
			if strings.TrimSpace(r.Condition) != "" {
				rejIdx = append(rejIdx, i)
				rejected = append(rejected, ruleErr(&r, "a correlation rule has no condition of its own (it has a correlation block)"))
				continue
			}
			corrs = append(corrs, r)
			continue
		}
		todo = append(todo, i)
	}
	// Rules compile independently (the CEL environment, the optimizer and
	// the matcher cache are safe for concurrent use): spread them over the
	// CPUs and collect the results in input order.
	type result struct {
		cr     *compiledRule
		reason string
	}
	results := make([]result, len(todo))
	parallel.For(len(todo), func(k int) {
		if ctx.Err() != nil {
			return
		}
		r := rules[todo[k]]
		cr, reason := compileRule(ctx, env, optimizer, cache, &r, &cfg)
		results[k] = result{cr, reason}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// rejections in input order, as if compiled one by one
	for k, res := range results {
		if res.reason != "" {
			r := rules[todo[k]]
			rejIdx = append(rejIdx, todo[k])
			rejected = append(rejected, ruleErr(&r, "%s", res.reason))
			continue
		}
		rs.rules = append(rs.rules, res.cr)
	}
	sortByIndex(rejIdx, rejected)
	for _, cr := range rs.rules {
		rs.byID[cr.rule.ID] = &cr.rule
	}
	// Correlations reference rules of the set (stateless or correlations).
	ids := map[string]bool{}
	for _, cr := range rs.rules {
		ids[cr.rule.ID] = true
	}
	for _, c := range corrs {
		ids[c.ID] = true
	}
	for _, c := range corrs {
		if reason := checkCorrelation(&c, ids); reason != "" {
			rejected = append(rejected, ruleErr(&c, "%s", reason))
			delete(ids, c.ID)
			continue
		}
		rs.corr = append(rs.corr, c)
	}
	for i := range rs.corr {
		rs.byID[rs.corr[i].ID] = &rs.corr[i]
	}
	for i := range rules {
		if p, ok := rs.byID[rules[i].ID]; ok && p.Source == rules[i].Source {
			rs.all = append(rs.all, p)
		}
	}
	rs.build()
	keys := map[string]bool{}
	for _, cr := range rs.rules {
		for _, k := range cr.cacheKeys {
			keys[k] = true
		}
		cr.cacheKeys, cr.lits, cr.litsB = nil, nil, nil
	}
	cache.keep(keys)
	rs.pool.New = func() any { return rs.newScratch() }
	if len(rejected) > 0 {
		return rs, &CompileError{Rejected: rejected}
	}
	return rs, nil
}

func compileRule(ctx context.Context, env *cel.Env, optimizer *cel.StaticOptimizer, cache *matcherCache, r *Rule, cfg *config) (*compiledRule, string) {
	cond := strings.TrimSpace(r.Condition)
	if cond == "" {
		return nil, "the rule has no condition"
	}
	checked := fastCompile(env, cond) // nil: not handled, env.Compile decides
	if checked == nil {
		var iss *cel.Issues
		if checked, iss = env.Compile(cond); iss != nil && iss.Err() != nil {
			return nil, "condition: " + oneLine(iss.Err().Error())
		}
	}
	if t := checked.OutputType(); !t.IsExactType(types.BoolType) && !t.IsExactType(types.DynType) {
		return nil, fmt.Sprintf("condition: the result is %s, want bool", t)
	}
	an := &analyzer{cache: cache, unp: func(x ast.Expr) string { return unparse(x) }}
	an.checkConstants(checked.NativeRep().Expr())
	if len(an.errs) > 0 {
		return nil, "condition: " + strings.Join(an.errs, "; ")
	}
	opt := checked
	if !staticOptSkip || needsStaticOptimize(checked.NativeRep()) {
		if reason, err := checkFolding(ctx, env, cond, checked, cfg); err != nil || reason != "" {
			if err != nil {
				return nil, "compile interrupted: " + err.Error() // CompileContext returns ctx.Err()
			}
			return nil, reason
		}
		var iss *cel.Issues
		if opt, iss = optimizer.Optimize(env, checked); iss != nil && iss.Err() != nil {
			return nil, "condition: " + oneLine(iss.Err().Error())
		}
	}
	root := an.build(opt.NativeRep().Expr())
	an.checkConstants(opt.NativeRep().Expr())
	if len(an.errs) > 0 {
		return nil, "condition: " + strings.Join(an.errs, "; ")
	}
	prg, err := env.Program(opt,
		cel.EvalOptions(cel.OptOptimize),
		cel.CostLimit(cfg.costLimit),
		cel.InterruptCheckFrequency(cfg.interruptEvery))
	if err != nil {
		return nil, "condition: " + oneLine(err.Error())
	}
	cr := &compiledRule{rule: *r, prg: prg, root: root}
	cr.native = cfg.native && root.native()
	if cr.native {
		// The program is not needed: dropping it keeps the ruleset's heap
		// (which every GC cycle marks) small.
		cr.prg = nil
	} else {
		cr.cacheKeys = an.keys
	}
	var b []fieldLit
	var okB bool
	cr.lits, b, cr.hasLit, okB = root.literalGroups()
	if okB && len(b) > 0 && (cfg.everySecond || minScore(b, fieldLitScore) >= minSecondScore) {
		cr.litsB = b
	}
	return cr, ""
}

func oneLine(s string) string {
	s = strings.TrimPrefix(s, "ERROR: <input>:")
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " | ")), " ")
}

// unparse renders a sub-expression for explanations; it never fails.
func unparse(x ast.Expr) string {
	s, err := parser.Unparse(x, ast.NewSourceInfo(nil))
	if err != nil {
		return "(expression)"
	}
	return s
}

func checkCorrelation(r *Rule, ids map[string]bool) string {
	c := r.Correlation
	switch c.Type {
	case EventCount, ValueCount, Temporal, TemporalOrdered, ValueSum, ValueAvg, ValuePercentile:
	case "":
		return "correlation: no type"
	default:
		return fmt.Sprintf("correlation: unknown type %q", c.Type)
	}
	if len(c.Rules) == 0 {
		return "correlation: no rules to correlate"
	}
	for _, id := range c.Rules {
		if id == r.ID {
			return "correlation: refers to itself"
		}
		if !ids[id] {
			return fmt.Sprintf("correlation: unknown rule %q", id)
		}
	}
	if (c.Type == Temporal || c.Type == TemporalOrdered) && len(c.Rules) < 2 {
		return fmt.Sprintf("correlation: %s needs at least two rules", c.Type)
	}
	if c.Timespan <= 0 {
		return "correlation: timespan must be positive"
	}
	cc := c.Condition
	bounds := 0
	for _, b := range []*float64{cc.GT, cc.GTE, cc.LT, cc.LTE, cc.EQ, cc.NEQ} {
		if b != nil {
			bounds++
		}
	}
	switch c.Type {
	case EventCount:
		if bounds == 0 {
			return "correlation: event_count needs a condition (gt, gte, lt, lte, eq or neq)"
		}
	case ValueCount, ValueSum, ValueAvg, ValuePercentile:
		if cc.Field == "" {
			return fmt.Sprintf("correlation: %s needs condition.field", c.Type)
		}
		if bounds == 0 {
			return fmt.Sprintf("correlation: %s needs a condition (gt, gte, lt, lte, eq or neq)", c.Type)
		}
		if c.Type == ValuePercentile && (cc.Percentile <= 0 || cc.Percentile > 100) {
			return "correlation: value_percentile needs condition.percentile in (0, 100]"
		}
	}
	if cc.GT != nil && cc.LT != nil && *cc.GT >= *cc.LT || cc.GTE != nil && cc.LTE != nil && *cc.GTE > *cc.LTE {
		return "correlation: the condition's bounds can never hold"
	}
	for alias, m := range c.Aliases {
		for id := range m {
			if !ids[id] {
				return fmt.Sprintf("correlation: alias %q names unknown rule %q", alias, id)
			}
		}
	}
	return ""
}

// Len returns the number of accepted rules (stateless and correlation).
func (rs *Ruleset) Len() int { return len(rs.all) }

// Rules returns the accepted rules in input order. The slice is a copy.
func (rs *Ruleset) Rules() []Rule {
	out := make([]Rule, len(rs.all))
	for i, r := range rs.all {
		out[i] = *r
	}
	return out
}

// Correlations returns the accepted correlation rules in input order. The
// slice is a copy.
func (rs *Ruleset) Correlations() []Rule { return append([]Rule(nil), rs.corr...) }

// Rule returns the accepted rule with the given id.
func (rs *Ruleset) Rule(id string) (Rule, bool) {
	if r, ok := rs.byID[id]; ok {
		return *r, true
	}
	return Rule{}, false
}

// Stats returns figures about the compiled ruleset.
func (rs *Ruleset) Stats() Stats { return rs.stats }

// Match returns the matches of the stateless rules on ev, in rule order.
// Hidden rules' matches are included, marked Hidden. Correlation rules never
// match here (see the correlator). Errors are only those of cancellation
// (ctx) and of rules stopped by the cost limit (*EvalError); the matches
// found are returned with them. A rule whose evaluation fails because of
// the event's data (a standard CEL function applied to a value of another
// type) does not match.
func (rs *Ruleset) Match(ctx context.Context, ev *mdr.Event) ([]Match, error) {
	return rs.AppendMatches(ctx, nil, ev)
}
