package sim

import (
	"context"
	"embed"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"time"
	"unicode/utf16"

	"go.yaml.in/yaml/v3"
)

//go:embed scenarios/*.yaml
var builtin embed.FS

// Benign is the label of benign activity (a scenario's setup and the noise
// mixed into the attack); every other phase label is an attack step.
const Benign = "benign"

// ResponseLabel labels the events of actions taken through the Actuator.
const ResponseLabel = "response"

// Scenario is a parsed attack script: hosts, variables chosen by the seed,
// and steps that drive a fleet. It is immutable after parsing and safe
// for concurrent use; each Run builds its own fleet.
type Scenario struct {
	Name        string
	Title       string
	Description string
	// Phases lists the attack steps in script order.
	Phases []string
	// Expect names, per attack step, the detection rules (SigmaHQ ids)
	// that must fire on that step's events.
	Expect map[string][]string

	src   string
	bind  *binder
	hosts []hostDef
	vars  []varDef
	steps []step
	noise [][]step
}

type hostDef struct {
	id         string
	name, ip   *template.Template
	role       string
	line       int
	nameSource string
}

type varDef struct {
	name string
	tmpl *template.Template
	line int
}

// step is one parsed script step: its op, its fields as templates.
type step struct {
	op     string
	line   int
	index  int
	fields map[string]*template.Template
	keys   []string // of fields, sorted: templates run in one order
	raw    map[string]string
}

// opSpec lists the fields an op requires and accepts.
type opSpec struct{ required, optional []string }

var opSpecs = map[string]opSpec{
	"phase":           {[]string{"name"}, nil},
	"baseline":        {nil, nil},
	"noise":           {[]string{"count"}, nil},
	"sleep":           {nil, nil},
	"logon":           {[]string{"host", "user"}, []string{"type", "from", "workstation", "auth"}},
	"logon_failed":    {[]string{"host", "user"}, []string{"type", "from", "workstation", "auth"}},
	"logoff":          {[]string{"host", "user"}, []string{"type"}},
	"start":           {[]string{"image", "cmdline"}, []string{"as", "host", "parent", "user", "integrity", "cwd", "original", "description", "company"}},
	"exit":            {[]string{"proc"}, nil},
	"write_file":      {[]string{"proc", "path"}, []string{"content"}},
	"delete_file":     {[]string{"proc", "path"}, nil},
	"set_reg":         {[]string{"proc", "key", "data"}, []string{"type"}},
	"delete_reg":      {[]string{"proc", "key"}, nil},
	"connect":         {[]string{"proc", "ip", "port"}, []string{"hostname", "protocol"}},
	"dns":             {[]string{"proc", "name", "result"}, nil},
	"open_process":    {[]string{"proc", "target", "access"}, []string{"via"}},
	"load_image":      {[]string{"proc", "path"}, []string{"signed"}},
	"create_service":  {[]string{"host", "user", "name", "image"}, []string{"start", "account"}},
	"start_service":   {[]string{"host", "name"}, []string{"as"}},
	"stop_service":    {[]string{"host", "name"}, nil},
	"delete_service":  {[]string{"host", "name"}, nil},
	"create_task":     {[]string{"host", "user", "name", "command"}, []string{"args", "trigger", "run_as"}},
	"delete_task":     {[]string{"host", "user", "name"}, nil},
	"add_account":     {[]string{"host", "user", "name"}, nil},
	"disable_account": {[]string{"host", "user", "name"}, nil},
	"enable_account":  {[]string{"host", "user", "name"}, nil},
	"delete_account":  {[]string{"host", "user", "name"}, nil},
	"add_member":      {[]string{"host", "user", "group", "member"}, nil},
	"remove_member":   {[]string{"host", "user", "group", "member"}, nil},
	"explicit_creds":  {[]string{"proc", "user", "server"}, nil},
	"share_access":    {[]string{"host", "user", "from", "share"}, []string{"local_path", "relative"}},
	"script_block":    {[]string{"proc", "text"}, nil},
}

// commonFields are accepted on every step.
var commonFields = []string{"op", "wait", "comment"}

