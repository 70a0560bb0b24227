package detect

import (
	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/parser"
	exprpb "google.golang.org/genproto/googleapis/api/expr/v1alpha1"
)

// Fast parsing of rule conditions.
//
// env.Compile parses with cel-go's ANTLR parser, which was the largest single
// cost of compiling the Sigma corpus (about a third of it). cel-go v0.33.2
// also ships a hand-written Pratt parser (parser.EnablePrattParser) that the
// cel.Env does not expose; it yields the same AST as the ANTLR parser (same
// expression ids, same source offsets, same macro expansion) about ten times
// faster. fastParser parses with it and hands the result to env.Check through
// the public proto conversion (cel.ParsedExprToAstWithSource).
//
// The fast path only takes conditions written in the CEL subset detect/sigma
// emits (inSubset: selections, calls, string and number literals, lists,
// !, &&, ||, ==, !=, in, parentheses); anything else, any parse or check
// error, a panic, or a condition too large sends the rule back to
// env.Compile, so rejected rules keep the ANTLR parser's messages
// exactly. The differential tests (fastparse_test.go) compare both paths over
// every condition of the Sigma corpus and under fuzzing.

// fastParseLimit bounds the conditions the fast path takes (in bytes, so
// also in code points). It stays below the environment's parser limit
// (cel.ParserExpressionSizeLimit(1<<21) in newEnv), so the fast path never
// accepts a condition that env.Compile would reject as too large; longer
// ones go to env.Compile.
const fastParseLimit = 1 << 20

// fastParseOn switches the fast path (tests compare both paths).
var fastParseOn = true

// fastParser parses conditions with cel-go's Pratt parser, configured like
// the environment's own parser (its macros and size limit). It is safe for
// concurrent use: Parse keeps its state per call.
type fastParser struct {
	p *parser.Parser
}

func newFastParser(env *cel.Env) (*fastParser, error) {
	p, err := parser.NewParser(
		parser.Macros(env.Macros()...),
		parser.ExpressionSizeCodePointLimit(fastParseLimit),
		parser.EnablePrattParser(true))
	if err != nil {
		return nil, err
	}
	return &fastParser{p: p}, nil
}

// fastCompile parses and type-checks cond in env like env.Compile. It
// returns nil when the fast path does not apply or finds any problem: the
// caller then compiles cond with env.Compile, whose result and messages are
// authoritative. (Building the parser costs a few microseconds: a map of the
// environment's handful of macros.)
func fastCompile(env *cel.Env, cond string) (checked *cel.Ast) {
	if !fastParseOn || len(cond) > fastParseLimit || !inSubset(cond) {
		return nil
	}
	defer func() {
		if recover() != nil {
			checked = nil
		}
	}()
	f, err := newFastParser(env)
	if err != nil {
		return nil
	}
	a := f.parse(cond)
	if a == nil {
		return nil
	}
	out, iss := env.Check(a)
	if out == nil || iss != nil && iss.Err() != nil {
		return nil
	}
	return out
}

// parse returns cond parsed as a *cel.Ast (not checked), or nil on any
// problem.
//
// cel.Ast has no public constructor from an *ast.AST: the one way in is
// cel.ParsedExprToAstWithSource, from a proto. Converting the whole
// expression to a proto and back cost as much as the parse itself, so the
// proto holds only the root's id and the source's description and line
// offsets; the root then takes the parsed expression (ast.Expr.SetKindCase,
// which moves the subexpressions over without copying them) and the source
// info its expression ranges and macro calls.
func (f *fastParser) parse(cond string) *cel.Ast {
	src, err := common.NewTextSourceWithLimit(cond, fastParseLimit)
	if err != nil {
		return nil
	}
	parsed, errs := f.p.Parse(src)
	if parsed == nil || len(errs.GetErrors()) > 0 {
		return nil
	}
	info := parsed.SourceInfo()
	// ParsedExprToAst rejects ASTs deeper than this (its depth check is
	// skipped here, the proto being one node); Extensions are not carried
	// over (the standard syntax records none).
	if ast.ExceedsDepth(parsed, maxParsedDepth) || len(info.Extensions()) > 0 {
		return nil
	}
	root := parsed.Expr()
	a := cel.ParsedExprToAstWithSource(&exprpb.ParsedExpr{
		Expr: &exprpb.Expr{Id: root.ID()},
		SourceInfo: &exprpb.SourceInfo{
			SyntaxVersion: info.SyntaxVersion(),
			Location:      info.Description(),
			LineOffsets:   info.LineOffsets(),
		},
	}, src)
	out := a.NativeRep()
	if out.Expr().ID() != root.ID() {
		return nil
	}
	out.Expr().SetKindCase(root)
	si := out.SourceInfo()
	for id, r := range info.OffsetRanges() {
		si.SetOffsetRange(id, r)
	}
	for id, call := range info.MacroCalls() {
		si.SetMacroCall(id, call)
	}
	return a
}

