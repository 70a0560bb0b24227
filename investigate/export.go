package investigate

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mdrkit/mdr"
)

// Report is one incident's scope in the flat form `mdr investigate
// --format json` prints, one object per line. Names are as Windows wrote
// them; a registry key is the full path with the value name.
type Report struct {
	IncidentID string           `json:"incident_id"`
	RootCause  ReportRef        `json:"root_cause"`
	Hosts      []string         `json:"hosts"`
	Users      []string         `json:"users"`
	Processes  []ReportProcess  `json:"processes"`
	Files      []ReportFile     `json:"files"`
	Registry   []ReportRegistry `json:"registry"`
	Services   []ReportService  `json:"services"`
	Tasks      []ReportTask     `json:"tasks"`
	Accounts   []ReportAccount  `json:"accounts"`
	Network    []ReportNetwork  `json:"network"`
	First      time.Time        `json:"first"`
	Last       time.Time        `json:"last"`
	EventIDs   []string         `json:"event_ids"`
	Timeline   []TimelineEntry  `json:"timeline"`
}

// ReportRef names the root cause.
type ReportRef struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ReportProcess is one process of a Report.
type ReportProcess struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	PID         int64  `json:"pid"`
	Host        string `json:"host"`
	CommandLine string `json:"command_line"`
}

// ReportFile is one file of a Report.
type ReportFile struct {
	Path   string `json:"path"`
	Host   string `json:"host"`
	Action string `json:"action"`
}

// ReportRegistry is one registry value of a Report.
type ReportRegistry struct {
	Key    string `json:"key"`
	Data   string `json:"data"`
	Host   string `json:"host"`
	Action string `json:"action"`
}

// ReportService is one service of a Report.
type ReportService struct {
	Name  string `json:"name"`
	Host  string `json:"host"`
	Image string `json:"image"`
}

// ReportTask is one scheduled task of a Report.
type ReportTask struct {
	Name    string `json:"name"`
	Host    string `json:"host"`
	Command string `json:"command"`
}

// ReportAccount is one account change of a Report.
type ReportAccount struct {
	Name   string `json:"name"`
	Host   string `json:"host"`
	Action string `json:"action"`
}

// ReportNetwork is one endpoint or domain of a Report.
type ReportNetwork struct {
	Address string `json:"address"`
	Port    string `json:"port"`
	Domain  string `json:"domain"`
}

