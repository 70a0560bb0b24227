package investigate

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/schema"
)

// TreeNode is one process of a process tree.
type TreeNode struct {
	Process mdr.Entity `json:"process"`
	// Label is how an analyst names the process: image base name and pid.
	Label string `json:"label"`
	// User is the name of the account it ran as.
	User string `json:"user,omitempty"`
	// Start is when it was first seen (its creation when the graph saw it).
	Start    time.Time   `json:"start"`
	Hub      bool        `json:"hub,omitempty"`
	Children []*TreeNode `json:"children,omitempty"`
}

// Walk calls f for t and its descendants, depth first, with their depth.
func (t *TreeNode) Walk(f func(n *TreeNode, depth int)) { t.walk(f, 0) }

func (t *TreeNode) walk(f func(*TreeNode, int), d int) {
	f(t, d)
	for _, c := range t.Children {
		c.walk(f, d+1)
	}
}

// ProcessTree returns the process trees of host (a host name or a
// "host:" id) for the processes first seen in [from, to) (zero bounds are
// open): the roots are the processes whose parent is unknown, on another
// host or outside the window, sorted by start time, and each node's
// children likewise.
func (g *Graph) ProcessTree(ctx context.Context, host string, from, to time.Time) ([]*TreeNode, error) {
	hid := host
	if !strings.HasPrefix(hid, "host:") {
		hid = schema.HostID(host)
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	h, err := g.lookup(hid)
	if err != nil {
		return nil, err
	}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !from.IsZero() {
		lo = from.UnixMicro()
	}
	if !to.IsZero() {
		hi = to.UnixMicro()
	}
	in := map[uint32]*TreeNode{}
	var procs []uint32
	for e := g.nodes.at(h).headIn; e != 0; e = g.edges.at(e).nextIn {
		x := g.edges.at(e)
		if x.kind() != mdr.RelRanOn || g.nodes.at(x.from).host != h {
			continue
		}
		p := x.from
		if _, ok := in[p]; ok {
			continue
		}
		t := g.firstSeen(p)
		if t < lo || t >= hi {
			continue
		}
		in[p] = &TreeNode{Process: g.entityOf(p), Label: g.label(p), User: g.userName(p), Start: usec(t), Hub: g.nodes.at(p).hub}
		procs = append(procs, p)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var roots []*TreeNode
	for _, p := range procs {
		var parent uint32
		for e := g.nodes.at(p).headIn; e != 0; e = g.edges.at(e).nextIn {
			if g.edges.at(e).kind() == mdr.RelSpawned {
				parent = g.edges.at(e).from
			}
		}
		if pn, ok := in[parent]; ok && parent != p {
			pn.Children = append(pn.Children, in[p])
		} else {
			roots = append(roots, in[p])
		}
	}
	sortTree(roots)
	return roots, nil
}

func sortTree(ns []*TreeNode) {
	slices.SortFunc(ns, func(a, b *TreeNode) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.Process.ID, b.Process.ID)
	})
	for _, n := range ns {
		sortTree(n.Children)
	}
}

// label names node n as an analyst expects: a process by image base name
// and pid, a host by its short name, a SID by the user that has it, else
// the entity's name or id.
func (g *Graph) label(n uint32) string {
	x := g.nodes.at(n)
	switch x.kind {
	case mdr.EntityProcess:
		img := g.nm(x)
		if img == "" {
			img = "?"
		}
		s := baseName(img)
		if pid, ok := blobGet(g.blobs, x.attrs, "pid"); ok {
			s += " (" + pid + ")"
		}
		return s
	case mdr.EntityHost:
		return shortHost(g.nm(x))
	case mdr.EntityAccount:
		if strings.HasPrefix(x.id, "sid:") {
			if u := g.sidUser(strings.TrimPrefix(x.id, "sid:")); u != 0 {
				return g.nm(g.nodes.at(u))
			}
		}
	}
	if g.nm(x) != "" {
		return g.nm(x)
	}
	return x.id
}

// sidUser returns the user node that carries sid, 0 when none: a user
// entity with a "sid" attribute is linked from the SID's account node by
// an alias recorded at insertion (see Graph.entity).
func (g *Graph) sidUser(sid string) uint32 {
	return g.sids[strings.ToUpper(sid)]
}

func (g *Graph) userName(p uint32) string {
	if u := g.nodes.at(p).user; u != 0 {
		return g.label(u)
	}
	return ""
}

func shortHost(name string) string {
	if i := strings.IndexByte(name, '.'); i > 0 {
		return name[:i]
	}
	return name
}

// Label returns how an analyst names entity id (see ProcessTree's nodes):
// a process as image and pid, a host by its short name, a SID by its user.
func (g *Graph) Label(id string) string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.ids[id]
	if !ok {
		return id
	}
	return g.label(n)
}

// sameFact is how close two reports of one relation are taken to be the
// same fact seen twice (Sysmon 1 and Security 4688 of one process
// creation), which a timeline does not count as a repetition.
const sameFact = 5 * time.Second

