package respond

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// This file holds the CACAO v2.0 data model: the JSON shapes of a playbook,
// its workflow steps, commands, variables, agents and targets. Decoding is
// tolerant of properties the model does not name (extensions, vendor
// fields), strict about the shape of the ones it does. Validation is in
// cacao_validate.go, conditions in cacao_cond.go, execution in
// playbook_exec.go.

// StepType is a CACAO workflow step type (workflow-step-type-enum).
type StepType string

// The eight workflow step types of CACAO v2.0 (§4). No other value is
// accepted: the enumeration is closed.
const (
	StepStart           StepType = "start"
	StepEnd             StepType = "end"
	StepAction          StepType = "action"
	StepPlaybookAction  StepType = "playbook-action"
	StepParallel        StepType = "parallel"
	StepIfCondition     StepType = "if-condition"
	StepWhileCondition  StepType = "while-condition"
	StepSwitchCondition StepType = "switch-condition"
)

func (t StepType) known() bool {
	switch t {
	case StepStart, StepEnd, StepAction, StepPlaybookAction, StepParallel,
		StepIfCondition, StepWhileCondition, StepSwitchCondition:
		return true
	}
	return false
}

// The CACAO command types the playbook engine executes itself. Every other
// type goes to the host's CommandRunner, which lists the types it handles.
const (
	CommandOpenC2HTTP = "openc2-http"
	CommandManual     = "manual"
)

// Variable is a CACAO variable (§10.18): a typed value that steps read with
// __name__:value and commands return through out_args. Value holds the JSON
// string as given (numbers, booleans and objects as their JSON text); Null is
// true when the value is JSON null or absent (unknown), which is not the same
// as the empty string.
//
// It is a plain value, safe for concurrent reads; copy it before changing it.
type Variable struct {
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
	Value       string `json:"-"`
	Null        bool   `json:"-"`
	Constant    bool   `json:"constant,omitempty"`
	External    bool   `json:"external,omitempty"`
}

