package detect

import (
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
)

// pathFlattener rewrites selections of nested fields into one lookup of the
// dotted path: e.process.parent.executable becomes
// e["process.parent.executable"] and has(e.process.parent) becomes
// "process.parent" in e. Events hold flattened paths, so the path resolves
// in one mdr.Event.Get, and an event that holds both a value at "a" and one
// at "a.b" gives e.a.b the value at "a.b" (step-by-step selection would
// select b inside the value of "a"). It is the same resolution the direct
// evaluation uses.
type pathFlattener struct{}

// selectPath returns the dotted path of a selection chain of at least two
// names rooted at e (field selections and constant string indexes).
func selectPath(x ast.Expr) (string, bool) {
	p, ok := fieldPath(x)
	if !ok || x.Kind() != ast.SelectKind && x.Kind() != ast.CallKind {
		return "", false
	}
	// only chains: the operand must itself be a selection, not e
	var operand ast.Expr
	if x.Kind() == ast.SelectKind {
		operand = x.AsSelect().Operand()
	} else {
		operand = x.AsCall().Args()[0]
	}
	if isEventIdent(operand) {
		return "", false
	}
	return p, strings.Contains(p, ".")
}

func (pathFlattener) Optimize(ctx *cel.OptimizerContext, a *ast.AST) *ast.AST {
	root := ast.NavigateAST(a)
	isChain := func(e ast.NavigableExpr) bool {
		_, ok := selectPath(e)
		return ok
	}
	isHas := func(e ast.NavigableExpr) bool {
		if e.Kind() != ast.SelectKind || !e.AsSelect().IsTestOnly() {
			return false
		}
		_, ok := joinPath(e.AsSelect().Operand(), e.AsSelect().FieldName())
		return ok
	}
	for _, e := range ast.MatchDescendants(root, func(e ast.NavigableExpr) bool { return isHas(e) }) {
		s := e.AsSelect()
		p, _ := joinPath(s.Operand(), s.FieldName())
		ctx.UpdateExpr(e, ctx.NewCall(operators.In, ctx.NewLiteral(types.String(p)), ctx.NewIdent("e")))
	}
	for _, e := range ast.MatchDescendants(root, func(e ast.NavigableExpr) bool {
		if !isChain(e) {
			return false
		}
		// only the outermost selection of a chain is rewritten
		if parent, ok := e.Parent(); ok && isChain(parent) {
			return false
		}
		return true
	}) {
		p, _ := selectPath(e)
		ctx.UpdateExpr(e, ctx.NewCall(operators.Index, ctx.NewIdent("e"), ctx.NewLiteral(types.String(p))))
	}
	return a
}
