package detect

import (
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
)

// staticOptSkip lets compileRule skip the static optimizer (path flattening
// and constant folding) for a condition in which neither optimizer has
// anything to do. The optimizer copies the AST and type-checks it again
// after each optimizer, which is a quarter of the cost of compiling the
// Sigma corpus; most conditions hold no constant subexpression and no
// nested selection. Tests turn it off to compare.
var staticOptSkip = true

// needsStaticOptimize reports whether the path flattener or cel-go's
// constant folder could change the checked expression a. It is a
// conservative superset of what they rewrite: nested selections and
// presence tests (pathFlattener); calls and selections whose operands
// reference no variable, logical operators and conditionals with a literal
// operand, equality with a literal, membership in a literal collection,
// list concatenation, comprehensions and optional list or map entries
// (constant folding).
func needsStaticOptimize(a *ast.AST) bool {
	found := false
	ast.PreOrderVisit(ast.NavigateAST(a), ast.NewExprVisitor(func(e ast.Expr) {
		if found {
			return
		}
		switch e.Kind() {
		case ast.SelectKind:
			s := e.AsSelect()
			if s.IsTestOnly() {
				found = true // has(): the flattener rewrites presence tests
				return
			}
			if _, ok := selectPath(e); ok || !refersToVariable(s.Operand()) {
				found = true
			}
		case ast.CallKind:
			if _, ok := selectPath(e); ok {
				found = true
				return
			}
			c := e.AsCall()
			args := c.Args()
			switch c.FunctionName() {
			case operators.LogicalAnd, operators.LogicalOr, operators.Conditional,
				operators.Equals, operators.NotEquals:
				for _, x := range args {
					if x.Kind() == ast.LiteralKind {
						found = true
						return
					}
				}
			case operators.In:
				if len(args) == 2 && (args[1].Kind() == ast.ListKind || args[1].Kind() == ast.MapKind) {
					found = true
					return
				}
			case operators.Add:
				if len(args) == 2 && args[0].Kind() == ast.ListKind && args[1].Kind() == ast.ListKind {
					found = true
					return
				}
			}
			constant := !(c.IsMemberFunction() && refersToVariable(c.Target()))
			for _, x := range args {
				constant = constant && !refersToVariable(x)
			}
			if constant {
				found = true
			}
		case ast.ComprehensionKind:
			found = true
		case ast.ListKind:
			if len(e.AsList().OptionalIndices()) > 0 {
				found = true
			}
		case ast.MapKind:
			for _, en := range e.AsMap().Entries() {
				if en.AsMapEntry().IsOptional() {
					found = true
				}
			}
		case ast.StructKind:
			found = true
		}
	}))
	return found
}

// refersToVariable reports whether x contains an identifier (the event or
// a comprehension variable), that is whether it can differ between
// evaluations.
func refersToVariable(x ast.Expr) bool {
	found := false
	ast.PreOrderVisit(x, ast.NewExprVisitor(func(e ast.Expr) {
		if e.Kind() == ast.IdentKind || e.Kind() == ast.ComprehensionKind {
			found = true
		}
	}))
	return found
}
