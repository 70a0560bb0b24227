// Command schema shows how a host program uses mdrkit's schema package: it
// maps events of any supported dialect (Sysmon, Windows Security, ECS,
// OCSF, …) to canonical entities and relations, then prints the process
// tree of each host and the other relations of its processes (files
// written, connections made).
//
// Usage:
//
//	go run ./examples/schema [FILE]
//
// Without FILE it maps the sample events embedded in the program
// (events.ndjson): Sysmon process creations, a file write and a
// connection, and one Security 4688 whose process is joined to its Sysmon
// parent by host and pid.
package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/schema"
)

//go:embed events.ndjson
var sample []byte

func main() {
	in, name := io.Reader(bytes.NewReader(sample)), "events.ndjson"
	if len(os.Args) > 1 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		in, name = f, os.Args[1]
	}
	if err := run(context.Background(), os.Stdout, in, name); err != nil {
		fmt.Fprintln(os.Stderr, "schema:", err)
		os.Exit(1)
	}
}

// graph is what the mapping found: entities by id and the relations.
type graph struct {
	entities  map[string]mdr.Entity
	relations []mdr.Relation
	children  map[string][]string // process id → child process ids
	hasParent map[string]bool
	hostOf    map[string]string // process id → host id
}

func run(ctx context.Context, w io.Writer, in io.Reader, name string) error {
	r, err := reader.New(in, name, reader.Options{})
	if err != nil {
		return err
	}
	defer r.Close()
	// A ProcessTable remembers the processes seen starting, so that an event
	// naming a process only by pid (Security 4688's parent) gets the id of
	// its creation event. Map events in time order for the same reason.
	m := schema.Mapper{Processes: schema.NewProcessTable(1 << 12)}
	g := &graph{entities: map[string]mdr.Entity{}, children: map[string][]string{},
		hasParent: map[string]bool{}, hostOf: map[string]string{}}
	var res schema.Result
	n, unsupported := 0, 0
	for r.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		n++
		if err := m.Map(r.Event(), &res); err != nil {
			return err // an *EventError naming the event and field
		}
		if !res.Supported {
			unsupported++
			continue
		}
		for _, e := range res.Entities {
			if old, ok := g.entities[e.ID]; !ok || old.Name == "" {
				g.entities[e.ID] = e
			}
		}
		// res is reused by the next Map: the relation values are copied.
		g.relations = append(g.relations, res.Relations...)
	}
	if err := r.Err(); err != nil {
		return err
	}
	for _, rel := range g.relations {
		switch rel.Kind {
		case mdr.RelSpawned:
			if !contains(g.children[rel.From], rel.To) {
				g.children[rel.From] = append(g.children[rel.From], rel.To)
			}
			g.hasParent[rel.To] = true
		case mdr.RelRanOn:
			g.hostOf[rel.From] = rel.To
		}
	}
	fmt.Fprintf(w, "%d events (%d of kinds the mapper does not know): %d entities, %d relations\n", n, unsupported, len(g.entities), len(g.relations))
	var hosts []string
	for id, e := range g.entities {
		if e.Kind == mdr.EntityHost {
			hosts = append(hosts, id)
		}
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		fmt.Fprintf(w, "\n%s\n", g.entities[h].Name)
		var roots []string
		for pid, hid := range g.hostOf {
			if hid == h && !g.hasParent[pid] {
				roots = append(roots, pid)
			}
		}
		sort.Strings(roots)
		for i, root := range roots {
			g.tree(w, root, "", i == len(roots)-1)
		}
	}
	return nil
}

// tree prints a process, what it did, and its children.
func (g *graph) tree(w io.Writer, id, indent string, last bool) {
	branch, next := "├─ ", "│  "
	if last {
		branch, next = "└─ ", "   "
	}
	e := g.entities[id]
	line := e.Name
	if line == "" {
		line = id
	}
	if pid := e.Attrs["pid"]; pid != "" {
		line += " (" + pid + ")"
	}
	if cl := e.Attrs["command_line"]; cl != "" {
		line += "  " + cl
	}
	var facts []string
	for _, rel := range g.relations {
		if rel.From != id {
			continue
		}
		var what string
		switch rel.Kind {
		case mdr.RelRanAs:
			if u := "[" + g.entities[rel.To].Name + "]"; !strings.Contains(line, u) {
				line += "  " + u
			}
		case mdr.RelWroteFile:
			what = "wrote " + g.entities[rel.To].Name
		case mdr.RelConnected:
			what = "connected to " + g.entities[rel.To].Name
		}
		// Several events may state one fact (Sysmon and Security both
		// report a process start): print it once.
		if what != "" && !contains(facts, what) {
			facts = append(facts, what)
		}
	}
	fmt.Fprintf(w, "%s%s%s\n", indent, branch, line)
	for _, f := range facts {
		fmt.Fprintf(w, "%s%s· %s\n", indent, next, f)
	}
	kids := g.children[id]
	sort.Slice(kids, func(i, j int) bool { return g.entities[kids[i]].Name < g.entities[kids[j]].Name })
	for i, k := range kids {
		g.tree(w, k, indent+next, i == len(kids)-1)
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if strings.EqualFold(v, x) {
			return true
		}
	}
	return false
}
