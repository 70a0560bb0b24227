package schema

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mdrkit/mdr"
)

// Result is what one event maps to: its dialect, whether its kind is one the
// mapper knows, and the entities and relations it yields. A Result may be
// reused across calls to Mapper.Map to save allocations: Map overwrites the
// Entities and Relations slices in place, so copy the elements (or Clone)
// what must outlive the next call. Attrs maps are never reused, so copied
// elements stay valid.
//
// A Result is not safe for concurrent use.
type Result struct {
	Dialect Dialect
	// Code is the dialect's event code: the Windows EventID, the OCSF
	// class_uid, the ECS event.category (first), the audit record type.
	Code string
	// Supported reports whether the mapper knows this kind of event. An
	// unsupported event yields no entities and no error.
	Supported bool
	Entities  []mdr.Entity
	Relations []mdr.Relation
}

// Reset empties r, keeping its capacity.
func (r *Result) Reset() {
	clear(r.Entities)
	clear(r.Relations)
	*r = Result{Entities: r.Entities[:0], Relations: r.Relations[:0]}
}

// Entity returns the entity with the given id.
func (r *Result) Entity(id string) (mdr.Entity, bool) {
	for i := range r.Entities {
		if r.Entities[i].ID == id {
			return r.Entities[i], true
		}
	}
	return mdr.Entity{}, false
}

// Clone returns a copy of r that shares nothing with r's slices.
func (r *Result) Clone() Result {
	c := *r
	c.Entities = append([]mdr.Entity(nil), r.Entities...)
	c.Relations = append([]mdr.Relation(nil), r.Relations...)
	return c
}

// Mapper turns events into entities and relations. Its zero value is ready
// to use and stateless; with a ProcessTable (Mapper.Processes) it also
// remembers the processes it saw start, so that a process known only by its
// pid gets the same id as its own creation event (see ProcessTable).
//
// A Mapper is safe for concurrent use once configured (ProcessTable is
// itself safe for concurrent use).
type Mapper struct {
	// Processes, when set, resolves processes known by host and pid alone
	// to the id of their creation event (see ProcessTable).
	Processes *ProcessTable
}

// Extract maps one event with a stateless Mapper into a new Result.
func Extract(ev *mdr.Event) (Result, error) {
	var m Mapper
	var r Result
	err := m.Map(ev, &r)
	return r, err
}

// Map maps ev into r, which is reset first. An event of an unknown dialect
// or an unsupported kind leaves r with Supported false and no entities, and
// is not an error. An event of a supported kind that lacks the fields that
// identify its main entity yields what can be derived (its host, say) and an
// *EventError wrapping ErrMissingField.
func (m *Mapper) Map(ev *mdr.Event, r *Result) error {
	r.Reset()
	if ev == nil {
		return nil
	}
	d := Detect(ev)
	r.Dialect = d
	e := emitter{m: m, r: r, ev: ev, t: ev.Time(), eid: ev.ID()}
	switch d {
	case DialectSysmon, DialectSecurity, DialectSystem, DialectPowerShell:
		code, _ := ev.Int("EventID")
		r.Code = strconv.FormatInt(code, 10)
		e.host = str(ev, "Computer")
		switch d {
		case DialectSysmon:
			e.sysmon(code)
		case DialectSecurity:
			e.security(code)
		case DialectSystem:
			e.system(code)
		case DialectPowerShell:
			e.powershell(code)
		}
	case DialectWindows:
		code, _ := ev.Int("EventID")
		r.Code = strconv.FormatInt(code, 10)
	case DialectECS:
		e.ecs()
	case DialectOCSF:
		e.ocsf()
	case DialectAuditd:
		e.auditd()
	}
	if e.missing != "" {
		return &EventError{Origin: ev.Origin(), EventID: e.eid, Dialect: d, Code: r.Code, Field: e.missing, Err: ErrMissingField}
	}
	return nil
}

// emitter collects the entities and relations of one event.
type emitter struct {
	m       *Mapper
	r       *Result
	ev      *mdr.Event
	t       time.Time
	eid     string
	host    string // host name as written
	hostLow string // host lower-cased, computed once
	hostID  string
	missing string // set when a supported event lacks its identifying fields
}

func (e *emitter) supported() { e.r.Supported = true }