// maxParsedDepth is cel-go's limit on the depth of an AST loaded from a
// proto (defaultMaxASTDepth in package cel).
const maxParsedDepth = 250

// maxNesting bounds the brackets open at once in a condition the fast path
// takes. The parsers count recursion differently: cel-go's Pratt parser
// accepts 249 and 250 nested parentheses, which the ANTLR parser rejects
// (its limit is 250 levels of its own grammar). Sigma conditions nest a few
// levels.
const maxNesting = 64

// Token classes for inSubset.
const (
	tkStart  = iota
	tkIdent  // identifier or keyword other than in
	tkIn     // the in operator
	tkString // string literal
	tkNum    // number literal
	tkOpen   // ( [
	tkClose  // ) ]
	tkOp     // , ! && || == != and unary -
	tkDot    // .
)

// inSubset reports whether cond is written with the tokens of the CEL that
// detect/sigma emits: identifiers, plain single-line string literals ("…"
// or '…', any escapes), decimal int, uint and double literals, an optional
// minus before a number, ( ) [ ] , . ! && || == != and in, with a dot only
// after an identifier, a closing bracket or a string, and at most
// maxNesting brackets open at once. Other CEL (raw, bytes
// and triple-quoted strings, hex numbers, arithmetic, comparisons,
// comments, maps, the conditional, a leading dot, non-ASCII outside
// strings …) is valid but outside the subset the fast path was checked on:
// it goes to env.Compile.
func inSubset(s string) bool {
	prev, depth := tkStart, 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case isIdentStart(c):
			j := i + 1
			for j < len(s) && (isIdentStart(s[j]) || isDigit(s[j])) {
				j++
			}
			if j < len(s) && (s[j] == '"' || s[j] == '\'') {
				return false // a string prefix (r, b, …)
			}
			if prev != tkDot && s[i:j] == "in" {
				prev = tkIn
			} else {
				prev = tkIdent
			}
			i = j
		case c == '"' || c == '\'':
			if i+2 < len(s) && s[i+1] == c && s[i+2] == c {
				return false // triple-quoted
			}
			j := i + 1
			for {
				if j >= len(s) || s[j] == '\n' || s[j] == '\r' {
					return false
				}
				if s[j] == '\\' {
					j += 2
					continue
				}
				j++
				if s[j-1] == c {
					break
				}
			}
			prev, i = tkString, j
		case isDigit(c):
			j := digits(s, i)
			frac := false
			if j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
				j, frac = digits(s, j+1), true
			}
			if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
				k := j + 1
				if k < len(s) && (s[k] == '+' || s[k] == '-') {
					k++
				}
				if k >= len(s) || !isDigit(s[k]) {
					return false
				}
				j, frac = digits(s, k), true
			}
			if !frac && j < len(s) && (s[j] == 'u' || s[j] == 'U') {
				j++
			}
			if j < len(s) && (isIdentStart(s[j]) || isDigit(s[j]) || s[j] == '.') {
				return false // hex, a malformed number, a member of a number
			}
			prev, i = tkNum, j
		case c == '-':
			if prev != tkStart && prev != tkOpen && prev != tkOp && prev != tkIn || i+1 >= len(s) || !isDigit(s[i+1]) {
				return false
			}
			prev, i = tkOp, i+1
		case c == '.':
			if prev != tkIdent && prev != tkClose && prev != tkString || i+1 >= len(s) || !isIdentStart(s[i+1]) {
				return false
			}
			prev, i = tkDot, i+1
		case c == '(' || c == '[':
			if depth++; depth > maxNesting {
				return false
			}
			prev, i = tkOpen, i+1
		case c == ')' || c == ']':
			depth--
			prev, i = tkClose, i+1
		case c == ',':
			prev, i = tkOp, i+1
		case c == '!':
			if i+1 < len(s) && s[i+1] == '=' {
				i++
			}
			prev, i = tkOp, i+1
		case c == '=' || c == '&' || c == '|':
			if i+1 >= len(s) || s[i+1] != c {
				return false
			}
			prev, i = tkOp, i+2
		default:
			return false
		}
	}
	return true
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digits returns the end of the run of digits at s[i:].
func digits(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}
