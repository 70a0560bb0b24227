// Package schema maps events of the common security log dialects to the
// canonical entities and relations of mdrkit's provenance graph, and maps
// canonical field names back to each dialect's own field names.
//
// # Dialects
//
// Detect tells an event's dialect from its fields alone: Windows event logs
// by Channel and Provider_Name (Sysmon, Security, System, PowerShell, other
// channels), OCSF by class_uid, ECS by ecs.version, event.category or
// @timestamp with nested objects, Linux audit by its record type. Mapped
// today: Sysmon event ids 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17,
// 18, 22, 23, 25, 26, 29 (Windows and Linux); Security 1102, 4624, 4625,
// 4634, 4647, 4648, 4656, 4657, 4663, 4672, 4688, 4697, 4698, 4702, 4720,
// 4726, 4728, 4729, 4732, 4733, 4756, 4757, 4768, 4769, 4771, 4776, 5140,
// 5145, 5156; System 7045 (Service Control Manager); PowerShell 4103, 4104
// and 4105, Windows PowerShell 400 and 800; ECS process, file, registry,
// library, network, authentication
// and iam events; OCSF Process Activity (1007), File System Activity (1001),
// Module Activity (1005), Authentication (3002), Network Activity (4001) and
// DNS Activity (4003); audit SYSCALL and EXECVE records. Field names follow
// the public schemas: the Sysmon event manifest, Microsoft's Security
// auditing event reference, ECS 8 and OCSF 1.x.
//
// # Entities and relations
//
// Mapper.Map turns one event into a Result: the entities it names (host,
// user, process, file, network endpoint, domain, registry key, service,
// scheduled task, pipe, share, script, groups and SIDs as accounts) and the
// relations between them (spawned, wrote_file, loaded_image, connected,
// resolved, set_registry, opened_process, logged_on, installed_service,
// created_task ...), each relation stamped with the event's time and id.
//
// Entity ids are deterministic strings built by the exported *ID functions:
// "host:pc01", "user:corp\alice", "process:0197231e-...", "file:pc01\c:\x.exe",
// "ip:10.0.0.5:445", "domain:evil.com", "reg:HKLM\software\...". Windows
// names are case-folded, GUIDs lose their braces and case. A process keeps
// one identity across events: its ProcessGuid (Sysmon) or entity id (ECS,
// OCSF uid) when there is one, else host + pid + start time. A Mapper with a
// ProcessTable also joins a process named by pid alone (the creator in a
// Security 4688, the actor of 4624 or 5156, the host of a PowerShell 4104)
// to the id of its own creation event, and a creation seen by both Sysmon
// and Security to one id.
//
// # Field maps
//
// Fields returns, per dialect, the field names that hold a canonical (ECS
// style) field such as "process.executable" or "destination.ip"; Lookup
// reads a canonical field from any event. detect/sigma and investigate use
// them to speak one vocabulary over every dialect.
//
// # Concurrency and allocation
//
// A Mapper is safe for concurrent use (its ProcessTable locks internally);
// a Result is not, and is meant to be reused by one goroutine across calls
// to Map to keep allocation low. Detect never allocates. The field maps are
// immutable and shared.
package schema
