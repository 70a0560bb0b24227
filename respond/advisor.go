package respond

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mdrkit/mdr"
)

// Incident is what the Advisor needs to know about an incident: its
// alerts (with their ATT&CK tags, hosts and entities), further ATT&CK
// technique ids, and optionally the scope an investigation found.
type Incident struct {
	ID     string
	Alerts []mdr.Alert
	// Techniques are technique ids ("T1003.001") known beyond the alerts'
	// tags.
	Techniques []string
	// Scope, when set, adds the entities an investigation put in scope.
	Scope Scope
}

// Scope is the part of an investigation the Advisor uses: the entities in
// the incident's scope. An entity bound to a host (process, file,
// registry value, task, service, local account) names it in
// Attrs["host"]; a host entity is a host reached by the incident (for
// example by lateral movement).
type Scope interface {
	ScopeEntities() []mdr.Entity
}

// CounterKind says what kind of command a countermeasure makes.
type CounterKind string

// The countermeasure kinds the Advisor can turn into OpenC2 commands.
const (
	CounterIsolateHost    CounterKind = "isolate_host"    // contain device (network_isolation)
	CounterDisableAccount CounterKind = "disable_account" // set er:account disabled
	CounterStopProcess    CounterKind = "stop_process"    // stop process
	CounterQuarantineFile CounterKind = "quarantine_file" // contain file
	CounterDenyFile       CounterKind = "deny_file"       // deny file (by hash)
	CounterBlockDomain    CounterKind = "block_domain"    // deny domain_name
	CounterBlockAddress   CounterKind = "block_address"   // deny ipv4_net / ipv6_net
	CounterDeleteRegistry CounterKind = "delete_registry" // delete er:registry_entry
	CounterDeleteTask     CounterKind = "delete_task"     // delete mdr:scheduled_task
	CounterStopService    CounterKind = "stop_service"    // stop er:service
)

// Countermeasure is a defensive technique (a D3FEND technique where one
// fits) and the kind of OpenC2 command that carries it out.
type Countermeasure struct {
	ID     string      `json:"id"`   // "D3-NI"
	Name   string      `json:"name"` // "Network Isolation"
	Kind   CounterKind `json:"kind"`
	Weight float64     `json:"weight"` // base priority in (0, 1]
	Why    string      `json:"why"`    // what it achieves, for rationales
}

// Mapping maps an ATT&CK technique (and its sub-techniques, unless they
// have their own mapping) to countermeasures by ID.
type Mapping struct {
	Technique       string   `json:"technique"` // "T1003"
	Name            string   `json:"name"`      // "OS Credential Dumping"
	Countermeasures []string `json:"countermeasures"`
}

// DefaultCountermeasures returns the package's countermeasures: D3FEND
// techniques by their D3FEND ids, and two mdrkit ones (prefix "MDR-") for
// persistence removals D3FEND has no technique for.
func DefaultCountermeasures() []Countermeasure {
	return []Countermeasure{
		{"D3-NI", "Network Isolation", CounterIsolateHost, 0.95, "cuts the host off the network so the attacker can neither move on from it nor use what was taken there"},
		{"D3-AL", "Account Locking", CounterDisableAccount, 0.9, "disables the account so exposed or abused credentials stop working"},
		{"D3-PT", "Process Termination", CounterStopProcess, 0.75, "terminates the malicious process"},
		{"D3-FEV", "File Eviction", CounterQuarantineFile, 0.65, "quarantines the dropped or executed file"},
		{"D3-EDL", "Executable Denylisting", CounterDenyFile, 0.55, "prevents the file from running again anywhere, by hash"},
		{"D3-DNSDL", "DNS Denylisting", CounterBlockDomain, 0.7, "blocks the contacted domain"},
		{"D3-OTF", "Outbound Traffic Filtering", CounterBlockAddress, 0.65, "blocks traffic to the contacted address"},
		{"D3-RKD", "Registry Key Deletion", CounterDeleteRegistry, 0.6, "removes the registry persistence"},
		{"MDR-STR", "Scheduled Task Removal", CounterDeleteTask, 0.6, "removes the scheduled-task persistence"},
		{"MDR-SVS", "Service Stop", CounterStopService, 0.55, "stops the malicious service (start er:service undoes it)"},
	}
}

