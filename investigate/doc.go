// Package investigate is mdrkit's provenance graph: it joins the entities
// and relations that package schema derives from events into one graph and
// answers the questions of an investigation on it — what led here
// (Backward, to the root cause), what did it touch (Forward, the blast
// radius), what is the whole incident's scope (Scope, the value package
// remediate plans from), which alerts share a cause (CausalChain, for
// triage), and how it looks (ProcessTree, Timeline, and exports as JSON,
// Graphviz DOT and Mermaid; SVG in package investigate/svg).
//
// # Model
//
// A Graph holds entities keyed by mdr.Entity.ID and edges that are
// relations stamped with event time and event id. Each relation kind has a
// direction of information flow (a process flows into its child and into
// the files it writes; a file flows into the process that runs or loads
// it); tracking follows flows and respects time: backward from an entity at
// time T follows only flows that happened no later than T, and from there
// only flows no later than those, and forward the other way round.
// Context relations (ran_on, ran_as, terminated, logoffs) are kept but
// never followed.
//
// Repeated relations are reduced into one edge (first, last, count) under
// the rule of Hossain et al. 2018, which never changes a backward or a
// forward answer (see Graph). The graph is bounded by Config.MaxNodes and
// Config.MaxEdges: past them it evicts its oldest edges and counts them in
// Stats.
//
// # Hubs
//
// System processes that start or host everything else (services.exe,
// explorer.exe, svchost.exe, System, wininit.exe ... see DefaultHubs) are
// hubs: tracking reaches them but never passes through them. The rule:
// ancestors above the first hub are context, not cause, and what a hub did
// afterwards is not the attack's. Built-in accounts (SYSTEM, LOCAL
// SERVICE, machine accounts) and hosts are likewise never passed through.
//
// # Scope
//
// Scope answers for an incident what remediation needs: the attack's
// actors (the processes the alerts name, not their hub parents), the causal
// chain behind them to the root cause, and everything reached forward from
// them — each Item with its kind, entity, host, name as Windows wrote it,
// action, role (alert, cause, impact), data written, the registry data seen
// before the attack (Prior), process, service and task details, first and
// last time and the ids of the events that prove it. An item enters only
// through a causal path, with two documented extensions: the alerts' own
// events (a service installation or a logon alert names no process), and
// proxy edges — what services.exe, the task scheduler or the account
// database did within ten minutes on the same host when a scope process's
// command line or script named the service, task or account as a word.
// Changes Windows makes for any caller (VSS diagnostics, WinINet zone
// detection, RAS tracing, PowerShell's policy probe files) and registry
// opens logged as CreateKey are not items.
//
// # Lifecycle and concurrency
//
// Build a Graph with New, feed it events in time order with Add (or mapped
// results with AddResult) from one goroutine, and query it from any number
// of goroutines meanwhile. Save writes it to any store.Graph and Load reads
// it back. Every query takes a context and Limits (depth, nodes, time
// window) and returns a partial answer marked Truncated when a limit stops
// it.
package investigate