// TimelineEntry is one line of a timeline: what happened, when, where, and
// the event that says so.
type TimelineEntry struct {
	Time    time.Time        `json:"time"`
	Host    string           `json:"host"`
	Text    string           `json:"text"`
	EventID string           `json:"event_id"`
	Kind    mdr.RelationKind `json:"-"`
	From    string           `json:"-"`
	To      string           `json:"-"`
	Count   int              `json:"-"`
}

// Timeline returns the scope's edges as sentences in event time, leaving
// out the bookkeeping relations (ran_on, ran_as, executed).
func (g *Graph) Timeline(s *Scope) []TimelineEntry {
	if s == nil {
		return nil
	}
	return g.TimelineOf(s.Edges)
}

// TimelineOf returns the given edges as timeline entries in event time
// (ties keep their order), leaving out ran_on, ran_as and executed. An
// edge that stands for several reduced relations says how many and when
// the last was (unless they all lie within a few seconds: one fact
// reported by two sources).
func (g *Graph) TimelineOf(edges []Edge) []TimelineEntry {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]TimelineEntry, 0, len(edges))
	said := map[string]time.Time{}
	for _, e := range edges {
		switch e.Kind {
		case mdr.RelRanOn, mdr.RelRanAs, mdr.RelExecuted:
			continue
		}
		text := g.describe(e)
		if t, ok := said[text]; ok && e.First.Sub(t) <= sameFact && t.Sub(e.First) <= sameFact {
			continue // one fact from two sources (a 7045 and a 4697, a SID and its user)
		}
		said[text] = e.First
		if e.Count > 1 && e.Last.Sub(e.First) > sameFact {
			text += fmt.Sprintf(" (×%d, last %s)", e.Count, e.Last.UTC().Format("15:04:05.000"))
		}
		out = append(out, TimelineEntry{Time: e.First, Host: g.hostOfEdge(e), Text: text, EventID: e.EventID,
			Kind: e.Kind, From: e.From, To: e.To, Count: e.Count})
	}
	slices.SortStableFunc(out, func(a, b TimelineEntry) int { return a.Time.Compare(b.Time) })
	return out
}

// EdgesBetween returns every edge whose first time is in [from, to) (zero
// bounds are open), in event time, ties in insertion order.
func (g *Graph) EdgesBetween(from, to time.Time) []Edge {
	g.mu.RLock()
	defer g.mu.RUnlock()
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !from.IsZero() {
		lo = from.UnixMicro()
	}
	if !to.IsZero() {
		hi = to.UnixMicro()
	}
	var out []Edge
	for i := 1; i < g.edges.len(); i++ {
		if t := g.edges.at(uint32(i)).first(); t >= lo && t < hi {
			out = append(out, g.edgeOf(uint32(i)))
		}
	}
	slices.SortStableFunc(out, func(a, b Edge) int { return a.First.Compare(b.First) })
	return out
}

func (g *Graph) hostOfEdge(e Edge) string {
	if n, ok := g.ids[e.From]; ok {
		if h := g.nodes.at(n).host; h != 0 {
			return g.nm(g.nodes.at(h))
		}
	}
	for _, id := range []string{e.To, e.From} {
		if n, ok := g.ids[id]; ok && g.nodes.at(n).kind == mdr.EntityHost {
			return g.nm(g.nodes.at(n))
		}
	}
	return ""
}

// Describe renders an edge as a sentence an analyst reads ("powershell.exe
// (8772) on WKS-1 wrote C:\x.exe").
func (g *Graph) Describe(e Edge) string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.describe(e)
}

func (g *Graph) name(id string) string {
	if n, ok := g.ids[id]; ok {
		return g.label(n)
	}
	return id
}

func (g *Graph) attr(id, key string) string {
	if n, ok := g.ids[id]; ok {
		return blobVal(g.blobs, g.nodes.at(n).attrs, key)
	}
	return ""
}

