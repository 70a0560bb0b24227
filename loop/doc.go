// Package loop runs the whole managed detection and response loop on the
// simulated fleet, wiring every package of mdrkit the way a host product
// would: an attack scenario plays on package sim → its telemetry is read
// (reader) → detection with native and Sigma rules, correlations included
// (engine) → the triage queue scores, deduplicates and groups the alerts
// into incidents, causally linked through the provenance graph (triage,
// investigate) → the top incident is investigated (root cause, scope,
// process tree, timeline, a picture) → response advice (respond) → a
// remediation plan per incident, applied through the governed dispatcher,
// whose policy runs what it may and holds the rest for an analyst's
// approval (remediate, respond) → every host is compared with its snapshot
// from before the attack (sim.Diff) → the audit chain is verified (store).
//
// Run returns everything as one Result, a plain value that `mdr demo`
// prints and that tests check; Config.Progress sees each stage as it ends.
// Everything persists in the store the caller gives (the embedded badger
// store in the demo), so `mdr hunt` and `mdr triage --store` can be tried
// on it afterwards.
//
// Run is safe to call concurrently with different configurations.
package loop