// DefaultMappings returns the package's ATT&CK → countermeasure table.
func DefaultMappings() []Mapping {
	return []Mapping{
		{"T1003", "OS Credential Dumping", []string{"D3-NI", "D3-AL", "D3-PT", "D3-FEV"}},
		{"T1558", "Steal or Forge Kerberos Tickets", []string{"D3-AL", "D3-NI"}},
		{"T1552", "Unsecured Credentials", []string{"D3-AL"}},
		{"T1555", "Credentials from Password Stores", []string{"D3-AL", "D3-PT"}},
		{"T1110", "Brute Force", []string{"D3-AL", "D3-OTF"}},
		{"T1078", "Valid Accounts", []string{"D3-AL"}},
		{"T1136", "Create Account", []string{"D3-AL"}},
		{"T1098", "Account Manipulation", []string{"D3-AL"}},
		{"T1021", "Remote Services", []string{"D3-NI", "D3-AL"}},
		{"T1570", "Lateral Tool Transfer", []string{"D3-NI", "D3-FEV", "D3-EDL"}},
		{"T1550", "Use Alternate Authentication Material", []string{"D3-NI", "D3-AL"}},
		{"T1047", "Windows Management Instrumentation", []string{"D3-PT", "D3-NI"}},
		{"T1569", "System Services", []string{"D3-NI", "MDR-SVS"}},
		{"T1543", "Create or Modify System Process", []string{"MDR-SVS", "D3-FEV"}},
		{"T1053", "Scheduled Task/Job", []string{"MDR-STR", "D3-FEV"}},
		{"T1547", "Boot or Logon Autostart Execution", []string{"D3-RKD", "D3-FEV"}},
		{"T1112", "Modify Registry", []string{"D3-RKD"}},
		{"T1059", "Command and Scripting Interpreter", []string{"D3-PT"}},
		{"T1204", "User Execution", []string{"D3-FEV", "D3-EDL", "D3-PT"}},
		{"T1566", "Phishing", []string{"D3-FEV", "D3-EDL", "D3-DNSDL"}},
		{"T1105", "Ingress Tool Transfer", []string{"D3-FEV", "D3-DNSDL", "D3-OTF"}},
		{"T1071", "Application Layer Protocol", []string{"D3-DNSDL", "D3-OTF", "D3-PT"}},
		{"T1568", "Dynamic Resolution", []string{"D3-DNSDL"}},
		{"T1572", "Protocol Tunneling", []string{"D3-OTF", "D3-PT"}},
		{"T1090", "Proxy", []string{"D3-OTF"}},
		{"T1041", "Exfiltration Over C2 Channel", []string{"D3-NI", "D3-OTF", "D3-DNSDL"}},
		{"T1567", "Exfiltration Over Web Service", []string{"D3-NI", "D3-DNSDL"}},
		{"T1055", "Process Injection", []string{"D3-PT", "D3-NI"}},
		{"T1218", "System Binary Proxy Execution", []string{"D3-PT", "D3-FEV"}},
		{"T1027", "Obfuscated Files or Information", []string{"D3-PT", "D3-FEV"}},
		{"T1548", "Abuse Elevation Control Mechanism", []string{"D3-PT"}},
		{"T1562", "Impair Defenses", []string{"D3-NI", "D3-PT"}},
		{"T1070", "Indicator Removal", []string{"D3-NI"}},
		{"T1486", "Data Encrypted for Impact", []string{"D3-NI", "D3-PT"}},
		{"T1490", "Inhibit System Recovery", []string{"D3-NI", "D3-PT"}},
		{"T1489", "Service Stop", []string{"D3-NI"}},
	}
}

// Advice is one proposed command.
type Advice struct {
	Rank    int     `json:"rank"`
	Score   float64 `json:"score"`
	Command Command `json:"command"`
	// Rationale says why, in a sentence or two.
	Rationale          string   `json:"rationale"`
	Techniques         []string `json:"techniques"`
	Countermeasure     string   `json:"countermeasure"`
	CountermeasureName string   `json:"countermeasure_name"`
	Alerts             []string `json:"alerts,omitempty"`
}

// Advisor proposes ranked OpenC2 commands for an incident from an ATT&CK
// technique → countermeasure table. It is safe for concurrent use.
type Advisor struct {
	cms      map[string]Countermeasure
	mappings map[string]Mapping
}

// AdvisorOption configures an Advisor.
type AdvisorOption func(*Advisor) error

