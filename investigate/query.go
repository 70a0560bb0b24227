package investigate

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mdrkit/mdr"
)

// Limits bound one traversal. Zero fields take the defaults of
// DefaultLimits; a traversal that reaches a limit returns what it found,
// marked Truncated.
type Limits struct {
	// MaxDepth is the longest path followed, in edges.
	MaxDepth int
	// MaxNodes is the most entities an answer holds.
	MaxNodes int
	// Window bounds event time: Backward looks no further back than
	// Window before its time, Forward no further ahead. 0 means no bound.
	Window time.Duration
}

// DefaultLimits returns depth 32, 4,096 nodes and no time window.
func DefaultLimits() Limits { return Limits{MaxDepth: 32, MaxNodes: 4096} }

func (l Limits) norm() Limits {
	d := DefaultLimits()
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = d.MaxNodes
	}
	return l
}

// Direction is the direction of a traversal.
type Direction uint8

// Directions of a Provenance.
const (
	Backward Direction = iota + 1 // what led to the seed
	Forward                       // what the seed touched afterwards
)

func (d Direction) String() string {
	switch d {
	case Backward:
		return "backward"
	case Forward:
		return "forward"
	}
	return "direction(" + strconv.Itoa(int(d)) + ")"
}

// Node is one entity of a traversal's answer.
type Node struct {
	Entity mdr.Entity `json:"entity"`
	// Depth is the number of edges from the seed on the first path found.
	Depth int `json:"depth"`
	// Time is the event time that bounded the entity's part: for Backward
	// the latest time it could still have influenced the seed, for Forward
	// the earliest time the seed could have affected it.
	Time time.Time `json:"time"`
	// Hub marks a hub process: reached but not passed through.
	Hub bool `json:"hub,omitempty"`
}

// Provenance is the answer of Backward or Forward: the entities reached and
// the edges followed, in event time.
type Provenance struct {
	Direction Direction `json:"direction"`
	Seed      string    `json:"seed"`
	Time      time.Time `json:"time"`
	Nodes     []Node    `json:"nodes"`
	Edges     []Edge    `json:"edges"`
	// RootCause (Backward) is the entity judged to have started the chain
	// (see Graph.Backward); Roots are all the chain's starting points,
	// earliest first.
	RootCause string   `json:"root_cause,omitempty"`
	Roots     []string `json:"roots,omitempty"`
	// Truncated reports that a limit stopped the traversal.
	Truncated bool `json:"truncated,omitempty"`
}

// Has reports whether the answer holds entity id.
func (p *Provenance) Has(id string) bool {
	for i := range p.Nodes {
		if p.Nodes[i].Entity.ID == id {
			return true
		}
	}
	return false
}

// IDs returns the ids of the answer's entities, sorted.
func (p *Provenance) IDs() []string {
	out := make([]string, len(p.Nodes))
	for i := range p.Nodes {
		out[i] = p.Nodes[i].Entity.ID
	}
	slices.Sort(out)
	return out
}

// writeAccess reports whether a process access mask lets the opener change
// the target (create a thread, write or operate on its memory, set its
// information): then the opener's influence flows into the target.
func writeAccess(mask string) bool {
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(mask), "0x"), 16, 64)
	if err != nil {
		return false
	}
	return v&(0x0002|0x0008|0x0020|0x0200) != 0
}

// walk is one traversal's state.
type walk struct {
	g         *Graph
	dir       Direction
	lim       Limits
	bound     map[uint32]int64
	depth     map[uint32]int
	order     []uint32
	edges     []uint32
	edgeSeen  map[uint32]bool
	queue     []uint32
	truncated bool
	limit     int64 // time bound (window)
	kinds     func(mdr.RelationKind) bool
}

func (g *Graph) newWalk(dir Direction, lim Limits) *walk {
	return &walk{g: g, dir: dir, lim: lim.norm(), bound: map[uint32]int64{}, depth: map[uint32]int{}, edgeSeen: map[uint32]bool{}}
}

