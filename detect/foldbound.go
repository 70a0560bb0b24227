package detect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/interpreter"
)

// foldTimeout bounds the compile-time evaluation of one constant
// subexpression (see checkFolding) in wall time, as a backstop: the cost
// limit, which gives the same verdict on every machine, rejects a costly
// fold first (the default limit in well under a second); the timeout only
// matters when the cost limit is raised very high, or if some evaluation
// escaped CEL's cost accounting. Tests shorten it.
var foldTimeout = 10 * time.Second

// checkFolding bounds the work cel-go's constant folder does at compile
// time. The folder evaluates every constant subexpression (one that does
// not depend on the event) to replace it with its value, and it does so
// without a cost limit or a context: a rule holding a triple comprehension
// over a constant list of 500 items took 44 s to compile (issue 17). Before
// the folder runs, every maximal constant subexpression that holds a
// comprehension (the only kind whose evaluation is not linear in its
// size) is evaluated here under the rule's cost limit, foldTimeout and ctx.
// It returns a rejection reason when one exceeds the cost limit or the
// time, and ctx.Err() when ctx is done; evaluation errors of other kinds
// are left to the folder, which leaves such an expression as it is.
func checkFolding(ctx context.Context, env *cel.Env, cond string, checked *cel.Ast, cfg *config) (string, error) {
	a := checked.NativeRep()
	vars := map[string]bool{"e": true}
	ast.PreOrderVisit(ast.NavigateAST(a), ast.NewExprVisitor(func(x ast.Expr) {
		if x.Kind() == ast.ComprehensionKind {
			c := x.AsComprehension()
			vars[c.IterVar()], vars[c.AccuVar()] = true, true
			if c.HasIterVar2() {
				vars[c.IterVar2()] = true
			}
		}
	}))
	if len(vars) == 1 {
		return "", nil // no comprehension
	}
	_, _, consts := constComprehensions(a.Expr(), vars)
	if len(consts) == 0 {
		return "", nil
	}
	for _, x := range consts {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		sub := ast.NewCheckedAST(ast.NewAST(x, a.SourceInfo()), a.TypeMap(), a.ReferenceMap())
		pb, err := ast.ToProto(sub)
		if err != nil {
			continue
		}
		prg, err := env.Program(cel.CheckedExprToAst(pb), cel.CostLimit(cfg.costLimit), cel.InterruptCheckFrequency(cfg.interruptEvery))
		if err != nil {
			continue
		}
		tctx, cancel := context.WithTimeout(ctx, foldTimeout)
		_, _, err = prg.ContextEval(tctx, map[string]any{})
		timedOut := tctx.Err() != nil
		cancel()
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		expr := "of the condition"
		if loc := a.SourceInfo().GetStartLocation(x.ID()); loc.Line() > 0 {
			expr = fmt.Sprintf("at %d:%d of the condition", loc.Line(), loc.Column()+1)
		}
		if or, ok := a.SourceInfo().GetOffsetRange(x.ID()); ok && or.Start >= 0 && int(or.Start) < len(cond) {
			near := cond[or.Start:min(len(cond), int(or.Start)+40)]
			expr += fmt.Sprintf(" (%q…)", oneLine(near))
		}
		var ec interpreter.EvalCancelledError
		switch {
		case errors.As(err, &ec) && ec.Cause == interpreter.CostLimitExceeded:
			return fmt.Sprintf("condition: the constant subexpression %s exceeds the cost limit (%d) when folded at compile time", expr, cfg.costLimit), nil
		case timedOut:
			return fmt.Sprintf("condition: the constant subexpression %s takes more than %v to fold at compile time", expr, foldTimeout), nil
		}
	}
	return "", nil
}

// constComprehensions returns whether x holds a comprehension, the
// variables (vars: the event e and every comprehension variable) x refers
// to without binding them, and the maximal constant subexpressions of x
// that hold a comprehension, in one pass.
func constComprehensions(x ast.Expr, vars map[string]bool) (hasComp bool, free []string, consts []ast.Expr) {
	switch x.Kind() {
	case ast.IdentKind:
		if !vars[x.AsIdent()] {
			return false, nil, nil // a type name or other constant identifier
		}
		return false, []string{x.AsIdent()}, nil
	case ast.ComprehensionKind:
		c := x.AsComprehension()
		hasComp = true
		for i, k := range children(x) {
			_, f, cs := constComprehensions(k, vars)
			consts = append(consts, cs...)
			for _, v := range f {
				if i >= 2 && (v == c.IterVar() || v == c.AccuVar() || (c.HasIterVar2() && v == c.IterVar2())) {
					continue // bound by this comprehension
				}
				free = addVar(free, v)
			}
		}
	default:
		for _, k := range children(x) {
			h, f, cs := constComprehensions(k, vars)
			hasComp = hasComp || h
			consts = append(consts, cs...)
			for _, v := range f {
				free = addVar(free, v)
			}
		}
	}
	if hasComp && len(free) == 0 {
		// constant: it replaces the constant parts found inside it
		consts = append(consts[:0], x)
	}
	return hasComp, free, consts
}

// addVar adds v to the small set vs.
func addVar(vs []string, v string) []string {
	for _, x := range vs {
		if x == v {
			return vs
		}
	}
	return append(vs, v)
}

// children returns the direct subexpressions of x (for comprehensions, all
// of their parts).
func children(x ast.Expr) []ast.Expr {
	switch x.Kind() {
	case ast.CallKind:
		c := x.AsCall()
		out := append([]ast.Expr(nil), c.Args()...)
		if c.IsMemberFunction() {
			out = append(out, c.Target())
		}
		return out
	case ast.SelectKind:
		return []ast.Expr{x.AsSelect().Operand()}
	case ast.ListKind:
		return x.AsList().Elements()
	case ast.MapKind:
		var out []ast.Expr
		for _, e := range x.AsMap().Entries() {
			me := e.AsMapEntry()
			out = append(out, me.Key(), me.Value())
		}
		return out
	case ast.StructKind:
		var out []ast.Expr
		for _, f := range x.AsStruct().Fields() {
			out = append(out, f.AsStructField().Value())
		}
		return out
	case ast.ComprehensionKind:
		c := x.AsComprehension()
		return []ast.Expr{c.IterRange(), c.AccuInit(), c.LoopCondition(), c.LoopStep(), c.Result()}
	}
	return nil
}