// WithCountermeasures adds countermeasures (or replaces those with the
// same ID).
func WithCountermeasures(cs ...Countermeasure) AdvisorOption {
	return func(a *Advisor) error {
		for _, c := range cs {
			if c.ID == "" || c.Weight <= 0 || c.Weight > 1 {
				return fmt.Errorf("%w: countermeasure %q needs an id and a weight in (0, 1]", ErrInvalid, c.ID)
			}
			switch c.Kind {
			case CounterIsolateHost, CounterDisableAccount, CounterStopProcess, CounterQuarantineFile, CounterDenyFile,
				CounterBlockDomain, CounterBlockAddress, CounterDeleteRegistry, CounterDeleteTask, CounterStopService:
			default:
				return fmt.Errorf("%w: countermeasure %q: unknown kind %q", ErrInvalid, c.ID, c.Kind)
			}
			a.cms[c.ID] = c
		}
		return nil
	}
}

// WithMappings adds technique mappings (or replaces those of the same
// technique). The countermeasures they name must exist.
func WithMappings(ms ...Mapping) AdvisorOption {
	return func(a *Advisor) error {
		for _, m := range ms {
			t := normTechnique(m.Technique)
			if t == "" {
				return fmt.Errorf("%w: mapping: bad technique id %q", ErrInvalid, m.Technique)
			}
			m.Technique = t
			a.mappings[t] = m
		}
		return nil
	}
}

// NewAdvisor returns an advisor with the default table, extended by opts.
func NewAdvisor(opts ...AdvisorOption) (*Advisor, error) {
	a := &Advisor{cms: map[string]Countermeasure{}, mappings: map[string]Mapping{}}
	base := []AdvisorOption{WithCountermeasures(DefaultCountermeasures()...), WithMappings(DefaultMappings()...)}
	for _, o := range append(base, opts...) {
		if err := o(a); err != nil {
			return nil, err
		}
	}
	for _, m := range a.mappings {
		for _, id := range m.Countermeasures {
			if _, ok := a.cms[id]; !ok {
				return nil, fmt.Errorf("%w: mapping %s names unknown countermeasure %q", ErrInvalid, m.Technique, id)
			}
		}
	}
	return a, nil
}

// normTechnique returns "T1003.001" for "t1003.001" or "attack.t1003.001",
// or "" when s is not a technique id.
func normTechnique(s string) string {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(strings.ToLower(s), "attack.") {
		s = "attack." + s
	}
	tag := mdr.ParseTag(s)
	if tag.Kind != mdr.TagTechnique {
		return ""
	}
	return tag.ID
}

// lookup returns the mapping of technique t or of its parent.
func (a *Advisor) lookup(t string) (Mapping, bool) {
	if m, ok := a.mappings[t]; ok {
		return m, true
	}
	if parent, _, ok := strings.Cut(t, "."); ok {
		m, ok := a.mappings[parent]
		return m, ok
	}
	return Mapping{}, false
}

// advObject is a target of a countermeasure, with the alerts and techniques
// behind it.
type advObject struct {
	key    string
	host   string
	entity mdr.Entity
	alerts map[int]bool
	techs  map[string]bool
}

var systemAccounts = map[string]bool{"system": true, "local service": true, "network service": true,
	"nt authority\\system": true, "nt authority\\local service": true, "nt authority\\network service": true}

