package respond

import (
	"context"
	"encoding/json"
	"fmt"

	"cel.dev/cel-go/cel"
)

// Decision is what policy decides about a command.
type Decision string

// The decisions.
const (
	DecisionAllow   Decision = "allow"   // execute without asking
	DecisionApprove Decision = "approve" // wait for a principal's approval
	DecisionDeny    Decision = "deny"    // refuse
)

// AutomationLevel says how much the dispatcher may do without a human,
// after Microsoft Defender's automation levels.
type AutomationLevel string

// The automation levels.
//
// Read-only commands (query, scan, locate, investigate) and undos (the
// compensating commands of earlier actions) are allowed by default at
// every level; the levels differ on everything else:
//   - full: allowed by default;
//   - semi: approval required by default;
//   - none: approval required always, even where a rule allows.
//
// Deny rules deny at every level.
const (
	AutomationFull AutomationLevel = "full"
	AutomationSemi AutomationLevel = "semi"
	AutomationNone AutomationLevel = "none"
)

// PolicyRule is one rule of a policy: when When (a CEL expression giving a
// bool) holds, Decision applies. Rules are tried in order and the first
// that holds decides.
//
// The expression sees these variables:
//
//	command      map   the command's OpenC2 JSON (command.target.device.hostname, ...)
//	action       string the action ("contain")
//	target       string the target type ("device", "er:account")
//	hosts        list   the hosts the command is for
//	incident     string the incident id of the request
//	score        double the incident's score
//	criticality  string the asset criticality of the request
//	requester    string who asks
//	undo         bool   whether the command undoes an earlier one
type PolicyRule struct {
	Name     string   `json:"name"`
	When     string   `json:"when"`
	Decision Decision `json:"decision"`
}

// Policy governs commands: ordered rules over an automation level.
type Policy struct {
	Level AutomationLevel `json:"level"`
	Rules []PolicyRule    `json:"rules,omitempty"`
	// CostLimit bounds the CEL cost of one rule's evaluation (0 = 100,000).
	CostLimit uint64 `json:"cost_limit,omitempty"`
}

// readOnly are the actions that change nothing on the target.
func readOnly(a Action) bool {
	return a == ActionQuery || a == ActionScan || a == ActionLocate || a == ActionInvestigate
}

type compiledRule struct {
	rule PolicyRule
	prg  cel.Program
}

type policy struct {
	level AutomationLevel
	rules []compiledRule
}

// PolicyError reports a policy rule that does not compile or decides
// something unknown. It wraps ErrInvalid.
type PolicyError struct {
	Rule   int // index in Policy.Rules
	Name   string
	Reason string
}

func (e *PolicyError) Error() string {
	return fmt.Sprintf("respond: policy rule %d (%s): %s", e.Rule, e.Name, e.Reason)
}

func (e *PolicyError) Unwrap() error { return ErrInvalid }

func compilePolicy(p Policy) (*policy, error) {
	out := &policy{level: p.Level}
	switch p.Level {
	case "":
		out.level = AutomationSemi
	case AutomationFull, AutomationSemi, AutomationNone:
	default:
		return nil, fmt.Errorf("%w: unknown automation level %q (full, semi, none)", ErrInvalid, p.Level)
	}
	if len(p.Rules) == 0 {
		return out, nil
	}
	env, err := cel.NewEnv(
		cel.Variable("command", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("action", cel.StringType),
		cel.Variable("target", cel.StringType),
		cel.Variable("hosts", cel.ListType(cel.StringType)),
		cel.Variable("incident", cel.StringType),
		cel.Variable("score", cel.DoubleType),
		cel.Variable("criticality", cel.StringType),
		cel.Variable("requester", cel.StringType),
		cel.Variable("undo", cel.BoolType),
	)
	if err != nil {
		return nil, err
	}
	cost := p.CostLimit
	if cost == 0 {
		cost = 100_000
	}
	for i, r := range p.Rules {
		switch r.Decision {
		case DecisionAllow, DecisionApprove, DecisionDeny:
		default:
			return nil, &PolicyError{Rule: i, Name: r.Name, Reason: fmt.Sprintf("unknown decision %q (allow, approve, deny)", r.Decision)}
		}
		ast, iss := env.Compile(r.When)
		if iss.Err() != nil {
			return nil, &PolicyError{Rule: i, Name: r.Name, Reason: iss.Err().Error()}
		}
		if ast.OutputType() != cel.BoolType {
			return nil, &PolicyError{Rule: i, Name: r.Name, Reason: "expression must give a bool, gives " + ast.OutputType().String()}
		}
		prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(cost), cel.InterruptCheckFrequency(100))
		if err != nil {
			return nil, &PolicyError{Rule: i, Name: r.Name, Reason: err.Error()}
		}
		out.rules = append(out.rules, compiledRule{rule: r, prg: prg})
	}
	return out, nil
}

// decide returns the decision for req and the name of the rule (or
// "level:<level>") that made it.
func (p *policy) decide(ctx context.Context, req *Request, undo bool) (Decision, string, error) {
	c := &req.Command
	if len(p.rules) > 0 {
		hosts := c.Hosts()
		if hosts == nil {
			hosts = []string{}
		}
		vars := map[string]any{
			"command": func() any {
				b, err := json.Marshal(c)
				if err != nil {
					return map[string]any{}
				}
				var m map[string]any
				if json.Unmarshal(b, &m) != nil {
					return map[string]any{}
				}
				return m
			},
			"action":      string(c.Action),
			"target":      c.Target.Name(),
			"hosts":       hosts,
			"incident":    req.Incident,
			"score":       req.Score,
			"criticality": req.Criticality,
			"requester":   req.Requester,
			"undo":        undo,
		}
		act, err := cel.NewActivation(vars)
		if err != nil {
			return DecisionDeny, "", err
		}
		for i := range p.rules {
			r := &p.rules[i]
			val, _, err := r.prg.ContextEval(ctx, act)
			if err != nil {
				// fail closed: a rule that cannot be evaluated denies
				return DecisionDeny, r.rule.Name, fmt.Errorf("respond: policy rule %q: %w", r.rule.Name, err)
			}
			if b, ok := val.Value().(bool); ok && b {
				d := r.rule.Decision
				if d == DecisionAllow && p.level == AutomationNone && !readOnly(c.Action) && !undo {
					d = DecisionApprove
				}
				return d, r.rule.Name, nil
			}
		}
	}
	by := "level:" + string(p.level)
	if readOnly(c.Action) || undo || p.level == AutomationFull {
		return DecisionAllow, by, nil
	}
	return DecisionApprove, by, nil
}
