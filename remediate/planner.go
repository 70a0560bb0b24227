package remediate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/schema"
)

// Graph is what the planner asks of the provenance graph beyond the scope:
// who wrote a service's or a task's binary, which tasks and services the
// attack's users created to run the attack's files, whether a process
// ended, whether a registry item is a key or a value.
// *investigate.Graph implements it. It is optional: without it the plan
// keeps to the scope's own items.
type Graph interface {
	Entity(id string) (mdr.Entity, bool)
	Edges(id string, f func(investigate.Edge) bool)
}

// PlannerConfig configures a Planner. The zero value is usable.
type PlannerConfig struct {
	// Graph, when set, lets the planner find what the scope names but does
	// not hold: the binary of a service or a task the attack created
	// (quarantined when the attack wrote it), and processes that already
	// ended (not stopped).
	Graph Graph
	// Contained lists the hosts under network containment for this
	// incident; the plan releases each one last, after every other step
	// on that host.
	Contained []string
	// Protected are process image base names (case-insensitive) that a
	// plan never stops; nil means investigate.DefaultHubs.
	Protected []string
	// Now stamps Plan.Created (default time.Now).
	Now func() time.Time
}

// Planner builds remediation plans from investigation scopes. It is
// immutable once built and safe for concurrent use.
type Planner struct {
	graph     Graph
	contained []string
	protected map[string]bool
	now       func() time.Time
}

