package detect

import (
	"cel.dev/cel-go/cel"
)

// Hooks for the tests of the static-optimizer skip (optskip_test.go).

// SetStaticOptSkip switches the skip and returns the previous setting.
// Tests that call it must not run in parallel.
func SetStaticOptSkip(on bool) bool {
	old := staticOptSkip
	staticOptSkip = on
	return old
}

// OptimizeForTest runs Compile's static optimizer over a checked AST and
// reports whether the skip would have kept a as it is.
func OptimizeForTest(env *cel.Env, a *cel.Ast) (optimized *cel.Ast, skippable bool, err error) {
	folder, err := cel.NewConstantFoldingOptimizer()
	if err != nil {
		return nil, false, err
	}
	opt, err := cel.NewStaticOptimizer(pathFlattener{}, folder)
	if err != nil {
		return nil, false, err
	}
	out, iss := opt.Optimize(env, a)
	if iss != nil && iss.Err() != nil {
		return nil, false, iss.Err()
	}
	return out, !needsStaticOptimize(a.NativeRep()), nil
}
