package remediate

import (
	"fmt"
	"time"

	"github.com/mdrkit/mdr/respond"
)

// Plan is the remediation of one incident: the steps that undo what the
// attack created or changed, in dependency order, and what cannot be
// restored and why. A Plan is a plain value: build it with a Planner (or by
// hand), hand it to an Executor, do not change it while it runs. It is safe
// for concurrent reads.
type Plan struct {
	// ID identifies the plan in the store (deterministic from the incident
	// and its scope unless the caller sets one).
	ID         string    `json:"id"`
	IncidentID string    `json:"incident_id"`
	Created    time.Time `json:"created,omitzero"`
	// Steps in dependency order: every step comes after the steps it
	// depends on.
	Steps []Step `json:"steps"`
	// NotRestorable lists what the plan cannot put back, with the reason.
	NotRestorable []NotRestorable `json:"not_restorable"`
	// Skipped counts the scope items that need no step (a process already
	// ended, a network endpoint contacted), by reason.
	Skipped map[string]int `json:"skipped,omitempty"`
}

// Step is one OpenC2 command of a plan, with why it is there.
type Step struct {
	ID string `json:"id"`
	// Command is the OpenC2 command that undoes the artifact; its actuator
	// specifier names the host.
	Command respond.Command `json:"command"`
	// Reason says in words why the step is there.
	Reason string `json:"reason"`
	// ScopeItem is the entity id of the scope item the step undoes.
	ScopeItem string `json:"scope_item"`
	// EventIDs are the events that prove the artifact is the attack's.
	EventIDs []string `json:"event_ids"`
	// Reversible says whether the command has a compensating command.
	Reversible bool `json:"reversible"`
	// DependsOn lists the steps that must be done before this one.
	DependsOn []string `json:"depends_on"`
	// Host is the host the command acts on.
	Host string `json:"host,omitempty"`
	// Kind is what the step does, in remediate's words.
	Kind StepKind `json:"kind"`
	// Advice marks a step that runs only when a principal approves it (a
	// credential reset); the others are approved by the plan's policy.
	Advice bool `json:"advice,omitempty"`
	// Check is the step's post-condition; nil means the step is verified
	// by the actuator's answer alone.
	Check *Check `json:"check,omitempty"`
}

// Check is a post-condition: a CEL expression over the actuator's answer to
// Query (see the variables in condition.go's documentation: response and
// step; step.expect is Expect).
type Check struct {
	// Query is the command whose answer the expression reads: a query of
	// the step's target.
	Query *respond.Command `json:"query,omitempty"`
	Expr  string           `json:"expr"`
	// Expect is a value the expression compares with (the registry data
	// to restore), passed as step.expect rather than written into Expr.
	Expect string `json:"expect,omitempty"`
}

// NotRestorable is a change of the attack that the plan cannot undo.
type NotRestorable struct {
	// Item is the scope item (entity id).
	Item string `json:"item"`
	// Reason says why, and what an analyst can do instead.
	Reason string `json:"reason"`
	// Kind, Host and Name say what and where: the scope item's kind
	// (file, registry, service, task, account, group_membership), its
	// host, and its name as Windows wrote it.
	Kind string `json:"kind,omitempty"`
	Host string `json:"host,omitempty"`
	Name string `json:"name,omitempty"`
	// EventIDs prove the change.
	EventIDs []string `json:"event_ids,omitempty"`
}

// StepKind is what a step does.
type StepKind uint8

// The kinds of step a Planner writes.
const (
	KindUnknown            StepKind = iota
	KindStopProcess                 // stop a process the attack started
	KindQuarantineFile              // quarantine a file the attack dropped
	KindDeleteFile                  // delete it (after the quarantine)
	KindDeleteRegistry              // delete a registry value the attack created
	KindRestoreRegistry             // set a registry value back to the data seen before the attack
	KindStopService                 // stop a service the attack installed
	KindDeleteService               // delete it
	KindDeleteTask                  // delete a scheduled task the attack created
	KindDisableAccount              // disable an account the attack created
	KindDeleteAccount               // delete it (after disabling)
	KindRemoveMember                // remove a group membership the attack added
	KindResetCredentials            // reset the credentials of an exposed account (advice)
	KindReleaseContainment          // release the host's network containment (last)
	numKinds
)

var kindNames = [numKinds]string{"unknown", "stop_process", "quarantine_file", "delete_file", "delete_registry", "restore_registry",
	"stop_service", "delete_service", "delete_task", "disable_account", "delete_account", "remove_member", "reset_credentials", "release_containment"}

func (k StepKind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// MarshalText implements encoding.TextMarshaler.
func (k StepKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *StepKind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if n == string(b) {
			*k = StepKind(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown step kind %q", ErrPlan, b)
}

// Step returns the step with the given id, or nil.
func (p *Plan) Step(id string) *Step {
	for i := range p.Steps {
		if p.Steps[i].ID == id {
			return &p.Steps[i]
		}
	}
	return nil
}