// Scenarios returns the names of the built-in scenarios, sorted.
func Scenarios() []string {
	ents, _ := builtin.ReadDir("scenarios")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// LoadScenario parses the built-in scenario with the given name.
func LoadScenario(name string) (*Scenario, error) {
	data, err := builtin.ReadFile("scenarios/" + name + ".yaml")
	if err != nil || strings.ContainsAny(name, `/\.`) {
		return nil, fmt.Errorf("%w: %q (have %s)", ErrUnknownScenario, name, strings.Join(Scenarios(), ", "))
	}
	return ParseScenario("scenarios/"+name+".yaml", data)
}

type scriptDoc struct {
	Name        string              `yaml:"name"`
	Title       string              `yaml:"title"`
	Description string              `yaml:"description"`
	Hosts       []yaml.Node         `yaml:"hosts"`
	Vars        yaml.Node           `yaml:"vars"`
	Steps       []yaml.Node         `yaml:"steps"`
	Noise       [][]yaml.Node       `yaml:"noise"`
	Expect      map[string][]string `yaml:"expect"`
}

// ParseScenario parses a scenario script; src names it in errors.
func ParseScenario(src string, data []byte) (*Scenario, error) {
	var doc scriptDoc
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &ScriptError{Script: src, Step: -1, Err: fmt.Errorf("%w: %v", ErrInvalid, err)}
	}
	herr := func(line int, format string, a ...any) error {
		return &ScriptError{Script: src, Step: -1, Line: line, Err: fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)}
	}
	if doc.Name == "" {
		return nil, herr(0, "no name")
	}
	s := &Scenario{Name: doc.Name, Title: doc.Title, Description: strings.TrimSpace(doc.Description), Expect: doc.Expect, src: src, bind: &binder{}}
	b := s.bind
	if len(doc.Hosts) == 0 {
		return nil, herr(0, "no hosts")
	}
	ids := map[string]bool{}
	for _, n := range doc.Hosts {
		var hd struct{ ID, Name, IP, Role string }
		if err := n.Decode(&hd); err != nil {
			return nil, herr(n.Line, "host: %v", err)
		}
		if hd.ID == "" || hd.Name == "" || ids[hd.ID] {
			return nil, herr(n.Line, "host needs a unique id and a name")
		}
		ids[hd.ID] = true
		nt, err := b.newTemplate(hd.Name)
		if err != nil {
			return nil, herr(n.Line, "host %s name: %v", hd.ID, err)
		}
		it, err := b.newTemplate(hd.IP)
		if err != nil {
			return nil, herr(n.Line, "host %s ip: %v", hd.ID, err)
		}
		s.hosts = append(s.hosts, hostDef{id: hd.ID, name: nt, ip: it, role: hd.Role, line: n.Line, nameSource: hd.Name})
	}
	if doc.Vars.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(doc.Vars.Content); i += 2 {
			k, v := doc.Vars.Content[i], doc.Vars.Content[i+1]
			t, err := b.newTemplate(v.Value)
			if err != nil {
				return nil, herr(v.Line, "var %s: %v", k.Value, err)
			}
			s.vars = append(s.vars, varDef{name: k.Value, tmpl: t, line: k.Line})
		}
	} else if doc.Vars.Kind != 0 {
		return nil, herr(doc.Vars.Line, "vars must be a mapping")
	}
	var err error
	if s.steps, err = parseSteps(b, src, doc.Steps, 0); err != nil {
		return nil, err
	}
	for _, g := range doc.Noise {
		st, err := parseSteps(b, src, g, 0)
		if err != nil {
			return nil, err
		}
		for _, x := range st {
			if x.op == "noise" || x.op == "phase" || x.op == "baseline" {
				return nil, &ScriptError{Script: src, Step: x.index, Line: x.line, Err: fmt.Errorf("%w: %s inside noise", ErrInvalid, x.op)}
			}
		}
		s.noise = append(s.noise, st)
	}
	baselines := 0
	for _, st := range s.steps {
		switch st.op {
		case "phase":
			name := st.raw["name"]
			if name != Benign && !slices.Contains(s.Phases, name) {
				s.Phases = append(s.Phases, name)
			}
		case "baseline":
			baselines++
		case "noise":
			if len(s.noise) == 0 {
				return nil, &ScriptError{Script: src, Step: st.index, Line: st.line, Err: fmt.Errorf("%w: noise step but no noise pool", ErrInvalid)}
			}
		}
	}
	if baselines != 1 {
		return nil, herr(0, "need exactly one baseline step, have %d", baselines)
	}
	for ph := range s.Expect {
		if !slices.Contains(s.Phases, ph) {
			return nil, herr(0, "expect names phase %q that no phase step starts", ph)
		}
	}
	return s, nil
}

