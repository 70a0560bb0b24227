package respond

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Playbook is a CACAO v2.0 playbook that has been decoded, validated and
// prepared for execution: every step pointer resolves, every step and
// command type is one the engine executes, every condition is compiled.
// Load it with ParsePlaybook (or PlaybookEngine.Load) and run it with
// PlaybookEngine.Run.
//
// A Playbook is immutable after loading and safe for concurrent use by any
// number of executions; its exported fields are for reading only.
type Playbook struct {
	ID          string
	Name        string
	Description string
	// Created and Modified are the playbook's timestamps; Modified is also
	// its version (what a playbook-action's playbook_version names).
	Created, Modified time.Time
	// ValidFrom and ValidUntil bound when the playbook may run (zero:
	// unbounded); Revoked playbooks never run.
	ValidFrom, ValidUntil time.Time
	Revoked               bool
	// Variables are the playbook_variables, the root scope of an
	// execution; those marked External take their value from the caller.
	Variables map[string]Variable
	// Start is workflow_start; Exception is workflow_exception (empty when
	// absent or when it names no step, which Warnings then reports).
	Start, Exception string
	Steps            map[string]*Step
	Agents, Targets  map[string]AgentTarget
	// Warnings lists departures from the specification that do not stop
	// execution (an identifier that is not type--UUIDv1-5, a
	// workflow_start that is not a start step, an unreachable step, …).
	Warnings []string
}

// LoadOption configures ParsePlaybook.
type LoadOption func(*loadConfig) error

type loadConfig struct {
	types   map[string]bool
	limits  PlaybookLimits
	library PlaybookLibrary
	file    string
}

// WithCommandTypes declares the command types, beyond openc2-http and
// manual, that the executing host's CommandRunner handles. A playbook using
// any other type fails to load.
func WithCommandTypes(types ...string) LoadOption {
	return func(c *loadConfig) error {
		for _, t := range types {
			if t == "" {
				return errors.New("respond: empty command type")
			}
			c.types[t] = true
		}
		return nil
	}
}

// WithLoadLimits sets the limits the playbook is checked against (its size,
// its number of steps, its delays, CEL cost).
func WithLoadLimits(l PlaybookLimits) LoadOption {
	return func(c *loadConfig) error {
		if err := l.Validate(); err != nil {
			return err
		}
		c.limits = l
		return nil
	}
}

// WithLibrary checks that every playbook-action names a playbook (and
// version) the library holds.
func WithLibrary(lib PlaybookLibrary) LoadOption {
	return func(c *loadConfig) error { c.library = lib; return nil }
}

// WithFile names the file the playbook came from, for error messages.
func WithFile(name string) LoadOption {
	return func(c *loadConfig) error { c.file = name; return nil }
}

// PlaybookLimits bound what an untrusted playbook may cost. The zero value
// is not usable; start from DefaultPlaybookLimits.
//
// It is a plain value, safe for concurrent reads; copy it before changing it.
type PlaybookLimits struct {
	// MaxBytes bounds the playbook's JSON.
	MaxBytes int
	// MaxSteps bounds the steps of one workflow.
	MaxSteps int
	// MaxExecutedSteps bounds the steps one execution runs, counting loop
	// iterations and sub-playbooks.
	MaxExecutedSteps int
	// MaxWhileIterations caps each while-condition; passing it fails the
	// step.
	MaxWhileIterations int
	// MaxDepth bounds nested playbook-action calls.
	MaxDepth int
	// MaxDelay bounds a step's delay (longer delays fail at load).
	MaxDelay time.Duration
	// StepTimeout applies to steps that set no timeout (CACAO asks
	// executors to bound every step); MaxStepTimeout caps the ones that do.
	StepTimeout, MaxStepTimeout time.Duration
	// Timeout bounds a whole execution.
	Timeout time.Duration
	// CELCost bounds the evaluation cost of a "cel:" condition.
	CELCost uint64
}

// DefaultPlaybookLimits returns limits suited to playbooks from outside:
// 4 MiB, 10,000 steps, 100,000 executed steps, 1,000 iterations per while,
// depth 8, delays up to 1 h, 5 min per step unless the step says otherwise
// (at most 1 h), 4 h in all, CEL cost 100,000.
func DefaultPlaybookLimits() PlaybookLimits {
	return PlaybookLimits{
		MaxBytes:           4 << 20,
		MaxSteps:           10_000,
		MaxExecutedSteps:   100_000,
		MaxWhileIterations: 1_000,
		MaxDepth:           8,
		MaxDelay:           time.Hour,
		StepTimeout:        5 * time.Minute,
		MaxStepTimeout:     time.Hour,
		Timeout:            4 * time.Hour,
		CELCost:            100_000,
	}
}

