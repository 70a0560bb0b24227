package remediate

import (
	"fmt"
	"strings"

	"github.com/mdrkit/mdr"
)

// State is where a step is in its life. The states and the moves between
// them are one table (transitions below); nothing else assigns a state.
//
//	planned ──approve──▶ approved ──begin──▶ applying ──succeed──▶ applied ──verify──▶ verified
//	   │                                        │                    │      └─refute──▶ unverified
//	   └─reject──▶ rejected                     └──fail──▶ failed    │
//	                                                                 └─revert──▶ reverted
//
// applying is the persisted intent written before a command is sent: a
// process that dies after it resumes by asking the actuator (the step's
// post-condition) whether the command took effect, instead of sending it
// blindly again. verified and unverified swap on every re-verification;
// failed and unverified steps may be begun again (an idempotent re-run);
// applied, verified, unverified and failed steps can be reverted.
type State uint8

// The states of a step.
const (
	StateUnknown    State = iota
	StatePlanned          // in the plan, not yet approved
	StateApproved         // approved (by policy or a named principal), not yet run
	StateApplying         // command about to be sent, or sent without an answer yet
	StateApplied          // the actuator reported success; post-condition not yet checked
	StateVerified         // the post-condition held at the last check
	StateUnverified       // applied, but the post-condition did not hold at the last check
	StateFailed           // the actuator refused or failed the command
	StateReverted         // the compensating command ran (or there was nothing to undo)
	StateRejected         // approval refused; the step never runs
	numStates
)

var stateNames = [numStates]string{"unknown", "planned", "approved", "applying", "applied", "verified", "unverified", "failed", "reverted", "rejected"}

func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseState reads a state name as String prints it.
func ParseState(s string) (State, error) {
	for i, n := range stateNames {
		if strings.EqualFold(n, s) {
			return State(i), nil
		}
	}
	return StateUnknown, fmt.Errorf("%w: unknown step state %q", mdr.ErrInvalid, s)
}

// MarshalText implements encoding.TextMarshaler.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *State) UnmarshalText(b []byte) error {
	v, err := ParseState(string(b))
	*s = v
	return err
}

// Done reports whether the step ran to an outcome that lets the steps that
// depend on it run (applied, verified or unverified).
func (s State) Done() bool {
	return s == StateApplied || s == StateVerified || s == StateUnverified
}

// Final reports whether no move leaves s except a revert or a re-run.
func (s State) Final() bool {
	return s == StateReverted || s == StateRejected
}

// Event is what moves a step from one state to the next.
type Event uint8

// The events of the state machine.
const (
	EventApprove Event = iota + 1 // a policy or principal allowed the step
	EventReject                   // a principal (or an approval timeout) refused it
	EventBegin                    // the command is about to be sent
	EventSucceed                  // the actuator reported success (or that the target was already gone)
	EventFail                     // the actuator refused or failed
	EventVerify                   // the post-condition held
	EventRefute                   // the post-condition did not hold
	EventRevert                   // the compensating command ran
	numEvents
)

var eventNames = [numEvents]string{"", "approve", "reject", "begin", "succeed", "fail", "verify", "refute", "revert"}

func (e Event) String() string {
	if e > 0 && e < numEvents {
		return eventNames[e]
	}
	return fmt.Sprintf("event(%d)", uint8(e))
}

// transitions is the state machine: transitions[from][event] is the state
// the event leads to, or StateUnknown when the event is not allowed there.
var transitions = func() (t [numStates][numEvents]State) {
	for _, m := range []struct {
		from State
		ev   Event
		to   State
	}{
		{StatePlanned, EventApprove, StateApproved},
		{StatePlanned, EventReject, StateRejected},
		{StateApproved, EventReject, StateRejected},
		{StateApproved, EventBegin, StateApplying},
		{StateApplying, EventSucceed, StateApplied},
		{StateApplying, EventFail, StateFailed},
		{StateApplied, EventVerify, StateVerified},
		{StateApplied, EventRefute, StateUnverified},
		{StateVerified, EventRefute, StateUnverified},
		{StateVerified, EventVerify, StateVerified},
		{StateUnverified, EventVerify, StateVerified},
		{StateUnverified, EventRefute, StateUnverified},
		{StateUnverified, EventBegin, StateApplying}, // re-run
		{StateFailed, EventBegin, StateApplying},     // retry
		{StateApplied, EventRevert, StateReverted},
		{StateVerified, EventRevert, StateReverted},
		{StateUnverified, EventRevert, StateReverted},
		{StateFailed, EventRevert, StateReverted},
	} {
		t[m.from][m.ev] = m.to
	}
	return t
}()

// Next returns the state that ev leads to from s, or a *TransitionError
// (wrapping ErrTransition) when the table has no such move.
func Next(s State, ev Event) (State, error) {
	if s < numStates && ev > 0 && ev < numEvents {
		if to := transitions[s][ev]; to != StateUnknown {
			return to, nil
		}
	}
	return StateUnknown, &TransitionError{From: s, Event: ev}
}