func parseSteps(b *binder, src string, nodes []yaml.Node, base int) ([]step, error) {
	var out []step
	for i, n := range nodes {
		serr := func(format string, a ...any) error {
			return &ScriptError{Script: src, Step: base + i, Line: n.Line, Err: fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)}
		}
		var raw map[string]string
		if err := n.Decode(&raw); err != nil {
			return nil, serr("%v", err)
		}
		op := raw["op"]
		spec, ok := opSpecs[op]
		if !ok {
			return nil, serr("unknown op %q", op)
		}
		for _, r := range spec.required {
			if raw[r] == "" {
				return nil, serr("%s needs %s", op, r)
			}
		}
		st := step{op: op, line: n.Line, index: base + i, raw: raw, fields: map[string]*template.Template{}}
		for k, v := range raw {
			if !slices.Contains(commonFields, k) && !slices.Contains(spec.required, k) && !slices.Contains(spec.optional, k) {
				return nil, serr("%s does not take %s", op, k)
			}
			t, err := b.newTemplate(v)
			if err != nil {
				return nil, serr("%s: %v", k, err)
			}
			st.fields[k] = t
			st.keys = append(st.keys, k)
		}
		sort.Strings(st.keys)
		if w := raw["wait"]; w != "" && !strings.Contains(w, "{{") {
			if _, _, err := parseRange(w, time.ParseDuration); err != nil {
				return nil, serr("wait: %v", err)
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// binder gives a scenario's templates their functions: the templates are
// parsed once, and each run's functions (its random source, its hosts)
// are those of the run executing them, one run at a time.
type binder struct {
	mu  sync.Mutex
	cur *runner
}

func (b *binder) newTemplate(s string) (*template.Template, error) {
	r := func() *runner { return b.cur }
	funcs := template.FuncMap{
		"pick": func(xs ...string) string {
			if len(xs) == 0 {
				return ""
			}
			return xs[r().rng.IntN(len(xs))]
		},
		"int": func(lo, hi int) int {
			if hi <= lo {
				return lo
			}
			return lo + r().rng.IntN(hi-lo+1)
		},
		"hex": func(n int) string {
			const digits = "0123456789ABCDEF"
			out := make([]byte, max(0, min(n, 64)))
			for i := range out {
				out[i] = digits[r().rng.IntN(16)]
			}
			return string(out)
		},
		"host":    func(id string) string { return r().hostField(id, func(h *host) string { return h.name }) },
		"short":   func(id string) string { return r().hostField(id, func(h *host) string { return h.short }) },
		"ip":      func(id string) string { return r().hostField(id, func(h *host) string { return h.ip }) },
		"sid":     func(user string) string { return r().f.sidOf(nil, user) },
		"sha256":  func(content string) string { s, _, _ := ContentHashes(content); return s },
		"b64":     func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"lower":   strings.ToLower,
		"upper":   strings.ToUpper,
		"enc":     EncodePowerShell,
		"trimpre": strings.TrimPrefix,
		"pid": func(name string) int {
			if ref, ok := r().procs[name]; ok {
				return ref.pid
			}
			return 0
		},
	}
	t, err := template.New("").Funcs(funcs).Option("missingkey=error").Parse(s)
	if err != nil {
		return nil, err
	}
	if len(t.Templates()) > 1 {
		return nil, fmt.Errorf("define and block are not allowed in a scenario value")
	}
	if err := checkNodes(t.Root); err != nil {
		return nil, err
	}
	return t, nil
}

// checkNodes refuses the template actions a value does not need and that
// could run without end: range and template calls.
func checkNodes(n parse.Node) error {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return nil
		}
		for _, c := range x.Nodes {
			if err := checkNodes(c); err != nil {
				return err
			}
		}
	case *parse.RangeNode:
		return fmt.Errorf("range is not allowed in a scenario value")
	case *parse.TemplateNode:
		return fmt.Errorf("template calls are not allowed in a scenario value")
	case *parse.IfNode:
		return errors.Join(checkNodes(x.List), checkNodes(x.ElseList))
	case *parse.WithNode:
		return errors.Join(checkNodes(x.List), checkNodes(x.ElseList))
	}
	return nil
}

// parseRange reads "A..B" (or "A") with parse.
func parseRange[T any](s string, parse func(string) (T, error)) (lo, hi T, err error) {
	a, b, ok := strings.Cut(s, "..")
	if !ok {
		b = a
	}
	if lo, err = parse(strings.TrimSpace(a)); err != nil {
		return lo, hi, err
	}
	hi, err = parse(strings.TrimSpace(b))
	return lo, hi, err
}

// EncodePowerShell returns the -EncodedCommand form of a script: base64 of
// its UTF-16LE bytes.
func EncodePowerShell(script string) string {
	u := utf16.Encode([]rune(script))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// RunConfig chooses a run of a scenario. A plain value.
type RunConfig struct {
	// Seed varies names, paths, addresses, times and the noise.
	Seed int64
	// Start is the time of the first event (DefaultStart when zero).
	Start time.Time
	// Observer, when set, sees every event as it is emitted (see
	// WithObserver).
	Observer func(Emitted)
	// MaxSteps bounds the steps a run performs, noise included (0 means
	// DefaultMaxSteps); past it the run fails with ErrLimit. Scripts from
	// elsewhere cannot make a run loop for ever.
	MaxSteps int
}

// DefaultMaxSteps is RunConfig.MaxSteps when zero.
const DefaultMaxSteps = 100_000

// maxNoise bounds a noise step's count; maxValue bounds one expanded value.
const (
	maxNoise = 10_000
	maxValue = 1 << 20
)

// Truth is the ground truth of a run: what the attack changed on each host
// since the baseline, what benign activity changed since then, and every
// benign artifact (set up before the baseline or created by the noise).
// A plain value.
type Truth struct {
	Attack        Changes    `json:"attack"`
	BenignChanges Changes    `json:"benign_changes"`
	Benign        []Artifact `json:"benign"`
}

// AttackArtifacts returns the artifacts of Truth.Attack.
func (t Truth) AttackArtifacts() []Artifact { return t.Attack.Artifacts() }

// Run is a scenario played on a fresh fleet: the fleet (now after the
// attack, ready for response), the snapshots taken at the baseline step,
// every event with its label, and the ground truth. Fields are not
// modified after Run returns; the Fleet is safe for concurrent use.
type Run struct {
	Scenario *Scenario
	Seed     int64
	Fleet    *Fleet
	Baseline map[string]Snapshot // by host full name
	Events   []Emitted
	Truth    Truth
	Vars     map[string]string
	// HostIDs maps the script's host ids to the hosts' full names.
	HostIDs map[string]string
}

// Generate runs the built-in scenario name with seed.
func Generate(ctx context.Context, name string, seed int64) (*Run, error) {
	s, err := LoadScenario(name)
	if err != nil {
		return nil, err
	}
	return s.Run(ctx, RunConfig{Seed: seed})
}

// LabelOf returns the label of the event with the given _id ("" if none).
func (r *Run) LabelOf(id string) string {
	for _, e := range r.Events {
		if e.Record.Str("_id") == id {
			return e.Label
		}
	}
	return ""
}

// runner is the state of one run.
type runner struct {
	s        *Scenario
	f        *Fleet
	clock    *SimClock
	rng      *rand.Rand
	vars     map[string]any
	hostIDs  map[string]*host
	procs    map[string]procRef
	label    string
	touched  map[string]string // artifact id → label of the last step that changed it
	journal  []Artifact        // what the current step changed
	steps    int               // steps performed
	maxSteps int
	benign   map[string]Artifact
	// crossCheck compares each step's journal with the snapshots around
	// it (tests); missed lists what the journal left out.
	crossCheck bool
	missed     []string
}

type procRef struct {
	h   *host
	pid int
}

// Run plays the scenario on a new fleet.
func (s *Scenario) Run(ctx context.Context, cfg RunConfig) (*Run, error) {
	run, _, err := s.run(ctx, cfg, false)
	return run, err
}

// run plays the scenario; with crossCheck it also returns what the steps'
// journals missed (see runner.crossCheck).
func (s *Scenario) run(ctx context.Context, cfg RunConfig, crossCheck bool) (*Run, []string, error) {
	start := cfg.Start
	if start.IsZero() {
		start = DefaultStart
	}
	clock := NewSimClock(start, time.Millisecond)
	opts := []Option{WithClock(clock)}
	if cfg.Observer != nil {
		opts = append(opts, WithObserver(cfg.Observer))
	}
	f, err := New(Config{Seed: cfg.Seed, IDPrefix: fmt.Sprintf("sim-%s-%d", s.Name, cfg.Seed)}, opts...)
	if err != nil {
		return nil, nil, err
	}
	r := &runner{s: s, f: f, clock: clock, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x736365)), vars: map[string]any{},
		hostIDs: map[string]*host{}, procs: map[string]procRef{}, label: Benign, touched: map[string]string{}, benign: map[string]Artifact{},
		maxSteps: cfg.MaxSteps, crossCheck: crossCheck}
	if r.maxSteps <= 0 {
		r.maxSteps = DefaultMaxSteps
	}
	run := &Run{Scenario: s, Seed: cfg.Seed, Fleet: f, Vars: map[string]string{}, HostIDs: map[string]string{}}
	for _, hd := range s.hosts {
		name, err := r.exec(hd.name)
		if err != nil {
			return nil, nil, &ScriptError{Script: s.src, Step: -1, Line: hd.line, Err: err}
		}
		ip, err := r.exec(hd.ip)
		if err != nil {
			return nil, nil, &ScriptError{Script: s.src, Step: -1, Line: hd.line, Err: err}
		}
		if err := f.AddHost(HostSpec{Name: name, IP: ip, Role: hd.role}); err != nil {
			return nil, nil, &ScriptError{Script: s.src, Step: -1, Line: hd.line, Err: err}
		}
		h, _ := f.host(name)
		r.hostIDs[hd.id] = h
		run.HostIDs[hd.id] = h.name
		for _, base := range []struct {
			name string
			pid  int
		}{{"system", 4}, {"services", h.servicesPID}, {"lsass", h.lsassPID}, {"schedule", h.schedPID}, {"sensor", h.sysmonPID}} {
			r.procs[hd.id+"."+base.name] = procRef{h, base.pid}
		}
		for pid, p := range h.procs {
			if strings.EqualFold(baseName(p.Image), "winlogon.exe") {
				r.procs[hd.id+".winlogon"] = procRef{h, pid}
			}
		}
	}
	for _, v := range s.vars {
		val, err := r.exec(v.tmpl)
		if err != nil {
			return nil, nil, &ScriptError{Script: s.src, Step: -1, Line: v.line, Err: fmt.Errorf("var %s: %w", v.name, err)}
		}
		r.vars[v.name] = val
		run.Vars[v.name] = val
	}
	for _, st := range s.steps {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if st.op == "baseline" {
			run.Baseline = f.SnapshotAll()
			r.touched = map[string]string{}
			continue
		}
		if st.op == "noise" {
			lo, hi, err := parseRange(st.raw["count"], strconv.Atoi)
			if err != nil || lo < 0 || hi < lo || hi > maxNoise {
				return nil, nil, &ScriptError{Script: s.src, Step: st.index, Line: st.line, Err: fmt.Errorf("%w: count %q", ErrInvalid, st.raw["count"])}
			}
			saved := r.label
			r.label = Benign
			for range lo + r.rng.IntN(hi-lo+1) {
				if err := ctx.Err(); err != nil {
					return nil, nil, err
				}
				for _, ns := range s.noise[r.rng.IntN(len(s.noise))] {
					if err := r.step(ns); err != nil {
						return nil, nil, err
					}
				}
			}
			r.label = saved
			continue
		}
		if err := r.step(st); err != nil {
			return nil, nil, err
		}
	}
	run.Events = f.Events(0)
	run.Truth = r.truth(run.Baseline)
	return run, r.missed, nil
}

