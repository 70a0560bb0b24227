// Package scenario generates a believable small attack on a Windows network
// as Sysmon, Security, System and PowerShell events, in the flat JSON shape
// of the EVTX exports the library reads (EventID an integer, Channel,
// Computer, TimeCreated, UtcTime, ProcessGuid, every EventData field a
// string), together with the facts of the story so that tests and the
// `mdr demo` command can check what the library finds.
//
// The story, on workstation WKS-FIN07 and file server SRV-FS01: a user opens
// a macro document from Outlook; Word starts PowerShell with an encoded
// command that downloads a tool and runs it; the tool opens lsass
// (GrantedAccess 0x1010) to dump credentials; PowerShell persists through a
// Run key and a scheduled task, then uses a stolen admin credential (4648)
// to copy the tool to the server's ADMIN$ share and install it as a service
// (7045, 4697), which starts on the server and runs discovery commands.
// Benign activity (browsing, Outlook, Windows services, backup logons) is
// mixed in. Everything random — GUIDs, pids, ports, logon ids, hashes,
// timings and the amount of noise — comes from Config.Seed, so one seed
// always gives the same bytes.
//
// Scenario.StepOf gives each event's attack step (Steps, in story order) or
// NoStep for benign activity: the per-event ground truth that detection
// tests check rules against.
//
// Generate is a pure function; a Scenario is immutable after Generate and
// safe for concurrent reads.
package scenario
