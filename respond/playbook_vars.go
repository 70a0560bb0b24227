package respond

import (
	"fmt"
	"strings"
	"sync"
)

// Variable scopes of a playbook execution (CACAO §10.18).
//
// The playbook's variables form the root scope. A step's step_variables
// form a scope whose parent is the scope the step runs in; the scope of an
// if, while, switch or parallel step is the parent of the steps of its
// branches, so a while-condition can hold its loop counter. Lookup walks up
// the chain. A step variable declared without a value takes the value of the
// same variable in an enclosing scope, if any, so a step may redeclare a
// variable to cacaoDoc that it reads or returns it.
//
// A step returns values through out_args: the value is assigned in every
// scope of the chain that declares the variable, and in the root scope when
// only the step itself declares it (or nothing does) — so the next steps see
// what a command returned, as CACAO's examples expect. Assigning a constant
// is an error. One mutex per execution guards all scopes, because parallel
// branches share them.

type varScope struct {
	mu     *sync.RWMutex
	vars   map[string]*Variable
	parent *varScope
}

func newRootScope(decls map[string]Variable, inputs map[string]string) *varScope {
	s := &varScope{mu: &sync.RWMutex{}, vars: make(map[string]*Variable, len(decls)+len(inputs))}
	for k, v := range decls {
		v := v
		if in, ok := inputs[k]; ok {
			v.Value, v.Null = in, false
		}
		s.vars[k] = &v
	}
	return s
}

// child makes the scope of a step declaring decls.
func (s *varScope) child(decls map[string]Variable) *varScope {
	c := &varScope{mu: s.mu, vars: make(map[string]*Variable, len(decls)), parent: s}
	s.mu.RLock()
	for k, v := range decls {
		v := v
		if v.Null {
			if outer, ok := s.lookupLocked(k); ok {
				v.Value, v.Null = outer.Value, outer.Null
			}
		}
		c.vars[k] = &v
	}
	s.mu.RUnlock()
	return c
}

func (s *varScope) lookupLocked(name string) (Variable, bool) {
	for sc := s; sc != nil; sc = sc.parent {
		if v, ok := sc.vars[name]; ok {
			return *v, true
		}
	}
	return Variable{}, false
}

func (s *varScope) lookup(name string) (Variable, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.lookupLocked(name)
}

// assign stores an out_args value (see the comment at the top of the file).
func (s *varScope) assign(name, val string, null bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var defs []*Variable
	root := s
	for sc := s; sc != nil; sc = sc.parent {
		if v, ok := sc.vars[name]; ok {
			if v.Constant {
				return fmt.Errorf("%w: %s", ErrVariableConstant, name)
			}
			defs = append(defs, v)
		}
		root = sc
	}
	for _, v := range defs {
		v.Value, v.Null = val, null
	}
	if len(defs) == 0 || (len(defs) == 1 && s.vars[name] == defs[0] && s != root) {
		if v, ok := root.vars[name]; ok {
			v.Value, v.Null = val, null
		} else {
			typ := "string"
			if len(defs) == 1 {
				typ = defs[0].Type
			}
			root.vars[name] = &Variable{Type: typ, Value: val, Null: null}
		}
	}
	return nil
}

// substitute replaces every __name__:value in text by the variable's value
// (a null value by the empty string). An undefined variable is an error.
func (s *varScope) substitute(text string) (string, error) {
	if !strings.Contains(text, ":value") {
		return text, nil
	}
	var err error
	s.mu.RLock()
	out := varRefRe.ReplaceAllStringFunc(text, func(ref string) string {
		name := strings.TrimSuffix(ref, ":value")
		v, ok := s.lookupLocked(name)
		if !ok {
			if err == nil {
				err = fmt.Errorf("%w: %s", ErrVariableUndefined, name)
			}
			return ref
		}
		return v.Value
	})
	s.mu.RUnlock()
	return out, err
}

// snapshot returns the visible variables, inner scopes first.
func (s *varScope) snapshot() map[string]Variable {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]Variable)
	for sc := s; sc != nil; sc = sc.parent {
		for k, v := range sc.vars {
			if _, ok := out[k]; !ok {
				out[k] = *v
			}
		}
	}
	return out
}

func (s *varScope) celVars() map[string]any {
	snap := s.snapshot()
	out := make(map[string]any, len(snap))
	for k, v := range snap {
		out[k] = celValue(v)
	}
	return out
}