// truth partitions the changes since the baseline by the label of the
// step that last changed each artifact.
func (r *runner) truth(base map[string]Snapshot) Truth {
	var t Truth
	now := r.f.SnapshotAll()
	for _, h := range r.f.order {
		for _, c := range Diff(base[h.name], now[h.name]) {
			if r.touched[c.Artifact.ID()] == Benign {
				t.BenignChanges = append(t.BenignChanges, c)
			} else {
				t.Attack = append(t.Attack, c)
			}
		}
		snap := now[h.name]
		for id, a := range r.benign {
			if a.Host == h.name && snapHas(snap, a) {
				_ = id
				t.Benign = append(t.Benign, a)
			}
		}
	}
	sort.Slice(t.Benign, func(i, j int) bool { return t.Benign[i].ID() < t.Benign[j].ID() })
	return t
}

// snapHas reports whether an artifact exists in a snapshot.
func snapHas(s Snapshot, a Artifact) bool {
	k := strings.ToLower(a.Key)
	switch a.Kind {
	case KindProcess:
		_, ok := s.Processes[a.Key]
		return ok
	case KindFile:
		_, ok := s.Files[k]
		return ok
	case KindRegistry:
		_, ok := s.Registry[k]
		return ok
	case KindService:
		_, ok := s.Services[k]
		return ok
	case KindTask:
		_, ok := s.Tasks[k]
		return ok
	case KindAccount:
		_, ok := s.Accounts[k]
		return ok
	case KindGroupMember:
		g, m, _ := strings.Cut(a.Key, `\`)
		return slices.ContainsFunc(s.Groups[strings.ToLower(g)], func(x string) bool { return strings.EqualFold(x, m) })
	case KindContainment:
		return s.Containment.Mode != ""
	}
	return false
}

func (r *runner) hostField(id string, get func(*host) string) string {
	if h, ok := r.hostIDs[id]; ok {
		return get(h)
	}
	return "<no host " + id + ">"
}

func (r *runner) exec(t *template.Template) (string, error) {
	b := &limitedBuilder{max: maxValue}
	bind := r.s.bind
	bind.mu.Lock()
	bind.cur = r
	err := t.Execute(b, r.vars)
	bind.cur = nil
	bind.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return b.String(), nil
}

// step runs one step: its fields expanded, the clock advanced by its wait,
// the operation applied, and the artifacts it changed attributed to the
// current label.
func (r *runner) step(st step) error {
	fail := func(err error) error {
		return &ScriptError{Script: r.s.src, Step: st.index, Line: st.line, Err: fmt.Errorf("%s: %w", st.op, err)}
	}
	r.steps++
	if r.steps > r.maxSteps {
		return fail(fmt.Errorf("%w: more than %d steps", ErrLimit, r.maxSteps))
	}
	v := make(map[string]string, len(st.fields))
	for _, k := range st.keys {
		s, err := r.exec(st.fields[k])
		if err != nil {
			return fail(fmt.Errorf("%s: %w", k, err))
		}
		v[k] = s
	}
	if w := v["wait"]; w != "" {
		lo, hi, err := parseRange(w, time.ParseDuration)
		if err != nil || hi < lo {
			return fail(fmt.Errorf("%w: wait %q", ErrInvalid, w))
		}
		r.clock.Advance(lo + time.Duration(r.rng.Int64N(int64(hi-lo)+1)))
	}
	if st.op == "phase" {
		r.label = v["name"]
		return nil
	}
	if st.op == "sleep" {
		return nil
	}
	f := r.f
	f.mu.Lock()
	defer f.mu.Unlock()
	var before map[*host]Snapshot
	if r.crossCheck {
		before = make(map[*host]Snapshot, len(f.order))
		for _, h := range f.order {
			before[h] = f.snapshot(h, time.Time{})
		}
	}
	r.journal = r.journal[:0]
	f.journal, f.label = &r.journal, r.label
	err := r.apply(st.op, v)
	f.journal, f.label = nil, ""
	if err != nil {
		return fail(err)
	}
	for _, a := range r.journal {
		id := a.ID()
		r.touched[id] = r.label
		if r.label == Benign {
			r.benign[id] = a
		} else {
			delete(r.benign, id)
		}
	}
	if r.crossCheck {
		for _, h := range f.order {
			changedArtifacts(before[h], f.snapshot(h, time.Time{}), func(a Artifact) {
				if r.touched[a.ID()] != r.label {
					r.missed = append(r.missed, fmt.Sprintf("step %d (%s, line %d) changed %s unrecorded", st.index, st.op, st.line, a))
				}
			})
		}
	}
	return nil
}

func (r *runner) hostOf(id string) (*host, error) {
	h, ok := r.hostIDs[id]
	if !ok {
		return nil, fmt.Errorf("%w: no host %q in the script", ErrInvalid, id)
	}
	return h, nil
}

func (r *runner) procOf(name string) (*host, *Process, error) {
	ref, ok := r.procs[name]
	if !ok {
		return nil, nil, fmt.Errorf("%w: no process %q in the script", ErrInvalid, name)
	}
	p, ok := ref.h.procs[ref.pid]
	if !ok {
		return nil, nil, fmt.Errorf("%w: process %q (pid %d) has exited", ErrNotFound, name, ref.pid)
	}
	return ref.h, p, nil
}

func atoiDefault(s string, d int) (int, error) {
	if s == "" {
		return d, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%w: number %q", ErrInvalid, s)
	}
	return n, nil
}

// apply performs one operation (fleet lock held).
func (r *runner) apply(op string, v map[string]string) error {
	f := r.f
	switch op {
	case "logon", "logon_failed", "logoff":
		h, err := r.hostOf(v["host"])
		if err != nil {
			return err
		}
		lt, err := atoiDefault(v["type"], 2)
		if err != nil {
			return err
		}
		from := v["from"]
		if src, ok := r.hostIDs[from]; ok {
			from = src.ip
			if v["workstation"] == "" {
				v["workstation"] = src.short
			}
		}
		switch op {
		case "logon":
			f.logon(h, v["user"], lt, from, v["workstation"], v["auth"])
		case "logoff":
			f.logoff(h, v["user"], lt)
		default:
			auth := v["auth"]
			if auth == "" {
				auth = "NTLM"
			}
			f.logLogon(h, f.now(), v["user"], lt, from, v["workstation"], "", auth, true)
		}
		return nil
	case "start":
		var h *host
		var parent *Process
		if v["parent"] != "" {
			ph, p, err := r.procOf(v["parent"])
			if err != nil {
				return err
			}
			h, parent = ph, p
		} else {
			var err error
			if h, err = r.hostOf(v["host"]); err != nil {
				return err
			}
		}
		p, err := f.startProcess(h, parent, v["image"], v["cmdline"], v["user"], v["integrity"], v["cwd"],
			imageMeta{orig: v["original"], desc: v["description"], company: v["company"]})
		if err != nil {
			return err
		}
		if v["as"] != "" {
			r.procs[v["as"]] = procRef{h, p.PID}
		}
		return nil
	case "start_service":
		h, err := r.hostOf(v["host"])
		if err != nil {
			return err
		}
		_, p, err := f.startService(h, v["name"])
		if err != nil {
			return err
		}
		if v["as"] != "" && p != nil {
			r.procs[v["as"]] = procRef{h, p.PID}
		}
		return nil
	case "stop_service", "delete_service":
		h, err := r.hostOf(v["host"])
		if err != nil {
			return err
		}
		if op == "stop_service" {
			_, err = f.stopService(h, v["name"])
		} else {
			_, err = f.deleteService(h, v["name"])
		}
		return err
	case "create_service":
		h, err := r.hostOf(v["host"])
		if err != nil {
			return err
		}
		_, err = f.createService(h, v["user"], v["name"], v["image"], v["start"], v["account"])
		return err
	case "create_task", "delete_task":
		h, err := r.hostOf(v["host"])
		if err != nil {
			return err
		}
		if op == "delete_task" {
			_, err = f.deleteTask(h, v["user"], v["name"])
			return err
		}
		_, err = f.createTask(h, v["user"], Task{Name: v["name"], Command: v["command"], Arguments: v["args"], Trigger: v["trigger"], RunAs: v["run_as"]})
		return err
	case "add_account", "disable_account", "enable_account", "delete_account":
		h, err := r.hostOf(v["host"])
		if err != nil {
			return err
		}
		switch op {
		case "add_account":
			_, err = f.addAccount(h, v["user"], v["name"])
		case "disable_account":
			_, err = f.setAccountEnabled(h, v["user"], v["name"], false)
		case "enable_account":
			_, err = f.setAccountEnabled(h, v["user"], v["name"], true)
		default:
			_, err = f.deleteAccount(h, v["user"], v["name"])
		}
		return err
	case "add_member", "remove_member":
		h, err := r.hostOf(v["host"])
		if err != nil {
			return err
		}
		if op == "add_member" {
			_, err = f.addMember(h, v["user"], v["group"], v["member"])
		} else {
			_, err = f.removeMember(h, v["user"], v["group"], v["member"])
		}
		return err
	case "share_access":
		h, err := r.hostOf(v["host"])
		if err != nil {
			return err
		}
		src, err := r.hostOf(v["from"])
		if err != nil {
			return err
		}
		f.shareAccess(h, v["user"], src.ip, v["share"], v["local_path"], v["relative"])
		return nil
	}
	// The rest act through a process.
	h, p, err := r.procOf(v["proc"])
	if err != nil {
		return err
	}
	switch op {
	case "exit":
		f.exitProcess(h, p)
	case "write_file":
		content := v["content"]
		if content == "" {
			content = "file:" + strings.ToLower(v["path"])
		}
		_, err = f.writeFile(h, p, v["path"], content)
	case "delete_file":
		_, err = f.deleteFile(h, p, v["path"], false)
	case "set_reg":
		_, err = f.setReg(h, p, v["key"], v["type"], v["data"])
	case "delete_reg":
		_, err = f.deleteReg(h, p, v["key"])
	case "connect":
		port, perr := atoiDefault(v["port"], 0)
		if perr != nil {
			return perr
		}
		ip := v["ip"]
		if dst, ok := r.hostIDs[ip]; ok {
			ip = dst.ip
			if v["hostname"] == "" {
				v["hostname"] = dst.name
			}
		}
		_, err = f.connect(h, p, v["protocol"], ip, port, v["hostname"])
	case "dns":
		err = f.dns(h, p, v["name"], v["result"])
	case "open_process":
		_, t, terr := r.procOf(v["target"])
		if terr != nil {
			return terr
		}
		f.openProcess(h, p, t, v["access"], v["via"])
	case "load_image":
		f.loadImage(h, p, v["path"], v["signed"] != "false")
	case "explicit_creds":
		srv, serr := r.hostOf(v["server"])
		if serr != nil {
			return serr
		}
		f.explicitCreds(h, p, v["user"], srv.name, srv.ip)
	case "script_block":
		f.scriptBlock(h, p, v["text"])
	default:
		return fmt.Errorf("%w: op %q", ErrInvalid, op)
	}
	return err
}

// limitedBuilder collects a template's output up to max bytes; past that
// it fails, which stops the template.
type limitedBuilder struct {
	strings.Builder
	max int
}

func (b *limitedBuilder) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, fmt.Errorf("%w: a value longer than %d bytes", ErrLimit, b.max)
	}
	return b.Builder.Write(p)
}
