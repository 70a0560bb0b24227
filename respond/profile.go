package respond

import (
	"slices"
	"strings"
)

// Pairs maps each supported action to the targets it applies to (the
// "pairs" feature, LS §3.4.2.1). Target names are as in JSON, with
// profile targets written "er:account" or "er/account" (both are
// accepted when matching).
type Pairs map[Action][]string

// Has reports whether the pair action × target is listed.
func (ps Pairs) Has(a Action, target string) bool {
	target = normTargetName(target)
	for _, t := range ps[a] {
		if normTargetName(t) == target {
			return true
		}
	}
	return false
}

// Clone returns a deep copy.
func (ps Pairs) Clone() Pairs {
	if ps == nil {
		return nil
	}
	out := make(Pairs, len(ps))
	for a, ts := range ps {
		out[a] = slices.Clone(ts)
	}
	return out
}

// normTargetName writes profile targets with a colon ("er/account" ->
// "er:account").
func normTargetName(t string) string {
	if i := strings.IndexByte(t, '/'); i > 0 {
		return t[:i] + ":" + t[i+1:]
	}
	return t
}

// ERPairs returns the command matrix of the OpenC2 Endpoint Response
// profile (er v1.0 CSD01 Table 2.3-1, with scan device from §2.3.X).
func ERPairs() Pairs {
	return Pairs{
		ActionScan:    {TargetDevice},
		ActionQuery:   {TargetFeatures},
		ActionDeny:    {TargetDomainName, TargetFile, TargetIPv4Net, TargetIPv6Net},
		ActionContain: {TargetDevice, TargetFile},
		ActionAllow:   {TargetDomainName, TargetDevice, TargetFile, TargetIPv4Net, TargetIPv6Net},
		ActionStart:   {TargetFile},
		ActionStop:    {TargetDevice, TargetProcess, TargetService},
		ActionRestart: {TargetDevice, TargetProcess},
		ActionSet:     {TargetIPv4Net, TargetIPv6Net, TargetRegistryEntry, TargetAccount},
		ActionUpdate:  {TargetFile},
		ActionCreate:  {TargetRegistryEntry},
		ActionDelete:  {TargetFile, TargetRegistryEntry, TargetService},
	}
}

// MDRPairs returns the pairs of mdrkit's "mdr" extension: the er matrix
// plus the scheduled-task target, the compensating actions the er matrix
// lacks (start and create er:service, which undo stop and delete), and
// query of each endpoint target (its current state, read-only).
// Commands whose actuator is "mdr" are checked against it; mdr:* targets
// are checked against it whatever the actuator.
func MDRPairs() Pairs {
	ps := ERPairs()
	ps[ActionQuery] = append(ps[ActionQuery], TargetDevice, TargetFile, TargetProcess, TargetAccount,
		TargetRegistryEntry, TargetService, TargetScheduledTask)
	ps[ActionStart] = append(ps[ActionStart], TargetService, TargetScheduledTask)
	ps[ActionStop] = append(ps[ActionStop], TargetScheduledTask)
	ps[ActionCreate] = append(ps[ActionCreate], TargetService, TargetScheduledTask)
	ps[ActionDelete] = append(ps[ActionDelete], TargetScheduledTask)
	return ps
}

var (
	erPairs  = ERPairs()
	mdrPairs = MDRPairs()
)

// needsDownstream lists the er commands whose producer must populate the
// er:downstream_device argument (er §2.3: contain file, start file, stop
// process, stop er:service, set ipv4_net/ipv6_net/er:registry_entry/
// er:account, create er:registry_entry, delete file/er:registry_entry/
// er:service).
// The mdr extension's commands on services and scheduled tasks need it
// too, for the same reason.
var needsDownstream = map[Action][]string{
	ActionContain: {TargetFile},
	ActionStart:   {TargetFile, TargetService, TargetScheduledTask},
	ActionStop:    {TargetProcess, TargetService, TargetScheduledTask},
	ActionSet:     {TargetIPv4Net, TargetIPv6Net, TargetRegistryEntry, TargetAccount},
	ActionCreate:  {TargetRegistryEntry, TargetService, TargetScheduledTask},
	ActionDelete:  {TargetFile, TargetRegistryEntry, TargetService, TargetScheduledTask},
}

// UsesER reports whether the command uses the Endpoint Response profile:
// an "er" actuator, an er target or er arguments.
func (c *Command) UsesER() bool {
	if c.Actuator != nil && c.Actuator.Profile == "er" {
		return true
	}
	if c.Target.Account != nil || c.Target.RegistryEntry != nil || c.Target.Service != nil {
		return true
	}
	return c.Args != nil && c.Args.ER != nil
}