// systemImage reports whether a path lies in the operating system's or
// installed programs' folders, whose binaries remediation never deletes.
func systemImage(path string) bool {
	p := strings.ToLower(path)
	if i := strings.Index(p, `:\`); i == 1 {
		p = p[2:]
	}
	return strings.HasPrefix(p, `\windows\system32\`) || strings.HasPrefix(p, `\windows\syswow64\`) ||
		strings.HasPrefix(p, `\windows\winsxs\`) || strings.HasPrefix(p, `\program files`) ||
		(strings.HasPrefix(p, `\windows\`) && strings.Count(p, `\`) == 2 && !strings.Contains(p, `\temp\`) && knownWindowsRoot(p)) ||
		strings.HasPrefix(p, `\windows\microsoft.net\`)
}

func knownWindowsRoot(p string) bool {
	switch baseName(p) {
	case "explorer.exe", "regedit.exe", "notepad.exe", "hh.exe", "write.exe", "splwow64.exe", "bfsvc.exe", "helppane.exe":
		return true
	}
	return false
}

// Report flattens a scope into the form `mdr investigate --format json`
// prints. Files read (not written, run or deleted) and accounts merely used
// stay in the Scope but not in the Report. The image of an attack process
// is listed as an executed file unless it lies in the system's or installed
// programs' folders.
func (g *Graph) Report(incidentID string, s *Scope) Report {
	r := Report{IncidentID: incidentID, Hosts: nonNil(s.Hosts), Users: nonNil(s.Users), First: s.First, Last: s.Last,
		EventIDs: nonNil(s.EventIDs), Processes: []ReportProcess{}, Files: []ReportFile{}, Registry: []ReportRegistry{},
		Services: []ReportService{}, Tasks: []ReportTask{}, Accounts: []ReportAccount{}, Network: []ReportNetwork{}}
	if s.RootCause.ID != "" {
		r.RootCause = ReportRef{Kind: s.RootCause.Kind.String(), ID: s.RootCause.ID, Name: s.RootCause.Name}
	}
	seenFile := map[string]bool{}
	fileAt, fileLast := map[string]int{}, map[string]time.Time{}
	svcAt, taskAt := map[string]int{}, map[string]int{}
	for _, it := range s.Items {
		switch it.Kind {
		case ItemProcess:
			if it.Action == ActExecuted {
				r.Processes = append(r.Processes, ReportProcess{ID: it.EntityID, Name: it.Name, PID: it.PID, Host: it.Host, CommandLine: it.CommandLine})
			}
		case ItemFile:
			if it.Action == ActRead {
				continue
			}
			// One line per file, with what the attack did last to it.
			key := strings.ToLower(it.Host + "|" + it.Name)
			if i, ok := fileAt[key]; ok {
				if it.Last.After(fileLast[key]) {
					r.Files[i].Action, fileLast[key] = it.Action.String(), it.Last
				}
				continue
			}
			seenFile[key] = true
			fileAt[key], fileLast[key] = len(r.Files), it.Last
			r.Files = append(r.Files, ReportFile{Path: it.Name, Host: it.Host, Action: it.Action.String()})
		case ItemRegistry:
			if it.Action == ActRead {
				continue
			}
			r.Registry = append(r.Registry, ReportRegistry{Key: it.Name, Data: it.Data, Host: it.Host, Action: it.Action.String()})
		case ItemService:
			key := strings.ToLower(it.Host + "|" + it.Name)
			if i, ok := svcAt[key]; ok {
				if r.Services[i].Image == "" {
					r.Services[i].Image = it.ImagePath
				}
				continue
			}
			svcAt[key] = len(r.Services)
			r.Services = append(r.Services, ReportService{Name: it.Name, Host: it.Host, Image: it.ImagePath})
		case ItemTask:
			key := strings.ToLower(it.Host + "|" + it.Name)
			if i, ok := taskAt[key]; ok {
				if r.Tasks[i].Command == "" {
					r.Tasks[i].Command = it.Command
				}
				continue
			}
			taskAt[key] = len(r.Tasks)
			r.Tasks = append(r.Tasks, ReportTask{Name: it.Name, Host: it.Host, Command: it.Command})
		case ItemAccount:
			r.Accounts = append(r.Accounts, ReportAccount{Name: it.Name, Host: it.Host, Action: it.Action.String()})
		case ItemGroupMembership:
			act := it.Action.String()
			if len(it.Groups) > 0 {
				act += " to group " + strings.Join(it.Groups, ", ")
				if it.Action == ActRemoved {
					act = "removed from group " + strings.Join(it.Groups, ", ")
				}
			}
			r.Accounts = append(r.Accounts, ReportAccount{Name: it.Name, Host: it.Host, Action: act})
		case ItemEndpoint:
			r.Network = append(r.Network, ReportNetwork{Address: it.Address, Port: it.Port, Domain: it.Domain})
		case ItemDomain:
			r.Network = append(r.Network, ReportNetwork{Domain: it.Name})
		}
	}
	for _, p := range r.Processes {
		if p.Name == "" || systemImage(p.Name) || seenFile[strings.ToLower(p.Host+"|"+p.Name)] {
			continue
		}
		if e, ok := s.Entities[p.ID]; ok && e.Kind == mdr.EntityProcess {
			seenFile[strings.ToLower(p.Host+"|"+p.Name)] = true
			r.Files = append(r.Files, ReportFile{Path: p.Name, Host: p.Host, Action: ActExecuted.String()})
		}
	}
	r.Timeline = g.Timeline(s)
	if r.Timeline == nil {
		r.Timeline = []TimelineEntry{}
	}
	return r
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// kindColor is the fill colour of each entity kind in the pictures.
var kindColor = map[mdr.EntityKind]string{
	mdr.EntityProcess: "#cfe2ff", mdr.EntityFile: "#fff3cd", mdr.EntityRegistryKey: "#e2d9f3", mdr.EntityNetworkEndpoint: "#d1e7dd",
	mdr.EntityDomain: "#d1e7dd", mdr.EntityHost: "#e9ecef", mdr.EntityUser: "#f8d7da", mdr.EntityAccount: "#f8d7da",
	mdr.EntityService: "#ffe5d0", mdr.EntityScheduledTask: "#ffe5d0", mdr.EntityScript: "#d2f4ea", mdr.EntityShare: "#fff3cd",
	mdr.EntityPipe: "#e9ecef",
}

// picture is the node and edge list both exports draw.
type picture struct {
	ids    []string
	labels map[string]string
	kinds  map[string]mdr.EntityKind
	alert  map[string]bool
	edges  []Edge
}

func (g *Graph) pictureOf(s *Scope) picture {
	p := picture{labels: map[string]string{}, kinds: map[string]mdr.EntityKind{}, alert: map[string]bool{}}
	g.mu.RLock()
	defer g.mu.RUnlock()
	add := func(id string) {
		if _, ok := p.labels[id]; ok {
			return
		}
		p.ids = append(p.ids, id)
		n, ok := g.ids[id]
		if !ok {
			p.labels[id] = id
			return
		}
		l := g.label(n)
		if g.nodes.at(n).kind != mdr.EntityProcess {
			l = Clip(l, 60)
		}
		p.labels[id] = l
		p.kinds[id] = g.nodes.at(n).kind
	}
	for _, e := range s.Edges {
		switch e.Kind {
		case mdr.RelRanOn, mdr.RelRanAs:
			continue
		}
		add(e.From)
		add(e.To)
		p.edges = append(p.edges, e)
	}
	for _, it := range s.Items {
		if it.Role == RoleAlert {
			p.alert[it.EntityID] = true
		}
	}
	return p
}

// WriteDOT writes the scope as a Graphviz DOT digraph: entities labelled as
// an analyst names them (image and pid, path, key path) and filled by kind,
// alert entities outlined in red, the root cause drawn with a double
// border, edges labelled with the relation and its first time.
func (g *Graph) WriteDOT(w io.Writer, s *Scope) error {
	return g.WriteDOTMany(w, []string{""}, []*Scope{s})
}

// WriteDOTMany writes several scopes as one DOT digraph, each in a cluster
// titled by the matching entry of titles (an incident id).
func (g *Graph) WriteDOTMany(w io.Writer, titles []string, scopes []*Scope) error {
	var b strings.Builder
	b.WriteString("digraph scope {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=8];\n")
	for si, s := range scopes {
		p := g.pictureOf(s)
		ind := "  "
		if len(scopes) > 1 {
			fmt.Fprintf(&b, "  subgraph cluster_%d {\n    label=%s;\n", si, dotQuote(titleAt(titles, si)))
			ind = "    "
		}
		idx := map[string]int{}
		for i, id := range p.ids {
			idx[id] = i
			color := kindColor[p.kinds[id]]
			if color == "" {
				color = "#ffffff"
			}
			extra := ""
			if p.alert[id] {
				extra = ", color=\"#dc3545\", penwidth=2.5"
			}
			if id == s.RootCause.ID {
				extra += ", peripheries=2"
			}
			fmt.Fprintf(&b, "%sn%d_%d [label=%s, fillcolor=\"%s\"%s];\n", ind, si, i, dotQuote(p.kinds[id].String()+"\n"+p.labels[id]), color, extra)
		}
		for _, e := range p.edges {
			label := e.Kind.String() + "\n" + e.First.UTC().Format("15:04:05")
			if e.Count > 1 {
				label += fmt.Sprintf(" ×%d", e.Count)
			}
			fmt.Fprintf(&b, "%sn%d_%d -> n%d_%d [label=%s];\n", ind, si, idx[e.From], si, idx[e.To], dotQuote(label))
		}
		if len(scopes) > 1 {
			b.WriteString("  }\n")
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func titleAt(titles []string, i int) string {
	if i < len(titles) {
		return titles[i]
	}
	return ""
}

func dotQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// WriteMermaid writes the scope as a Mermaid flowchart with the same
// labels, colours and marks as WriteDOT.
func (g *Graph) WriteMermaid(w io.Writer, s *Scope) error {
	return g.WriteMermaidMany(w, []string{""}, []*Scope{s})
}

// WriteMermaidMany writes several scopes as one Mermaid flowchart, each in
// a subgraph titled by the matching entry of titles.
func (g *Graph) WriteMermaidMany(w io.Writer, titles []string, scopes []*Scope) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	members := map[mdr.EntityKind][]string{}
	var alerts []string
	for si, s := range scopes {
		p := g.pictureOf(s)
		ind := "  "
		if len(scopes) > 1 {
			fmt.Fprintf(&b, "  subgraph s%d[\"%s\"]\n", si, mermaidEscape(titleAt(titles, si)))
			ind = "    "
		}
		idx := map[string]int{}
		for i, id := range p.ids {
			idx[id] = i
			name := fmt.Sprintf("n%d_%d", si, i)
			fmt.Fprintf(&b, "%s%s[\"%s<br/>%s\"]\n", ind, name, p.kinds[id], mermaidEscape(p.labels[id]))
			members[p.kinds[id]] = append(members[p.kinds[id]], name)
			if p.alert[id] {
				alerts = append(alerts, name)
			}
		}
		for _, e := range p.edges {
			fmt.Fprintf(&b, "%sn%d_%d -->|%s| n%d_%d\n", ind, si, idx[e.From], e.Kind, si, idx[e.To])
		}
		if len(scopes) > 1 {
			b.WriteString("  end\n")
		}
	}
	kinds := make([]mdr.EntityKind, 0, len(members))
	for k := range members {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		color := kindColor[k]
		if color == "" {
			color = "#ffffff"
		}
		fmt.Fprintf(&b, "  classDef %s fill:%s,stroke:#555\n", k, color)
		fmt.Fprintf(&b, "  class %s %s\n", strings.Join(members[k], ","), k)
	}
	if len(alerts) > 0 {
		b.WriteString("  classDef alert stroke:#dc3545,stroke-width:3px\n")
		fmt.Fprintf(&b, "  class %s alert\n", strings.Join(alerts, ","))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteText writes the scope for a reader: root cause, hosts, users, the
// items by kind with their actions, and the timeline.
func (g *Graph) WriteText(w io.Writer, title string, s *Scope) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\n", title, strings.Repeat("=", utf8.RuneCountInString(title)))
	if s.RootCause.ID != "" {
		fmt.Fprintf(&b, "root cause: %s %s\n", s.RootCause.Kind, s.RootCause.Name)
	}
	if !s.First.IsZero() {
		fmt.Fprintf(&b, "time:       %s – %s\n", s.First.UTC().Format(time.RFC3339Nano), s.Last.UTC().Format(time.RFC3339Nano))
	}
	fmt.Fprintf(&b, "hosts:      %s\nusers:      %s\nalerts:     %d\n", strings.Join(s.Hosts, ", "), strings.Join(s.Users, ", "), len(s.Alerts))
	var last ItemKind
	for _, it := range s.Items {
		if it.Kind != last {
			fmt.Fprintf(&b, "%s:\n", it.Kind)
			last = it.Kind
		}
		line := fmt.Sprintf("  %-9s %-6s %s", it.Action, it.Role, it.Name)
		switch {
		case it.Kind == ItemProcess && it.CommandLine != "":
			line += "  " + Clip(it.CommandLine, 120)
		case it.Data != "":
			line += " = " + Clip(it.Data, 120)
			if it.PriorSeen {
				line += " (was " + Clip(it.Prior, 60) + ")"
			}
		case it.ImagePath != "":
			line += ": " + it.ImagePath
		case it.Command != "":
			line += ": " + it.Command
		case len(it.Groups) > 0:
			line += " → " + strings.Join(it.Groups, ", ")
		}
		if it.Host != "" && it.Kind != ItemHost {
			line += "  [" + shortHost(it.Host) + "]"
		}
		b.WriteString(Clip(line, 240) + "\n")
	}
	if tl := g.Timeline(s); len(tl) > 0 {
		b.WriteString("timeline (UTC):\n")
		for _, t := range tl {
			fmt.Fprintf(&b, "  %s  %s\n", t.Time.UTC().Format("2006-01-02 15:04:05.000"), Clip(t.Text, 200))
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidEscape makes a label safe inside a quoted Mermaid node label.
func mermaidEscape(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "\n", " ")
	return r.Replace(s)
}