// NewPlanner returns a Planner for cfg.
func NewPlanner(cfg PlannerConfig) *Planner {
	p := &Planner{graph: cfg.Graph, contained: slices.Clone(cfg.Contained), now: cfg.Now, protected: map[string]bool{}}
	prot := cfg.Protected
	if prot == nil {
		prot = investigate.DefaultHubs
	}
	for _, n := range prot {
		p.protected[strings.ToLower(n)] = true
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p
}

// entity gathers the scope items of one entity (an entity can appear once
// per action: a file created, then run).
type entity struct {
	kind    investigate.ItemKind
	id      string
	host    string
	name    string
	acts    map[investigate.Action]*investigate.Item
	role    investigate.Role
	first   time.Time
	events  []string
	ordinal int // first position in the scope, for a stable order
}

func (e *entity) has(a investigate.Action) bool { _, ok := e.acts[a]; return ok }

func (e *entity) item(a investigate.Action) *investigate.Item { return e.acts[a] }

// planning is the state of one Plan call.
type planning struct {
	p     *Planner
	scope *investigate.Scope
	plan  *Plan
	ents  []*entity
	byID  map[string]*entity
	// tAttack is the time of the attack's first change (see Plan).
	tAttack time.Time
	// stepsByItem finds the steps of a scope item by kind.
	stepsByItem map[string]map[StepKind]string
	// services and tasks planned, by host and lower-cased name.
	services map[string]string // host|name -> delete-service step id
	tasks    map[string]string // host|name -> delete-task step id
	counter  map[StepKind]int
	alerted  map[string]bool // event ids that raised an alert of the incident
	stepIdx  map[string]int  // step id -> index in plan.Steps
	created  map[string]bool // creationAlerted's answers
	// attackActors (attack users' and processes' entity ids) and
	// attackCmdlines (their command lines, lower-cased), built on first use
	attackActors   map[string]bool
	attackCmdlines []string
	members        map[string]bool // host|member|group of the memberships planned
}

// Plan builds the remediation plan of an incident from its scope.
//
// For every artifact the attack created or changed, the plan holds the
// steps that undo it (see the package documentation); what cannot be
// undone is in NotRestorable with the reason, and what needs nothing
// (processes that ended, endpoints contacted, files only read) is counted
// in Skipped. Nothing outside the scope is touched, with two exceptions
// that the graph proves: the binary of a service or task the attack
// created, when the attack's activity wrote it, and containment release.
//
// Processes: those the scope shows the attack started are stopped,
// descendants before ancestors. The processes on the causal chain above
// the attack (the mail client that received the document, the shell that
// ran the download) are context, not the attack's, when they started
// before the attack's first change (the earliest file, registry value,
// service, task, account or membership it created or changed) and their
// image was not written by the attack: the plan leaves them running.
// Hubs (investigate.DefaultHubs, or PlannerConfig.Protected) are never
// stopped.
func (p *Planner) Plan(ctx context.Context, incidentID string, sc *investigate.Scope) (*Plan, error) {
	return p.PlanIncident(ctx, Incident{ID: incidentID}, sc)
}

// PlanIncident is Plan with the incident's alerts: a process whose
// creation event raised one of them is the attack's even when it started
// before the attack's first change (a script host started by a lure, a
// download cradle).
func (p *Planner) PlanIncident(ctx context.Context, in Incident, sc *investigate.Scope) (*Plan, error) {
	incidentID := in.ID
	if sc == nil {
		return nil, fmt.Errorf("%w: remediate: plan of incident %q: nil scope", mdr.ErrInvalid, incidentID)
	}
	pl := &planning{p: p, scope: sc, plan: &Plan{IncidentID: incidentID, Created: p.now().UTC(), Skipped: map[string]int{}, NotRestorable: []NotRestorable{}},
		byID: map[string]*entity{}, stepsByItem: map[string]map[StepKind]string{}, services: map[string]string{}, tasks: map[string]string{},
		counter: map[StepKind]int{}, alerted: map[string]bool{}, stepIdx: map[string]int{}, created: map[string]bool{}, members: map[string]bool{}}
	for _, a := range in.Alerts {
		for _, id := range a.EventIDs {
			pl.alerted[id] = true
		}
	}
	pl.gather()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pl.attackTime()
	pl.persistence()
	pl.accounts()
	pl.payloads()
	// Order matters only for readability and step ids: services and tasks
	// first (files and registry values they cover are folded into them),
	// then the rest.
	for _, e := range pl.ents {
		switch e.kind {
		case investigate.ItemService:
			pl.service(e)
		case investigate.ItemTask:
			pl.task(e)
		}
	}
	for _, e := range pl.ents {
		switch e.kind {
		case investigate.ItemProcess:
			pl.process(e)
		}
	}
	for _, e := range pl.ents {
		switch e.kind {
		case investigate.ItemFile:
			pl.file(e)
		case investigate.ItemRegistry:
			pl.registry(e)
		case investigate.ItemAccount:
			pl.account(e)
		case investigate.ItemGroupMembership:
			pl.membership(e)
		case investigate.ItemUser:
			pl.user(e)
		case investigate.ItemService, investigate.ItemTask, investigate.ItemProcess:
		default:
			pl.plan.Skipped["no state to undo: "+e.kind.String()]++
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pl.processOrder()
	pl.fileOrder()
	pl.release()
	if err := pl.finish(); err != nil {
		return nil, err
	}
	return pl.plan, nil
}

// gather groups the scope's items by entity, in scope order.
func (pl *planning) gather() {
	for i := range pl.scope.Items {
		it := &pl.scope.Items[i]
		id := it.EntityID
		if id == "" {
			id = it.Kind.String() + ":" + it.Host + `\` + it.Name
		}
		key := it.Kind.String() + "|" + id
		e := pl.byID[key]
		if e == nil {
			e = &entity{kind: it.Kind, id: id, host: it.Host, name: it.Name, acts: map[investigate.Action]*investigate.Item{},
				role: it.Role, first: it.First, ordinal: len(pl.ents)}
			pl.byID[key] = e
			pl.ents = append(pl.ents, e)
		}
		if _, ok := e.acts[it.Action]; !ok {
			e.acts[it.Action] = it
		}
		if e.host == "" {
			e.host = it.Host
		}
		if it.Role == investigate.RoleAlert || (it.Role == investigate.RoleCause && e.role == investigate.RoleImpact) {
			e.role = it.Role
		}
		if !it.First.IsZero() && (e.first.IsZero() || it.First.Before(e.first)) {
			e.first = it.First
		}
		e.events = append(e.events, it.EventIDs...)
	}
	for _, e := range pl.ents {
		slices.Sort(e.events)
		e.events = slices.Compact(e.events)
	}
}

// changes are the actions that change a host's state.
func isChange(k investigate.ItemKind, a investigate.Action) bool {
	switch k {
	case investigate.ItemFile, investigate.ItemRegistry, investigate.ItemService, investigate.ItemTask, investigate.ItemAccount:
		return a == investigate.ActCreated || a == investigate.ActModified || a == investigate.ActDeleted || a == investigate.ActRenamed
	case investigate.ItemGroupMembership:
		return a == investigate.ActAdded || a == investigate.ActRemoved
	}
	return false
}

// attackTime finds the time of the attack's first change; without any
// change, the start of the first process an alert names.
func (pl *planning) attackTime() {
	var t time.Time
	for i := range pl.scope.Items {
		it := &pl.scope.Items[i]
		// accounts and memberships need their own evidence (see account)
		// and do not date the attack
		if it.Kind == investigate.ItemAccount || it.Kind == investigate.ItemGroupMembership {
			continue
		}
		if isChange(it.Kind, it.Action) && !it.First.IsZero() && (t.IsZero() || it.First.Before(t)) {
			t = it.First
		}
	}
	if t.IsZero() {
		for i := range pl.scope.Items {
			it := &pl.scope.Items[i]
			if it.Kind == investigate.ItemProcess && it.Role == investigate.RoleAlert && !it.First.IsZero() && (t.IsZero() || it.First.Before(t)) {
				t = it.First
			}
		}
	}
	pl.tAttack = t
}

// persistence finds, through the graph, the scheduled tasks and services
// that the users of the attack's processes created after the attack began
// to run a file the attack wrote. Windows logs their creation by the
// account (Security 4698, 4697), not by the process, so the scope's
// process-to-artifact tracking cannot reach them; that the task or service
// runs the attack's payload is the causal link.
func (pl *planning) persistence() {
	g := pl.p.graph
	if g == nil || pl.tAttack.IsZero() {
		return
	}
	for _, hu := range pl.attackUsers() {
		k := struct{ host, user string }{hu[0], hu[1]}
		uid := userID(k.user)
		var found []investigate.Edge
		g.Edges(uid, func(x investigate.Edge) bool {
			if x.From == uid && (x.Kind == mdr.RelCreatedTask || x.Kind == mdr.RelInstalledService) && !x.First.Before(pl.tAttack) {
				found = append(found, x)
			}
			return true
		})
		for _, x := range found {
			kind := investigate.ItemTask
			if x.Kind == mdr.RelInstalledService {
				kind = investigate.ItemService
			}
			if _, ok := pl.byID[kind.String()+"|"+x.To]; ok {
				continue
			}
			ent, ok := g.Entity(x.To)
			if !ok {
				continue
			}
			prefix := "task:"
			if kind == investigate.ItemService {
				prefix = "service:"
			}
			if !strings.HasPrefix(x.To, prefix+strings.ToLower(k.host)+`\`) {
				continue // on another host: its own scope's business
			}
			it := investigate.Item{Kind: kind, EntityID: x.To, Host: k.host, Name: ent.Name, Action: investigate.ActCreated,
				Role: investigate.RoleImpact, First: x.First, Last: x.Last, EventIDs: []string{x.EventID}, By: uid}
			var bin string
			if kind == investigate.ItemTask {
				it.Command = strings.TrimSpace(ent.Attrs["command"] + " " + ent.Attrs["arguments"])
				bin = imageOf(it.Command)
			} else {
				it.ImagePath = ent.Attrs["path"]
				bin = imageOf(it.ImagePath)
			}
			if bin == "" || !(pl.attackWrote(k.host, bin) || pl.writtenDuringAttack(schema.FileID(k.host, bin)) != nil) {
				continue
			}
			if it.EventIDs[0] == "" {
				it.EventIDs = nil
			}
			e := &entity{kind: kind, id: x.To, host: k.host, name: ent.Name, acts: map[investigate.Action]*investigate.Item{investigate.ActCreated: &it},
				role: investigate.RoleImpact, first: x.First, events: it.EventIDs, ordinal: len(pl.ents)}
			pl.byID[kind.String()+"|"+x.To] = e
			pl.ents = append(pl.ents, e)
		}
	}
}

// attackUsers returns the accounts (as events write them, DOMAIN\name)
// that the attack's processes ran as, by host, sorted.
func (pl *planning) attackUsers() [][2]string {
	set := map[[2]string]bool{}
	for _, e := range pl.ents {
		if e.kind != investigate.ItemProcess || !pl.attackProcess(e) {
			continue
		}
		if it := e.item(investigate.ActExecuted); it != nil && it.User != "" {
			set[[2]string{e.host, it.User}] = true
		}
	}
	out := make([][2]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0]+"|"+a[1], b[0]+"|"+b[1]) })
	return out
}

func userID(u string) string {
	dom, name, ok := strings.Cut(u, `\`)
	if !ok {
		return schema.UserID("", u)
	}
	return schema.UserID(dom, name)
}

// accounts finds, through the graph, the accounts that the users of the
// attack's processes created after the attack began and that an attack
// process named on its command line (net user NAME /add, New-LocalUser
// NAME): Windows logs the creation (Security 4720) and the group
// memberships (4732) by account, not by process, so the scope cannot
// reach them. Each becomes an account item, its memberships added since
// membership items.
func (pl *planning) accounts() {
	g := pl.p.graph
	if g == nil || pl.tAttack.IsZero() {
		return
	}
	for _, hu := range pl.attackUsers() {
		host, uid := hu[0], userID(hu[1])
		var made []investigate.Edge
		g.Edges(uid, func(x investigate.Edge) bool {
			if x.From == uid && x.Kind == mdr.RelCreatedAccount && !x.First.Before(pl.tAttack) {
				made = append(made, x)
			}
			return true
		})
		for _, x := range made {
			if _, ok := pl.byID[investigate.ItemAccount.String()+"|"+x.To]; ok {
				continue
			}
			ent, ok := g.Entity(x.To)
			if !ok || !pl.namedByAttack(ent.Name) {
				continue
			}
			it := investigate.Item{Kind: investigate.ItemAccount, EntityID: x.To, Host: host, Name: ent.Name, Action: investigate.ActCreated,
				Role: investigate.RoleImpact, First: x.First, Last: x.Last, EventIDs: nonEmpty(x.EventID), By: uid}
			pl.addEntity(&it)
			// the memberships the new account was given
			member := x.To
			if sid := ent.Attrs["sid"]; sid != "" {
				member = schema.SIDID(sid)
			}
			for _, id := range []string{x.To, member} {
				g.Edges(id, func(y investigate.Edge) bool {
					if y.From != id || y.Kind != mdr.RelAddedToGroup || y.First.Before(pl.tAttack) {
						return true
					}
					grp, ok := g.Entity(y.To)
					if !ok {
						return true
					}
					m := investigate.Item{Kind: investigate.ItemGroupMembership, EntityID: x.To, Host: host, Name: ent.Name,
						Groups: []string{grp.Name}, Action: investigate.ActAdded, Role: investigate.RoleImpact, First: y.First, Last: y.Last,
						EventIDs: nonEmpty(y.EventID), By: uid}
					pl.addEntity(&m)
					return true
				})
			}
		}
	}
}

// payloads finds the files that processes of the scope named on their
// command line (a script run by its host, a DLL run by rundll32, a
// document opened) and that the graph shows written during the time it
// holds: the lure a browser saved before a script host ran it is the
// attack's first artifact, though no process of the chain wrote it. Files
// under the Windows and Program Files folders are never taken this way,
// nor a process's own image.
func (pl *planning) payloads() {
	if pl.p.graph == nil {
		return
	}
	ents := slices.Clone(pl.ents)
	for _, e := range ents {
		if e.kind != investigate.ItemProcess {
			continue
		}
		it := e.item(investigate.ActExecuted)
		if it == nil || it.CommandLine == "" || pl.p.protected[strings.ToLower(baseName(it.Image))] {
			continue
		}
		for _, path := range commandPaths(it.CommandLine) {
			if strings.EqualFold(path, it.Image) || systemPath(path) {
				continue
			}
			fid := schema.FileID(e.host, path)
			if _, ok := pl.byID[investigate.ItemFile.String()+"|"+fid]; ok {
				continue
			}
			var wrote []string
			var first time.Time
			pl.p.graph.Edges(fid, func(x investigate.Edge) bool {
				if x.To == fid && (x.Kind == mdr.RelWroteFile || x.Kind == mdr.RelRenamedFile) {
					wrote = append(wrote, x.EventID)
					if first.IsZero() || x.First.Before(first) {
						first = x.First
					}
				}
				return true
			})
			if len(wrote) == 0 || (!e.first.IsZero() && first.After(e.first)) {
				continue // never written, or written only after the process named it
			}
			f := investigate.Item{Kind: investigate.ItemFile, EntityID: fid, Host: e.host, Name: path, Action: investigate.ActCreated,
				Role: investigate.RoleCause, First: first, EventIDs: append(nonEmpty(wrote...), it.EventIDs...)}
			pl.addEntity(&f)
		}
	}
}

// commandPaths returns the absolute Windows paths a command line names:
// quoted ones, and unquoted tokens with a drive letter (cut at a comma, as
// rundll32's "C:\x.dll,Entry").
func commandPaths(cmd string) []string {
	var out []string
	for i := 0; i < len(cmd); {
		if cmd[i] == '"' {
			j := strings.IndexByte(cmd[i+1:], '"')
			if j < 0 {
				break
			}
			if p := cmd[i+1 : i+1+j]; isAbsWindows(p) {
				out = append(out, p)
			}
			i += j + 2
			continue
		}
		j := strings.IndexAny(cmd[i:], " \t\"")
		tok := cmd[i:]
		if j >= 0 {
			tok = cmd[i : i+j]
		}
		if k := strings.IndexByte(tok, ','); k >= 0 {
			tok = tok[:k]
		}
		if isAbsWindows(tok) {
			out = append(out, tok)
		}
		if j < 0 {
			break
		}
		i += j
		if cmd[i] != '"' {
			i++
		}
	}
	return out
}

func isAbsWindows(p string) bool {
	return len(p) > 3 && (p[0]|0x20) >= 'a' && (p[0]|0x20) <= 'z' && p[1] == ':' && p[2] == '\\'
}

// systemPath reports a path under Windows or Program Files.
func systemPath(p string) bool {
	l := strings.ToLower(p)
	return strings.HasPrefix(l, `c:\windows\`) || strings.HasPrefix(l, `c:\program files\`) || strings.HasPrefix(l, `c:\program files (x86)\`)
}

func nonEmpty(ids ...string) []string {
	var out []string
	for _, id := range ids {
		if id != "" {
			out = append(out, id)
		}
	}
	return out
}

// addEntity adds an item found beyond the scope as its own entity.
func (pl *planning) addEntity(it *investigate.Item) {
	key := it.Kind.String() + "|" + it.EntityID
	if e, ok := pl.byID[key]; ok {
		if _, dup := e.acts[it.Action]; !dup {
			e.acts[it.Action] = it
		}
		return
	}
	e := &entity{kind: it.Kind, id: it.EntityID, host: it.Host, name: it.Name, acts: map[investigate.Action]*investigate.Item{it.Action: it},
		role: it.Role, first: it.First, events: slices.Compact(slices.Sorted(slices.Values(it.EventIDs))), ordinal: len(pl.ents)}
	pl.byID[key] = e
	pl.ents = append(pl.ents, e)
}

// attackProcess reports whether a process entity is one the attack
// started (not context, not a hub; see Plan).
func (pl *planning) attackProcess(e *entity) bool {
	it := e.item(investigate.ActExecuted)
	if it == nil {
		return false
	}
	img := it.Image
	if img == "" {
		img = e.name
	}
	if pl.p.protected[strings.ToLower(baseName(img))] {
		return false
	}
	if e.role == investigate.RoleImpact || pl.tAttack.IsZero() || e.first.IsZero() || !e.first.Before(pl.tAttack) || pl.attackWrote(e.host, img) {
		return true
	}
	return pl.creationAlerted(e.id)
}

// creationAlerted reports whether the event that created process id (its
// spawned edge in the graph) raised an alert of the incident.
func (pl *planning) creationAlerted(id string) bool {
	if pl.p.graph == nil || len(pl.alerted) == 0 {
		return false
	}
	if v, ok := pl.created[id]; ok {
		return v
	}
	hit := false
	pl.p.graph.Edges(id, func(x investigate.Edge) bool {
		if x.Kind == mdr.RelSpawned && x.To == id {
			hit = pl.alerted[x.EventID]
			return false
		}
		return true
	})
	pl.created[id] = hit
	return hit
}

// writtenDuringAttack returns the event ids of the writes of file fid
// when the graph shows it written from the attack's start on and never
// touched before; nil otherwise.
func (pl *planning) writtenDuringAttack(fid string) []string {
	if pl.p.graph == nil || pl.tAttack.IsZero() {
		return nil
	}
	var wrote []string
	before := false
	pl.p.graph.Edges(fid, func(x investigate.Edge) bool {
		if x.First.Before(pl.tAttack) {
			before = true
			return false
		}
		if x.To == fid && (x.Kind == mdr.RelWroteFile || x.Kind == mdr.RelRenamedFile) {
			wrote = append(wrote, x.EventID)
		}
		return true
	})
	if before || len(wrote) == 0 {
		return nil
	}
	slices.Sort(wrote)
	return slices.Compact(wrote)
}

// addStep appends a step and returns its id.
func (pl *planning) addStep(e *entity, kind StepKind, reason string, reversible bool, s Step) string {
	pl.counter[kind]++
	s.ID = fmt.Sprintf("%s-%d", kind, pl.counter[kind])
	s.Kind = kind
	s.Reason = reason
	s.Reversible = reversible
	if s.ScopeItem == "" {
		s.ScopeItem = e.id
	}
	if s.Host == "" {
		s.Host = e.host
	}
	if s.EventIDs == nil {
		s.EventIDs = slices.Clone(e.events)
	}
	if s.EventIDs == nil {
		s.EventIDs = []string{}
	}
	pl.stepIdx[s.ID] = len(pl.plan.Steps)
	pl.plan.Steps = append(pl.plan.Steps, s)
	m := pl.stepsByItem[s.ScopeItem]
	if m == nil {
		m = map[StepKind]string{}
		pl.stepsByItem[s.ScopeItem] = m
	}
	m[kind] = s.ID
	return s.ID
}

func (pl *planning) notRestorable(e *entity, reason string) {
	pl.plan.NotRestorable = append(pl.plan.NotRestorable, NotRestorable{Item: e.id, Reason: reason, Kind: e.kind.String(), Host: e.host, Name: e.name, EventIDs: slices.Clone(e.events)})
}

func (pl *planning) step(id string) *Step {
	if i, ok := pl.stepIdx[id]; ok {
		return &pl.plan.Steps[i]
	}
	return nil
}

func dependOn(s *Step, ids ...string) {
	for _, id := range ids {
		if id != "" && id != s.ID && !slices.Contains(s.DependsOn, id) {
			s.DependsOn = append(s.DependsOn, id)
		}
	}
}

func hostKey(host, name string) string { return strings.ToLower(host) + "|" + strings.ToLower(name) }

// service plans a service the attack installed: stop it, then delete it;
// its binary, when the attack wrote it, is quarantined and deleted after
// the service is stopped.
func (pl *planning) service(e *entity) {
	switch {
	case e.has(investigate.ActCreated):
		it := e.item(investigate.ActCreated)
		stop := pl.addStep(e, KindStopService, fmt.Sprintf("stop service %s that the attack installed on %s", e.name, e.host), true,
			Step{Command: stopService(e.host, e.name), Check: checkService(e.host, e.name, "stopped")})
		del := pl.addStep(e, KindDeleteService, fmt.Sprintf("delete service %s that the attack installed on %s", e.name, e.host), true,
			Step{Command: deleteService(e.host, e.name), Check: checkService(e.host, e.name, "absent")})
		dependOn(pl.step(del), stop)
		pl.services[hostKey(e.host, e.name)] = del
		if bin := imageOf(it.ImagePath); bin != "" {
			pl.binary(e, bin, stop)
		}
	case e.has(investigate.ActModified):
		pl.notRestorable(e, "service configuration changed by the attack; its earlier configuration is not in the telemetry: compare with a known-good host")
	case e.has(investigate.ActDeleted):
		pl.notRestorable(e, "service deleted by the attack; reinstall it from the product's installer")
	default:
		pl.plan.Skipped["service not changed"]++
	}
}

// task plans a scheduled task the attack created: delete it; its binary,
// when the attack wrote it, is quarantined and deleted after.
func (pl *planning) task(e *entity) {
	switch {
	case e.has(investigate.ActCreated):
		it := e.item(investigate.ActCreated)
		del := pl.addStep(e, KindDeleteTask, fmt.Sprintf("delete scheduled task %s that the attack created on %s", e.name, e.host), true,
			Step{Command: deleteTask(e.host, e.name, it.Command), Check: checkTask(e.host, e.name)})
		pl.tasks[hostKey(e.host, taskName(e.name))] = del
		if bin := imageOf(it.Command); bin != "" {
			pl.binary(e, bin, del)
		}
	case e.has(investigate.ActModified):
		pl.notRestorable(e, "scheduled task changed by the attack; its earlier definition is not in the telemetry")
	case e.has(investigate.ActDeleted):
		pl.notRestorable(e, "scheduled task deleted by the attack; recreate it from its product")
	default:
		pl.plan.Skipped["task not changed"]++
	}
}

// binary handles the executable of a service or task the attack created.
// When the scope holds the file, its own steps will depend on the
// service's; otherwise, with a graph, a file whose every write came from
// the attack's time on is planned too (the attack dropped it, perhaps
// through a hub: the System process writing to ADMIN$).
func (pl *planning) binary(owner *entity, path, after string) {
	fid := schema.FileID(owner.host, path)
	if e, ok := pl.byID[investigate.ItemFile.String()+"|"+fid]; ok {
		_ = e // the file's own steps are planned in file(); fileOrder links them
		return
	}
	wrote := pl.writtenDuringAttack(fid)
	if wrote == nil {
		return
	}
	e := &entity{kind: investigate.ItemFile, id: fid, host: owner.host, name: path, acts: map[investigate.Action]*investigate.Item{},
		events: append(slices.Clone(owner.events), wrote...)}
	slices.Sort(e.events)
	e.events = slices.Compact(e.events)
	pl.byID[investigate.ItemFile.String()+"|"+fid] = e
	q := pl.addStep(e, KindQuarantineFile, fmt.Sprintf("quarantine %s on %s, the binary of %s %s, written during the attack", path, owner.host, owner.kind, owner.name), true,
		Step{Command: quarantineFile(owner.host, path), Check: checkFileAbsent(owner.host, path)})
	d := pl.addStep(e, KindDeleteFile, fmt.Sprintf("delete %s on %s after its quarantine", path, owner.host), false,
		Step{Command: deleteFile(owner.host, path), Check: checkFileAbsent(owner.host, path)})
	dependOn(pl.step(q), after)
	dependOn(pl.step(d), q)
}

// process plans a process the attack started: stop it, unless it is
// context (see Plan), a hub, or already ended.
func (pl *planning) process(e *entity) {
	it := e.item(investigate.ActExecuted)
	if it == nil {
		// opened, injected into, accessed: a victim, not the attack's
		pl.plan.Skipped["process acted on, not started by the attack"]++
		return
	}
	img := it.Image
	if img == "" {
		img = e.name
	}
	if pl.p.protected[strings.ToLower(baseName(img))] {
		pl.plan.Skipped["protected process (hub)"]++
		return
	}
	if !pl.attackProcess(e) {
		pl.plan.Skipped["context process: started before the attack's first change"]++
		return
	}
	if pl.ended(e.id) {
		pl.plan.Skipped["process already ended"]++
		return
	}
	pl.addStep(e, KindStopProcess, fmt.Sprintf("stop %s (pid %d) on %s, started by the attack", baseName(img), it.PID, e.host), false,
		Step{Command: stopProcess(e.host, it.PID, img), Check: checkProcess(e.host, it.PID, img)})
}

// attackWrote reports whether the scope shows the attack writing path on
// host.
func (pl *planning) attackWrote(host, path string) bool {
	e, ok := pl.byID[investigate.ItemFile.String()+"|"+schema.FileID(host, path)]
	return ok && (e.has(investigate.ActCreated) || e.has(investigate.ActModified))
}

func (pl *planning) ended(id string) bool {
	if pl.p.graph == nil {
		return false
	}
	ended := false
	pl.p.graph.Edges(id, func(x investigate.Edge) bool {
		if x.Kind == mdr.RelTerminated && x.From == id {
			ended = true
			return false
		}
		return true
	})
	return ended
}

// processOrder makes each stop wait for the stops of the process's
// descendants (children first).
func (pl *planning) processOrder() {
	stopOf := map[string]string{}
	parent := map[string]string{}
	for _, e := range pl.ents {
		if e.kind != investigate.ItemProcess {
			continue
		}
		if it := e.item(investigate.ActExecuted); it != nil {
			parent[e.id] = it.ParentID
		}
		if id := pl.stepsByItem[e.id][KindStopProcess]; id != "" {
			stopOf[e.id] = id
		}
	}
	for child, sid := range stopOf {
		// the nearest planned ancestor waits for this stop
		seen := map[string]bool{child: true}
		for p := parent[child]; p != "" && !seen[p]; p = parent[p] {
			seen[p] = true
			if ps, ok := stopOf[p]; ok {
				dependOn(pl.step(ps), sid)
				break
			}
		}
	}
}

// file plans a file the attack touched.
func (pl *planning) file(e *entity) {
	switch {
	case e.has(investigate.ActCreated):
		if pl.coveredFile(e) {
			return
		}
		q := pl.addStep(e, KindQuarantineFile, fmt.Sprintf("quarantine %s on %s, written by the attack", e.name, e.host), true,
			Step{Command: quarantineFile(e.host, e.name), Check: checkFileAbsent(e.host, e.name)})
		d := pl.addStep(e, KindDeleteFile, fmt.Sprintf("delete %s on %s after its quarantine", e.name, e.host), false,
			Step{Command: deleteFile(e.host, e.name), Check: checkFileAbsent(e.host, e.name)})
		dependOn(pl.step(d), q)
	case e.has(investigate.ActRenamed):
		pl.addStep(e, KindQuarantineFile, fmt.Sprintf("quarantine %s on %s, renamed by the attack (kept in quarantine for recovery)", e.name, e.host), true,
			Step{Command: quarantineFile(e.host, e.name), Check: checkFileAbsent(e.host, e.name)})
		pl.notRestorable(e, "renamed by the attack; the name it had before is not in the telemetry: restore the original from backup (the renamed copy is in quarantine)")
	case e.has(investigate.ActModified):
		pl.notRestorable(e, "overwritten by the attack; its earlier content is not in the telemetry: restore it from backup")
	case e.has(investigate.ActDeleted):
		pl.notRestorable(e, "deleted by the attack; if it existed before the attack, restore it from backup")
	default:
		pl.plan.Skipped["file read, run or loaded only"]++
	}
}

// coveredFile reports whether a file goes away with a service or task of
// the plan (a task's definition under System32\Tasks).
func (pl *planning) coveredFile(e *entity) bool {
	l := strings.ToLower(e.name)
	const tasksDir = `\system32\tasks\`
	if i := strings.Index(l, tasksDir); i >= 0 {
		name := `\` + e.name[i+len(tasksDir):]
		if _, ok := pl.tasks[hostKey(e.host, name)]; ok {
			pl.plan.Skipped["file removed with its scheduled task"]++
			return true
		}
	}
	return false
}

// fileOrder makes the quarantine of a file wait for the stop of every
// process of the plan that runs it, and of the services and tasks that
// run it.
func (pl *planning) fileOrder() {
	quarantineOf := map[string]string{} // file entity id -> quarantine step
	for i := range pl.plan.Steps {
		s := &pl.plan.Steps[i]
		if s.Kind == KindQuarantineFile {
			quarantineOf[s.ScopeItem] = s.ID
		}
	}
	for _, e := range pl.ents {
		var img, host, stop string
		switch e.kind {
		case investigate.ItemProcess:
			it := e.item(investigate.ActExecuted)
			if it == nil {
				continue
			}
			img, host, stop = it.Image, e.host, pl.stepsByItem[e.id][KindStopProcess]
		case investigate.ItemService:
			if it := e.item(investigate.ActCreated); it != nil {
				img, host, stop = imageOf(it.ImagePath), e.host, pl.stepsByItem[e.id][KindStopService]
			}
		case investigate.ItemTask:
			if it := e.item(investigate.ActCreated); it != nil {
				img, host, stop = imageOf(it.Command), e.host, pl.stepsByItem[e.id][KindDeleteTask]
			}
		}
		if img == "" || stop == "" {
			continue
		}
		if q, ok := quarantineOf[schema.FileID(host, img)]; ok {
			dependOn(pl.step(q), stop)
		}
	}
}

// registry plans a registry value the attack set or deleted.
func (pl *planning) registry(e *entity) {
	if pl.coveredValue(e) {
		return
	}
	if pl.isKey(e) {
		pl.plan.Skipped["registry key, not a value (its values are planned on their own)"]++
		return
	}
	switch {
	case e.has(investigate.ActCreated):
		it := e.item(investigate.ActCreated)
		pl.addStep(e, KindDeleteRegistry, fmt.Sprintf("delete registry value %s on %s, set by the attack (no earlier data seen)", e.name, e.host), true,
			Step{Command: deleteRegistry(e.host, e.name, it.Data), Check: checkRegistryAbsent(e.host, e.name)})
	case e.has(investigate.ActModified):
		it := e.item(investigate.ActModified)
		if !it.PriorSeen {
			pl.notRestorable(e, "registry value changed by the attack; its earlier data is not in the telemetry")
			return
		}
		pl.addStep(e, KindRestoreRegistry, fmt.Sprintf("set registry value %s on %s back to the data seen before the attack", e.name, e.host), true,
			Step{Command: setRegistry(e.host, e.name, it.Prior), Check: checkRegistryValue(e.host, e.name, it.Prior)})
	case e.has(investigate.ActDeleted):
		it := e.item(investigate.ActDeleted)
		if !it.PriorSeen {
			pl.notRestorable(e, "registry value deleted by the attack; its data is not in the telemetry")
			return
		}
		pl.addStep(e, KindRestoreRegistry, fmt.Sprintf("recreate registry value %s on %s with the data seen before the attack deleted it", e.name, e.host), true,
			Step{Command: setRegistry(e.host, e.name, it.Prior), Check: checkRegistryValue(e.host, e.name, it.Prior)})
	case e.has(investigate.ActRenamed):
		pl.notRestorable(e, "registry key renamed by the attack; the telemetry does not give its earlier name and values")
	default:
		pl.plan.Skipped["registry value read only"]++
	}
}

// isKey reports whether a registry item is a key rather than a value: the
// parent of another registry item of the scope on its host, or, by the
// graph, only ever created (Sysmon's CreateKey), never set.
func (pl *planning) isKey(e *entity) bool {
	pre := strings.ToLower(e.name) + `\`
	for _, o := range pl.ents {
		if o.kind == investigate.ItemRegistry && o != e && strings.EqualFold(o.host, e.host) && strings.HasPrefix(strings.ToLower(o.name), pre) {
			return true
		}
	}
	if pl.p.graph == nil {
		return false
	}
	created, set := false, false
	pl.p.graph.Edges(e.id, func(x investigate.Edge) bool {
		if x.To != e.id || (x.Kind != mdr.RelSetRegistry && x.Kind != mdr.RelDeletedRegistry) {
			return true
		}
		switch et := x.Attrs["event_type"]; {
		case et == "CreateKey" || et == "DeleteKey":
			created = true
		case et != "":
			set = true
		}
		return true
	})
	return created && !set
}

// coveredValue reports whether a registry value goes away with a service
// or task of the plan (the service's key, the task cache).
func (pl *planning) coveredValue(e *entity) bool {
	l := strings.ToLower(e.name)
	const svc = `\currentcontrolset\services\`
	if i := strings.Index(l, svc); i >= 0 {
		rest := e.name[i+len(svc):]
		name, _, _ := strings.Cut(rest, `\`)
		if _, ok := pl.services[hostKey(e.host, name)]; ok {
			pl.plan.Skipped["registry value removed with its service"]++
			return true
		}
	}
	if strings.Contains(l, `\schedule\taskcache\`) && len(pl.tasks) > 0 {
		for k := range pl.tasks {
			if strings.HasPrefix(k, strings.ToLower(e.host)+"|") {
				pl.plan.Skipped["registry value removed with its scheduled task"]++
				return true
			}
		}
	}
	return false
}

// account plans an account the attack created (disable, then delete on
// approval) or deleted (not restorable), and a reset of the credentials of
// an account the attack used. An account the scope shows created is taken
// as the attack's only with evidence beyond being in the scope: its
// creator is one of the attack's users or processes, or an attack process
// named it on its command line (net user NAME /add). An administrator's
// account created in the same hours stays untouched.
func (pl *planning) account(e *entity) {
	switch {
	case e.has(investigate.ActCreated):
		if !pl.accountEvidence(e, e.item(investigate.ActCreated).By) {
			pl.plan.Skipped["account created by someone other than the attack's users and processes, and not named by them"]++
			return
		}
		dis := pl.addStep(e, KindDisableAccount, fmt.Sprintf("disable account %s that the attack created on %s", e.name, e.host), true,
			Step{Command: disableAccount(e.host, e.name), Check: checkAccount(e.host, e.name, "disabled")})
		del := pl.addStep(e, KindDeleteAccount, fmt.Sprintf("delete account %s that the attack created on %s (irreversible: needs approval)", e.name, e.host), false,
			Step{Command: deleteAccount(e.host, e.name), Check: checkAccount(e.host, e.name, "absent"), Advice: true})
		dependOn(pl.step(del), dis)
	case e.has(investigate.ActDeleted):
		pl.notRestorable(e, "account deleted by the attack; recreating it gives a new SID: restore it from the directory's backup")
	case e.has(investigate.ActUsed):
		pl.resetCredentials(e)
	default:
		pl.plan.Skipped["account not changed"]++
	}
}

// accountEvidence reports whether an account (or membership) change made
// by "by" is the attack's: by is an attack user or process, or an attack
// process names the account on its command line.
func (pl *planning) accountEvidence(e *entity, by string) bool {
	pl.buildActors()
	if by != "" && pl.attackActors[strings.ToLower(by)] {
		return true
	}
	return pl.namedByAttack(e.name)
}

// buildActors collects, once, the attack's users and processes and their
// command lines.
func (pl *planning) buildActors() {
	if pl.attackActors == nil {
		pl.attackActors = map[string]bool{}
		for _, hu := range pl.attackUsers() {
			pl.attackActors[userID(hu[1])] = true
		}
		for _, o := range pl.ents {
			if o.kind == investigate.ItemProcess && pl.attackProcess(o) {
				pl.attackActors[o.id] = true
				if it := o.item(investigate.ActExecuted); it != nil {
					pl.attackCmdlines = append(pl.attackCmdlines, strings.ToLower(it.CommandLine))
				}
			}
		}
	}
}

// namedByAttack reports whether an attack process's command line names
// the account (as a whole word).
func (pl *planning) namedByAttack(name string) bool {
	pl.buildActors()
	n := strings.ToLower(accountName(name))
	if n == "" {
		return false
	}
	for _, c := range pl.attackCmdlines {
		for _, w := range strings.FieldsFunc(c, func(r rune) bool { return r == ' ' || r == '"' || r == '\'' || r == '\\' || r == ',' || r == '=' }) {
			if w == n {
				return true
			}
		}
	}
	return false
}

// user plans a credential reset for a user whose credentials the attack
// used.
func (pl *planning) user(e *entity) {
	if e.has(investigate.ActUsed) {
		pl.resetCredentials(e)
		return
	}
	pl.plan.Skipped["user not changed"]++
}

func (pl *planning) resetCredentials(e *entity) {
	if _, done := pl.stepsByItem[e.id][KindResetCredentials]; done {
		return
	}
	pl.addStep(e, KindResetCredentials, fmt.Sprintf("reset the credentials of %s: the attack used them (advice: needs approval)", e.name), false,
		Step{Command: resetCredentials(e.host, e.name), Advice: true})
}

// membership plans a group membership the attack added (removed) or
// removed (added back).
func (pl *planning) membership(e *entity) {
	switch {
	case e.has(investigate.ActAdded):
		it := e.item(investigate.ActAdded)
		member := pl.memberName(e)
		if !pl.accountEvidence(&entity{name: member}, it.By) {
			pl.plan.Skipped["membership added by someone other than the attack's users and processes, and not named by them"]++
			return
		}
		for _, g := range it.Groups {
			key := strings.ToLower(e.host + "|" + accountName(member) + "|" + g)
			if pl.members[key] {
				continue // the same membership reached twice (by SID and by name)
			}
			pl.members[key] = true
			pl.addStep(e, KindRemoveMember, fmt.Sprintf("remove %s from group %s on %s, added by the attack", member, g, e.host), true,
				Step{Command: removeMember(e.host, g, member), Check: checkMember(e.host, g, member)})
		}
	case e.has(investigate.ActRemoved):
		it := e.item(investigate.ActRemoved)
		pl.notRestorable(e, fmt.Sprintf("removed from %s by the attack; add it back after review", strings.Join(it.Groups, ", ")))
	}
}

// memberName returns a membership's member as an account name: a member
// known only by SID is the scope's (or the graph's) account with that SID.
func (pl *planning) memberName(e *entity) string {
	if !strings.HasPrefix(strings.ToUpper(e.name), "S-1-") || pl.p.graph == nil {
		return e.name
	}
	for _, o := range pl.ents {
		if o.kind != investigate.ItemAccount || !strings.EqualFold(o.host, e.host) {
			continue
		}
		if ent, ok := pl.p.graph.Entity(o.id); ok && strings.EqualFold(ent.Attrs["sid"], e.name) {
			return o.name
		}
	}
	return e.name
}

// release plans the release of each contained host that the plan acts
// on, after every other step on that host.
func (pl *planning) release() {
	for _, h := range pl.p.contained {
		e := &entity{kind: investigate.ItemHost, id: schema.HostID(h), host: h, name: h}
		var deps []string
		for i := range pl.plan.Steps {
			s := &pl.plan.Steps[i]
			if strings.EqualFold(s.Host, h) && !s.Advice {
				deps = append(deps, s.ID)
			}
		}
		id := pl.addStep(e, KindReleaseContainment, fmt.Sprintf("release the network containment of %s, last", h), true,
			Step{Command: releaseContainment(h), Check: checkReleased(h), EventIDs: []string{}})
		dependOn(pl.step(id), deps...)
	}
}

// finish orders the steps (dependencies first), fills in defaults and
// computes the plan id.
func (pl *planning) finish() error {
	p := pl.plan
	for i := range p.Steps {
		if p.Steps[i].DependsOn == nil {
			p.Steps[i].DependsOn = []string{}
		}
		slices.Sort(p.Steps[i].DependsOn)
	}
	g, err := p.graph()
	if err != nil {
		return err
	}
	ordered := make([]Step, 0, len(p.Steps))
	for _, i := range g.topo {
		ordered = append(ordered, p.Steps[i])
	}
	p.Steps = ordered
	h := sha256.New()
	h.Write([]byte(p.IncidentID))
	for i := range p.Steps {
		s := &p.Steps[i]
		for _, x := range [...]string{s.ID, s.Host, s.ScopeItem, s.Command.Target.Name()} {
			h.Write([]byte(x))
			h.Write([]byte{0})
		}
	}
	p.ID = "plan-" + sanitize(p.IncidentID) + "-" + hex.EncodeToString(h.Sum(nil)[:6])
	return nil
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}

func baseName(path string) string {
	if i := strings.LastIndexAny(path, `\/`); i >= 0 {
		return path[i+1:]
	}
	return path
}

// taskName returns a task's path with one leading backslash.
func taskName(n string) string {
	if strings.HasPrefix(n, `\`) {
		return n
	}
	return `\` + n
}