func (w *walk) reach(n uint32, b int64, d int, via uint32) {
	old, seen := w.bound[n]
	if seen {
		better := (w.dir == Backward && b > old) || (w.dir == Forward && b < old)
		if !better {
			if via != 0 && !w.edgeSeen[via] {
				w.edgeSeen[via] = true
				w.edges = append(w.edges, via)
			}
			return
		}
	} else {
		if len(w.order) >= w.lim.MaxNodes {
			w.truncated = true
			return
		}
		w.order = append(w.order, n)
		w.depth[n] = d
	}
	w.bound[n] = b
	if via != 0 && !w.edgeSeen[via] {
		w.edgeSeen[via] = true
		w.edges = append(w.edges, via)
	}
	w.queue = append(w.queue, n)
}

// expandable reports whether a traversal passes through node n.
func (w *walk) expandable(n uint32, seed bool) bool {
	x := w.g.nodes.at(n)
	if x.hub && !seed {
		return false
	}
	switch x.kind {
	case mdr.EntityProcess, mdr.EntityFile:
		return true
	case mdr.EntityUser, mdr.EntityAccount:
		return w.dir == Forward && !systemAccount(x.id)
	case mdr.EntityScript, mdr.EntityRegistryKey, mdr.EntityService, mdr.EntityScheduledTask:
		return w.dir == Backward
	}
	return false
}

// written reports whether any process wrote file n at or before t.
func (g *Graph) written(n uint32, t int64) bool {
	w, ok := g.writtenAt[n]
	return ok && w <= t
}

func (w *walk) run(ctx context.Context, seed uint32, t int64) error {
	if w.lim.Window > 0 {
		if w.dir == Backward {
			w.limit = t - w.lim.Window.Microseconds()
		} else {
			w.limit = t + w.lim.Window.Microseconds()
		}
	} else if w.dir == Backward {
		w.limit = math.MinInt64
	} else {
		w.limit = math.MaxInt64
	}
	w.reach(seed, t, 0, 0)
	g := w.g
	steps := 0
	for len(w.queue) > 0 {
		n := w.queue[0]
		w.queue = w.queue[1:]
		if steps++; steps&255 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if !w.expandable(n, n == seed) {
			continue
		}
		d := w.depth[n]
		if d >= w.lim.MaxDepth {
			w.truncated = true
			continue
		}
		b := w.bound[n]
		if w.dir == Backward {
			w.backStep(n, b, d)
		} else {
			w.fwdStep(n, b, d)
		}
		_ = g
	}
	return nil
}

// backStep follows the flows into n that happened no later than b.
func (w *walk) backStep(n uint32, b int64, d int) {
	g := w.g
	for e := g.nodes.at(n).headIn; e != 0; e = g.edges.at(e).nextIn {
		x := g.edges.at(e)
		k := x.kind()
		if flowOf(k) != flowFwd || x.first() > b || x.last() < w.limit || x.from == n {
			continue
		}
		if w.kinds != nil && !w.kinds(k) {
			continue
		}
		if k == mdr.RelOpenedProcess && !writeAccess(blobVal(g.blobs, x.attrs, "granted_access")) {
			continue
		}
		if k == mdr.RelLoggedOn { // logons into a host are context of the host, reached separately
			continue
		}
		w.reach(x.from, min(b, x.last()), d+1, e)
	}
	for e := g.nodes.at(n).headOut; e != 0; e = g.edges.at(e).nextOut {
		x := g.edges.at(e)
		k := x.kind()
		if flowOf(k) != flowRev || x.first() > b || x.last() < w.limit || x.to == n {
			continue
		}
		if w.kinds != nil && !w.kinds(k) {
			continue
		}
		// A library, a file read or an object accessed is part of the
		// chain only when some process wrote it before; the image a
		// process runs always is.
		if k != mdr.RelExecuted && !g.written(x.to, min(b, x.last())) {
			continue
		}
		w.reach(x.to, min(b, x.last()), d+1, e)
	}
}