// UnmarshalJSON decodes a CACAO variable, keeping a non-string value as its
// JSON text.
func (v *Variable) UnmarshalJSON(b []byte) error {
	var raw struct {
		Type        *string         `json:"type"`
		Description string          `json:"description"`
		Value       json.RawMessage `json:"value"`
		Constant    bool            `json:"constant"`
		External    bool            `json:"external"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw.Type == nil {
		return fmt.Errorf("variable has no type")
	}
	*v = Variable{Type: *raw.Type, Description: raw.Description, Constant: raw.Constant, External: raw.External}
	val := bytes.TrimSpace(raw.Value)
	switch {
	case len(val) == 0 || string(val) == "null":
		v.Null = true
	case val[0] == '"':
		if err := json.Unmarshal(val, &v.Value); err != nil {
			return err
		}
	default:
		v.Value = string(val)
	}
	return nil
}

// MarshalJSON encodes the variable back to CACAO JSON.
func (v Variable) MarshalJSON() ([]byte, error) {
	type plain Variable
	out := struct {
		plain
		Value *string `json:"value"`
	}{plain: plain(v)}
	if !v.Null {
		out.Value = &v.Value
	}
	return json.Marshal(out)
}

// CommandData is one CACAO command of an action step (§5): its type and the
// type's properties. Which properties are required depends on the type.
//
// It is a plain value, safe for concurrent reads; copy it before changing it.
type CommandData struct {
	Type             string              `json:"type"`
	Description      string              `json:"description,omitempty"`
	Version          string              `json:"version,omitempty"`
	PlaybookActivity string              `json:"playbook_activity,omitempty"`
	Command          string              `json:"command,omitempty"`
	CommandB64       string              `json:"command_b64,omitempty"`
	Content          string              `json:"content,omitempty"`
	ContentB64       string              `json:"content_b64,omitempty"`
	Headers          map[string][]string `json:"headers,omitempty"`
}

// Contact is the CACAO contact data type (§10.5): keyed e-mail addresses
// and phone numbers.
//
// It is a plain value, safe for concurrent reads; copy it before changing it.
type Contact struct {
	Email map[string]string `json:"email,omitempty"`
	Phone map[string]string `json:"phone,omitempty"`
}

// AgentTarget is a CACAO agent-target object (§7): who executes a step's
// commands (agent) or what they act on (target). Address keeps the address
// lists (ipv4, ipv6, dname, url, …); Fields keeps every property as decoded
// JSON for CommandRunners that need more.
//
// It is a plain value, safe for concurrent reads; copy it before changing it.
type AgentTarget struct {
	Type        string                     `json:"type"`
	Name        string                     `json:"name"`
	Description string                     `json:"description,omitempty"`
	Address     map[string][]string        `json:"-"`
	Contact     *Contact                   `json:"contact,omitempty"`
	Fields      map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes an agent-target object.
func (a *AgentTarget) UnmarshalJSON(b []byte) error {
	type plain AgentTarget
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if err := json.Unmarshal(b, &p.Fields); err != nil {
		return err
	}
	if raw, ok := p.Fields["address"]; ok {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("address: %w", err)
		}
		p.Address = make(map[string][]string, len(m))
		for k, v := range m {
			var list []string
			if err := json.Unmarshal(v, &list); err != nil {
				return fmt.Errorf("address.%s: want a list of strings: %w", k, err)
			}
			p.Address[k] = list
		}
	}
	*a = AgentTarget(p)
	return nil
}

// Step is one CACAO workflow step (§4). ID is its key in the workflow
// dictionary; the other fields are the union of the eight step types'
// properties, each used only by its type.
//
// It is a plain value, safe for concurrent reads; copy it before changing it.
type Step struct {
	ID          string              `json:"-"`
	Type        StepType            `json:"type"`
	Name        string              `json:"name,omitempty"`
	Description string              `json:"description,omitempty"`
	Delay       *int64              `json:"delay,omitempty"`
	Timeout     *int64              `json:"timeout,omitempty"`
	Variables   map[string]Variable `json:"step_variables,omitempty"`
	Owner       string              `json:"owner,omitempty"`

	OnCompletion string `json:"on_completion,omitempty"`
	OnSuccess    string `json:"on_success,omitempty"`
	OnFailure    string `json:"on_failure,omitempty"`

	// action
	Commands []CommandData `json:"commands,omitempty"`
	Agent    string        `json:"agent,omitempty"`
	Targets  []string      `json:"targets,omitempty"`
	InArgs   []string      `json:"in_args,omitempty"`
	OutArgs  []string      `json:"out_args,omitempty"`

	// playbook-action
	PlaybookID      string `json:"playbook_id,omitempty"`
	PlaybookVersion string `json:"playbook_version,omitempty"`

	// if-condition, while-condition
	Condition string `json:"condition,omitempty"`
	OnTrue    string `json:"on_true,omitempty"`
	OnFalse   string `json:"on_false,omitempty"`

	// switch-condition
	Switch string            `json:"switch,omitempty"`
	Cases  map[string]string `json:"cases,omitempty"`

	// parallel
	NextSteps []string `json:"next_steps,omitempty"`

	// present records which properties the JSON held, for the rules that
	// depend on presence (start/end must not have on_success, …).
	present map[string]bool
	cond    stepCondition // compiled Condition (if/while)
	openc2  [][]byte      // per command: the embedded OpenC2 command JSON (openc2-http)
}

// UnmarshalJSON decodes a workflow step and remembers which properties it
// held.
func (s *Step) UnmarshalJSON(b []byte) error {
	type plain Step
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return err
	}
	p.present = make(map[string]bool, len(keys))
	for k := range keys {
		p.present[k] = true
	}
	*s = Step(p)
	return nil
}

// cacaoDoc is the top-level JSON of a CACAO playbook.
type cacaoDoc struct {
	Type              string                     `json:"type"`
	SpecVersion       string                     `json:"spec_version"`
	ID                string                     `json:"id"`
	Name              string                     `json:"name"`
	Description       string                     `json:"description"`
	PlaybookTypes     []string                   `json:"playbook_types"`
	CreatedBy         string                     `json:"created_by"`
	Created           string                     `json:"created"`
	Modified          string                     `json:"modified"`
	Revoked           bool                       `json:"revoked"`
	ValidFrom         string                     `json:"valid_from"`
	ValidUntil        string                     `json:"valid_until"`
	Variables         map[string]Variable        `json:"playbook_variables"`
	WorkflowStart     string                     `json:"workflow_start"`
	WorkflowException string                     `json:"workflow_exception"`
	Workflow          map[string]*Step           `json:"workflow"`
	AgentDefinitions  map[string]AgentTarget     `json:"agent_definitions"`
	TargetDefinitions map[string]AgentTarget     `json:"target_definitions"`
	AuthInfo          map[string]json.RawMessage `json:"authentication_info_definitions"`
}

// splitID splits a CACAO identifier "type--uuid" into its parts; ok is false
// when it has no "--".
func splitID(id string) (prefix, uuid string, ok bool) {
	i := strings.Index(id, "--")
	if i <= 0 {
		return "", "", false
	}
	return id[:i], id[i+2:], true
}
