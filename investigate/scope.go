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
	"github.com/mdrkit/mdr/schema"
)

// ItemKind is the kind of thing a scope Item is.
type ItemKind uint8

// Kinds of scope items.
const (
	ItemUnknown         ItemKind = iota
	ItemFile                     // a file: Name is its path as written
	ItemRegistry                 // a registry value: Name is the full key path with the value name, as Sysmon's TargetObject writes it
	ItemService                  // a service: Name is the service name; ImagePath its binary
	ItemTask                     // a scheduled task: Name is its path; Command what it runs
	ItemAccount                  // an account created, deleted or used: Name as written (DOMAIN\name)
	ItemGroupMembership          // an account added to or removed from a group: Name is the member, Groups the group
	ItemProcess                  // a process: PID, Image, CommandLine, ParentID
	ItemEndpoint                 // a network endpoint: Address and Port
	ItemDomain                   // a domain name resolved
	ItemHost                     // a host reached (logged on to)
	ItemUser                     // a user whose credentials were used
	ItemShare                    // a network share accessed
)

var itemKindNames = [...]string{"unknown", "file", "registry", "service", "task", "account", "group_membership",
	"process", "network_endpoint", "domain", "host", "user", "share"}

func (k ItemKind) String() string {
	if int(k) < len(itemKindNames) {
		return itemKindNames[k]
	}
	return "item(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (k ItemKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *ItemKind) UnmarshalText(b []byte) error {
	for i, n := range itemKindNames {
		if n == string(b) {
			*k = ItemKind(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown item kind %q", ErrInput, b)
}

// Action is what the attack did to a scope item.
type Action uint8

// Actions.
const (
	ActUnknown   Action = iota
	ActCreated          // created (a file, a registry value with no prior value seen, a service, a task, an account)
	ActModified         // changed (a file overwritten, a registry value whose prior value was seen, a task updated)
	ActDeleted          // deleted
	ActRenamed          // renamed (Name is the new name)
	ActExecuted         // a process started
	ActRead             // read (a file, a registry key)
	ActContacted        // a network endpoint connected to
	ActResolved         // a domain resolved
	ActLoggedOn         // a host logged on to
	ActAccessed         // a share accessed, a process opened
	ActInjected         // a remote thread created in a process, or a process opened with write access
	ActLoaded           // a process loaded a file the attack wrote
	ActAdded            // an account added to a group
	ActRemoved          // an account removed from a group
	ActUsed             // credentials used
)

var actionNames = [...]string{"unknown", "created", "modified", "deleted", "renamed", "executed", "read", "contacted",
	"resolved", "logged_on", "accessed", "injected", "loaded", "added", "removed", "used"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Action) UnmarshalText(b []byte) error {
	for i, n := range actionNames {
		if n == string(b) {
			*a = Action(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown action %q", ErrInput, b)
}

// Role says how an item entered the scope.
type Role uint8

// Roles.
const (
	RoleImpact Role = iota // reached forward from the attack's entities
	RoleAlert              // named by an alert
	RoleCause              // on the causal chain behind an alert (below the first hub)
)

var roleNames = [...]string{"impact", "alert", "cause"}

func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return "role(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Item is one thing in an incident's scope: what the attack created,
// changed, ran, contacted or reached, with the events that prove it.
type Item struct {
	Kind     ItemKind `json:"kind"`
	EntityID string   `json:"entity_id"`
	// Host is the host name as the events wrote it.
	Host string `json:"host,omitempty"`
	// Name is the item's name as Windows wrote it: a file path, a registry
	// key path with the value name (Sysmon's TargetObject), a service or
	// task name, an account (DOMAIN\name), an endpoint address, a domain, a
	// process image.
	Name   string `json:"name"`
	Action Action `json:"action"`
	Role   Role   `json:"role"`
	// Data is what was written (a registry value's data).
	Data string `json:"data,omitempty"`
	// Prior is, for a registry value, the data the graph saw it hold
	// before the attack changed it (a set by a process outside the scope,
	// or the old value a Security 4657 reported); PriorSeen says whether
	// there was one.
	Prior     string `json:"prior,omitempty"`
	PriorSeen bool   `json:"prior_seen,omitempty"`
	// Processes.
	PID         int64  `json:"pid,omitempty"`
	Image       string `json:"image,omitempty"`
	CommandLine string `json:"command_line,omitempty"`
	ParentID    string `json:"parent_id,omitempty"`
	// ImagePath is a service's binary; Command a task's command and
	// arguments.
	ImagePath string `json:"image_path,omitempty"`
	Command   string `json:"command,omitempty"`
	// Groups are, for a membership, the group an account was added to or
	// removed from, and for an account, the groups the scope added it to.
	Groups []string `json:"groups,omitempty"`
	// Address and Port of an endpoint, Domain the name it was reached by.
	Address string `json:"address,omitempty"`
	Port    string `json:"port,omitempty"`
	Domain  string `json:"domain,omitempty"`
	// By is the entity (a process, else a user) that did it.
	By string `json:"by,omitempty"`
	// User is the account a process ran as.
	User        string    `json:"user,omitempty"`
	First       time.Time `json:"first"`
	Last        time.Time `json:"last"`
	EventIDs    []string  `json:"event_ids,omitempty"`
	firstEdgeAt int64
}

// Ref names one entity.
type Ref struct {
	Kind mdr.EntityKind `json:"kind"`
	ID   string         `json:"id"`
	Name string         `json:"name"`
}

// Scope is the answer to "what happened, when, where, and what is
// affected" for a set of alerts: the root cause, the hosts and users, every
// item the attack touched, first and last time, and for each item the
// events that prove it. An item is in the scope only through a causal path
// from the alerts' entities (see Graph.Scope).
//
// A Scope is a plain value: safe to read from several goroutines, not to
// modify concurrently.
type Scope struct {
	Alerts    []string  `json:"alerts,omitempty"`
	RootCause Ref       `json:"root_cause"`
	Hosts     []string  `json:"hosts"`
	Users     []string  `json:"users"`
	Items     []Item    `json:"items"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	EventIDs  []string  `json:"event_ids"`
	// Edges are the causal edges the scope was built from (the chain and
	// the forward tracking), in event time; Timeline and the pictures draw
	// them.
	Edges     []Edge `json:"edges,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	// Entities holds every entity the edges name, by id.
	Entities map[string]mdr.Entity `json:"-"`
}

// Of returns the items of one kind, in scope order.
func (s *Scope) Of(k ItemKind) []Item {
	var out []Item
	for _, it := range s.Items {
		if it.Kind == k {
			out = append(out, it)
		}
	}
	return out
}

// ScopeLimits bound Graph.Scope: Chain bounds each backward walk, Impact
// each forward walk, MaxItems the items of the answer.
type ScopeLimits struct {
	Chain    Limits
	Impact   Limits
	MaxItems int
}

// DefaultScopeLimits returns the limits Scope uses for zero fields.
func DefaultScopeLimits() ScopeLimits {
	return ScopeLimits{Chain: Limits{MaxDepth: 32, MaxNodes: 512}, Impact: Limits{MaxDepth: 16, MaxNodes: 2048, Window: 7 * 24 * time.Hour}, MaxItems: 4096}
}

// Scope builds the scope of a set of alerts (an incident).
//
// The attack's entities are the alerts' actors (see CausalChain: the
// processes an alert names that are neither hubs nor parents of another of
// its processes, and the written files it names). From each, Scope walks
// back along process creation, files written then run, and remote threads
// to the first hub: those entities are the chain (RoleCause) and give the
// root cause (see Backward). From each actor process, from its start, and
// from a root-cause payload file, from when it was written, it walks
// forward (see Forward): what those reach is the impact (RoleImpact). Hubs
// stop both walks, so a scope never takes in a host's services.exe or
// explorer.exe and everything they started. Each item carries the ids of
// the events of the edges that put it in the scope.
func (g *Graph) Scope(ctx context.Context, alerts []mdr.Alert, lim ScopeLimits) (*Scope, error) {
	d := DefaultScopeLimits()
	if lim.MaxItems <= 0 {
		lim.MaxItems = d.MaxItems
	}
	if lim.Chain == (Limits{}) {
		lim.Chain = d.Chain
	}
	if lim.Impact == (Limits{}) {
		lim.Impact = d.Impact
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	b := &scopeBuilder{g: g, s: &Scope{Entities: map[string]mdr.Entity{}}, items: map[itemKey]int{},
		role: map[uint32]Role{}, edgeSeen: map[uint32]bool{}, lim: lim, edgeHost: map[uint32]string{},
		alertHosts: map[string]bool{}, alertUsers: map[string]bool{}, seedFrom: map[uint32]int64{}, edgeEvents: map[uint32][]string{}, seedEvents: map[uint32][]string{}}
	var rootT int64 = math.MaxInt64
	var rootID string
	var payloads []uint32
	for i := range alerts {
		a := &alerts[i]
		b.s.Alerts = append(b.s.Alerts, a.ID)
		if a.Host != "" {
			b.alertHosts[a.Host] = true
		}
		for j := range a.Entities {
			if a.Entities[j].Kind == mdr.EntityUser && !systemAccount(a.Entities[j].ID) && a.Entities[j].Name != "" {
				b.alertUsers[a.Entities[j].Name] = true
			}
		}
		at := int64(math.MaxInt64)
		if !a.Time.IsZero() {
			at = a.Time.UnixMicro()
		}
		b.alertEdges(a, at)
		for _, s := range g.alertSeeds(a) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			b.role[s] = RoleAlert
			if t, ok := b.seedFrom[s]; !ok || at < t {
				b.seedFrom[s] = at // MaxInt64 for an alert without a time: from the start then
			}
			b.seedEvents[s] = append(b.seedEvents[s], a.EventIDs...)
			if g.nodes.at(s).hub {
				continue
			}
			w := g.newWalk(Backward, lim.Chain)
			w.kinds = chainKinds
			if err := w.run(ctx, s, at); err != nil {
				return nil, err
			}
			b.s.Truncated = b.s.Truncated || w.truncated
			for _, n := range w.order {
				if _, ok := b.role[n]; !ok && !g.nodes.at(n).hub {
					if g.nodes.at(n).kind == mdr.EntityProcess || (g.nodes.at(n).kind == mdr.EntityFile && g.written(n, at)) {
						b.role[n] = RoleCause
					}
				}
			}
			for _, e := range w.edges {
				x := g.edges.at(e)
				// Keep the chain's edges between chain members (and the
				// edge from the hub that started the chain, for context).
				if _, ok := b.role[x.from]; ok || g.nodes.at(x.from).hub {
					if _, ok := b.role[x.to]; ok {
						b.edge(e)
					}
				}
			}
			_, root := g.roots(w)
			if n, ok := g.ids[root]; ok {
				t := g.firstSeen(n)
				if t < rootT || rootID == "" {
					rootT, rootID = t, root
				}
				if g.nodes.at(n).kind == mdr.EntityFile {
					payloads = append(payloads, n)
				}
			}
		}
	}
	if rootID == "" {
		rootID = b.alertRoot()
	}
	if rootID != "" {
		e := g.entityOf(g.ids[rootID])
		b.s.RootCause = Ref{Kind: e.Kind, ID: e.ID, Name: e.Name}
	}
	// Forward from every actor process and every payload.
	var starts []uint32
	for n, r := range b.role {
		if r == RoleAlert && g.nodes.at(n).kind == mdr.EntityProcess && !g.nodes.at(n).hub {
			starts = append(starts, n)
		}
	}
	slices.Sort(starts)
	for _, n := range starts {
		// What the process did from the first alert on it (from its start
		// when that alert is its creation): an Outlook that has run all
		// day is in the scope for the attachment it wrote, not for the
		// mail it fetched before.
		from := g.startOf(n)
		if t, ok := b.seedFrom[n]; ok && t > from && t != math.MaxInt64 {
			from = t
		}
		if err := b.forward(ctx, n, from); err != nil {
			return nil, err
		}
	}
	for _, n := range payloads {
		t := int64(math.MaxInt64)
		for e := g.nodes.at(n).headIn; e != 0; e = g.edges.at(e).nextIn {
			if k := g.edges.at(e).kind(); k == mdr.RelWroteFile || k == mdr.RelRenamedFile {
				t = min(t, g.edges.at(e).first())
			}
		}
		if err := b.forward(ctx, n, t); err != nil {
			return nil, err
		}
	}
	b.attributeProxies()
	b.finish()
	return b.s, nil
}

// maxAlertEdges bounds the edges of one entity that alertEdges looks at
// (an alert's event joins its entities, and at least one of them, the
// actor, has few edges).
const maxAlertEdges = 1024

// alertEdges adds the edges of alert a's own events: the edges touching
// its entities whose event is one of the alert's, or whose time span holds
// the alert's time and that join two of its entities. So an alert on a
// service installation, a logon or a share access puts what it saw in the
// scope even when no process is named.
func (b *scopeBuilder) alertEdges(a *mdr.Alert, at int64) {
	g := b.g
	evs := make(map[string]bool, len(a.EventIDs))
	for _, id := range a.EventIDs {
		evs[id] = true
	}
	ents := map[uint32]bool{}
	for i := range a.Entities {
		if n, ok := g.resolve(a.Entities[i].ID, a.Time); ok {
			ents[n] = true
		}
	}
	match := func(e uint32, other uint32) bool {
		x := g.edges.at(e)
		if flowOf(x.kind()) == flowNone {
			return false
		}
		if x.ev != 0 && g.eventIn(x.ev, evs) {
			return true
		}
		return ents[other] && x.first() <= at && at <= x.last()
	}
	for n := range ents {
		i := 0
		for e := g.nodes.at(n).headOut; e != 0 && i < maxAlertEdges; e = g.edges.at(e).nextOut {
			i++
			if match(e, g.edges.at(e).to) {
				b.alertEdge(e, a)
			}
		}
		if g.nodes.at(n).kind == mdr.EntityHost {
			continue // its incoming edges are every process's ran_on
		}
		i = 0
		for e := g.nodes.at(n).headIn; e != 0 && i < maxAlertEdges; e = g.edges.at(e).nextIn {
			i++
			if match(e, g.edges.at(e).from) {
				b.alertEdge(e, a)
			}
		}
	}
}

func (b *scopeBuilder) alertEdge(e uint32, a *mdr.Alert) {
	g := b.g
	b.edge(e)
	if _, ok := b.edgeHost[e]; !ok && a.Host != "" {
		b.edgeHost[e] = a.Host
	}
	b.edgeEvents[e] = append(b.edgeEvents[e], a.EventIDs...)
	b.alertEdgeList = append(b.alertEdgeList, e)
	for _, n := range []uint32{g.edges.at(e).from, g.edges.at(e).to} {
		switch g.nodes.at(n).kind {
		case mdr.EntityHost, mdr.EntityUser, mdr.EntityAccount:
			continue
		}
		if _, ok := b.role[n]; !ok && !g.nodes.at(n).hub {
			b.role[n] = RoleAlert
		}
	}
}

// alertRoot picks a root cause when no alert named a process: the source
// of the earliest edge of the alerts' own events (a logon's source
// address, else the entity that acted).
func (b *scopeBuilder) alertRoot() string {
	g := b.g
	var best uint32
	for _, e := range b.alertEdgeList {
		if best == 0 || g.edges.at(e).first() < g.edges.at(best).first() {
			best = e
		}
	}
	if best == 0 {
		return ""
	}
	x := g.edges.at(best)
	if ip := blobVal(g.blobs, x.attrs, "source_ip"); ip != "" {
		if _, ok := g.ids["ip:"+strings.ToLower(ip)]; ok {
			return "ip:" + strings.ToLower(ip)
		}
	}
	if g.nodes.at(x.from).kind != mdr.EntityHost {
		return g.nodes.at(x.from).id
	}
	return g.nodes.at(x.to).id
}

// proxyWindow is how long after a process started the host's machinery
// may carry out what its command line asked for.
const proxyWindow = 10 * time.Minute

// attributeProxies links the proxy edges (see Graph.proxies) to the
// scope: a service installed, a task or account created, a group changed,
// or a service's or task's registry written by a hub, on the host of a
// scope process, within proxyWindow after it started, whose name the
// process's command line (or a script it ran) names as a whole word. That
// is how `sc create`, `schtasks /create`, `net user /add` and their
// PowerShell equivalents act: through services.exe, the task scheduler and
// the SAM, never writing the thing themselves.
func (b *scopeBuilder) attributeProxies() {
	g := b.g
	if len(g.proxies) == 0 {
		return
	}
	type source struct {
		host  uint32
		start int64
		text  string
	}
	var srcs []source
	for n := range b.role {
		x := g.nodes.at(n)
		if x.kind != mdr.EntityProcess || x.hub {
			continue
		}
		var texts []string
		if cl := blobVal(g.blobs, x.attrs, "command_line"); cl != "" {
			texts = append(texts, cl)
		}
		i := 0
		for e := x.headOut; e != 0 && i < maxAlertEdges; e = g.edges.at(e).nextOut {
			i++
			if g.edges.at(e).kind() == mdr.RelExecutedScript {
				if t := blobVal(g.blobs, g.nodes.at(g.edges.at(e).to).attrs, "text"); t != "" {
					texts = append(texts, t)
				}
			}
		}
		if len(texts) > 0 {
			srcs = append(srcs, source{x.host, g.startOf(n), strings.ToLower(strings.Join(texts, "\n"))})
		}
	}
	if len(srcs) == 0 {
		return
	}
	win := proxyWindow.Microseconds()
	for _, p := range g.proxies {
		if b.edgeSeen[p.edge] {
			continue
		}
		x := g.edges.at(p.edge)
		var names []string
		for _, s := range srcs {
			if s.host != p.host || x.first() < s.start || x.first() > s.start+win {
				continue
			}
			if names == nil {
				if names = g.proxyNames(x); len(names) == 0 {
					break
				}
			}
			hit := false
			for _, nm := range names {
				if containsWord(s.text, nm) {
					hit = true
					break
				}
			}
			if hit {
				b.edge(p.edge)
				if p.host != 0 {
					b.edgeHost[p.edge] = g.nm(g.nodes.at(p.host))
				}
				for _, n := range []uint32{x.from, x.to} {
					if k := g.nodes.at(n).kind; k != mdr.EntityHost && k != mdr.EntityUser && k != mdr.EntityAccount {
						if _, ok := b.role[n]; !ok {
							b.role[n] = RoleImpact
						}
					}
				}
				break
			}
		}
	}
}

// proxyNames returns the lower-cased names by which a command line would
// name the target of proxy edge x.
func (g *Graph) proxyNames(x *edgeRec) []string {
	to, from := g.nodes.at(x.to), g.nodes.at(x.from)
	var out []string
	add := func(s string) {
		s = strings.ToLower(strings.Trim(s, `" `))
		if len(s) >= 3 {
			out = append(out, s)
		}
	}
	switch x.kind() {
	case mdr.RelInstalledService:
		add(g.nm(to))
	case mdr.RelCreatedTask:
		add(g.nm(to))
		add(baseName(g.nm(to)))
	case mdr.RelCreatedAccount, mdr.RelDeletedAccount:
		add(accountName(g.nm(to)))
	case mdr.RelAddedToGroup, mdr.RelRemovedFromGroup:
		add(accountName(g.nm(from)))
	case mdr.RelSetRegistry, mdr.RelDeletedRegistry:
		k := strings.ToLower(g.nm(to))
		for _, marker := range []string{`\services\`, `	ree\`} {
			if i := strings.LastIndex(k, marker); i >= 0 {
				rest := k[i+len(marker):]
				if marker == `\services\` {
					rest, _, _ = strings.Cut(rest, `\`)
				} else if j := strings.LastIndexByte(rest, '\\'); j >= 0 {
					rest = rest[:j] // the task's path, without the value name
				}
				add(rest)
				break
			}
		}
	}
	return out
}

func accountName(s string) string {
	if i := strings.LastIndexByte(s, '\\'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// containsWord reports whether s holds w with no letter, digit, '_', '-'
// or '.' right before or after it (both lower-cased).
func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(w)
		if (j == 0 || !wordByte(s[j-1])) && (end == len(s) || !wordByte(s[end])) {
			return true
		}
		i = j + 1
	}
}

func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c >= 0x80
}

type itemKey struct {
	id  string
	act Action
}

type scopeBuilder struct {
	g        *Graph
	s        *Scope
	lim      ScopeLimits
	items    map[itemKey]int
	role     map[uint32]Role
	edgeSeen map[uint32]bool
	edges    []uint32
	// alertEdgeList are the edges of the alerts' own events.
	alertEdgeList []uint32
	// edgeHost is the host of an edge's event where the edge's source
	// does not tell it (an alert's event, a proxy edge).
	edgeHost               map[uint32]string
	alertHosts, alertUsers map[string]bool
	// seedFrom is the time of the first alert naming each actor.
	seedFrom map[uint32]int64
	// edgeEvents are alert events that prove an edge besides its first;
	// seedEvents the events of the alerts that name an actor.
	edgeEvents, seedEvents map[uint32][]string
}

func (b *scopeBuilder) edge(e uint32) {
	if !b.edgeSeen[e] {
		b.edgeSeen[e] = true
		b.edges = append(b.edges, e)
	}
}

func (b *scopeBuilder) forward(ctx context.Context, n uint32, from int64) error {
	w := b.g.newWalk(Forward, b.lim.Impact)
	if err := w.run(ctx, n, from); err != nil {
		return err
	}
	b.s.Truncated = b.s.Truncated || w.truncated
	for _, m := range w.order {
		if _, ok := b.role[m]; !ok {
			b.role[m] = RoleImpact
		}
	}
	for _, e := range w.edges {
		b.edge(e)
	}
	return nil
}

// finish turns the collected edges and entities into items.
func (b *scopeBuilder) finish() {
	g := b.g
	slices.SortStableFunc(b.edges, func(x, y uint32) int { return cmpInt(g.edges.at(x).first(), g.edges.at(y).first()) })
	// Processes of the scope, and what they read.
	procs := make([]uint32, 0)
	for n := range b.role {
		if g.nodes.at(n).kind == mdr.EntityProcess {
			procs = append(procs, n)
		}
	}
	slices.Sort(procs)
	for _, n := range procs {
		if _, seed := b.seedFrom[n]; g.nodes.at(n).hub && !seed {
			continue // a hub reached (a DLL loaded by svchost) is reported through the edge's item
		}
		b.processItem(n, ActExecuted)
		if g.nodes.at(n).hub {
			continue
		}
		for e := g.nodes.at(n).headOut; e != 0; e = g.edges.at(e).nextOut {
			if k := g.edges.at(e).kind(); k == mdr.RelReadFile || k == mdr.RelAccessedObject {
				b.edge(e)
			}
		}
	}
	for _, e := range b.edges {
		b.edgeItem(e)
	}
	hosts, users := map[string]bool{}, map[string]bool{}
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	evs := map[string]bool{}
	for _, e := range b.edges {
		x := g.edges.at(e)
		first, last = min(first, x.first()), max(last, x.last())
		if id := g.eventID(x.ev); id != "" {
			evs[id] = true
		}
		ed := g.edgeOf(e)
		b.s.Edges = append(b.s.Edges, ed)
		for _, n := range []uint32{x.from, x.to} {
			if _, ok := b.s.Entities[g.nodes.at(n).id]; !ok {
				b.s.Entities[g.nodes.at(n).id] = g.entityOf(n)
			}
		}
	}
	for _, n := range procs {
		if _, ok := b.s.Entities[g.nodes.at(n).id]; !ok {
			b.s.Entities[g.nodes.at(n).id] = g.entityOf(n)
		}
		x := g.nodes.at(n)
		if _, seed := b.seedFrom[n]; x.hub && !seed {
			continue
		}
		if x.host != 0 {
			hosts[g.nm(g.nodes.at(x.host))] = true
		}
		if x.user != 0 && !systemAccount(g.nodes.at(x.user).id) {
			users[g.nm(g.nodes.at(x.user))] = true
		}
	}
	groups := map[string][]string{}
	for _, it := range b.s.Items {
		if it.Kind == ItemGroupMembership && it.Action == ActAdded {
			groups[it.EntityID] = append(groups[it.EntityID], it.Groups...)
		}
	}
	for i := range b.s.Items {
		it := &b.s.Items[i]
		if it.Kind == ItemAccount && len(groups[it.EntityID]) > 0 {
			it.Groups = groups[it.EntityID]
		}
		if it.Host != "" {
			hosts[it.Host] = true
		}
		if it.Kind == ItemHost {
			hosts[it.Name] = true
		}
		slices.Sort(it.EventIDs)
		it.EventIDs = slices.Compact(it.EventIDs)
		for _, id := range it.EventIDs {
			evs[id] = true
		}
	}
	for h := range b.alertHosts {
		hosts[h] = true
	}
	for u := range b.alertUsers {
		users[u] = true
	}
	delete(hosts, "")
	delete(users, "")
	b.s.Hosts = sortedSet(hosts)
	b.s.Users = sortedSet(users)
	b.s.EventIDs = sortedSet(evs)
	if first != math.MaxInt64 {
		b.s.First, b.s.Last = usec(first), usec(last)
	}
	slices.SortStableFunc(b.s.Items, func(x, y Item) int {
		if c := cmpInt(int64(x.Kind), int64(y.Kind)); c != 0 {
			return c
		}
		if c := x.First.Compare(y.First); c != 0 {
			return c
		}
		return strings.Compare(x.EntityID, y.EntityID)
	})
	if len(b.s.Items) > b.lim.MaxItems {
		b.s.Items = b.s.Items[:b.lim.MaxItems]
		b.s.Truncated = true
	}
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// hostName returns the name of the host of the process (or user's
// process) n, "" when unknown.
func (b *scopeBuilder) hostName(n uint32) string {
	g := b.g
	if h := g.nodes.at(n).host; h != 0 {
		return g.nm(g.nodes.at(h))
	}
	if g.nodes.at(n).kind == mdr.EntityHost {
		return g.nm(g.nodes.at(n))
	}
	return ""
}

// add merges an item into the scope (same entity and action: times and
// events merge).
func (b *scopeBuilder) add(it Item, ev string, first, last int64) *Item {
	k := itemKey{it.EntityID, it.Action}
	if i, ok := b.items[k]; ok {
		x := &b.s.Items[i]
		if it.Data != "" && first >= x.firstEdgeAt {
			x.Data = it.Data // the value written last is what the system holds
		}
		if first < x.firstEdgeAt || x.First.IsZero() {
			x.First, x.firstEdgeAt = usec(first), first
		}
		if lt := usec(last); lt.After(x.Last) {
			x.Last = lt
		}
		if ev != "" {
			x.EventIDs = append(x.EventIDs, ev)
		}
		return x
	}
	it.First, it.Last, it.firstEdgeAt = usec(first), usec(last), first
	if first == math.MaxInt64 {
		it.First, it.Last = time.Time{}, time.Time{}
	}
	if ev != "" {
		it.EventIDs = append(it.EventIDs, ev)
	}
	b.items[k] = len(b.s.Items)
	b.s.Items = append(b.s.Items, it)
	return &b.s.Items[len(b.s.Items)-1]
}

func (b *scopeBuilder) roleOf(n uint32) Role {
	if r, ok := b.role[n]; ok {
		return r
	}
	return RoleImpact
}

func (b *scopeBuilder) processItem(n uint32, act Action) {
	g := b.g
	x := g.nodes.at(n)
	it := Item{Kind: ItemProcess, EntityID: x.id, Host: b.hostName(n), Name: g.nm(x), Image: g.nm(x), Action: act, Role: b.roleOf(n)}
	if pid, ok := blobGet(g.blobs, x.attrs, "pid"); ok {
		it.PID, _ = strconv.ParseInt(pid, 10, 64)
	}
	it.CommandLine = blobVal(g.blobs, x.attrs, "command_line")
	if x.user != 0 {
		it.User = g.nm(g.nodes.at(x.user))
	}
	ev := ""
	start := int64(math.MaxInt64)
	i := 0
	for e := x.headIn; e != 0 && i < maxAlertEdges; e = g.edges.at(e).nextIn {
		i++
		if g.edges.at(e).kind() == mdr.RelSpawned {
			it.ParentID = g.nodes.at(g.edges.at(e).from).id
			it.By = it.ParentID
			ev = g.eventID(g.edges.at(e).ev)
			start = g.edges.at(e).first()
			break
		}
	}
	if start == math.MaxInt64 {
		start = g.firstSeen(n)
	}
	end := start
	i = 0
	for e := x.headOut; e != 0 && i < 256; e = g.edges.at(e).nextOut {
		end = max(end, g.edges.at(e).last()) // the newest edges: enough for the last activity
		i++
	}
	p := b.add(it, ev, start, end)
	if act == ActExecuted {
		p.EventIDs = append(p.EventIDs, b.seedEvents[n]...)
	}
}

func (b *scopeBuilder) edgeItem(e uint32) {
	g := b.g
	x := g.edges.at(e)
	from, to := g.nodes.at(x.from), g.nodes.at(x.to)
	ev := g.eventID(x.ev)
	host := b.hostName(x.from)
	if host == "" {
		host = b.edgeHost[e]
	}
	by := from.id
	it := Item{EntityID: to.id, Host: host, Name: g.nm(to), By: by, Role: b.roleOf(x.to)}
	switch x.kind() {
	case mdr.RelWroteFile, mdr.RelTampered:
		if housekeepingFile(to.id) {
			return
		}
		it.Kind, it.Action = ItemFile, ActCreated
		if x.kind() == mdr.RelTampered || g.nodes.at(x.to).first < x.first() {
			it.Action = ActModified
		}
	case mdr.RelDeletedFile:
		if housekeepingFile(to.id) {
			return
		}
		it.Kind, it.Action = ItemFile, ActDeleted
	case mdr.RelRenamedFile:
		it.Kind, it.Action = ItemFile, ActRenamed
	case mdr.RelReadFile, mdr.RelAccessedObject:
		it.Action = ActRead
		switch to.kind {
		case mdr.EntityFile:
			it.Kind = ItemFile
		case mdr.EntityRegistryKey:
			it.Kind = ItemRegistry
		default:
			return
		}
	case mdr.RelSetRegistry:
		if blobVal(g.blobs, x.attrs, "event_type") == "CreateKey" || housekeepingKey(to.id) {
			return // an open-or-create of a key, or API bookkeeping: no change to undo
		}
		it.Kind, it.Action = ItemRegistry, ActCreated
		it.Data = blobVal(g.blobs, x.attrs, "details")
		if _, ok := b.items[itemKey{to.id, ActModified}]; ok {
			it.Action = ActModified // a later set of a value already in the scope: its prior is the first's
		} else if _, ok := b.items[itemKey{to.id, ActCreated}]; ok {
			// likewise, created
		} else if old, ok := blobGet(g.blobs, x.attrs, "old"); ok {
			it.Prior, it.PriorSeen = old, true
		} else if p, ok := b.prior(x.to, x.from, x.first()); ok {
			it.Prior, it.PriorSeen = p, true
		}
		if it.PriorSeen {
			it.Action = ActModified
		}
	case mdr.RelDeletedRegistry:
		it.Kind, it.Action = ItemRegistry, ActDeleted
		if p, ok := b.prior(x.to, x.from, x.first()); ok {
			it.Prior, it.PriorSeen = p, true
		}
	case mdr.RelRenamedRegistry:
		it.Kind, it.Action = ItemRegistry, ActRenamed
	case mdr.RelConnected:
		it.Kind, it.Action = ItemEndpoint, ActContacted
		it.Address, it.Port = splitEndpoint(to.id)
		it.Domain = blobVal(g.blobs, x.attrs, "remote_hostname")
	case mdr.RelResolved:
		it.Kind, it.Action = ItemDomain, ActResolved
		it.Domain = g.nm(to)
	case mdr.RelInstalledService:
		it.Kind, it.Action = ItemService, ActCreated
		it.ImagePath = blobVal(g.blobs, to.attrs, "path")
		it.Host = hostOfID(g, to.id, host)
	case mdr.RelCreatedTask:
		it.Kind, it.Action = ItemTask, ActCreated
		if blobVal(g.blobs, x.attrs, "action") == "updated" {
			it.Action = ActModified
		}
		it.Command = strings.TrimSpace(blobVal(g.blobs, to.attrs, "command") + " " + blobVal(g.blobs, to.attrs, "arguments"))
		it.Host = hostOfID(g, to.id, host)
	case mdr.RelCreatedAccount:
		it.Kind, it.Action = ItemAccount, ActCreated
	case mdr.RelDeletedAccount:
		it.Kind, it.Action = ItemAccount, ActDeleted
	case mdr.RelAddedToGroup, mdr.RelRemovedFromGroup:
		it.Kind, it.Action = ItemGroupMembership, ActAdded
		if x.kind() == mdr.RelRemovedFromGroup {
			it.Action = ActRemoved
		}
		it.EntityID, it.Name, it.Role = from.id, g.nm(from), b.roleOf(x.from)
		it.Groups = []string{g.nm(to)}
		if by := blobVal(g.blobs, x.attrs, "by"); by != "" {
			it.By = by
		}
	case mdr.RelAccessedShare:
		it.Kind, it.Action = ItemShare, ActAccessed
	case mdr.RelLoggedOn:
		it.Kind, it.Action = ItemHost, ActLoggedOn
		it.Host = g.nm(to)
	case mdr.RelUsedCredentials:
		it.Kind, it.Action = ItemUser, ActUsed
	case mdr.RelCreatedRemoteThread:
		b.processItem(x.to, ActInjected)
		return
	case mdr.RelOpenedProcess:
		b.processItem(x.to, ActInjected)
		return
	case mdr.RelLoadedImage:
		if to.kind == mdr.EntityFile && from.kind == mdr.EntityProcess {
			b.processItem(x.from, ActLoaded)
		}
		return
	default:
		return
	}
	if it.Name == "" {
		it.Name = strings.TrimPrefix(to.id, to.kind.String()+":")
	}
	if it.Host == "" {
		it.Host = host
	}
	x2 := b.add(it, ev, x.first(), x.last())
	x2.EventIDs = append(x2.EventIDs, b.edgeEvents[e]...)
	if it.Kind == ItemRegistry && it.Action != ActDeleted && it.Action != ActRead {
		b.persistenceOfKey(it, ev)
	}
}

// hostOfID returns the host named inside a "kind:host\rest" id, by its
// name as written when the graph knows the host, else def.
func hostOfID(g *Graph, id, def string) string {
	_, rest, ok := strings.Cut(id, ":")
	if !ok {
		return def
	}
	h, _, _ := strings.Cut(rest, `\`)
	if n, ok := g.ids["host:"+h]; ok && g.nm(g.nodes.at(n)) != "" {
		return g.nm(g.nodes.at(n))
	}
	if def != "" {
		return def
	}
	return h
}

// prior returns the data registry value k held before time t on the host
// of process by: the latest value set there before t by a process outside
// the scope.
func (b *scopeBuilder) prior(k, by uint32, t int64) (string, bool) {
	g := b.g
	host := g.nodes.at(by).host
	var best uint32
	i := 0
	for e := g.nodes.at(k).headIn; e != 0 && i < maxAlertEdges; e = g.edges.at(e).nextIn {
		i++
		x := g.edges.at(e)
		if x.kind() != mdr.RelSetRegistry || x.last() >= t || b.edgeSeen[e] {
			continue
		}
		if _, inScope := b.role[x.from]; inScope && !g.nodes.at(x.from).hub {
			continue
		}
		if host != 0 && g.nodes.at(x.from).host != host {
			continue
		}
		if best == 0 || x.last() > g.edges.at(best).last() {
			best = e
		}
	}
	if best == 0 {
		return "", false
	}
	return blobVal(g.blobs, g.edges.at(best).attrs, "details"), true
}

// splitEndpoint splits an "ip:addr:port" or "ip:[v6]:port" id.
func splitEndpoint(id string) (addr, port string) {
	s := strings.TrimPrefix(id, "ip:")
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]:"); i > 0 {
			return s[1:i], s[i+2:]
		}
		return strings.Trim(s, "[]"), ""
	}
	if strings.Count(s, ":") == 1 {
		a, p, _ := strings.Cut(s, ":")
		return a, p
	}
	return s, ""
}

// housekeepingKeys are registry paths (lower case, as in registry ids) that
// Windows APIs write on behalf of whichever process calls them — VSS
// diagnostics, WinINet zone and proxy detection, RAS tracing switches —
// and that are never the attack's own change.
var housekeepingKeys = []string{
	`\services\vss\diag\`,
	`\currentversion\internet settings\zonemap\`,
	`\currentversion\internet settings\connections\`,
	`\currentversion\internet settings\5.0\cache\`,
	`\software\microsoft\tracing\`,
	`\currentversion\explorer\sessioninfo\`,
}

func housekeepingKey(id string) bool {
	for _, k := range housekeepingKeys {
		if strings.Contains(id, k) {
			return true
		}
	}
	return false
}

// housekeepingFiles are file paths (lower case, as in file ids) that
// PowerShell and .NET write for any script or program they run — the
// execution-policy probe, the profile start-up cache, the CLR usage log —
// and that are never the attack's own artefact.
var housekeepingFiles = []string{
	`\__psscriptpolicytest_`,
	`\microsoft\windows\powershell\startupprofiledata-`,
	`\microsoft\clr_v4.0\usagelogs\`,
	`\microsoft\clr_v4.0_32\usagelogs\`,
}

func housekeepingFile(id string) bool {
	for _, k := range housekeepingFiles {
		if strings.Contains(id, k) {
			return true
		}
	}
	return false
}

// persistenceOfKey adds the service or scheduled task that a registry
// value of the scope defines: a value under ...\Services\<name>\ is that
// service's configuration (ImagePath its binary), one under
// ...\Schedule\TaskCache\Tree\<path>\ that task's. So a service created
// with sc.exe, or a task with schtasks.exe, is in the scope when only
// Sysmon saw it (as services.exe or the scheduler writing its keys).
func (b *scopeBuilder) persistenceOfKey(reg Item, ev string) {
	k := strings.ToLower(reg.Name)
	if j := strings.Index(k, `\services\`); j >= 0 && (strings.Contains(k[:j], `\currentcontrolset`) || strings.Contains(k[:j], `\controlset0`)) {
		rest := reg.Name[j+len(`\services\`):]
		name, value, ok := strings.Cut(rest, `\`)
		if !ok || name == "" || strings.Contains(value, `\`) {
			return // the service's own key, or a subkey (Parameters, Security)
		}
		it := Item{Kind: ItemService, EntityID: schema.ServiceID(reg.Host, name), Host: reg.Host, Name: name,
			Action: ActCreated, Role: reg.Role, By: reg.By}
		if reg.Action == ActModified {
			it.Action = ActModified
		}
		x := b.add(it, ev, reg.firstEdgeAt, reg.Last.UnixMicro())
		if strings.EqualFold(value, "ImagePath") {
			x.ImagePath = reg.Data
		}
		return
	}
	const tree = `\schedule\taskcache\tree\`
	if i := strings.Index(k, tree); i >= 0 {
		rest := reg.Name[i+len(tree):]
		j := strings.LastIndexByte(rest, '\\')
		if j <= 0 {
			return
		}
		path := `\` + rest[:j]
		it := Item{Kind: ItemTask, EntityID: schema.TaskID(reg.Host, path), Host: reg.Host, Name: path,
			Action: ActCreated, Role: reg.Role, By: reg.By}
		b.add(it, ev, reg.firstEdgeAt, reg.Last.UnixMicro())
	}
}