// Validate reports a limit that is not positive.
func (l PlaybookLimits) Validate() error {
	switch {
	case l.MaxBytes <= 0, l.MaxSteps <= 0, l.MaxExecutedSteps <= 0, l.MaxWhileIterations <= 0,
		l.MaxDepth <= 0, l.MaxDelay < 0, l.StepTimeout <= 0, l.MaxStepTimeout <= 0, l.Timeout <= 0, l.CELCost == 0:
		return fmt.Errorf("respond: playbook limits must be positive: %+v", l)
	}
	return nil
}

var (
	// identifierRe is CACAO's identifier: type--UUID (RFC 4122 v1–v5).
	identifierRe = regexp.MustCompile(`^[a-z][a-z0-9-]+[a-z0-9]--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$`)
	// variableNameRe is a variable's name.
	variableNameRe = regexp.MustCompile(`^__[a-zA-Z_][a-zA-Z0-9_-]{0,199}__$`)
)

// agentTargetTypes is CACAO's agent-target-type-ov vocabulary (§7).
var agentTargetTypes = map[string]bool{
	"group": true, "individual": true, "location": true, "organization": true, "sector": true,
	"http-api": true, "linux": true, "net-address": true, "security-category": true, "ssh": true,
}

// cacaoCommandTypes is CACAO's command-type-ov vocabulary (§5.1); the
// properties of other types are the host runner's business.
var cacaoCommandTypes = map[string]bool{
	"manual": true, "bash": true, "caldera-cmd": true, "elastic": true, "http-api": true, "jupyter": true,
	"kestrel": true, "openc2-http": true, "powershell": true, "sigma": true, "ssh": true, "yara": true,
}

// b64Only lists the command types whose schema requires command_b64;
// commandRequired those requiring command. The others need one of the two.
var (
	b64Only         = map[string]bool{"elastic": true, "jupyter": true, "kestrel": true, "sigma": true, "yara": true}
	commandRequired = map[string]bool{"http-api": true, CommandOpenC2HTTP: true}
)

// ParsePlaybook decodes CACAO v2.0 JSON, checks it against the
// specification and against what the executing host supports (the command
// types of WithCommandTypes, the playbooks of WithLibrary), and compiles its
// conditions. A playbook that fails gets a *PlaybookError listing every
// problem with the step and field it concerns; an unsupported step or
// command type is such a problem, never skipped.
func ParsePlaybook(data []byte, opts ...LoadOption) (*Playbook, error) {
	cfg := loadConfig{types: map[string]bool{CommandOpenC2HTTP: true, CommandManual: true}, limits: DefaultPlaybookLimits()}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	v := &validator{cfg: &cfg}
	perr := func() error {
		return &PlaybookError{File: cfg.file, Playbook: v.pb.ID, Problems: v.problems.list, unsupported: v.unsupported}
	}
	v.pb = &Playbook{}
	if len(data) > cfg.limits.MaxBytes {
		v.add("", "playbook is %d bytes, more than the limit of %d", len(data), cfg.limits.MaxBytes)
		return nil, perr()
	}
	var doc cacaoDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		v.add(jsonErrField(err), "%s", jsonErrReason(err))
		return nil, perr()
	}
	if dec.More() {
		v.add("", "trailing data after the playbook object")
		return nil, perr()
	}
	v.check(&doc)
	if len(v.problems.list) > 0 {
		return nil, perr()
	}
	return v.pb, nil
}

func jsonErrField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field
	}
	return ""
}

func jsonErrReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("is a JSON %s, want %s", te.Value, jsonTypeName(te.Type.String()))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "not valid JSON: " + err.Error()
	}
	return err.Error()
}

func jsonTypeName(goType string) string {
	switch {
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "respond."), strings.HasPrefix(goType, "*respond."):
		return "an object"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "a boolean"
	}
	return "a number"
}

type validator struct {
	cfg         *loadConfig
	pb          *Playbook
	problems    problems
	unsupported bool
}

func (v *validator) add(field, format string, args ...any) { v.problems.add(field, format, args...) }

func (v *validator) warn(format string, args ...any) {
	v.pb.Warnings = append(v.pb.Warnings, fmt.Sprintf(format, args...))
}