// fwdStep follows the flows out of n that happened no earlier than b.
func (w *walk) fwdStep(n uint32, b int64, d int) {
	g := w.g
	for e := g.nodes.at(n).headOut; e != 0; e = g.edges.at(e).nextOut {
		x := g.edges.at(e)
		k := x.kind()
		if flowOf(k) != flowFwd || x.last() < b || x.first() > w.limit || x.to == n {
			continue
		}
		if w.kinds != nil && !w.kinds(k) {
			continue
		}
		if k == mdr.RelOpenedProcess && !writeAccess(blobVal(g.blobs, x.attrs, "granted_access")) {
			continue
		}
		w.reach(x.to, max(b, x.first()), d+1, e)
	}
	for e := g.nodes.at(n).headIn; e != 0; e = g.edges.at(e).nextIn {
		x := g.edges.at(e)
		k := x.kind()
		// A file flows forward into the processes that run or load it,
		// not into every process that merely reads it.
		if (k != mdr.RelExecuted && k != mdr.RelLoadedImage) || x.last() < b || x.first() > w.limit || x.from == n {
			continue
		}
		if w.kinds != nil && !w.kinds(k) {
			continue
		}
		w.reach(x.from, max(b, x.first()), d+1, e)
	}
}

func blobVal(blobs []byte, off uint32, key string) string {
	v, _ := blobGet(blobs, off, key)
	return v
}

func (w *walk) answer(seed string, t time.Time) *Provenance {
	g := w.g
	p := &Provenance{Direction: w.dir, Seed: seed, Time: t, Truncated: w.truncated}
	p.Nodes = make([]Node, 0, len(w.order))
	for _, n := range w.order {
		p.Nodes = append(p.Nodes, Node{Entity: g.entityOf(n), Depth: w.depth[n], Time: usec(w.bound[n]), Hub: g.nodes.at(n).hub})
	}
	p.Edges = make([]Edge, 0, len(w.edges))
	for _, e := range w.edges {
		p.Edges = append(p.Edges, g.edgeOf(e))
	}
	slices.SortStableFunc(p.Edges, func(a, b Edge) int { return a.First.Compare(b.First) })
	return p
}

func (g *Graph) lookup(id string) (uint32, error) {
	n, ok := g.ids[id]
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrUnknownEntity, id)
	}
	return n, nil
}

// Backward answers "what led here": the entities whose information flowed
// into entity id no later than at, following flows back in time (a process
// from its parent and the image it runs, a file from the processes that
// wrote it, a library or a file read from its writers, a remote thread or a
// write-access open from its source). A zero at means the end of time.
//
// Hub rule: a hub process (Config.Hubs: services.exe, explorer.exe,
// svchost.exe, System ...) is reported when reached but never passed
// through, so the ancestors above the first hub are context, not cause.
//
// RootCause is, in this order of preference: the earliest file on the
// chain that a process wrote and another then ran or loaded (a payload: the
// attachment, the download, the dropped tool); else the latest remote logon
// (type 3 or 10) of the chain's user onto its host before the chain began,
// as its source address or user; else the earliest process of the chain
// below a hub; else, when only hubs lie behind it, the entity itself.
func (g *Graph) Backward(ctx context.Context, id string, at time.Time, lim Limits) (*Provenance, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, err := g.lookup(id)
	if err != nil {
		return nil, err
	}
	t := int64(math.MaxInt64)
	if !at.IsZero() {
		t = at.UnixMicro()
	}
	w := g.newWalk(Backward, lim)
	if err := w.run(ctx, n, t); err != nil {
		return nil, err
	}
	p := w.answer(id, at)
	p.Roots, p.RootCause = g.roots(w)
	return p, nil
}

// Forward answers "what did it touch afterwards": the entities that
// information flowed into from entity id no earlier than from: descendant
// processes, files written (and the processes that then ran or loaded
// them), registry values set, services and tasks created, accounts created
// or changed, endpoints and domains contacted, hosts logged on to, the
// targets of remote threads and write-access opens, and what those did in
// turn. Hubs are reached but not expanded; hosts, endpoints and the
// built-in accounts are never expanded.
func (g *Graph) Forward(ctx context.Context, id string, from time.Time, lim Limits) (*Provenance, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, err := g.lookup(id)
	if err != nil {
		return nil, err
	}
	t := int64(math.MinInt64)
	if !from.IsZero() {
		t = from.UnixMicro()
	}
	w := g.newWalk(Forward, lim)
	if err := w.run(ctx, n, t); err != nil {
		return nil, err
	}
	return w.answer(id, from), nil
}

// firstSeen returns the earliest time of any edge of n.
func (g *Graph) firstSeen(n uint32) int64 { return g.nodes.at(n).first }

