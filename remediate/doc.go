// Package remediate removes every trace of an attack and returns the hosts
// to their state before it: it plans remediation from the investigation's
// scope (what the attack created or changed, proven by a causal path in the
// provenance graph), applies the plan through the response dispatcher, and
// verifies each step as code.
//
// # Plans
//
// A Plan is a list of Steps, each an OpenC2 command with the scope item
// (entity id) it undoes, the event ids that justify it, whether it can be
// reverted, and the steps it depends on: processes are stopped descendants
// first, a dropped file is quarantined and then deleted once the processes
// running it are stopped, a registry value is deleted or set back to the
// data the graph saw before the attack, a service is stopped then deleted,
// a scheduled task deleted, an account the attack created disabled (and
// deleted), a group membership it added removed, credentials it exposed
// reset (advice: only with a principal's approval), and network
// containment released last. What cannot be put back (a file the attack
// deleted or overwrote, a value whose earlier data was never seen) is
// listed in Plan.NotRestorable with the reason. Nothing outside the scope
// is touched.
//
// # Execution and the state machine
//
// An Executor runs a plan in dependency order, independent steps in
// parallel (Config.Parallel). Each step moves through one transition table
// (see State and Next):
//
//	planned → approved → applying → applied → verified | unverified
//	                              ↘ failed      ↘ (any applied state, failed) → reverted
//
// Every move is one write of the step's record (StepRecord, with a version
// incremented by each move) to a store.State, followed by one record in the
// store's hash-chained audit log. applying is written before the command
// is sent, so a process killed at any point resumes (Executor.Resume)
// without repeating a step that is applied: a step found in applying is
// first checked against its post-condition, and only sent again when the
// change is not in effect. A crash between a state write and its audit
// record is repaired on load: the missing audit record is appended, marked
// as recovered.
//
// # Verification
//
// A step's post-condition (Check) is a CEL expression over the actuator's
// answer to a query of the target, evaluated under a cost limit after the
// step is applied and again on demand (Executor.Verify). A step whose
// post-condition does not hold is unverified, never verified, and the
// Result counts it.
//
// # Rollback
//
// When a step fails the executor stops (Stop) or also compensates
// (Compensate): the steps applied so far are reverted in the reverse order
// of their application, with the compensating commands the actuator
// returned. Executor.Undo reverts a whole saved plan from history. Every
// failure of a run is collected (go-multierror) in Result.Err.
//
// # Concurrency
//
// Plans and Steps are plain values. An Executor is safe for concurrent use
// for different plans; one plan must be run by one call at a time.
package remediate
