// Package respond is the fourth MDR job: guided response. It advises what
// to do about an incident and does it, through the host product's own EDR,
// firewall or identity provider, which the library never owns.
//
// Commands are OpenC2 (Language Specification v1.0 with the Endpoint
// Response profile "er"): Command, Response and their parts are Go types
// whose JSON is the OpenC2 JSON serialisation, read strictly and written
// back to equal JSON. Validate checks a command against the language and,
// when it uses the er profile, against the profile's action × target
// matrix and required arguments; every problem names its field. mdrkit
// adds one extension target under its own namespace, mdr:scheduled_task,
// and carries the compensating command of a reversible action in its
// results namespace ("results": {"mdr": {"undo": ...}}).
//
// The host implements Actuator (OpenC2 query features plus Execute); the
// package respond/actuatortest checks an implementation's conformance.
//
// Dispatcher sends commands to actuators and governs them: policy in CEL
// (allow, require approval, deny) with automation levels, approvals with
// timeouts, dry-run, idempotency by command id, per-actuator rate limits,
// per-command timeouts, retries of transient failures, undo (also
// scheduled by a command's stop_time or duration), and a hash-chained
// audit record in the store for every state change.
//
// The dispatcher's audit records are its journal too: every state change
// of a history entry (requested, allowed, pending, approved, rejected,
// denied, running, dry_run, executed, failed, undone) is a step recorded
// before the call that made it returns, and the decision is recorded
// before the actuator acts. Concurrent commands share audit records (one
// synced append per group, zstd-compressed above 4 KiB), DecodeAudit reads
// them back, and NewDispatcher replays them after its last checkpoint to
// restore history, pending approvals and scheduled undos. store.Verify
// checks the chain.
//
// Advisor maps an incident's ATT&CK techniques to D3FEND countermeasures
// and proposes ranked OpenC2 commands with a rationale each.
//
// Playbook loads and runs CACAO v2.0 playbooks whose openc2-http steps go
// through the Dispatcher.
package respond