func (v *validator) check(d *cacaoDoc) {
	pb := v.pb
	pb.ID, pb.Name, pb.Description, pb.Revoked = d.ID, d.Name, d.Description, d.Revoked
	pb.Variables, pb.Start, pb.Steps = d.Variables, d.WorkflowStart, d.Workflow
	pb.Agents, pb.Targets = d.AgentDefinitions, d.TargetDefinitions
	if d.Type != "playbook" {
		v.add("type", "is %q, want \"playbook\"", d.Type)
	}
	if d.SpecVersion != "cacao-2.0" {
		v.add("spec_version", "is %q, want \"cacao-2.0\"", d.SpecVersion)
	}
	v.identifier("id", d.ID, "playbook", true)
	if d.Name == "" {
		v.add("name", "missing")
	}
	v.identifier("created_by", d.CreatedBy, "", true)
	pb.Created = v.timestamp("created", d.Created, true)
	pb.Modified = v.timestamp("modified", d.Modified, true)
	if !pb.Created.IsZero() && !pb.Modified.IsZero() && pb.Modified.Before(pb.Created) {
		v.warn("modified is before created")
	}
	from := v.timestamp("valid_from", d.ValidFrom, false)
	until := v.timestamp("valid_until", d.ValidUntil, false)
	if !from.IsZero() && !until.IsZero() && !until.After(from) {
		v.add("valid_until", "is not after valid_from")
	}
	pb.ValidFrom, pb.ValidUntil = from, until
	v.variables("playbook_variables", d.Variables)
	for _, k := range sortedAgentKeys(d.AgentDefinitions) {
		v.agentTarget("agent_definitions."+k, k, d.AgentDefinitions[k], d)
	}
	for _, k := range sortedAgentKeys(d.TargetDefinitions) {
		v.agentTarget("target_definitions."+k, k, d.TargetDefinitions[k], d)
	}

	if d.WorkflowStart == "" {
		v.add("workflow_start", "missing")
	}
	if d.Workflow == nil {
		v.add("workflow", "missing")
		return
	}
	if len(d.Workflow) == 0 {
		v.add("workflow", "has no steps")
		return
	}
	if len(d.Workflow) > v.cfg.limits.MaxSteps {
		v.add("workflow", "has %d steps, more than the limit of %d", len(d.Workflow), v.cfg.limits.MaxSteps)
		return
	}
	switch st, ok := d.Workflow[d.WorkflowStart]; {
	case d.WorkflowStart == "":
	case !ok:
		v.add("workflow_start", "names %s, which is not in the workflow", d.WorkflowStart)
	case st != nil && st.Type != StepStart:
		v.warn("workflow_start names a %s step, not a start step", st.Type)
	}
	if d.WorkflowException != "" {
		if _, ok := d.Workflow[d.WorkflowException]; ok {
			pb.Exception = d.WorkflowException
		} else {
			v.warn("workflow_exception names %s, which is not in the workflow; failures are not handled by it", d.WorkflowException)
		}
	}
	ids := make([]string, 0, len(d.Workflow))
	for id := range d.Workflow {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	hasEnd := false
	for _, id := range ids {
		s := d.Workflow[id]
		if s == nil {
			v.add("workflow."+id, "is null, want a step object")
			continue
		}
		s.ID = id
		if s.Type == StepEnd {
			hasEnd = true
		}
		v.step("workflow."+id, s, d)
	}
	if !hasEnd {
		v.add("workflow", "has no end step (every playbook and branch must end in one)")
	}
	if len(v.problems.list) == 0 {
		v.graph(ids)
		v.undeclared(ids)
	}
}

// undeclared warns about conditions and switches that read a variable that
// no scope declares and no step returns: it will read as null.
func (v *validator) undeclared(ids []string) {
	known := map[string]bool{}
	for k := range v.pb.Variables {
		known[k] = true
	}
	for _, id := range ids {
		s := v.pb.Steps[id]
		for k := range s.Variables {
			known[k] = true
		}
		for _, k := range s.OutArgs {
			known[k] = true
		}
	}
	for _, id := range ids {
		s := v.pb.Steps[id]
		refs := varRefRe.FindAllString(s.Condition+" "+s.Switch, -1)
		if s.Switch != "" && !strings.HasSuffix(s.Switch, ":value") {
			refs = append(refs, s.Switch)
		}
		for _, r := range refs {
			if n := strings.TrimSuffix(r, ":value"); !known[n] {
				v.warn("%s: %s is never declared nor returned; it reads as null", id, n)
			}
		}
	}
}

func sortedAgentKeys(m map[string]AgentTarget) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// identifier checks a CACAO identifier: a wrong type prefix is an error, a
// value that is not type--UUIDv1-5 only a warning (real producers, SOARCA
// among them, write such ids).
func (v *validator) identifier(field, id, wantPrefix string, required bool) {
	if id == "" {
		if required {
			v.add(field, "missing")
		}
		return
	}
	prefix, _, ok := splitID(id)
	if wantPrefix != "" && (!ok || prefix != wantPrefix) {
		v.add(field, "%q is not a %s identifier (%s--UUID)", id, wantPrefix, wantPrefix)
		return
	}
	if !identifierRe.MatchString(id) {
		v.warn("%s: %q is not a CACAO identifier (type--UUID, RFC 4122 version 1-5)", field, id)
	}
}

func (v *validator) timestamp(field, s string, required bool) time.Time {
	if s == "" {
		if required {
			v.add(field, "missing")
		}
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		v.add(field, "%q is not an RFC 3339 timestamp", s)
	}
	return t
}

func (v *validator) variables(field string, vars map[string]Variable) {
	for name, vr := range vars {
		if !variableNameRe.MatchString(name) {
			v.add(field+"."+name, "is not a variable name (__name__, a letter or _ first, at most 250 characters)")
		}
		if vr.Type == "" {
			v.add(field+"."+name+".type", "missing")
		}
	}
}

func (v *validator) agentTarget(field, key string, a AgentTarget, d *cacaoDoc) {
	if a.Type == "" {
		v.add(field+".type", "missing")
	}
	if raw, ok := a.Fields["authentication_info"]; ok {
		var ref string
		if err := json.Unmarshal(raw, &ref); err != nil {
			v.add(field+".authentication_info", "want an identifier string")
		} else if _, ok := d.AuthInfo[ref]; !ok {
			v.add(field+".authentication_info", "names %s, which is not in authentication_info_definitions", ref)
		}
	}
	if prefix, _, ok := splitID(key); ok && agentTargetTypes[prefix] && a.Type != prefix && !agentTargetTypes[a.Type] {
		v.add(field+".type", "is %q, but the key names a %s object", a.Type, prefix)
	}
	if a.Contact != nil {
		for k, e := range a.Contact.Email {
			if addr, err := mail.ParseAddress(e); err != nil || addr.Address != e {
				v.add(field+".contact.email."+k, "%q is not an e-mail address", e)
			}
		}
	}
}

func (v *validator) stepRef(field, ref string, d *cacaoDoc) {
	if ref == "" {
		return
	}
	if _, ok := d.Workflow[ref]; !ok {
		v.add(field, "names %s, which is not in the workflow", ref)
	}
}

func (v *validator) step(field string, s *Step, d *cacaoDoc) {
	if !s.Type.known() {
		v.unsupported = true
		if s.Type == "" {
			v.add(field+".type", "missing")
		} else {
			v.add(field+".type", "%q is not a CACAO 2.0 workflow step type: %v", s.Type, ErrUnsupported)
		}
		return
	}
	if prefix, _, ok := splitID(s.ID); ok && StepType(prefix).known() && StepType(prefix) != s.Type {
		v.add(field+".type", "is %s, but the step's id names a %s step", s.Type, prefix)
	}
	v.identifier(field, s.ID, "", false)
	if s.OnCompletion != "" && (s.OnSuccess != "" || s.OnFailure != "") {
		v.add(field, "has on_completion together with on_success or on_failure")
	}
	switch s.Type {
	case StepStart:
		if s.present["on_success"] || s.present["on_failure"] {
			v.add(field, "a start step must not have on_success or on_failure")
		}
	case StepEnd:
		if s.present["on_success"] || s.present["on_failure"] || s.present["on_completion"] {
			v.add(field, "an end step must not have on_completion, on_success or on_failure")
		}
	}
	for _, p := range []struct{ name, ref string }{
		{"on_completion", s.OnCompletion}, {"on_success", s.OnSuccess}, {"on_failure", s.OnFailure},
		{"on_true", s.OnTrue}, {"on_false", s.OnFalse},
	} {
		v.stepRef(field+"."+p.name, p.ref, d)
	}
	if s.Delay != nil && (*s.Delay < 0 || time.Duration(*s.Delay)*time.Millisecond > v.cfg.limits.MaxDelay || *s.Delay > int64(v.cfg.limits.MaxDelay/time.Millisecond)) {
		v.add(field+".delay", "%d ms is outside 0..%d", *s.Delay, v.cfg.limits.MaxDelay/time.Millisecond)
	}
	if s.Timeout != nil && *s.Timeout < 0 {
		v.add(field+".timeout", "is negative")
	}
	v.variables(field+".step_variables", s.Variables)
	for i, n := range s.InArgs {
		if !variableNameRe.MatchString(n) {
			v.add(field+".in_args["+strconv.Itoa(i)+"]", "%q is not a variable name", n)
		}
	}
	for i, n := range s.OutArgs {
		if !variableNameRe.MatchString(n) {
			v.add(field+".out_args["+strconv.Itoa(i)+"]", "%q is not a variable name", n)
		}
	}
	needNext := s.Type != StepEnd && s.OnCompletion == "" && s.OnSuccess == "" && s.OnFailure == ""
	switch s.Type {
	case StepAction:
		v.action(field, s, d)
	case StepPlaybookAction:
		if s.PlaybookID == "" {
			v.add(field+".playbook_id", "missing")
		} else if v.cfg.library != nil {
			if _, err := v.cfg.library.Playbook(s.PlaybookID, s.PlaybookVersion); err != nil {
				v.add(field+".playbook_id", "%v", err)
			}
		}
		if s.PlaybookVersion != "" {
			v.timestamp(field+".playbook_version", s.PlaybookVersion, false)
		}
	case StepParallel:
		if len(s.NextSteps) < 2 {
			v.add(field+".next_steps", "has %d steps, a parallel step needs at least two", len(s.NextSteps))
		}
		for i, n := range s.NextSteps {
			v.stepRef(field+".next_steps["+strconv.Itoa(i)+"]", n, d)
		}
	case StepIfCondition, StepWhileCondition:
		if s.OnTrue == "" {
			v.add(field+".on_true", "missing")
		}
		if s.Condition == "" {
			v.add(field+".condition", "missing")
		} else if c, err := compileCondition(s.Condition, v.cfg.limits.CELCost); err != nil {
			v.add(field+".condition", "%v", err)
		} else {
			s.cond = c
		}
		if s.Type == StepWhileCondition && s.OnFalse != "" {
			v.add(field+".on_false", "a while-condition has no on_false")
		}
	case StepSwitchCondition:
		if s.Switch == "" {
			v.add(field+".switch", "missing")
		} else if !variableNameRe.MatchString(strings.TrimSuffix(s.Switch, ":value")) {
			v.add(field+".switch", "%q is not a variable (__name__:value)", s.Switch)
		}
		if len(s.Cases) == 0 {
			v.add(field+".cases", "missing")
		}
		for k, ref := range s.Cases {
			v.stepRef(field+".cases."+k, ref, d)
		}
	}
	if needNext && s.Type != StepEnd {
		v.warn("%s: a %s step with no on_completion or on_success ends its branch without an end step", s.ID, s.Type)
	}
}

func (v *validator) action(field string, s *Step, d *cacaoDoc) {
	if len(s.Commands) == 0 {
		v.add(field+".commands", "missing: an action step needs at least one command")
	}
	if s.Agent == "" {
		v.warn("%s: action step has no agent", s.ID)
	} else if _, ok := d.AgentDefinitions[s.Agent]; !ok {
		v.add(field+".agent", "names %s, which is not in agent_definitions", s.Agent)
	}
	for i, t := range s.Targets {
		if _, ok := d.TargetDefinitions[t]; !ok {
			v.add(field+".targets["+strconv.Itoa(i)+"]", "names %s, which is not in target_definitions", t)
		}
	}
	s.openc2 = make([][]byte, len(s.Commands))
	for i, c := range s.Commands {
		cf := field + ".commands[" + strconv.Itoa(i) + "]"
		if c.Type == "" {
			v.add(cf+".type", "missing")
			continue
		}
		if !v.cfg.types[c.Type] {
			v.unsupported = true
			v.add(cf+".type", "command type %q: %v (this host executes %s)", c.Type, ErrUnsupported, strings.Join(sortedTypes(v.cfg.types), ", "))
			continue
		}
		switch {
		case b64Only[c.Type] && c.CommandB64 == "":
			v.add(cf+".command_b64", "missing")
		case commandRequired[c.Type] && c.Command == "":
			v.add(cf+".command", "missing")
		case cacaoCommandTypes[c.Type] && !b64Only[c.Type] && !commandRequired[c.Type] && c.Command == "" && c.CommandB64 == "":
			v.add(cf, "has neither command nor command_b64")
		}
		if c.CommandB64 != "" {
			if _, err := base64.StdEncoding.DecodeString(c.CommandB64); err != nil {
				v.add(cf+".command_b64", "is not base64: %v", err)
			}
		}
		if c.Type == CommandOpenC2HTTP {
			if f := strings.Fields(c.Command); len(f) != 3 || f[0] != "POST" || !strings.HasPrefix(f[2], "HTTP/") {
				v.add(cf+".command", "%q is not an HTTP start line with method POST", c.Command)
			}
			raw, err := openC2Content(c)
			if err != nil {
				v.add(cf+".content_b64", "%v", err)
				continue
			}
			if !strings.Contains(string(raw), ":value") { // no variables: check it now
				if _, err := ParseCommand(raw); err != nil {
					v.add(cf+".content_b64", "%v", err)
					continue
				}
			}
			s.openc2[i] = raw
		}
	}
}

func sortedTypes(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// openC2Content decodes an openc2-http command's content and returns the
// OpenC2 command in it: the content itself, or the request of an OpenC2
// message ({"headers":…, "body":{"openc2":{"request":{…}}}}).
func openC2Content(c CommandData) ([]byte, error) {
	var raw []byte
	switch {
	case c.ContentB64 != "":
		b, err := base64.StdEncoding.DecodeString(c.ContentB64)
		if err != nil {
			return nil, fmt.Errorf("is not base64: %v", err)
		}
		raw = b
	case c.Content != "":
		raw = []byte(c.Content)
	default:
		return nil, errors.New("missing: an openc2-http command carries its OpenC2 command in content_b64")
	}
	var msg struct {
		Action json.RawMessage `json:"action"`
		Body   *struct {
			OpenC2 *struct {
				Request json.RawMessage `json:"request"`
			} `json:"openc2"`
		} `json:"body"`
	}
	if err := json.Unmarshal(raw, &msg); err != nil {
		return nil, fmt.Errorf("content is not a JSON object: %v", err)
	}
	switch {
	case msg.Action != nil:
		return raw, nil
	case msg.Body != nil && msg.Body.OpenC2 != nil && msg.Body.OpenC2.Request != nil:
		return msg.Body.OpenC2.Request, nil
	}
	return nil, errors.New("content holds neither an OpenC2 command nor a message with body.openc2.request")
}

// graph checks the workflow's shape: no cycles (loops are while-condition
// steps, never step pointers that come back), and it warns about steps no
// path from workflow_start reaches.
func (v *validator) graph(ids []string) {
	steps := v.pb.Steps
	const (
		white = iota
		grey
		black
	)
	color := make(map[string]int, len(steps))
	var cycle []string
	var visit func(id string, path []string) bool
	visit = func(id string, path []string) bool {
		switch color[id] {
		case grey:
			cycle = append(path, id)
			return false
		case black:
			return true
		}
		color[id] = grey
		for _, n := range successors(steps[id]) {
			if !visit(n, append(path, id)) {
				return false
			}
		}
		color[id] = black
		return true
	}
	roots := []string{v.pb.Start}
	if v.pb.Exception != "" {
		roots = append(roots, v.pb.Exception)
	}
	roots = append(roots, ids...)
	for _, r := range roots {
		if color[r] == white && !visit(r, nil) {
			v.add("workflow."+cycle[len(cycle)-1], "is part of a cycle (%s): a workflow loops only through a while-condition", strings.Join(cycle, " → "))
			return
		}
	}
	seen := map[string]bool{}
	stack := []string{v.pb.Start}
	if v.pb.Exception != "" {
		stack = append(stack, v.pb.Exception)
	}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[id] {
			continue
		}
		seen[id] = true
		stack = append(stack, successors(steps[id])...)
	}
	for _, id := range ids {
		if !seen[id] {
			v.warn("%s: no path from workflow_start reaches this step", id)
		}
	}
}

// successors lists every step a step may lead to.
func successors(s *Step) []string {
	var out []string
	for _, r := range []string{s.OnCompletion, s.OnSuccess, s.OnFailure, s.OnTrue, s.OnFalse} {
		if r != "" {
			out = append(out, r)
		}
	}
	out = append(out, s.NextSteps...)
	keys := make([]string, 0, len(s.Cases))
	for k := range s.Cases {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, s.Cases[k])
	}
	return out
}
