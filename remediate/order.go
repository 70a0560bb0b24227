package remediate

import "fmt"

// graph is a plan's dependency DAG over step indexes.
type graph struct {
	deps  [][]int // deps[i]: steps i depends on
	users [][]int // users[i]: steps that depend on i
	topo  []int   // a topological order (dependencies first, plan order on ties)
}

// Validate checks that a plan can run: step ids present and unique,
// dependencies known, no cycle. It returns an error wrapping ErrPlan that
// names the step.
func (p *Plan) Validate() error {
	_, err := p.graph()
	return err
}

func (p *Plan) graph() (*graph, error) {
	n := len(p.Steps)
	idx := make(map[string]int, n)
	for i := range p.Steps {
		id := p.Steps[i].ID
		if id == "" {
			return nil, fmt.Errorf("%w: step %d has no id", ErrPlan, i)
		}
		if _, dup := idx[id]; dup {
			return nil, fmt.Errorf("%w: step id %q twice", ErrPlan, id)
		}
		idx[id] = i
	}
	g := &graph{deps: make([][]int, n), users: make([][]int, n)}
	indeg := make([]int, n)
	for i := range p.Steps {
		for _, d := range p.Steps[i].DependsOn {
			j, ok := idx[d]
			if !ok {
				return nil, fmt.Errorf("%w: step %q depends on unknown step %q", ErrPlan, p.Steps[i].ID, d)
			}
			if j == i {
				return nil, fmt.Errorf("%w: step %q depends on itself", ErrPlan, d)
			}
			g.deps[i] = append(g.deps[i], j)
			g.users[j] = append(g.users[j], i)
			indeg[i]++
		}
	}
	// Kahn's algorithm, taking ready steps in plan order.
	ready := make([]int, 0, n)
	for i := range n {
		if indeg[i] == 0 {
			ready = append(ready, i)
		}
	}
	g.topo = make([]int, 0, n)
	for len(ready) > 0 {
		i := ready[0]
		ready = ready[1:]
		g.topo = append(g.topo, i)
		for _, u := range g.users[i] {
			if indeg[u]--; indeg[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(g.topo) != n {
		for i := range n {
			if indeg[i] > 0 {
				return nil, fmt.Errorf("%w: dependency cycle through step %q", ErrPlan, p.Steps[i].ID)
			}
		}
	}
	return g, nil
}