// startOf returns when process n started: its first edge, which is its
// creation when the graph saw it.
func (g *Graph) startOf(n uint32) int64 { return g.nodes.at(n).first }

// roots finds the starting points of a backward walk and picks the root
// cause (see Backward).
func (g *Graph) roots(w *walk) ([]string, string) {
	hasParent := map[uint32]bool{}
	for _, e := range w.edges {
		x := g.edges.at(e)
		src := x.from
		dst := x.to
		if flowOf(x.kind()) == flowRev {
			src, dst = dst, src
		}
		if !g.nodes.at(src).hub {
			hasParent[dst] = true
		}
	}
	type cand struct {
		n uint32
		t int64
	}
	var leaves []cand
	for _, n := range w.order {
		if g.nodes.at(n).hub || hasParent[n] {
			continue
		}
		if k := g.nodes.at(n).kind; k == mdr.EntityHost || k == mdr.EntityUser || k == mdr.EntityAccount {
			continue
		}
		leaves = append(leaves, cand{n, g.firstSeen(n)})
	}
	slices.SortStableFunc(leaves, func(a, b cand) int { return cmpInt(a.t, b.t) })
	roots := make([]string, len(leaves))
	for i, c := range leaves {
		roots[i] = g.nodes.at(c.n).id
	}
	// 1. A payload: a file written by one process, then run or loaded.
	var payload cand
	found := false
	for _, e := range w.edges {
		x := g.edges.at(e)
		if k := x.kind(); k != mdr.RelExecuted && k != mdr.RelLoadedImage && k != mdr.RelReadFile && k != mdr.RelAccessedObject {
			continue
		}
		f := x.to
		for we := g.nodes.at(f).headIn; we != 0; we = g.edges.at(we).nextIn {
			y := g.edges.at(we)
			if (y.kind() == mdr.RelWroteFile || y.kind() == mdr.RelRenamedFile) && w.edgeSeen[we] {
				if !found || y.first() < payload.t {
					payload, found = cand{f, y.first()}, true
				}
			}
		}
	}
	if found {
		return roots, g.nodes.at(payload.n).id
	}
	// 2. A remote logon of the chain's user onto its host.
	var top []cand
	for _, n := range w.order {
		if g.nodes.at(n).kind == mdr.EntityProcess && !g.nodes.at(n).hub && !hasParent[n] {
			top = append(top, cand{n, g.startOf(n)})
		}
	}
	slices.SortStableFunc(top, func(a, b cand) int { return cmpInt(a.t, b.t) })
	for _, c := range top {
		if id := g.remoteLogon(c.n, c.t); id != "" {
			return roots, id
		}
	}
	if len(top) > 0 {
		return roots, g.nodes.at(top[0].n).id
	}
	if len(roots) > 0 {
		return roots, roots[0]
	}
	// Nothing but hubs behind the seed (the seed a hub itself, or a
	// process whose creation was not logged): the seed is its own root.
	if len(w.order) > 0 {
		id := g.nodes.at(w.order[0]).id
		return []string{id}, id
	}
	return roots, ""
}

