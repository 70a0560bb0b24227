// Package sim is a simulated fleet of Windows hosts that tests, the demo and
// researchers can attack, watch and repair.
//
// # The model
//
// A Fleet holds hosts. Each host has running processes (pid, Sysmon
// process GUID, image, command line, parent, user, integrity level), files
// (path and the SHA256, SHA1 and MD5 of their content), registry values
// (the full path with the value name, as Sysmon's TargetObject writes it,
// and the data), services (name, image path, start type, state), scheduled
// tasks (name, command, trigger, account), local accounts and group
// membership, open network connections and network containment. AddHost
// builds a host in its state after boot (the system processes, the
// Windows binaries, the usual services and tasks, the built-in accounts and
// groups) without logging anything.
//
// # Telemetry
//
// Every change logs what Windows and Sysmon would write for it, as the flat
// JSON objects of the shared data's EVTX exports: EventID an integer,
// Channel, Provider_Name, Computer, TimeCreated, EventRecordID and the
// System fields, then every EventData field as a string (Image,
// CommandLine, ParentImage, TargetObject, Details, ProcessGuid in {…}
// form), and _id last. A process start is Sysmon 1 and Security 4688; an
// exit Sysmon 5; a file write Sysmon 11 and a delete Sysmon 23; a registry
// change Sysmon 12/13; a connection Sysmon 3 and Security 5156; a DNS
// query Sysmon 22; lsass access Sysmon 10; a service install System 7045,
// Security 4697 and the service's registry key; a scheduled task Security
// 4698/4699 and its file under System32\Tasks; accounts Security 4720,
// 4722, 4725, 4726, 4732, 4733; logons 4624, 4625, 4634, 4648, 4672;
// shares 5140, 5145; PowerShell script blocks 4104. Events are numbered in
// the order they happen; Events and WriteNDJSON return them, an observer
// given WithObserver sees them as they come. Output is deterministic for a
// Config.Seed and a clock: the default clock is a SimClock that starts at
// DefaultStart and moves by a millisecond per reading.
//
// # Scenarios
//
// A Scenario is a YAML script (the built-in ones are embedded; Scenarios
// lists them, LoadScenario parses one, ParseScenario parses a researcher's
// own) naming hosts, variables chosen by the seed through template
// functions (pick, int, hex, enc, host, ip, sid, …) and steps: logon,
// start, exit, write_file, set_reg, connect, dns, open_process,
// create_service, start_service, create_task, add_account, add_member,
// explicit_creds, share_access, script_block, …, grouped into phases. The
// phase "benign" is the setup and the noise mixed into the attack; every
// other phase is an attack step. One "baseline" step snapshots every host.
// Scenario.Run plays the script on a fresh fleet and returns the Run: the
// fleet (ready for response), the baseline snapshots, every event with
// the label of its phase, and the Truth: what the attack changed since the
// baseline, what benign activity changed, and every benign artifact. The
// truth is measured, not declared: each step's effect is the difference
// of the hosts' snapshots around it.
//
// # Script reference
//
// A script has name, title, description, hosts (id, name, ip, role:
// workstation or server), vars (a mapping, evaluated in order), steps, a
// noise pool (a list of step lists the noise step draws from) and expect
// (per attack step, the SigmaHQ rule ids that must fire). Every value is a
// text/template over the vars with the functions pick, int, hex, lower,
// upper, enc (PowerShell -EncodedCommand), b64, sha256, trimpre, host, short
// and ip (of a host id), sid (of DOMAIN\name) and pid (of a process name).
// Processes are named by the as field of the step that started them, or
// HOSTID.system, .services, .lsass, .schedule, .winlogon and .sensor for
// those a host boots with. Every step takes op, wait ("2s..6s": the clock
// advances by a random duration first) and comment; the ops and their
// fields are:
//
//	phase          name                  start an attack step ("benign": benign activity)
//	baseline                             snapshot every host (exactly once)
//	noise          count ("2..5")        that many random groups from the noise pool, as benign
//	sleep                                only wait
//	logon          host user [type from workstation auth]   4624 (+4672 for admins)
//	logon_failed   host user [type from workstation auth]   4625
//	logoff         host user [type]                        4634
//	start          image cmdline [as host parent user integrity cwd original description company]
//	exit           proc
//	write_file     proc path [content]   content names the bytes: same content, same hashes
//	delete_file    proc path
//	set_reg        proc key data [type]  key is the full path with the value name
//	delete_reg     proc key
//	connect        proc ip port [hostname protocol]   ip may be a host id
//	dns            proc name result
//	open_process   proc target access [via]   Sysmon 10; via: the DLL in the call trace
//	load_image     proc path [signed]
//	create_service host user name image [start account]
//	start_service  host name [as]        stop_service, delete_service: host name
//	create_task    host user name command [args trigger run_as]
//	delete_task    host user name
//	add_account    host user name        disable_account, enable_account, delete_account: the same
//	add_member     host user group member                 remove_member: the same
//	explicit_creds proc user server      4648 for a server host id
//	share_access   host user from share [local_path relative]   5140 (+5145)
//	script_block   proc text             PowerShell 4104
//
// # Snapshots
//
// Snapshot copies a host's state; Diff compares two snapshots and returns
// the added, removed and changed processes, files, registry values,
// services, tasks, accounts, group memberships and containment, so a test
// can prove that a remediated host is back to its state before the
// attack.
//
// # Response
//
// A Fleet is a respond.Actuator (Features, Execute) for the OpenC2
// Endpoint Response profile and mdrkit's mdr extension: contain and allow
// device (device_containment network_isolation with permitted addresses,
// app_restriction, disable_nic), contain and allow file (quarantine and
// restore, checked against the command's hashes), delete file, stop and
// restart process, set, create and delete er:registry_entry (key is the
// full path with the value name, as Sysmon's TargetObject), stop, start,
// delete and create er:service, set er:account (account_status), create,
// delete, start and stop mdr:scheduled_task, and query of every target it
// models. The host is the device target's or the er downstream_device
// argument's. Each reversible action answers with its undo command (the
// old registry value, the deleted task's definition, …); the target's
// state after the action is in the results under ResultsKey (StateOf
// decodes it), so remediation can verify its post-conditions. The same
// actions are Go methods (KillProcess, QuarantineFile, SetRegistry,
// DeleteService, DeleteAccount, RemoveGroupMember, Contain, …), and each
// logs what Windows would (Sysmon 5, 23, 11, 12, 13, System 7036,
// Security 4699, 4722, 4725, 4726, 4733) with the EDR sensor as actor and
// the label ResponseLabel.
//
// Artifact.EntityID names an artifact as package schema names the entity
// in the graph built from the telemetry, so tests can compare an
// investigation's scope or a remediation plan with a run's Truth.
//
// # Concurrency
//
// A Fleet is safe for concurrent use: one mutex serialises its
// operations, so the events of one operation are contiguous and numbered
// in order. Snapshots, Changes, Truth and Records are values, safe for
// concurrent reads. A Scenario is immutable after parsing; each Run builds
// its own fleet.
package sim