// entity adds an entity unless one with the same id is there already, in
// which case attrs are merged into it (existing keys win) and an empty name
// is filled. It returns the id.
func (e *emitter) entity(kind mdr.EntityKind, id, name string, attrs map[string]string) string {
	for i := range e.r.Entities {
		x := &e.r.Entities[i]
		if x.ID != id {
			continue
		}
		if x.Name == "" {
			x.Name = name
		}
		if len(attrs) > 0 {
			if x.Attrs == nil {
				x.Attrs = attrs
			} else {
				for k, v := range attrs {
					if _, ok := x.Attrs[k]; !ok {
						x.Attrs[k] = v
					}
				}
			}
		}
		return id
	}
	e.r.Entities = append(e.r.Entities, mdr.Entity{Kind: kind, ID: id, Name: name, Attrs: attrs})
	return id
}

func (e *emitter) rel(kind mdr.RelationKind, from, to string, attrs map[string]string) {
	if from == "" || to == "" {
		return
	}
	e.r.Relations = append(e.r.Relations, mdr.Relation{Kind: kind, From: from, To: to, Time: e.t, EventID: e.eid, Attrs: attrs})
}

// hostEntity adds the event's host and returns its id ("" when unknown).
func (e *emitter) hostEntity() string {
	if e.hostID != "" {
		return e.hostID
	}
	if e.host == "" {
		return ""
	}
	if e.hostLow == "" {
		e.hostLow = lower(e.host)
	}
	e.hostID = e.entity(mdr.EntityHost, "host:"+e.hostLow, e.host, nil)
	return e.hostID
}

// otherHost adds a host other than the event's own.
func (e *emitter) otherHost(name string) string {
	if name == "" {
		return ""
	}
	return e.entity(mdr.EntityHost, HostID(name), name, nil)
}

// user adds a user written "DOMAIN\name" (or name@domain, or a bare name,
// which is taken as local to the event's host) and returns its id.
func (e *emitter) userQualified(s string) string {
	if s == "" {
		return ""
	}
	if i := strings.LastIndexByte(s, '\\'); i >= 0 {
		return e.user(s[:i], s[i+1:], "")
	}
	if i := strings.LastIndexByte(s, '@'); i > 0 {
		return e.user(s[i+1:], s[:i], "")
	}
	return e.user(e.host, s, "")
}

