package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/internal/scenario"
	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/schema"
	"github.com/mdrkit/mdr/store/badger"
)

// demo is one run of `mdr demo`, as steps that each fill in the next part:
// generate → write → read → detect → store → mapEvents → report. Later
// steps (triage) hang off the same value.
type demo struct {
	seed                int64
	out                 string // where the NDJSON goes ("" = a temporary file, removed)
	sigmaDir            string // Sigma rules to run besides the native ones ("" = none)
	sigmaDefaultMissing bool   // --sigma was not given and the default directory is missing
	storeDir            string // badger store directory ("" = a temporary one, removed)

	sc      *scenario.Scenario
	path    string
	events  []*mdr.Event
	skipped int64
	dialect map[schema.Dialect]int

	mapper    schema.Mapper
	graph     *investigate.Graph
	entities  map[string]*mdr.Entity
	relations []mdr.Relation
	mapErrs   []error

	det        detection
	correlator *detect.Correlator
	db         *badger.Store
	st         stored
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mdr demo [--seed N] [--out FILE] [--sigma DIR] [--store DIR]\n\nGenerates a small attack on a Windows network as events, reads them back,\nruns detection rules (the embedded native CEL rules and, when available, the\nSigmaHQ Windows rules) with correlation, stores events, alerts and relations\nin an embedded badger store, maps the events to entities and relations, and\nprints what it found.\n\nflags:")
		fs.PrintDefaults()
	}
	seed := fs.Int64("seed", 1, "seed of the generated scenario (same seed, same events)")
	out := fs.String("out", "", "write the generated events as NDJSON to `FILE` and keep it")
	sigmaDir := fs.String("sigma", defaultSigmaDir, "run the Sigma rules under `DIR` too (built-in Windows pipeline); '' to run the native rules only")
	storeDir := fs.String("store", "", "keep the badger store in `DIR` (default: a temporary directory, removed)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	d := &demo{seed: *seed, out: *out, sigmaDir: *sigmaDir, storeDir: *storeDir}
	sigmaSet := false
	fs.Visit(func(f *flag.Flag) { sigmaSet = sigmaSet || f.Name == "sigma" })
	if !sigmaSet {
		if st, err := os.Stat(d.sigmaDir); err != nil || !st.IsDir() {
			d.sigmaDir, d.sigmaDefaultMissing = "", true
		}
	}
	return d.run(ctx, stdout)
}

