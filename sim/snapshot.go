package sim

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// ArtifactKind is the kind of thing on a host that an attack can create or
// change and that remediation must undo.
type ArtifactKind string

// The artifact kinds.
const (
	KindProcess     ArtifactKind = "process"      // Key: the process GUID
	KindFile        ArtifactKind = "file"         // Key: the path
	KindRegistry    ArtifactKind = "registry"     // Key: key\value name, as Sysmon's TargetObject
	KindService     ArtifactKind = "service"      // Key: the service name
	KindTask        ArtifactKind = "task"         // Key: the task path (\Vendor\Name)
	KindAccount     ArtifactKind = "account"      // Key: the local account name
	KindGroupMember ArtifactKind = "group_member" // Key: group\DOMAIN\member
	KindContainment ArtifactKind = "containment"  // Key: "" (the host's)
)

// Artifact names one thing on one host. Keys compare without regard to
// case, as Windows does (Same). A plain value.
type Artifact struct {
	Host string       `json:"host"` // the host's full name (Computer)
	Kind ArtifactKind `json:"kind"`
	Key  string       `json:"key"`
}

// ID returns the artifact's case-folded identity, for maps.
func (a Artifact) ID() string {
	return strings.ToLower(a.Host) + "|" + string(a.Kind) + "|" + strings.ToLower(a.Key)
}

// Same reports whether a and b name the same thing.
func (a Artifact) Same(b Artifact) bool { return a.ID() == b.ID() }

func (a Artifact) String() string { return fmt.Sprintf("%s %s %s", a.Host, a.Kind, a.Key) }

// Snapshot is the state of one host at one time: a deep copy, safe for
// concurrent reads. Map keys are the case-folded artifact keys.
type Snapshot struct {
	Host        string                   `json:"host"`
	Time        time.Time                `json:"time"`
	Processes   map[string]Process       `json:"processes"` // by GUID
	Files       map[string]File          `json:"files"`
	Registry    map[string]RegistryValue `json:"registry"`
	Services    map[string]Service       `json:"services"`
	Tasks       map[string]Task          `json:"tasks"`
	Accounts    map[string]Account       `json:"accounts"`
	Groups      map[string][]string      `json:"groups"` // group name → members (DOMAIN\name), sorted
	Containment Containment              `json:"containment"`
}

// Snapshot returns the state of the named host.
func (f *Fleet) Snapshot(hostName string) (Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, err := f.host(hostName)
	if err != nil {
		return Snapshot{}, err
	}
	return f.snapshot(h, f.clock.Now().UTC()), nil
}

// SnapshotAll returns the state of every host, by full name.
func (f *Fleet) SnapshotAll() map[string]Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]Snapshot, len(f.order))
	for _, h := range f.order {
		out[h.name] = f.snapshot(h, f.clock.Now().UTC())
	}
	return out
}

func (f *Fleet) snapshot(h *host, t time.Time) Snapshot {
	s := Snapshot{Host: h.name, Time: t,
		Processes: make(map[string]Process, len(h.procs)), Files: make(map[string]File, len(h.files)),
		Registry: make(map[string]RegistryValue, len(h.reg)), Services: make(map[string]Service, len(h.services)),
		Tasks: make(map[string]Task, len(h.tasks)), Accounts: make(map[string]Account, len(h.accounts)),
		Groups:      make(map[string][]string, len(h.groups)),
		Containment: Containment{Mode: h.contain.Mode, Permitted: slices.Clone(h.contain.Permitted)}}
	for _, p := range h.procs {
		s.Processes[p.GUID] = *p
	}
	for k, v := range h.files {
		s.Files[k] = *v
	}
	for k, v := range h.reg {
		s.Registry[k] = *v
	}
	for k, v := range h.services {
		s.Services[k] = *v
	}
	for k, v := range h.tasks {
		s.Tasks[k] = *v
	}
	for k, g := range h.groups {
		m := slices.Clone(g.members)
		sort.Slice(m, func(i, j int) bool { return strings.ToLower(m[i]) < strings.ToLower(m[j]) })
		s.Groups[k] = m
	}
	for k := range h.accounts {
		s.Accounts[k] = f.snapshotAccount(h, k)
	}
	return s
}