// remoteLogon returns the source of the latest remote logon (type 3 or 10)
// of process n's user onto n's host at or before t: the source address's
// endpoint id when the graph holds it, else the user's id.
func (g *Graph) remoteLogon(n uint32, t int64) string {
	x := g.nodes.at(n)
	if x.user == 0 || x.host == 0 || systemAccount(g.nodes.at(x.user).id) {
		return ""
	}
	var best uint32
	for e := g.nodes.at(x.user).headOut; e != 0; e = g.edges.at(e).nextOut {
		y := g.edges.at(e)
		if y.kind() != mdr.RelLoggedOn || y.to != x.host || y.first() > t {
			continue
		}
		lt := blobVal(g.blobs, y.attrs, "logon_type")
		if lt != "3" && lt != "10" {
			continue
		}
		if best == 0 || y.first() > g.edges.at(best).first() {
			best = e
		}
	}
	if best == 0 {
		return ""
	}
	if ip := blobVal(g.blobs, g.edges.at(best).attrs, "source_ip"); ip != "" {
		if _, ok := g.ids["ip:"+strings.ToLower(ip)]; ok {
			return "ip:" + strings.ToLower(ip)
		}
	}
	return g.nodes.at(x.user).id
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// chainKinds are the relations a causal chain follows: process creation,
// files written then run, code injected.
func chainKinds(k mdr.RelationKind) bool {
	switch k {
	case mdr.RelSpawned, mdr.RelExecuted, mdr.RelWroteFile, mdr.RelRenamedFile, mdr.RelCreatedRemoteThread, mdr.RelLoadedImage:
		return true
	}
	return false
}

// chainLimits bound CausalChain.
var chainLimits = Limits{MaxDepth: 24, MaxNodes: 256}

// CausalChain returns the ids of the entities on the causal chain behind
// alert a: the alert's own processes (and the files among its entities that
// some process wrote), and their ancestors up to the root cause along
// process creation, files written then run or loaded, and remote threads.
// Hub processes (Config.Hubs) are left out and never passed through, and so
// are hosts, users and accounts, which every chain on a host would share:
// two alerts whose chains intersect share a cause. Entities the graph does
// not hold are ignored. The ids are sorted.
func (g *Graph) CausalChain(ctx context.Context, a *mdr.Alert) ([]string, error) {
	if a == nil {
		return nil, fmt.Errorf("%w: nil alert", ErrInput)
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	at := int64(math.MaxInt64)
	if !a.Time.IsZero() {
		at = a.Time.UnixMicro()
	}
	seeds := g.alertSeeds(a)
	set := map[uint32]bool{}
	for _, s := range seeds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		set[s] = true
		if g.nodes.at(s).hub {
			continue
		}
		w := g.newWalk(Backward, chainLimits)
		w.kinds = chainKinds
		if err := w.run(ctx, s, at); err != nil {
			return nil, err
		}
		for _, n := range w.order {
			x := g.nodes.at(n)
			if x.hub {
				continue
			}
			switch x.kind {
			case mdr.EntityProcess:
				set[n] = true
			case mdr.EntityFile:
				if g.written(n, at) {
					set[n] = true
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, g.nodes.at(n).id)
	}
	slices.Sort(out)
	return out, nil
}

// alertSeeds returns the graph nodes an alert is about: its processes that
// are not hubs nor ancestors of another of its processes (the actor, not
// its parent), all of them hubs when no other is left, and its files that
// some process wrote.
func (g *Graph) alertSeeds(a *mdr.Alert) []uint32 {
	var procs, hubs, out []uint32
	for i := range a.Entities {
		n, ok := g.resolve(a.Entities[i].ID, a.Time)
		if !ok {
			continue
		}
		switch g.nodes.at(n).kind {
		case mdr.EntityProcess:
			if g.nodes.at(n).hub {
				hubs = append(hubs, n)
			} else {
				procs = append(procs, n)
			}
		case mdr.EntityFile:
			if g.written(n, math.MaxInt64) {
				out = append(out, n)
			}
		case mdr.EntityScript:
			out = append(out, n)
		}
	}
	if len(procs) == 0 {
		procs = hubs
	}
	for _, p := range procs {
		parent := false
		for e := g.nodes.at(p).headOut; e != 0; e = g.edges.at(e).nextOut {
			if g.edges.at(e).kind() == mdr.RelSpawned && slices.Contains(procs, g.edges.at(e).to) {
				parent = true
				break
			}
		}
		if !parent {
			out = append(out, p)
		}
	}
	return out
}

// resolve returns the node of an entity id, joining a process that the
// alert named by host and pid alone (a stateless mapping of its event) to
// the process the graph's table knows under that pid at time t.
func (g *Graph) resolve(id string, t time.Time) (uint32, bool) {
	if n, ok := g.ids[id]; ok {
		return n, true
	}
	rest, ok := strings.CutPrefix(id, "process:")
	if !ok || g.mapper.Processes == nil {
		return 0, false
	}
	rest, _, _ = strings.Cut(rest, "@")
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return 0, false
	}
	pid, err := strconv.ParseInt(rest[i+1:], 10, 64)
	if err != nil {
		return 0, false
	}
	known, ok := g.mapper.Processes.Lookup(rest[:i], pid, t)
	if !ok {
		return 0, false
	}
	n, ok := g.ids[known]
	return n, ok
}
