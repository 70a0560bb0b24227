package remediate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"
)

// Post-conditions are CEL expressions that must return a bool. They see two
// variables:
//
//	response  map: the actuator's answer to the step's query command, as
//	          OpenC2 JSON: response.status (int), response.status_text,
//	          response.results (whatever the actuator returned)
//	state     map: the target's state as the actuator reports it, the
//	          first namespaced object of response.results (the simulated
//	          fleet's "x-sim": state.exists, state.registry.data, ...);
//	          empty when the answer carries none
//	step      map: the step: step.id, step.kind, step.host, step.scope_item,
//	          step.expect (Check.Expect: a value to compare with)
//
// For example, for a deleted file: `response.status == 404 ||
// (response.status == 200 && !response.results.exists)`.
//
// Each expression is compiled once per Conditions (cached, bounded) and
// evaluated under a cost limit and the caller's context.

// DefaultCostLimit bounds the CEL cost of one post-condition evaluation.
const DefaultCostLimit = 100_000

// maxPrograms bounds the compiled-program cache of a conditions value.
const maxPrograms = 1024

// conditions compiles and evaluates post-conditions. Safe for concurrent
// use.
type conditions struct {
	env       *cel.Env
	costLimit uint64

	mu      sync.Mutex
	progs   map[string]cel.Program
	dropped int64 // programs evicted from the full cache
}

func newConditions(costLimit uint64) (*conditions, error) {
	if costLimit == 0 {
		costLimit = DefaultCostLimit
	}
	env, err := cel.NewEnv(
		cel.Variable("response", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("state", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("step", cel.MapType(cel.StringType, cel.DynType)),
		ext.Strings(),
	)
	if err != nil {
		return nil, err
	}
	return &conditions{env: env, costLimit: costLimit, progs: map[string]cel.Program{}}, nil
}

// compile returns the program of expr, compiling it on first use.
func (c *conditions) compile(expr string) (cel.Program, error) {
	c.mu.Lock()
	p, ok := c.progs[expr]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	ast, iss := c.env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, iss.Err()
	}
	if t := ast.OutputType(); !t.IsExactType(types.BoolType) && !t.IsExactType(types.DynType) {
		return nil, fmt.Errorf("the result is %s, want bool", t)
	}
	p, err := c.env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(c.costLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.progs) >= maxPrograms {
		for k := range c.progs { // evict one arbitrary entry
			delete(c.progs, k)
			c.dropped++
			break
		}
	}
	c.progs[expr] = p
	c.mu.Unlock()
	return p, nil
}

// eval evaluates expr; a compile error, a non-bool result, an exceeded cost
// limit or a cancelled context is a *ConditionError.
func (c *conditions) eval(ctx context.Context, stepID, expr string, response, step map[string]any) (bool, error) {
	p, err := c.compile(expr)
	if err != nil {
		return false, &ConditionError{Step: stepID, Expr: expr, Err: err}
	}
	if step == nil {
		step = map[string]any{}
	}
	out, _, err := p.ContextEval(ctx, map[string]any{"response": response, "state": stateOf(response), "step": step})
	if err != nil {
		if ctx.Err() != nil {
			err = errors.Join(err, ctx.Err())
		}
		return false, &ConditionError{Step: stepID, Expr: expr, Err: err}
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, &ConditionError{Step: stepID, Expr: expr, Err: fmt.Errorf("the result is %v, want bool", out.Type())}
	}
	return b, nil
}

// stateOf returns the target's state in an answer: the first (by name)
// namespaced object of response.results that is not a query-features
// item, for example the simulated fleet's "x-sim"; empty when none.
func stateOf(response map[string]any) map[string]any {
	res, _ := response["results"].(map[string]any)
	keys := make([]string, 0, len(res))
	for k := range res {
		switch k {
		case "versions", "profiles", "pairs", "rate_limit":
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if m, ok := res[k].(map[string]any); ok {
			return m
		}
	}
	return map[string]any{}
}

// CheckCondition compiles expr as a post-condition and reports why it is
// not one (for validating hand-written plans).
func CheckCondition(expr string) error {
	c, err := newConditions(0)
	if err != nil {
		return err
	}
	_, err = c.compile(expr)
	if err != nil {
		return &ConditionError{Expr: expr, Err: err}
	}
	return nil
}
