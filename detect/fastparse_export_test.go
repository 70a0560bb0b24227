package detect

import "cel.dev/cel-go/cel"

// Hooks for the differential tests of the fast parse path (fastparse_test.go,
// package detect_test, which needs detect/sigma).

// SetFastParse switches the fast parse path and returns the previous setting.
// Tests that call it must not run in parallel.
func SetFastParse(on bool) bool {
	old := fastParseOn
	fastParseOn = on
	return old
}

// NewRuleEnv returns the CEL environment Compile uses.
func NewRuleEnv() (*cel.Env, error) { return newEnv(&matcherCache{}) }

// FastCompile is the fast parse path: nil when it does not handle cond.
func FastCompile(env *cel.Env, cond string) *cel.Ast { return fastCompile(env, cond) }