// run performs the steps and prints the report.
func (d *demo) run(ctx context.Context, stdout io.Writer) error {
	d.generate()
	if err := d.write(); err != nil {
		return err
	}
	if d.out == "" {
		defer os.Remove(d.path)
	}
	if err := d.read(ctx); err != nil {
		return err
	}
	if err := d.detect(ctx); err != nil {
		return err
	}
	if err := d.openStore(); err != nil {
		return err
	}
	err := d.storeAndMap(ctx)
	if cerr := d.closeStore(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	d.report(stdout)
	return nil
}

// storeAndMap writes the events and alerts to the store, maps the events
// to entities and relations and stores those, then reads the alerts back.
func (d *demo) storeAndMap(ctx context.Context) error {
	if err := d.storeEvents(ctx); err != nil {
		return err
	}
	d.mapEvents()
	if err := d.storeRelations(ctx); err != nil {
		return err
	}
	return d.readAlerts(ctx)
}

// generate builds the scenario.
func (d *demo) generate() {
	d.sc = scenario.Generate(scenario.Config{Seed: d.seed})
}

// write serialises the events as NDJSON.
func (d *demo) write() error {
	var f *os.File
	var err error
	if d.out != "" {
		f, err = os.Create(d.out)
	} else {
		f, err = os.CreateTemp("", "mdr-demo-*.ndjson")
	}
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	d.path = f.Name()
	if err := d.sc.WriteNDJSON(f); err != nil {
		f.Close()
		return fmt.Errorf("demo: writing %s: %w", d.path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("demo: writing %s: %w", d.path, err)
	}
	return nil
}

// read reads the file back through package reader.
func (d *demo) read(ctx context.Context) error {
	r, err := reader.Open(d.path, reader.Options{OnError: reader.Skip})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer r.Close()
	d.dialect = map[schema.Dialect]int{}
	for r.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		ev := r.Event()
		d.events = append(d.events, ev)
		d.dialect[schema.Detect(ev)]++
	}
	d.skipped = r.Skipped()
	if err := r.Err(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// mapEvents maps every event to entities and relations and joins them.
func (d *demo) mapEvents() {
	d.mapper = schema.Mapper{Processes: schema.NewProcessTable(1 << 14)}
	d.entities = map[string]*mdr.Entity{}
	cfg := investigate.DefaultConfig()
	cfg.MaxNodes, cfg.MaxEdges = 1<<16, 1<<18
	d.graph, _ = investigate.New(cfg) // a valid configuration
	// Map in event-time order so that pid lookups see creations first.
	evs := append([]*mdr.Event(nil), d.events...)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time().Before(evs[j].Time()) })
	var res schema.Result
	for _, ev := range evs {
		if err := d.mapper.Map(ev, &res); err != nil {
			d.mapErrs = append(d.mapErrs, err)
		}
		d.graph.AddResult(&res)
		for _, e := range res.Entities {
			x, ok := d.entities[e.ID]
			if !ok {
				e := e
				d.entities[e.ID] = &e
				continue
			}
			if x.Name == "" {
				x.Name = e.Name
			}
			for k, v := range e.Attrs {
				if x.Attrs == nil {
					x.Attrs = map[string]string{}
				}
				if _, ok := x.Attrs[k]; !ok {
					x.Attrs[k] = v
				}
			}
		}
		d.relations = append(d.relations, res.Relations...)
	}
	sort.SliceStable(d.relations, func(i, j int) bool { return d.relations[i].Time.Before(d.relations[j].Time) })
}

// report prints what the demo found.
func (d *demo) report(w io.Writer) {
	p := &printer{w: w, d: d}
	p.index()
	where := "a temporary file"
	if d.out != "" {
		where = d.path
	}
	hosts := p.ofKind(mdr.EntityHost)
	fmt.Fprintf(w, "mdr demo (seed %d): generated %d events (%d attack, %d benign) on %d hosts, written to %s\n",
		d.seed, len(d.sc.Events), d.sc.Facts.AttackEvents, d.sc.Facts.NoiseEvents, len(hosts), where)
	var ds []string
	for _, dl := range schema.Dialects {
		if n := d.dialect[dl]; n > 0 {
			ds = append(ds, fmt.Sprintf("%s %d", dl, n))
		}
	}
	fmt.Fprintf(w, "read back: %d events, %d malformed (%s)\n", len(d.events), d.skipped, strings.Join(ds, ", "))
	fmt.Fprintf(w, "mapped: %d entities, %d relations, %d mapping errors\n", len(d.entities), len(d.relations), len(d.mapErrs))
	for _, err := range d.mapErrs {
		fmt.Fprintf(w, "  error: %v\n", err)
	}
	kinds := map[mdr.EntityKind]int{}
	for _, e := range d.entities {
		kinds[e.Kind]++
	}
	var ks []mdr.EntityKind
	for k := range kinds {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%d %s", kinds[k], strings.ReplaceAll(k.String(), "_", " ")))
	}
	fmt.Fprintf(w, "entities: %s\n", strings.Join(parts, ", "))
	p.detectSummary()
	p.detections()
	p.hosts()
	p.users()
	p.trees()
	p.activity()
	p.timeline()
}

type printer struct {
	w          io.Writer
	d          *demo
	facts      []mdr.Relation    // relations with the same fact reported twice (Sysmon and Security) folded
	sidName    map[string]string // "sid:S-1-..." → the user's name when an event gave both
	hostOf     map[string]string // process id → host id
	userOf     map[string]string // process id → user id
	eventIndex map[string]int    // event id → position in the file
}

// foldWindow is how close in time two reports of one fact must be to be
// printed once (Sysmon 1 and Security 4688 of one process creation, Sysmon 3
// and WFP 5156 of one connection).
const foldWindow = 5 * time.Second

func (p *printer) index() {
	p.eventIndex = make(map[string]int, len(p.d.events))
	for i, ev := range p.d.events {
		p.eventIndex[ev.ID()] = i
	}
	p.sidName = map[string]string{}
	sidUser := map[string]string{} // "sid:S-1-..." → the user's id
	for _, e := range p.d.entities {
		if e.Kind == mdr.EntityUser && e.Attrs["sid"] != "" {
			p.sidName[schema.SIDID(e.Attrs["sid"])] = e.Name
			sidUser[schema.SIDID(e.Attrs["sid"])] = e.ID
		}
	}
	lastSeen := map[string]int{}
	for _, r := range p.d.relations {
		if u, ok := sidUser[r.From]; ok {
			r.From = u
		}
		if u, ok := sidUser[r.To]; ok {
			r.To = u
		}
		k := r.Kind.String() + "\x00" + r.From + "\x00" + r.To
		if i, ok := lastSeen[k]; ok && r.Time.Sub(p.facts[i].Time) <= foldWindow {
			for ak, av := range r.Attrs {
				if _, ok := p.facts[i].Attrs[ak]; !ok {
					if p.facts[i].Attrs == nil {
						p.facts[i].Attrs = map[string]string{}
					}
					p.facts[i].Attrs[ak] = av
				}
			}
			continue
		}
		r.Attrs = maps.Clone(r.Attrs)
		lastSeen[k] = len(p.facts)
		p.facts = append(p.facts, r)
	}
	p.hostOf, p.userOf = map[string]string{}, map[string]string{}
	for _, r := range p.d.relations {
		switch r.Kind {
		case mdr.RelRanOn:
			p.hostOf[r.From] = r.To
		case mdr.RelRanAs:
			p.userOf[r.From] = r.To
		}
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func (p *printer) ofKind(k mdr.EntityKind) []*mdr.Entity {
	var out []*mdr.Entity
	for _, e := range p.d.entities {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (p *printer) name(id string) string {
	e, ok := p.d.entities[id]
	if !ok {
		return id
	}
	if n, ok := p.sidName[id]; ok {
		return n
	}
	switch e.Kind {
	case mdr.EntityProcess:
		img := e.Name
		if img == "" {
			img = "?"
		}
		n := baseName(img)
		if pid := e.Attrs["pid"]; pid != "" {
			n += " (" + pid + ")"
		}
		return n
	case mdr.EntityHost:
		return shortHost(e.Name)
	}
	if e.Name != "" {
		return e.Name
	}
	return id
}

func baseName(path string) string {
	if i := strings.LastIndexAny(path, `\/`); i >= 0 {
		return path[i+1:]
	}
	return path
}

func shortHost(name string) string {
	if i := strings.IndexByte(name, '.'); i > 0 {
		return name[:i]
	}
	return name
}

func (p *printer) section(title string) {
	fmt.Fprintf(p.w, "\n%s\n%s\n", title, strings.Repeat("-", len(title)))
}

func (p *printer) hosts() {
	p.section("Hosts")
	for _, h := range p.ofKind(mdr.EntityHost) {
		procs, users := 0, map[string]bool{}
		for pid, hid := range p.hostOf {
			if hid == h.ID {
				procs++
				if u := p.userOf[pid]; u != "" {
					users[p.name(u)] = true
				}
			}
		}
		var ips []string
		for _, r := range p.facts {
			if r.Kind == mdr.RelConnected && p.hostOf[r.From] == h.ID && r.Attrs["local_ip"] != "" && !contains(ips, r.Attrs["local_ip"]) {
				ips = append(ips, r.Attrs["local_ip"])
			}
		}
		line := fmt.Sprintf("  %-26s %3d processes", h.Name, procs)
		if len(ips) > 0 {
			line += ", address " + strings.Join(ips, ", ")
		}
		fmt.Fprintln(p.w, line)
		if len(users) > 0 {
			fmt.Fprintf(p.w, "  %-26s users: %s\n", "", strings.Join(sortedKeys(users), ", "))
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (p *printer) users() {
	p.section("Users and logons")
	for _, u := range append(p.ofKind(mdr.EntityUser), p.ofKind(mdr.EntityAccount)...) {
		var lines []string
		seen := map[string]bool{}
		for _, r := range p.facts {
			var s string
			switch {
			case r.From == u.ID && (r.Kind == mdr.RelLoggedOn || r.Kind == mdr.RelLogonFailed):
				s = fmt.Sprintf("%s %s (logon type %s", logonVerb(r.Kind), p.name(r.To), r.Attrs["logon_type"])
				if ip := r.Attrs["source_ip"]; ip != "" && ip != "127.0.0.1" {
					s += " from " + ip
					if ws := r.Attrs["workstation"]; ws != "" {
						s += " " + ws
					}
				}
				s += ")"
			case r.To == u.ID && r.Kind == mdr.RelUsedCredentials:
				s = fmt.Sprintf("credentials used by %s on %s for %s", p.name(r.From), p.name(p.hostOf[r.From]), r.Attrs["target_server"])
			case r.From == u.ID && r.Kind == mdr.RelGrantedPrivileges:
				s = "special privileges on " + p.name(r.To)
			case r.From == u.ID && r.Kind == mdr.RelAccessedShare:
				s = "accessed share " + p.name(r.To)
				if t := r.Attrs["relative_target"]; t != "" {
					s += `\` + t
				}
				if ip := r.Attrs["source_ip"]; ip != "" {
					s += " from " + ip
				}
			}
			if s != "" && !seen[s] {
				seen[s] = true
				lines = append(lines, s)
			}
		}
		n := 0
		for _, uid := range p.userOf {
			if uid == u.ID {
				n++
			}
		}
		if len(lines) == 0 && n == 0 {
			continue
		}
		fmt.Fprintf(p.w, "  %s: %d processes\n", u.Name, n)
		for _, l := range lines {
			fmt.Fprintf(p.w, "      %s\n", l)
		}
	}
}

// clip folds runs of white space and shortens s to at most n bytes (on a
// character boundary), marking a cut with an ellipsis.
func clip(s string, n int) string { return investigate.Clip(s, n) }

// activity prints file, registry, network, process access, script and
// persistence facts, one line each, duplicates folded.
func (p *printer) activity() {
	type group struct {
		title string
		kinds []mdr.RelationKind
	}
	groups := []group{
		{"Network", []mdr.RelationKind{mdr.RelResolved, mdr.RelConnected}},
		{"Files", []mdr.RelationKind{mdr.RelWroteFile, mdr.RelDeletedFile, mdr.RelRenamedFile}},
		{"Registry", []mdr.RelationKind{mdr.RelSetRegistry, mdr.RelDeletedRegistry, mdr.RelRenamedRegistry}},
		{"Process access", []mdr.RelationKind{mdr.RelOpenedProcess, mdr.RelCreatedRemoteThread}},
		{"Scripts", []mdr.RelationKind{mdr.RelExecutedScript}},
		{"Persistence", []mdr.RelationKind{mdr.RelInstalledService, mdr.RelCreatedTask}},
	}
	for _, g := range groups {
		var lines []string
		count := map[string]int{}
		for _, r := range p.facts {
			if !containsKind(g.kinds, r.Kind) {
				continue
			}
			s := p.describe(r)
			if count[s] == 0 {
				lines = append(lines, s)
			}
			count[s]++
		}
		if g.title == "Persistence" {
			for _, r := range p.facts {
				if r.Kind == mdr.RelSetRegistry && isRunKey(r.To) {
					s := "Run key: " + p.describe(r)
					if count[s] == 0 {
						lines = append(lines, s)
					}
					count[s]++
				}
			}
		}
		if len(lines) == 0 {
			continue
		}
		p.section(g.title)
		for _, l := range lines {
			if c := count[l]; c > 1 {
				l += fmt.Sprintf("  (×%d)", c)
			}
			fmt.Fprintf(p.w, "  %s\n", l)
		}
	}
}

func isRunKey(id string) bool {
	return strings.Contains(id, `\currentversion\run\`) || strings.Contains(id, `\currentversion\runonce\`)
}

func containsKind(ks []mdr.RelationKind, k mdr.RelationKind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// describe renders one relation as a sentence, through the provenance
// graph's words.
func (p *printer) describe(r mdr.Relation) string {
	return p.d.graph.Describe(investigate.Edge{Kind: r.Kind, From: r.From, To: r.To, First: r.Time, Last: r.Time,
		Count: 1, EventID: r.EventID, Attrs: r.Attrs})
}

func logonVerb(k mdr.RelationKind) string {
	switch k {
	case mdr.RelLogonFailed:
		return "failed to log on to"
	case mdr.RelLoggedOff:
		return "logged off from"
	}
	return "logged on to"
}
