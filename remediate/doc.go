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
// is touched, except what the provenance graph (PlannerConfig.Graph) proves
// the attack's: the binary of a service or task it created when written
// during the attack, the tasks, services and accounts that its users
// created to run its files or that its command lines name (Windows logs
// those by account, out of the scope's process-to-artifact reach), and the
// payload files its processes were started on (a lure script).
//
// The planner plans from the causal graph, never from names: which
// processes are the attack's is decided by role, time and evidence — a
// process on the chain above the attack that started before the attack's
// first change (the mail client that received the document) is context
// and keeps running, unless its own creation raised an alert or its image
// is the attack's; hubs (investigate.DefaultHubs) are never stopped. An
// account or membership is the attack's only when an attack user or
// process made it, or an attack command line names it.
//
// PlanEvents (and PlanFiles, PlanAlerts) is the whole path from events:
// the graph, detection through a Detector (*engine.Detector), alerts
// grouped into Incidents (GroupByHostTime until triage's incidents are
// passed in through PipelineConfig.Group), a scope and a plan for each.
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
// Commands go through a Dispatcher (*respond.Dispatcher: policy,
// approval, dry-run, audit) with a command_id derived from the plan, the
// step and the attempt, so a resumed run is answered from the
// dispatcher's history rather than executed twice. An answer of 404
// counts as done (the target was already gone; Result.Counts.NotFound).
// The er profile cannot delete an account, remove a group membership or
// reset credentials: those steps use mdrkit's x-mdr extension (XProfile,
// TargetXAccount, TargetXMember), which the host's account management
// declares and performs (package remediate/proof does it for the
// simulated fleet).
//
// # Verification
//
// A step's post-condition (Check) is a CEL expression over the actuator's
// answer to a query of the target (variables response, state and step;
// see condition.go), evaluated under a cost limit after the step is
// applied and again on demand (Executor.Verify). Queries go to a Querier
// (ActuatorQuerier), not through the dispatcher: the er profile defines no
// query of its targets. A step whose post-condition does not hold is
// unverified, never verified, and the Result counts it. Executor.Reverify
// re-checks a plan against later telemetry: the removed file written again
// or its hash seen, the value set again, the service, task or account
// created again make the step unverified, naming the event.
//
// Package remediate/proof runs the whole loop on the simulated fleet and
// proves each host back at its pre-attack snapshot.
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