// user adds a user by domain and name (either may be "") and optional SID.
// The null SID (S-1-0-0) counts as no SID.
func (e *emitter) user(domain, name, sid string) string {
	if sid == "S-1-0-0" {
		sid = ""
	}
	if name == "" {
		if sid == "" {
			return ""
		}
		return e.entity(mdr.EntityAccount, SIDID(sid), sid, nil)
	}
	var attrs map[string]string
	if sid != "" {
		attrs = map[string]string{"sid": sid}
	}
	display := name
	if domain != "" {
		display = domain + `\` + name
	}
	return e.entity(mdr.EntityUser, UserID(domain, name), display, attrs)
}

// proc describes one process as an event names it.
type proc struct {
	guid    string
	pid     int64
	hasPID  bool
	start   time.Time // known start time (a creation event), else zero
	image   string
	cmdline string
	host    string // defaults to the event's host
	created bool   // this event is the process's creation: record its start
}

// process adds a process entity and returns its id ("" when nothing
// identifies it).
func (e *emitter) process(p proc) string {
	host := p.host
	if host == "" {
		host = e.host
	}
	t := e.m.Processes
	var hk string // the table's key for host
	if t != nil && p.hasPID {
		if host == e.host {
			if e.hostLow == "" {
				e.hostLow = lower(e.host)
			}
			hk = e.hostLow
		} else {
			hk = lower(host)
		}
	}
	var id string
	switch {
	case p.guid != "" && !zeroGUID(p.guid):
		id = ProcessGUIDID(p.guid)
		if t != nil && p.hasPID {
			if p.created && !p.start.IsZero() {
				t.put(procKey{hk, p.pid}, p.start, id)
			} else {
				t.note(procKey{hk, p.pid}, id)
			}
		}
	case p.hasPID:
		if t != nil {
			if p.created && !p.start.IsZero() {
				if known, ok := t.same(procKey{hk, p.pid}, p.start); ok {
					id = known // the same creation seen by another source (Sysmon 1 and Security 4688)
				} else {
					id = ProcessPIDID(host, p.pid, p.start)
					t.put(procKey{hk, p.pid}, p.start, id)
				}
			} else if p.start.IsZero() {
				id, _ = t.lookup(procKey{hk, p.pid}, e.t)
			}
		}
		if id == "" {
			id = ProcessPIDID(host, p.pid, p.start)
		}
	default:
		return ""
	}
	n := 0
	if p.hasPID {
		n++
	}
	if p.cmdline != "" {
		n++
	}
	if p.created && !p.start.IsZero() {
		n++
	}
	var attrs map[string]string
	if n > 0 {
		attrs = make(map[string]string, n)
		if p.hasPID {
			attrs["pid"] = strconv.FormatInt(p.pid, 10)
		}
		if p.cmdline != "" {
			attrs["command_line"] = p.cmdline
		}
		if p.created && !p.start.IsZero() {
			attrs["start_time"] = p.start.UTC().Format(time.RFC3339Nano)
		}
	}
	return e.entity(mdr.EntityProcess, id, p.image, attrs)
}

// file adds a file on the event's host.
func (e *emitter) file(path string) string {
	if path == "" {
		return ""
	}
	return e.entity(mdr.EntityFile, FileID(e.host, path), path, nil)
}

func (e *emitter) registry(key string) string {
	if key == "" {
		return ""
	}
	return e.entity(mdr.EntityRegistryKey, RegistryID(key), key, nil)
}

func (e *emitter) endpoint(ip, port string) string {
	if ip == "" {
		return ""
	}
	name := ip
	if port != "" && port != "0" {
		if strings.IndexByte(ip, ':') >= 0 {
			name = "[" + ip + "]:" + port
		} else {
			name = ip + ":" + port
		}
	}
	return e.entity(mdr.EntityNetworkEndpoint, EndpointID(ip, port), name, nil)
}

func (e *emitter) domain(name string) string {
	if name == "" {
		return ""
	}
	return e.entity(mdr.EntityDomain, DomainID(name), name, nil)
}

// ranOn links a process to the event's host and to its user.
func (e *emitter) ranOn(pid, uid string) {
	if pid == "" {
		return
	}
	if h := e.hostEntity(); h != "" {
		e.rel(mdr.RelRanOn, pid, h, nil)
	}
	if uid != "" {
		e.rel(mdr.RelRanAs, pid, uid, nil)
	}
}

// attrs builds an attribute map from key/value pairs, leaving out empty
// values; nil when all are empty.
func attrs(kv ...string) map[string]string {
	n := 0
	for i := 1; i < len(kv); i += 2 {
		if kv[i] != "" {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for i := 1; i < len(kv); i += 2 {
		if kv[i] != "" {
			m[kv[i-1]] = kv[i]
		}
	}
	return m
}

// str returns the field at key as trimmed text, "" when it is absent, null,
// empty or one of the placeholders Windows writes for "none" ("-").
func str(ev *mdr.Event, key string) string {
	v, ok := ev.Get(key)
	if !ok {
		return ""
	}
	s, isStr := v.Str()
	if !isStr {
		if v.IsNull() {
			return ""
		}
		s = v.Text()
	}
	s = strings.TrimSpace(s)
	if s == "-" {
		return ""
	}
	return s
}

// first returns the first non-empty str of keys.
func first(ev *mdr.Event, keys ...string) string {
	for _, k := range keys {
		if s := str(ev, k); s != "" {
			return s
		}
	}
	return ""
}

// pidOf reads a process id written in decimal or 0x hex.
func pidOf(ev *mdr.Event, keys ...string) (int64, bool) {
	for _, k := range keys {
		if v, ok := ev.Get(k); ok {
			if n, ok := v.Int(); ok && n >= 0 {
				return n, true
			}
		}
	}
	return 0, false
}

// timeOf reads a time field; zero when absent or unparsable.
func timeOf(ev *mdr.Event, key string) time.Time {
	v, ok := ev.Get(key)
	if !ok {
		return time.Time{}
	}
	t, err := mdr.TimeOf(v)
	if err != nil {
		return time.Time{}
	}
	return t
}

// ProcessTable remembers the processes seen starting, by host and pid: when
// each started and the id it was given. A process named later by its pid
// alone (the creator in Security 4688, the actor of 4624, 4663 or 5156, the
// PowerShell host of 4103/4104) then gets the id of its own creation event,
// and a creation reported twice (Sysmon 1 and Security 4688 of the same
// process, started within Tolerance of each other) keeps one id, the
// ProcessGuid one when Sysmon was seen first.
//
// The table is bounded: when it holds max entries the older half is dropped
// (two generations), and Dropped counts the entries lost. With a table the
// ids depend on the order events arrive in, so feed events in time order.
// A ProcessTable is safe for concurrent use.
type ProcessTable struct {
	mu       sync.Mutex
	max      int
	cur, old map[procKey]procEntry
	dropped  int64
}

// Tolerance is how far apart two reports of one process creation may be.
const Tolerance = 2 * time.Second

type procKey struct {
	host string
	pid  int64
}

type procEntry struct {
	start time.Time
	id    string
}

// NewProcessTable returns a table holding at most max entries (at least 2).
func NewProcessTable(max int) *ProcessTable {
	if max < 2 {
		max = 2
	}
	return &ProcessTable{max: max, cur: make(map[procKey]procEntry)}
}

func (t *ProcessTable) get(k procKey) (procEntry, bool) {
	if e, ok := t.cur[k]; ok {
		return e, true
	}
	e, ok := t.old[k]
	return e, ok
}

// Put records that process pid on host started at start and has the given
// id. An entry for the same creation (within Tolerance) that has a
// ProcessGuid id is kept.
func (t *ProcessTable) Put(host string, pid int64, start time.Time, id string) {
	t.put(procKey{lower(host), pid}, start, id)
}

func (t *ProcessTable) put(k procKey, start time.Time, id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.get(k); ok && near(old.start, start) && !strings.ContainsRune(strings.TrimPrefix(old.id, "process:"), ':') {
		return
	}
	if _, ok := t.cur[k]; !ok && len(t.cur) >= t.max/2 {
		t.dropped += int64(len(t.old))
		t.old, t.cur = t.cur, make(map[procKey]procEntry, t.max/2)
	}
	t.cur[k] = procEntry{start: start, id: id}
}

// Note records that process pid on host has the given id now (a Sysmon
// event naming a running process by ProcessGuid and ProcessId, whose start
// it does not give): a process later named by that pid alone gets this id.
func (t *ProcessTable) Note(host string, pid int64, id string) {
	t.note(procKey{lower(host), pid}, id)
}

func (t *ProcessTable) note(k procKey, id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, ok := t.get(k)
	if ok && old.id == id {
		return
	}
	if _, ok := t.cur[k]; !ok && len(t.cur) >= t.max/2 {
		t.dropped += int64(len(t.old))
		t.old, t.cur = t.cur, make(map[procKey]procEntry, t.max/2)
	}
	t.cur[k] = procEntry{start: old.start, id: id}
}

// Same returns the id of the process pid on host that started within
// Tolerance of start.
func (t *ProcessTable) Same(host string, pid int64, start time.Time) (string, bool) {
	return t.same(procKey{lower(host), pid}, start)
}

func (t *ProcessTable) same(k procKey, start time.Time) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.get(k); ok && near(e.start, start) {
		return e.id, true
	}
	return "", false
}

// Lookup returns the id of the process pid on host as of time at: the last
// one recorded, provided it did not start after at (give or take
// Tolerance). A zero at accepts any start.
func (t *ProcessTable) Lookup(host string, pid int64, at time.Time) (string, bool) {
	return t.lookup(procKey{lower(host), pid}, at)
}

func (t *ProcessTable) lookup(k procKey, at time.Time) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.get(k)
	if !ok || (!at.IsZero() && e.start.After(at.Add(Tolerance))) {
		return "", false
	}
	return e.id, true
}

func near(a, b time.Time) bool {
	d := a.Sub(b)
	return d <= Tolerance && d >= -Tolerance
}

// Len returns the number of entries held.
func (t *ProcessTable) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.cur) + len(t.old)
}

// Dropped returns the number of entries evicted so far.
func (t *ProcessTable) Dropped() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dropped
}