// snapshotAccount copies an account with the local groups it is in (lock
// held).
func (f *Fleet) snapshotAccount(h *host, key string) Account {
	a := h.accounts[key]
	acc := *a
	acc.Groups = nil
	full := strings.ToLower(h.short + `\` + a.Name)
	for _, g := range h.groups {
		if slices.ContainsFunc(g.members, func(m string) bool { return strings.ToLower(m) == full }) {
			acc.Groups = append(acc.Groups, g.name)
		}
	}
	sort.Strings(acc.Groups)
	return acc
}

// view runs fn on the named host with the lock held, changing nothing.
func (f *Fleet) view(name string, fn func(h *host) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, err := f.host(name)
	if err != nil {
		return err
	}
	return fn(h)
}

// ChangeOp says how an artifact differs between two snapshots.
type ChangeOp string

// The change operations.
const (
	Added   ChangeOp = "added"
	Removed ChangeOp = "removed"
	Changed ChangeOp = "changed"
)

// Change is one difference between two snapshots of a host: the artifact,
// what happened to it, and a summary of it before and after. A plain value.
type Change struct {
	Artifact Artifact `json:"artifact"`
	Op       ChangeOp `json:"op"`
	Before   string   `json:"before,omitempty"`
	After    string   `json:"after,omitempty"`
}

func (c Change) String() string {
	switch c.Op {
	case Added:
		return fmt.Sprintf("+ %s %s: %s", c.Artifact.Kind, c.Artifact.Key, c.After)
	case Removed:
		return fmt.Sprintf("- %s %s: %s", c.Artifact.Kind, c.Artifact.Key, c.Before)
	}
	return fmt.Sprintf("~ %s %s: %s -> %s", c.Artifact.Kind, c.Artifact.Key, c.Before, c.After)
}

// Changes is a list of differences, sorted by kind and key.
type Changes []Change

// Empty reports whether there is no difference.
func (cs Changes) Empty() bool { return len(cs) == 0 }

// Except returns the changes whose artifact is not among arts.
func (cs Changes) Except(arts []Artifact) Changes {
	skip := make(map[string]bool, len(arts))
	for _, a := range arts {
		skip[a.ID()] = true
	}
	var out Changes
	for _, c := range cs {
		if !skip[c.Artifact.ID()] {
			out = append(out, c)
		}
	}
	return out
}

// Artifacts returns the artifacts that changed.
func (cs Changes) Artifacts() []Artifact {
	out := make([]Artifact, len(cs))
	for i, c := range cs {
		out[i] = c.Artifact
	}
	return out
}

func (cs Changes) String() string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Diff returns what differs from before to after: added, removed and
// changed processes, files, registry values, services, tasks, accounts,
// group memberships and containment. Network connections are not
// compared: they close with their processes. A process that ended and one
// that started with the same image, command line, user and integrity level
// are the same program running again (a restarted service) and are not a
// difference.
func Diff(before, after Snapshot) Changes {
	host := after.Host
	if host == "" {
		host = before.Host
	}
	var out Changes
	add := func(kind ArtifactKind, key string, op ChangeOp, b, a string) {
		out = append(out, Change{Artifact: Artifact{Host: host, Kind: kind, Key: key}, Op: op, Before: b, After: a})
	}
	bp, ap := samePrograms(before.Processes, after.Processes)
	diffMap(bp, ap, func(p Process) string { return p.GUID },
		func(p Process) string { return fmt.Sprintf("%s (pid %d, %s)", p.CommandLine, p.PID, p.User) },
		func(kind string, key string, op ChangeOp, b, a string) { add(KindProcess, key, op, b, a) })
	diffMap(before.Files, after.Files, func(f File) string { return f.Path },
		func(f File) string { return "sha256 " + f.SHA256 },
		func(_ string, key string, op ChangeOp, b, a string) { add(KindFile, key, op, b, a) })
	diffMap(before.Registry, after.Registry, func(v RegistryValue) string { return v.Path },
		func(v RegistryValue) string { return v.Type + " " + v.Data },
		func(_ string, key string, op ChangeOp, b, a string) { add(KindRegistry, key, op, b, a) })
	diffMap(before.Services, after.Services, func(s Service) string { return s.Name },
		func(s Service) string {
			return fmt.Sprintf("%s, start %s, %s, as %s", s.ImagePath, s.StartType, s.State, s.Account)
		},
		func(_ string, key string, op ChangeOp, b, a string) { add(KindService, key, op, b, a) })
	diffMap(before.Tasks, after.Tasks, func(t Task) string { return t.Name },
		func(t Task) string {
			return fmt.Sprintf("%s %s, on %s, as %s, enabled %t", t.Command, t.Arguments, t.Trigger, t.RunAs, t.Enabled)
		},
		func(_ string, key string, op ChangeOp, b, a string) { add(KindTask, key, op, b, a) })
	diffMap(before.Accounts, after.Accounts, func(a Account) string { return a.Name },
		func(a Account) string { return fmt.Sprintf("%s, enabled %t", a.SID, a.Enabled) },
		func(_ string, key string, op ChangeOp, b, a string) { add(KindAccount, key, op, b, a) })
	members := func(s Snapshot) map[string]string {
		m := map[string]string{}
		for g, ms := range s.Groups {
			for _, x := range ms {
				m[strings.ToLower(g+`\`+x)] = g + `\` + x
			}
		}
		return m
	}
	diffMap(members(before), members(after), func(s string) string { return s }, func(s string) string { return "member" },
		func(_ string, key string, op ChangeOp, b, a string) { add(KindGroupMember, key, op, b, a) })
	if cb, ca := containDesc(before.Containment), containDesc(after.Containment); cb != ca {
		add(KindContainment, "", Changed, cb, ca)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Artifact.Kind != out[j].Artifact.Kind {
			return out[i].Artifact.Kind < out[j].Artifact.Kind
		}
		return strings.ToLower(out[i].Artifact.Key) < strings.ToLower(out[j].Artifact.Key)
	})
	return out
}

func containDesc(c Containment) string {
	if c.Mode == "" {
		return "none"
	}
	p := slices.Clone(c.Permitted)
	slices.Sort(p)
	return c.Mode + " " + strings.Join(p, ",")
}

func diffMap[T any](before, after map[string]T, key, desc func(T) string, add func(string, string, ChangeOp, string, string)) {
	for _, k := range slices.Sorted(maps.Keys(before)) {
		b := before[k]
		a, ok := after[k]
		switch {
		case !ok:
			add("", key(b), Removed, desc(b), "")
		case desc(a) != desc(b):
			add("", key(a), Changed, desc(b), desc(a))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(after)) {
		if _, ok := before[k]; !ok {
			add("", key(after[k]), Added, "", desc(after[k]))
		}
	}
}

// programKey identifies what a process runs, whatever its pid and GUID.
func programKey(p Process) string {
	return strings.ToLower(p.Image) + "\x00" + p.CommandLine + "\x00" + strings.ToLower(p.User) + "\x00" + p.Integrity
}

// samePrograms returns the processes of before and after without the pairs
// that only ended and started again: a process only in before and one only
// in after that run the same program.
func samePrograms(before, after map[string]Process) (map[string]Process, map[string]Process) {
	gone := map[string][]string{}
	for _, k := range slices.Sorted(maps.Keys(before)) {
		if _, ok := after[k]; !ok {
			pk := programKey(before[k])
			gone[pk] = append(gone[pk], k)
		}
	}
	if len(gone) == 0 {
		return before, after
	}
	b, a := maps.Clone(before), maps.Clone(after)
	for _, k := range slices.Sorted(maps.Keys(after)) {
		if _, ok := before[k]; ok {
			continue
		}
		pk := programKey(after[k])
		if ks := gone[pk]; len(ks) > 0 {
			delete(b, ks[0])
			delete(a, k)
			gone[pk] = ks[1:]
		}
	}
	return b, a
}

// changedArtifacts calls fn with every artifact that differs between a and
// b, in no particular order: the cheap comparison scenario runs make
// around each step (Diff also describes and sorts).
func changedArtifacts(a, b Snapshot, fn func(Artifact)) {
	host := b.Host
	emit := func(kind ArtifactKind, key string) { fn(Artifact{Host: host, Kind: kind, Key: key}) }
	for k, p := range a.Processes {
		if _, ok := b.Processes[k]; !ok {
			emit(KindProcess, p.GUID)
		}
	}
	for k, p := range b.Processes {
		if _, ok := a.Processes[k]; !ok {
			emit(KindProcess, p.GUID)
		}
	}
	changedMap(a.Files, b.Files, func(x, y File) bool { return x == y }, func(v File) { emit(KindFile, v.Path) })
	changedMap(a.Registry, b.Registry, func(x, y RegistryValue) bool { return x == y }, func(v RegistryValue) { emit(KindRegistry, v.Path) })
	changedMap(a.Services, b.Services, func(x, y Service) bool {
		return x.ImagePath == y.ImagePath && x.StartType == y.StartType && x.State == y.State && x.Account == y.Account
	}, func(v Service) { emit(KindService, v.Name) })
	changedMap(a.Tasks, b.Tasks, func(x, y Task) bool { return x == y }, func(v Task) { emit(KindTask, v.Name) })
	changedMap(a.Accounts, b.Accounts, func(x, y Account) bool { return x.SID == y.SID && x.Enabled == y.Enabled },
		func(v Account) { emit(KindAccount, v.Name) })
	for g, ms := range a.Groups {
		for _, m := range ms {
			if !slices.ContainsFunc(b.Groups[g], func(x string) bool { return strings.EqualFold(x, m) }) {
				emit(KindGroupMember, g+`\`+m)
			}
		}
	}
	for g, ms := range b.Groups {
		for _, m := range ms {
			if !slices.ContainsFunc(a.Groups[g], func(x string) bool { return strings.EqualFold(x, m) }) {
				emit(KindGroupMember, g+`\`+m)
			}
		}
	}
	if containDesc(a.Containment) != containDesc(b.Containment) {
		emit(KindContainment, "")
	}
}

func changedMap[T any](a, b map[string]T, same func(T, T) bool, emit func(T)) {
	for k, x := range a {
		if y, ok := b[k]; !ok || !same(x, y) {
			emit(x)
		}
	}
	for k, y := range b {
		if _, ok := a[k]; !ok {
			emit(y)
		}
	}
}