func (g *Graph) describe(r Edge) string {
	from, to := g.name(r.From), g.name(r.To)
	on := ""
	if n, ok := g.ids[r.From]; ok && g.nodes.at(n).host != 0 {
		on = " on " + g.label(g.nodes.at(n).host)
	}
	a := r.Attrs
	switch r.Kind {
	case mdr.RelSpawned:
		s := from + " started " + to + on
		if cl := g.attr(r.To, "command_line"); cl != "" {
			s += ": " + Clip(cl, 90)
		}
		return s
	case mdr.RelConnected:
		s := fmt.Sprintf("%s%s connected to %s", from, on, to)
		if a["protocol"] != "" {
			s += " " + a["protocol"]
		}
		if a["remote_hostname"] != "" {
			s += " (" + a["remote_hostname"] + ")"
		}
		return s
	case mdr.RelResolved:
		return fmt.Sprintf("%s%s resolved %s", from, on, to)
	case mdr.RelWroteFile:
		s := fmt.Sprintf("%s%s wrote %s", from, on, to)
		if runs := g.executedBy(r.To); len(runs) > 0 {
			s += "  → later executed as " + strings.Join(runs, ", ")
		}
		return s
	case mdr.RelDeletedFile:
		return fmt.Sprintf("%s%s deleted %s", from, on, to)
	case mdr.RelRenamedFile:
		return fmt.Sprintf("%s%s renamed a file to %s", from, on, to)
	case mdr.RelSetRegistry:
		s := fmt.Sprintf("%s%s set %s", from, on, to)
		if a["details"] != "" {
			s += " = " + a["details"]
		}
		return s
	case mdr.RelDeletedRegistry:
		return fmt.Sprintf("%s%s deleted %s", from, on, to)
	case mdr.RelRenamedRegistry:
		return fmt.Sprintf("%s%s renamed a key to %s", from, on, to)
	case mdr.RelOpenedProcess:
		return fmt.Sprintf("%s%s opened %s with access %s", from, on, to, a["granted_access"])
	case mdr.RelCreatedRemoteThread:
		return fmt.Sprintf("%s%s created a thread in %s", from, on, to)
	case mdr.RelExecutedScript:
		return fmt.Sprintf("%s%s ran script: %s", from, on, Clip(g.attr(r.To, "text"), 140))
	case mdr.RelInstalledService:
		s := fmt.Sprintf("service %s installed", g.nameOf(r.To))
		if h := hostPart(r.To); h != "" {
			s += " on " + g.name("host:"+h)
		}
		s += " by " + from
		if p := g.attr(r.To, "path"); p != "" {
			s += ": " + p
		}
		return s
	case mdr.RelCreatedTask:
		s := fmt.Sprintf("scheduled task %s created", g.nameOf(r.To))
		if h := hostPart(r.To); h != "" {
			s += " on " + g.name("host:"+h)
		}
		s += " by " + from
		if c := g.attr(r.To, "command"); c != "" {
			s += ": " + strings.TrimSpace(c+" "+g.attr(r.To, "arguments"))
		}
		return s
	case mdr.RelLoggedOn, mdr.RelLogonFailed, mdr.RelLoggedOff:
		s := fmt.Sprintf("%s %s %s (type %s", from, logonVerb(r.Kind), to, a["logon_type"])
		if ip := a["source_ip"]; ip != "" && ip != "127.0.0.1" {
			s += " from " + ip
		}
		return s + ")"
	case mdr.RelUsedCredentials:
		return fmt.Sprintf("%s%s used the credentials of %s for %s", from, on, to, a["target_server"])
	case mdr.RelGrantedPrivileges:
		return fmt.Sprintf("%s got special privileges on %s", from, to)
	case mdr.RelAccessedShare:
		s := fmt.Sprintf("%s accessed %s", from, to)
		if t := a["relative_target"]; t != "" {
			s += `\` + t
		}
		if ip := a["source_ip"]; ip != "" {
			s += " from " + ip
		}
		return s
	case mdr.RelLoadedImage:
		return fmt.Sprintf("%s%s loaded %s", from, on, to)
	case mdr.RelTerminated:
		return fmt.Sprintf("%s%s exited", from, on)
	case mdr.RelCreatedAccount:
		return fmt.Sprintf("%s created account %s", from, to)
	case mdr.RelDeletedAccount:
		return fmt.Sprintf("%s deleted account %s", from, to)
	case mdr.RelAddedToGroup:
		return fmt.Sprintf("%s added to group %s", from, to)
	case mdr.RelRemovedFromGroup:
		return fmt.Sprintf("%s removed from group %s", from, to)
	case mdr.RelClearedLog:
		return fmt.Sprintf("%s cleared the %s log on %s", from, a["log"], to)
	}
	return fmt.Sprintf("%s %s %s", from, r.Kind, to)
}

func (g *Graph) nameOf(id string) string {
	if n, ok := g.ids[id]; ok && g.nm(g.nodes.at(n)) != "" {
		return g.nm(g.nodes.at(n))
	}
	return id
}

// executedBy returns the labels of the processes that ran file id.
func (g *Graph) executedBy(id string) []string {
	n, ok := g.ids[id]
	if !ok {
		return nil
	}
	var out []string
	var ps []uint32
	for e := g.nodes.at(n).headIn; e != 0; e = g.edges.at(e).nextIn {
		if g.edges.at(e).kind() == mdr.RelExecuted && !slices.Contains(ps, g.edges.at(e).from) {
			ps = append(ps, g.edges.at(e).from)
		}
	}
	slices.Reverse(ps) // oldest first
	for _, p := range ps {
		out = append(out, g.label(p))
	}
	return out
}

func logonVerb(k mdr.RelationKind) string {
	switch k {
	case mdr.RelLogonFailed:
		return "failed to log on to"
	case mdr.RelLoggedOff:
		return "logged off from"
	}
	return "logged on to"
}

// hostPart returns the host of a "kind:host\rest" id.
func hostPart(id string) string {
	_, rest, ok := strings.Cut(id, ":")
	if !ok {
		return ""
	}
	h, _, _ := strings.Cut(rest, `\`)
	return h
}

// Clip folds runs of white space and shortens s to at most n bytes (on a
// character boundary), marking a cut with an ellipsis.
func Clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