func isServiceAccount(name string) bool {
	l := strings.ToLower(name)
	if systemAccounts[l] || strings.HasSuffix(l, "$") {
		return true
	}
	_, short, _ := strings.Cut(l, `\`)
	if short == "" {
		short = l
	}
	return systemAccounts[short] || strings.HasPrefix(short, "dwm-") || strings.HasPrefix(short, "umfd-")
}

// criticalProcesses are never proposed for termination: stopping them
// crashes or disarms the host (they are often the victim, such as lsass
// in credential dumping, not the attacker).
var criticalProcesses = map[string]bool{
	"lsass.exe": true, "csrss.exe": true, "wininit.exe": true, "winlogon.exe": true, "services.exe": true,
	"smss.exe": true, "svchost.exe": true, "system": true, "registry": true, "msmpeng.exe": true,
	"sysmon.exe": true, "sysmon64.exe": true, "lsaiso.exe": true, "dwm.exe": true,
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func isSystemPath(p string) bool {
	l := strings.ToLower(p)
	return strings.HasPrefix(l, `c:\windows\system32\`) || strings.HasPrefix(l, `c:\windows\syswow64\`) ||
		strings.HasPrefix(l, `c:\program files\`) || strings.HasPrefix(l, `c:\program files (x86)\`)
}

func severityFactor(s mdr.Severity) float64 {
	switch s {
	case mdr.SeverityCritical:
		return 1
	case mdr.SeverityHigh:
		return 0.85
	case mdr.SeverityMedium:
		return 0.6
	case mdr.SeverityLow:
		return 0.4
	}
	return 0.25
}

// Advise proposes commands for the incident, best first. Each technique
// of the incident (from alert tags and Incident.Techniques) maps to
// countermeasures; each countermeasure applies to the objects the
// incident shows on the hosts where the technique was seen: the hosts
// themselves, the accounts seen there (not service accounts), the
// processes and non-system files of the alerts, contacted domains and
// public addresses, registry values, scheduled tasks and services. Scores
// (in (0, 1]) combine the countermeasure's weight, the highest severity
// among the supporting alerts and how many alerts and techniques support
// it. Critical system processes (lsass, csrss, services, ...) are never
// proposed for termination. Commands carry
// deterministic command ids (the same advice dispatched twice is one
// command).
func (a *Advisor) Advise(ctx context.Context, in Incident) ([]Advice, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// techniques per alert and per host
	alertTech := make([][]string, len(in.Alerts))
	hostTech := map[string]map[string]bool{}
	incTech := map[string]bool{}
	addHostTech := func(h, t string) {
		if hostTech[h] == nil {
			hostTech[h] = map[string]bool{}
		}
		hostTech[h][t] = true
	}
	for i := range in.Alerts {
		al := &in.Alerts[i]
		alertTech[i] = mdr.TechniquesOf(al.Tags)
		for _, t := range alertTech[i] {
			incTech[t] = true
			addHostTech(al.Host, t)
		}
	}
	var extra []string
	for _, t := range in.Techniques {
		if n := normTechnique(t); n != "" {
			incTech[n] = true
			extra = append(extra, n)
		}
	}

	// objects per countermeasure kind
	type proposal struct {
		cm    Countermeasure
		obj   *advObject
		techs map[string]bool
	}
	props := map[string]*proposal{}
	propose := func(cm Countermeasure, obj *advObject, tech string, alert int) {
		key := cm.ID + "|" + obj.key
		p := props[key]
		if p == nil {
			p = &proposal{cm: cm, obj: &advObject{key: obj.key, host: obj.host, entity: obj.entity, alerts: map[int]bool{}, techs: map[string]bool{}}, techs: map[string]bool{}}
			props[key] = p
		}
		p.techs[tech] = true
		if alert >= 0 {
			p.obj.alerts[alert] = true
		}
	}
	// entities by host (from alerts and scope)
	type hostEnt struct {
		e     mdr.Entity
		alert int
	}
	ents := map[string][]hostEnt{}
	hosts := map[string]int{} // host -> first alert index (-1: scope)
	for i := range in.Alerts {
		al := &in.Alerts[i]
		if al.Host != "" {
			if _, ok := hosts[al.Host]; !ok {
				hosts[al.Host] = i
			}
		}
		for _, e := range al.Entities {
			ents[al.Host] = append(ents[al.Host], hostEnt{e, i})
		}
	}
	if in.Scope != nil {
		for _, e := range in.Scope.ScopeEntities() {
			if e.Kind == mdr.EntityHost {
				name := e.Name
				if name == "" {
					name = strings.TrimPrefix(e.ID, "host:")
				}
				if _, ok := hosts[name]; !ok {
					hosts[name] = -1
					// a host in scope carries the incident's techniques
					for t := range incTech {
						addHostTech(name, t)
					}
				}
				continue
			}
			h := e.Attrs["host"]
			ents[h] = append(ents[h], hostEnt{e, -1})
		}
	}
	// techniques from Incident.Techniques apply to every host
	for h := range hosts {
		for _, t := range extra {
			addHostTech(h, t)
		}
	}

	hostNames := make([]string, 0, len(hosts))
	for h := range hosts {
		hostNames = append(hostNames, h)
	}
	sort.Strings(hostNames)
	for _, h := range hostNames {
		techs := make([]string, 0, len(hostTech[h]))
		for t := range hostTech[h] {
			techs = append(techs, t)
		}
		sort.Strings(techs)
		for _, t := range techs {
			m, ok := a.lookup(t)
			if !ok {
				continue
			}
			// the alerts on h with t
			var support []int
			for i := range in.Alerts {
				if in.Alerts[i].Host == h && slices.Contains(alertTech[i], t) {
					support = append(support, i)
				}
			}
			if len(support) == 0 {
				support = []int{-1}
			}
			for _, cid := range m.Countermeasures {
				cm := a.cms[cid]
				if cm.Kind == CounterIsolateHost {
					for _, ai := range support {
						propose(cm, &advObject{key: "host|" + strings.ToLower(h), host: h}, t, ai)
					}
					continue
				}
				for _, he := range ents[h] {
					if he.alert >= 0 && !slices.Contains(support, he.alert) && cm.Kind != CounterDisableAccount {
						continue // an object of another alert on this host
					}
					key, ok := objectKey(cm.Kind, h, he.e)
					if !ok {
						continue
					}
					ai := he.alert
					if ai < 0 {
						ai = support[0]
					}
					propose(cm, &advObject{key: key, host: h, entity: he.e}, t, ai)
				}
			}
		}
	}

	var out []Advice
	for _, p := range props {
		cmd, ok := buildCommand(p.cm.Kind, p.obj)
		if !ok {
			continue
		}
		sum := sha256.Sum256([]byte(in.ID + "|" + p.cm.ID + "|" + p.obj.key))
		cmd.CommandID = "adv-" + hex.EncodeToString(sum[:16])
		if err := cmd.Validate(); err != nil {
			continue // an entity that does not make a valid command (a bad address)
		}
		maxSev := mdr.SeverityUnknown
		var alertIDs []string
		for ai := range p.obj.alerts {
			if ai < 0 {
				continue
			}
			al := &in.Alerts[ai]
			if al.Severity > maxSev {
				maxSev = al.Severity
			}
			alertIDs = append(alertIDs, al.ID)
		}
		sort.Strings(alertIDs)
		techs := make([]string, 0, len(p.techs))
		for t := range p.techs {
			techs = append(techs, t)
		}
		sort.Strings(techs)
		n := len(alertIDs)
		boost := 1 + 0.1*float64(max(n-1, 0)) + 0.05*float64(len(techs)-1)
		if boost > 1.5 {
			boost = 1.5
		}
		score := p.cm.Weight * severityFactor(maxSev) * boost / 1.5
		out = append(out, Advice{
			Score:              float64(int(score*1000+0.5)) / 1000,
			Command:            cmd,
			Rationale:          a.rationale(p.cm, p.obj, techs, alertIDs, in.Alerts),
			Techniques:         techs,
			Countermeasure:     p.cm.ID,
			CountermeasureName: p.cm.Name,
			Alerts:             alertIDs,
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Command.CommandID < out[j].Command.CommandID
	})
	for i := range out {
		out[i].Rank = i + 1
	}
	return out, nil
}

func (a *Advisor) rationale(cm Countermeasure, obj *advObject, techs, alertIDs []string, alerts []mdr.Alert) string {
	var tn []string
	for _, t := range techs {
		name := t
		if m, ok := a.lookup(t); ok {
			name += " (" + m.Name + ")"
		}
		tn = append(tn, name)
	}
	var rules []string
	for _, al := range alerts {
		if slices.Contains(alertIDs, al.ID) && al.RuleTitle != "" && !slices.Contains(rules, al.RuleTitle) {
			rules = append(rules, al.RuleTitle)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s seen on %s", strings.Join(tn, ", "), obj.host)
	if len(alertIDs) > 0 {
		fmt.Fprintf(&b, " in %d alert(s)", len(alertIDs))
		if len(rules) > 0 {
			if len(rules) > 3 {
				rules = append(rules[:3], "…")
			}
			fmt.Fprintf(&b, " (%s)", strings.Join(rules, "; "))
		}
	} else {
		b.WriteString(" (investigation scope)")
	}
	fmt.Fprintf(&b, "; %s %s: %s", cm.ID, cm.Name, cm.Why)
	if obj.entity.Name != "" || obj.entity.ID != "" {
		n := obj.entity.Name
		if n == "" {
			n = obj.entity.ID
		}
		fmt.Fprintf(&b, " — %s", n)
	}
	b.WriteString(".")
	return b.String()
}

// objectKey decides whether entity e (on host h) is an object of a
// countermeasure kind, and names it.
func objectKey(kind CounterKind, h string, e mdr.Entity) (string, bool) {
	hl := strings.ToLower(h)
	name := e.Name
	switch kind {
	case CounterDisableAccount:
		if e.Kind != mdr.EntityUser && e.Kind != mdr.EntityAccount || name == "" || isServiceAccount(name) {
			return "", false
		}
		if e.Kind == mdr.EntityAccount && !strings.HasPrefix(e.ID, "user:") && e.Attrs["sid"] == "" && strings.HasPrefix(e.ID, "group:") {
			return "", false // a group
		}
		return "account|" + hl + "|" + strings.ToLower(name), true
	case CounterStopProcess:
		if e.Kind != mdr.EntityProcess || e.Attrs["pid"] == "" || criticalProcesses[strings.ToLower(baseName(name))] {
			return "", false
		}
		return "process|" + hl + "|" + e.Attrs["pid"] + "|" + strings.ToLower(name), true
	case CounterQuarantineFile, CounterDenyFile:
		path := ""
		switch e.Kind {
		case mdr.EntityFile:
			path = name
		case mdr.EntityProcess:
			path = name // the image of a malicious process
		}
		if path == "" || isSystemPath(path) || !strings.Contains(path, `\`) && !strings.Contains(path, "/") {
			return "", false
		}
		if kind == CounterDenyFile && hashFrom(e.Attrs["hashes"], "SHA256") == "" {
			return "", false
		}
		return "file|" + hl + "|" + strings.ToLower(path), true
	case CounterBlockDomain:
		if e.Kind != mdr.EntityDomain || name == "" {
			return "", false
		}
		return "domain|" + strings.ToLower(strings.TrimSuffix(name, ".")), true
	case CounterBlockAddress:
		if e.Kind != mdr.EntityNetworkEndpoint {
			return "", false
		}
		ip := endpointIP(e)
		addr, err := netip.ParseAddr(ip)
		if err != nil || addr.IsPrivate() || addr.IsLoopback() || addr.IsLinkLocalUnicast() || addr.IsUnspecified() || addr.IsMulticast() {
			return "", false
		}
		return "ip|" + addr.String(), true
	case CounterDeleteRegistry:
		if e.Kind != mdr.EntityRegistryKey || name == "" {
			return "", false
		}
		return "reg|" + hl + "|" + strings.ToLower(name), true
	case CounterDeleteTask:
		if e.Kind != mdr.EntityScheduledTask || name == "" {
			return "", false
		}
		return "task|" + hl + "|" + strings.ToLower(name), true
	case CounterStopService:
		if e.Kind != mdr.EntityService || name == "" {
			return "", false
		}
		return "svc|" + hl + "|" + strings.ToLower(name), true
	}
	return "", false
}

// endpointIP returns the address of a network endpoint entity.
func endpointIP(e mdr.Entity) string {
	s := strings.TrimPrefix(e.ID, "ip:")
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]"); i > 0 {
			return s[1:i]
		}
	}
	if strings.Count(s, ":") == 1 {
		s, _, _ = strings.Cut(s, ":")
	}
	return s
}

// hashFrom picks one algorithm's value from a Sysmon Hashes string
// ("SHA1=...,MD5=...,SHA256=...").
func hashFrom(hashes, alg string) string {
	for _, part := range strings.Split(hashes, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(k, alg) {
			return strings.ToLower(v)
		}
	}
	return ""
}

func onHost(h string) *Args {
	return &Args{ER: &ERArgs{DownstreamDevice: []DownstreamDevice{{Devices: []Device{{Hostname: h}}}}}}
}

// buildCommand makes the OpenC2 command of a countermeasure on an object.
func buildCommand(kind CounterKind, o *advObject) (Command, bool) {
	e := o.entity
	switch kind {
	case CounterIsolateHost:
		return Command{Action: ActionContain, Target: Target{Device: &Device{Hostname: o.host}},
			Args: &Args{ER: &ERArgs{DeviceContainment: NetworkIsolation}}, Actuator: &ActuatorSpec{Profile: "er"}}, true
	case CounterDisableAccount:
		name := e.Name
		if _, short, ok := strings.Cut(name, `\`); ok {
			name = short
		}
		acct := &Account{AccountName: name}
		if sid := e.Attrs["sid"]; sid != "" {
			acct.UID = sid
		}
		args := onHost(o.host)
		args.ER.AccountStatus = AccountDisabled
		return Command{Action: ActionSet, Target: Target{Account: acct}, Args: args}, true
	case CounterStopProcess:
		pid, err := strconv.ParseInt(e.Attrs["pid"], 10, 64)
		if err != nil {
			return Command{}, false
		}
		p := &Process{PID: &pid}
		if e.Name != "" {
			p.Executable = &File{Path: e.Name}
		}
		return Command{Action: ActionStop, Target: Target{Process: p}, Args: onHost(o.host)}, true
	case CounterQuarantineFile:
		f := &File{Path: e.Name}
		if h := hashFrom(e.Attrs["hashes"], "SHA256"); h != "" {
			f.Hashes = &Hashes{SHA256: h}
		}
		return Command{Action: ActionContain, Target: Target{File: f}, Args: onHost(o.host)}, true
	case CounterDenyFile:
		return Command{Action: ActionDeny, Target: Target{File: &File{Hashes: &Hashes{SHA256: hashFrom(e.Attrs["hashes"], "SHA256")}}}, Args: onHost(o.host)}, true
	case CounterBlockDomain:
		return Command{Action: ActionDeny, Target: Target{DomainName: strings.TrimSuffix(e.Name, ".")}, Args: onHost(o.host)}, true
	case CounterBlockAddress:
		ip := endpointIP(e)
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return Command{}, false
		}
		t := Target{IPv4Net: addr.String()}
		if addr.Is6() && !addr.Is4In6() {
			t = Target{IPv6Net: addr.String()}
		}
		return Command{Action: ActionDeny, Target: t, Args: onHost(o.host)}, true
	case CounterDeleteRegistry:
		typ := e.Attrs["type"]
		if !regTypes[typ] {
			typ = "REG_SZ"
		}
		return Command{Action: ActionDelete, Target: Target{RegistryEntry: &RegistryEntry{Key: e.Name, Type: typ}}, Args: onHost(o.host)}, true
	case CounterDeleteTask:
		return Command{Action: ActionDelete, Target: Target{ScheduledTask: &ScheduledTask{Name: e.Name}}, Args: onHost(o.host)}, true
	case CounterStopService:
		return Command{Action: ActionStop, Target: Target{Service: &Service{Name: e.Name}}, Args: onHost(o.host)}, true
	}
	return Command{}, false
}

// IncidentAdvice is the advice for one incident.
type IncidentAdvice struct {
	Incident Incident
	Advice   []Advice
}

// GroupAlerts groups alerts into incidents by host and time: alerts of one
// host belong to the same incident while each comes within gap of the
// previous one (a stand-in for triage's grouping). Incident ids are
// "<host>@<time of the first alert>". Alerts without a host form one
// incident per gap window too, under host "".
func GroupAlerts(alerts []mdr.Alert, gap time.Duration) []Incident {
	byHost := map[string][]mdr.Alert{}
	for _, a := range alerts {
		byHost[a.Host] = append(byHost[a.Host], a)
	}
	hosts := make([]string, 0, len(byHost))
	for h := range byHost {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	var out []Incident
	for _, h := range hosts {
		as := byHost[h]
		sort.SliceStable(as, func(i, j int) bool { return as[i].Time.Before(as[j].Time) })
		var cur *Incident
		var last time.Time
		for _, a := range as {
			if cur == nil || a.Time.Sub(last) > gap {
				out = append(out, Incident{ID: h + "@" + a.Time.UTC().Format(time.RFC3339)})
				cur = &out[len(out)-1]
			}
			cur.Alerts = append(cur.Alerts, a)
			last = a.Time
		}
	}
	return out
}

// AdviseAlerts groups alerts into incidents (GroupAlerts) and advises on
// each, most urgent incident (highest top score) first; incidents without
// advice are left out.
func (a *Advisor) AdviseAlerts(ctx context.Context, alerts []mdr.Alert, gap time.Duration) ([]IncidentAdvice, error) {
	var out []IncidentAdvice
	for _, in := range GroupAlerts(alerts, gap) {
		adv, err := a.Advise(ctx, in)
		if err != nil {
			return nil, err
		}
		if len(adv) > 0 {
			out = append(out, IncidentAdvice{Incident: in, Advice: adv})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Advice[0].Score > out[j].Advice[0].Score })
	return out, nil
}