// ValidateFor validates c as an actuator with features f receives it
// (the consumer's view): the language rules, the er profile's rules when
// f declares the "er" or "mdr" profile — whether or not the command names
// an er actuator — and the pairs f declares. Actuator implementations call
// it first and answer 400 (or 501 for an undeclared pair) when it fails.
func (c *Command) ValidateFor(f Features) error {
	var p problems
	c.validateAs(&p, slices.Contains(f.Profiles, "er") || slices.Contains(f.Profiles, "mdr"), slices.Contains(f.Profiles, "mdr"))
	if len(f.Pairs) > 0 && len(p.list) == 0 {
		if name := c.Target.Name(); name != "" && !f.Pairs.Has(c.Action, name) {
			p.add("action", "the actuator does not support %s %s (not among its declared pairs)", c.Action, name)
		}
	}
	return p.err("command")
}

// profileRules applies the er profile (and mdr extension) rules: always
// when forceER, otherwise when the command uses them.
func (c *Command) profileRules(p *problems, forceER, mdrExt bool) {
	name := c.Target.Name()
	if name == "" || !c.Action.Valid() {
		return
	}
	mdrActuator := c.Actuator != nil && c.Actuator.Profile == "mdr" || mdrExt
	isMDRTarget := strings.HasPrefix(name, "mdr:")
	if !forceER && !c.UsesER() && !mdrActuator && !isMDRTarget {
		return
	}
	switch {
	case mdrActuator || isMDRTarget:
		if !mdrPairs.Has(c.Action, name) {
			p.add("action", "%s %s is not a command of the er profile or the mdr extension", c.Action, name)
			return
		}
	default:
		if !erPairs.Has(c.Action, name) {
			p.add("action", "%s %s is not a command of the er profile (outside its action × target matrix)", c.Action, name)
			return
		}
	}
	var er *ERArgs
	if c.Args != nil {
		er = c.Args.ER
	}
	has := func(ok bool) bool { return er != nil && ok }
	erArg := func(n string) string { return "args.er." + n }

	// Arguments the er profile requires.
	if c.Action == ActionContain && name == TargetDevice && !has(er != nil && er.DeviceContainment != "") {
		p.add(erArg("device_containment"), "required for contain device (er §2.3.3.1: containment type argument not populated)")
	}
	if c.Action == ActionSet && name == TargetAccount && !has(er != nil && er.AccountStatus != "") {
		p.add(erArg("account_status"), "required for set er:account (er §2.3.8.4)")
	}
	if slices.Contains(needsDownstream[c.Action], name) && !has(er != nil && len(er.DownstreamDevice) > 0) {
		p.add(erArg("downstream_device"), "required for %s %s (er §2.3: the producer must name the endpoints)", c.Action, name)
	}
	// Arguments the er profile allows only with some commands (Table 2.3-2;
	// device_containment also with allow device, as the profile's Annex
	// E.1.3 does).
	if er != nil {
		if er.DeviceContainment != "" && !(name == TargetDevice && (c.Action == ActionContain || c.Action == ActionAllow)) {
			p.add(erArg("device_containment"), "applies only to contain device (and allow device)")
		}
		if er.PermittedAddresses != nil {
			if !(name == TargetDevice && c.Action == ActionContain) {
				p.add(erArg("permitted_addresses"), "applies only to contain device")
			} else if er.DeviceContainment != NetworkIsolation {
				p.add(erArg("permitted_addresses"), "applies only with device_containment network_isolation")
			}
		}
		if er.AccountStatus != "" && !(name == TargetAccount && c.Action == ActionSet) {
			p.add(erArg("account_status"), "applies only to set er:account")
		}
		if (er.ScanDepth != "" || er.PeriodicScan != "") && !(name == TargetDevice && c.Action == ActionScan) {
			p.add(erArg("scan_depth"), "scan_depth and periodic_scan apply only to scan device")
		}
		if len(er.DownstreamDevice) > 0 && name == TargetDevice {
			p.add(erArg("downstream_device"), "not used with a device target (the target names the endpoint)")
		}
	}
	// Value rules of particular commands.
	if c.Action == ActionSet && (name == TargetIPv4Net || name == TargetIPv6Net) {
		v, full := c.Target.IPv4Net, 32
		if name == TargetIPv6Net {
			v, full = c.Target.IPv6Net, 128
		}
		if pr, err := NetPrefix(v); err == nil && pr.Bits() != full {
			p.add("target."+name, "set %s takes a single address (prefix length %d or none)", name, full)
		}
	}
	if r := c.Target.RegistryEntry; r != nil && (c.Action == ActionCreate || c.Action == ActionDelete) && r.Key == "" && r.Path == "" {
		p.add("target.er.registry_entry.key", "required for %s er:registry_entry (the key, or a path including it)", c.Action)
	}
}
