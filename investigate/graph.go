package investigate

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/schema"
)

// Config bounds and tunes a Graph. Start from DefaultConfig.
type Config struct {
	// MaxNodes and MaxEdges bound the graph. When an insertion would pass
	// either, the graph evicts its oldest edges (by last time), a quarter
	// of them, and then the nodes left without any edge; Stats counts what
	// was dropped.
	MaxNodes int
	MaxEdges int
	// MaxTextBytes clips long text attributes (a script block's text) kept
	// on nodes.
	MaxTextBytes int
	// Hubs are the process image base names (case-insensitive) that
	// tracking never passes through (see DefaultHubs).
	Hubs []string
	// NoReduce keeps every relation as its own edge (for comparison and
	// tests); by default repeated relations are reduced (see Graph).
	NoReduce bool
	// ProcessTable is the capacity of the table that joins processes named
	// by pid alone to their creation (see schema.ProcessTable).
	ProcessTable int
}

// DefaultConfig returns a configuration for a graph of up to 16 M edges
// and 8 M nodes, joining processes by pid over the last 65,536 process
// starts.
func DefaultConfig() Config {
	return Config{MaxNodes: 8 << 20, MaxEdges: 16 << 20, MaxTextBytes: 160, Hubs: DefaultHubs, ProcessTable: 1 << 16}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case c.MaxNodes < 16 || c.MaxNodes > math.MaxUint32/2:
		return fmt.Errorf("%w: MaxNodes %d outside [16, %d]", ErrConfig, c.MaxNodes, math.MaxUint32/2)
	case c.MaxEdges < 16 || c.MaxEdges > math.MaxUint32/2:
		return fmt.Errorf("%w: MaxEdges %d outside [16, %d]", ErrConfig, c.MaxEdges, math.MaxUint32/2)
	case c.MaxTextBytes < 0:
		return fmt.Errorf("%w: MaxTextBytes %d is negative", ErrConfig, c.MaxTextBytes)
	case c.ProcessTable < 0:
		return fmt.Errorf("%w: ProcessTable %d is negative", ErrConfig, c.ProcessTable)
	}
	return nil
}

// Graph is the provenance graph: the entities and relations that package
// schema derives from events, keyed by mdr.Entity.ID, each relation with its
// event time and event id.
//
// Inside, entities are dense uint32 ids (an intern table from the string
// id) and edges are fixed-size records threaded into per-node linked lists
// of outgoing and incoming edges; attributes live in one byte arena.
//
// Reduction (after Hossain et al. 2018): a relation of the same kind
// between the same two entities as an existing edge extends that edge
// (first time, last time, count) instead of adding one, unless information
// flowed into the relation's source, or out of its target, since the edge
// was last extended: then a query could tell the two apart, and a new edge
// is made. Context relations (ran_on, ran_as, terminated ...) that no query
// traverses are always reduced. Registry values set to different data stay
// separate edges. The rule assumes that each host's events arrive in time
// order (as the schema's process table does too); it never changes what
// Backward or Forward answer.
//
// A Graph is safe for concurrent use by any number of readers (queries,
// exports) and one writer (Add, AddResult) at a time: the writer holds the
// write lock per event, a query holds the read lock while it runs.
type Graph struct {
	mu   sync.RWMutex
	cfg  Config
	hubs map[string]bool

	mapper schema.Mapper
	res    schema.Result // the writer's scratch Result

	ids   map[string]uint32
	nodes chunked[nodeRec] // index 0 unused
	edges chunked[edgeRec] // index 0 unused
	blobs []byte           // attribute and event id arena; offset 0 = none
	bidx  map[string]uint32
	sids  map[string]uint32 // SID (upper case) → the user node that has it
	// writtenAt is, for each file some process wrote or renamed into, the
	// earliest such time.
	writtenAt map[uint32]int64
	// proxies are the edges by which a host's own machinery did an
	// attacker's bidding (a service installed, a task or account created,
	// a service's or task's registry written by a hub), with the host of
	// their event: Scope links them to the process whose command line names
	// them.
	proxies []proxyRec

	lastEv    string
	lastEvOff uint32
	// prefixes and prefixIdx compact event ids "<prefix><number>".
	prefixes  []string
	prefixIdx map[string]uint32
	seq       uint32

	stats Stats
}

// nodeRec is one entity.
type nodeRec struct {
	id, name        string
	attrs           uint32 // blob offset of the kept attributes
	headOut, headIn uint32 // newest edge out of / into the node
	host, user      uint32 // for processes: ran_on, ran_as (node index)
	inSeq, outSeq   uint32 // reduction: last flow into / out of the node
	kind            mdr.EntityKind
	hub             bool
	attrMask        uint32 // bit i set: kept node attribute i is stored
	// nameMask, when not 0, is the blob offset of the name written as the
	// upper-case positions over the id's lower-cased tail (see nm).
	nameMask uint32
	first    int64 // earliest time of any of its edges (µs), MaxInt64 before one
}

// edgeRec is one (possibly reduced) relation, 44 bytes. Times are
// microseconds since the Unix epoch; last = first + lastD.
type edgeRec struct {
	from, to        uint32
	nextOut, nextIn uint32
	firstLo         uint32 // first time, split so the record packs into 44 bytes
	firstHi         uint32
	lastD           uint32
	countKind       uint32 // count << 8 | kind
	ev              uint32 // blob offset of the first event id
	attrs           uint32
	seq             uint32
}

func (e *edgeRec) kind() mdr.RelationKind { return mdr.RelationKind(e.countKind & 0xff) }
func (e *edgeRec) count() uint32          { return e.countKind >> 8 }
func (e *edgeRec) last() int64            { return e.first() + int64(e.lastD) }
func (e *edgeRec) first() int64           { return int64(uint64(e.firstHi)<<32 | uint64(e.firstLo)) }
func (e *edgeRec) setFirst(t int64)       { e.firstLo, e.firstHi = uint32(t), uint32(uint64(t)>>32) }

// Stats counts what a Graph holds and what it dropped.
type Stats struct {
	Events     int64 // events added
	Relations  int64 // relations added (before reduction)
	Nodes      int   // entities held
	Edges      int   // edges held (after reduction)
	Reduced    int64 // relations folded into an existing edge
	MapErrors  int64 // events the mapper could only partly map
	Evictions  int64 // eviction rounds
	NodesDrop  int64 // nodes evicted
	EdgesDrop  int64 // edges evicted
	ArenaBytes int   // bytes of the attribute and event id arena
}

// New returns an empty graph.
func New(cfg Config) (*Graph, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Graph{cfg: cfg}
	g.hubs = make(map[string]bool, len(cfg.Hubs))
	for _, h := range cfg.Hubs {
		g.hubs[strings.ToLower(h)] = true
	}
	if cfg.ProcessTable > 0 {
		g.mapper.Processes = schema.NewProcessTable(cfg.ProcessTable)
	}
	g.reset()
	return g, nil
}

func (g *Graph) reset() {
	g.ids = make(map[string]uint32)
	g.nodes.reset()
	g.edges.reset()
	g.blobs = make([]byte, 1, 1<<16)
	g.bidx = make(map[string]uint32)
	g.sids = make(map[string]uint32)
	g.writtenAt = make(map[uint32]int64)
	g.lastEv, g.lastEvOff = "", 0
	g.prefixes, g.prefixIdx = nil, map[string]uint32{}
}

// Add maps one event with the graph's schema.Mapper (which joins processes
// named by pid to their creation, so feed each host's events in time
// order) and adds its entities and relations. A mapping error (a supported
// event missing fields) is counted in Stats.MapErrors and what could be
// derived is still added; Add returns nil then. Only one goroutine may call
// Add or AddResult at a time.
func (g *Graph) Add(ev *mdr.Event) error {
	if ev == nil {
		return fmt.Errorf("%w: nil event", ErrInput)
	}
	err := g.mapper.Map(ev, &g.res)
	g.mu.Lock()
	g.stats.Events++
	if err != nil {
		g.stats.MapErrors++
	}
	g.addLocked(&g.res)
	g.mu.Unlock()
	return nil
}

// AddResult adds the entities and relations of one mapped event. Only one
// goroutine may call Add or AddResult at a time.
func (g *Graph) AddResult(r *schema.Result) {
	g.mu.Lock()
	g.stats.Events++
	g.addLocked(r)
	g.mu.Unlock()
}

// proxyRec is one proxy edge and the host its event came from.
type proxyRec struct{ edge, host uint32 }

func (g *Graph) addLocked(r *schema.Result) {
	if g.nodes.len()+len(r.Entities)+2 > g.cfg.MaxNodes || g.edges.len()+len(r.Relations) > g.cfg.MaxEdges {
		g.evict()
	}
	var host uint32
	for i := range r.Entities {
		n := g.entity(&r.Entities[i])
		if host == 0 && r.Entities[i].Kind == mdr.EntityHost {
			host = n
		}
	}
	for i := range r.Relations {
		if e := g.relation(&r.Relations[i]); e != 0 && g.isProxy(e) {
			g.proxies = append(g.proxies, proxyRec{e, host})
		}
	}
}

// isProxy reports whether new edge e is one Scope may attribute by name
// (see Graph.proxies).
func (g *Graph) isProxy(e uint32) bool {
	x := g.edges.at(e)
	switch x.kind() {
	case mdr.RelInstalledService, mdr.RelCreatedTask, mdr.RelCreatedAccount, mdr.RelDeletedAccount,
		mdr.RelAddedToGroup, mdr.RelRemovedFromGroup:
		return true
	case mdr.RelSetRegistry, mdr.RelDeletedRegistry:
		if !g.nodes.at(x.from).hub {
			return false
		}
		k := g.nodes.at(x.to).id
		return strings.Contains(k, `\currentcontrolset\services\`) || strings.Contains(k, `\schedule	askcache	ree\`)
	}
	return false
}

// node returns the index of id, adding a bare node when it is new.
func (g *Graph) node(id string) uint32 {
	if n, ok := g.ids[id]; ok {
		return n
	}
	n := g.nodes.push(nodeRec{id: id, kind: schema.KindOfID(id), first: math.MaxInt64})
	g.ids[id] = n
	return n
}

func (g *Graph) entity(e *mdr.Entity) uint32 {
	n := g.node(e.ID)
	x := g.nodes.at(n)
	if x.kind == mdr.EntityUnknown {
		x.kind = e.Kind
	}
	if x.name == "" && x.nameMask == 0 && e.Name != "" {
		switch {
		case strings.HasSuffix(x.id, e.Name):
			x.name = x.id[len(x.id)-len(e.Name):] // no second copy of the text
		case len(e.Name) <= len(x.id) && foldTail(x.id, e.Name):
			x.nameMask = g.putCaseMask(x.id[len(x.id)-len(e.Name):], e.Name)
		default:
			x.name = strings.Clone(e.Name) // never pin the event's buffer
		}
		if x.kind == mdr.EntityProcess {
			x.hub = g.hubs[strings.ToLower(baseName(e.Name))]
		}
	}
	if len(e.Attrs) > 0 {
		g.mergeAttrs(x, e.Attrs)
		if sid := e.Attrs["sid"]; sid != "" && x.kind == mdr.EntityUser {
			sid = strings.ToUpper(sid)
			if _, ok := g.sids[sid]; !ok {
				g.sids[sid] = n
			}
		}
	}
	return n
}

// mergeAttrs adds the kept attributes of a that x lacks.
func (g *Graph) mergeAttrs(x *nodeRec, a map[string]string) {
	missing := false
	for k, v := range a {
		if bit := keptNodeAttrs[k]; bit != 0 && v != "" && x.attrMask&(1<<bit) == 0 {
			missing = true
			break
		}
	}
	if !missing {
		return
	}
	var kv []string
	if x.attrs != 0 {
		kv = blobDecode(g.blobs, x.attrs, kv)
	}
	for k, v := range a {
		if bit := keptNodeAttrs[k]; bit != 0 && v != "" && x.attrMask&(1<<bit) == 0 {
			if k == "text" && g.cfg.MaxTextBytes > 0 && len(v) > g.cfg.MaxTextBytes {
				v = clipUTF8(v, g.cfg.MaxTextBytes)
			}
			kv = append(kv, k, v)
			x.attrMask |= 1 << bit
		}
	}
	x.attrs = g.putBlob(kv, false)
}

// relation adds r and returns the index of the edge it made, 0 when it
// was reduced into an existing edge or dropped.
func (g *Graph) relation(r *mdr.Relation) uint32 {
	if r.From == "" || r.To == "" {
		return 0
	}
	g.stats.Relations++
	u, v := g.node(r.From), g.node(r.To)
	t := r.Time.UnixMicro()
	k := r.Kind
	f := flowOf(k)
	g.seen(u, t)
	g.seen(v, t)
	if k == mdr.RelWroteFile || k == mdr.RelRenamedFile {
		if w, ok := g.writtenAt[v]; !ok || t < w {
			g.writtenAt[v] = t
		}
	}
	switch k {
	case mdr.RelRanOn:
		if g.nodes.at(u).host == 0 {
			g.nodes.at(u).host = v
		}
	case mdr.RelRanAs:
		if g.nodes.at(u).user == 0 {
			g.nodes.at(u).user = v
		}
	}
	var attrs uint32
	if keep, ok := keptAttrs[k]; ok && len(r.Attrs) > 0 && len(keep) > 0 {
		var kv []string
		for _, name := range keep {
			if v := r.Attrs[name]; v != "" {
				kv = append(kv, name, v)
			}
		}
		if len(kv) > 0 {
			attrs = g.putBlob(kv, true)
		}
	}
	if !g.cfg.NoReduce {
		if e := g.findEdge(u, v, k, attrs); e != 0 {
			x := g.edges.at(e)
			if g.mergeable(x, u, v, t, f) {
				if t < x.first() { // only context edges merge out of order
					x.lastD += uint32(x.first() - t)
					x.setFirst(t)
				} else if t-x.first() > int64(x.lastD) {
					x.lastD = uint32(t - x.first())
				}
				if x.countKind < 0xffffff00 {
					x.countKind += 1 << 8
				}
				if f != flowNone {
					g.bump(x, u, v, f)
				}
				g.stats.Reduced++
				return 0
			}
		}
	}
	if g.edges.len() >= math.MaxUint32-1 {
		return 0
	}
	rec := edgeRec{from: u, to: v, countKind: 1<<8 | uint32(k), ev: g.eventOff(r.EventID), attrs: attrs,
		nextOut: g.nodes.at(u).headOut, nextIn: g.nodes.at(v).headIn}
	rec.setFirst(t)
	e := g.edges.push(rec)
	g.nodes.at(u).headOut = e
	g.nodes.at(v).headIn = e
	if f != flowNone {
		g.bump(g.edges.at(e), u, v, f)
	}
	return e
}

// findEdge looks for an edge u -k-> v with the same content among the
// newest few edges out of u.
func (g *Graph) findEdge(u, v uint32, k mdr.RelationKind, attrs uint32) uint32 {
	e := g.nodes.at(u).headOut
	for i := 0; e != 0 && i < 8; i++ {
		x := g.edges.at(e)
		if x.to == v && x.kind() == k {
			if !sameAttrsOnly(k) || x.attrs == attrs {
				return e
			}
		}
		e = x.nextOut
	}
	return 0
}

// mergeable applies the reduction rule to one more occurrence at t of edge
// x (u → v).
func (g *Graph) mergeable(x *edgeRec, u, v uint32, t int64, f flow) bool {
	if f == flowNone {
		lo, hi := min(x.first(), t), max(x.last(), t)
		return hi-lo < math.MaxUint32
	}
	if t < x.last() || t-x.first() >= math.MaxUint32 || g.seq == math.MaxUint32 {
		return false
	}
	src, dst := u, v
	if f == flowRev {
		src, dst = v, u
	}
	return g.nodes.at(src).inSeq <= x.seq && g.nodes.at(dst).outSeq <= x.seq
}

// bump records that information flowed along x now.
func (g *Graph) bump(x *edgeRec, u, v uint32, f flow) {
	if g.seq == math.MaxUint32 {
		return
	}
	g.seq++
	src, dst := u, v
	if f == flowRev {
		src, dst = v, u
	}
	x.seq = g.seq
	g.nodes.at(dst).inSeq = g.seq
	g.nodes.at(src).outSeq = g.seq
}

// eventOff stores an event id in the arena (once per event in a row).
func (g *Graph) eventOff(id string) uint32 {
	if id == "" {
		return 0
	}
	if id == g.lastEv && g.lastEvOff != 0 {
		return g.lastEvOff
	}
	off := uint32(len(g.blobs))
	if p, n, ok := g.splitEventID(id); ok {
		// Compact form: a zero byte, the prefix's number, the number.
		g.blobs = append(g.blobs, 0)
		g.blobs = binary.AppendUvarint(g.blobs, uint64(p))
		g.blobs = binary.AppendUvarint(g.blobs, n)
	} else {
		g.blobs = binary.AppendUvarint(g.blobs, uint64(len(id)))
		g.blobs = append(g.blobs, id...)
	}
	g.lastEv, g.lastEvOff = id, off
	return off
}

// maxPrefixes bounds the table of event id prefixes.
const maxPrefixes = 4096

// splitEventID splits an id written "<prefix><decimal number>" (such as
// "otrf:963120", a source name and a line) into the prefix's index in the
// graph's table and the number, when the number reads back identically.
func (g *Graph) splitEventID(id string) (uint32, uint64, bool) {
	i := len(id)
	for i > 0 && id[i-1] >= '0' && id[i-1] <= '9' {
		i--
	}
	digits := id[i:]
	if len(digits) == 0 || len(digits) > 18 || (len(digits) > 1 && digits[0] == '0') {
		return 0, 0, false
	}
	var n uint64
	for j := 0; j < len(digits); j++ {
		n = n*10 + uint64(digits[j]-'0')
	}
	p, ok := g.prefixIdx[id[:i]]
	if !ok {
		if len(g.prefixes) >= maxPrefixes {
			return 0, 0, false
		}
		p = uint32(len(g.prefixes))
		g.prefixes = append(g.prefixes, strings.Clone(id[:i]))
		g.prefixIdx[g.prefixes[p]] = p
	}
	return p, n, true
}

// eventIn reports whether the event id at off is in set, without
// allocating.
func (g *Graph) eventIn(off uint32, set map[string]bool) bool {
	var buf [64]byte
	b := buf[:0]
	if g.blobs[off] == 0 {
		p, w := binary.Uvarint(g.blobs[off+1:])
		n, _ := binary.Uvarint(g.blobs[int(off)+1+w:])
		b = strconv.AppendUint(append(b, g.prefixes[p]...), n, 10)
	} else {
		n, w := binary.Uvarint(g.blobs[off:])
		b = g.blobs[int(off)+w : int(off)+w+int(n)]
	}
	return set[string(b)]
}

func (g *Graph) eventID(off uint32) string {
	if off == 0 {
		return ""
	}
	if g.blobs[off] == 0 {
		p, w := binary.Uvarint(g.blobs[off+1:])
		n, _ := binary.Uvarint(g.blobs[int(off)+1+w:])
		return g.prefixes[p] + strconv.FormatUint(n, 10)
	}
	n, w := binary.Uvarint(g.blobs[off:])
	return string(g.blobs[int(off)+w : int(off)+w+int(n)])
}

// maxInterned bounds the table that shares identical attribute blobs.
const maxInterned = 1 << 18

// putBlob stores key/value pairs in the arena and returns the offset.
// Small blobs are shared when intern is set.
func (g *Graph) putBlob(kv []string, intern bool) uint32 {
	var buf [256]byte
	b := buf[:0]
	b = binary.AppendUvarint(b, uint64(len(kv)/2))
	for _, s := range kv {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	if intern && len(b) <= 128 {
		if off, ok := g.bidx[string(b)]; ok {
			return off
		}
	}
	if len(g.blobs)+len(b) >= math.MaxUint32 {
		return 0
	}
	off := uint32(len(g.blobs))
	g.blobs = append(g.blobs, b...)
	if intern && len(b) <= 128 && len(g.bidx) < maxInterned {
		g.bidx[string(b)] = off
	}
	return off
}

// blobDecode appends the key/value pairs at off to kv.
func blobDecode(blobs []byte, off uint32, kv []string) []string {
	if off == 0 {
		return kv
	}
	b := blobs[off:]
	n, w := binary.Uvarint(b)
	b = b[w:]
	for i := 0; i < int(n)*2; i++ {
		l, w := binary.Uvarint(b)
		kv = append(kv, string(b[w:w+int(l)]))
		b = b[w+int(l):]
	}
	return kv
}

// blobGet returns the value of key in the blob at off.
func blobGet(blobs []byte, off uint32, key string) (string, bool) {
	if off == 0 {
		return "", false
	}
	b := blobs[off:]
	n, w := binary.Uvarint(b)
	b = b[w:]
	for i := 0; i < int(n); i++ {
		l, w := binary.Uvarint(b)
		k := b[w : w+int(l)]
		b = b[w+int(l):]
		l, w = binary.Uvarint(b)
		if string(k) == key {
			return string(b[w : w+int(l)]), true
		}
		b = b[w+int(l):]
	}
	return "", false
}

func blobMap(blobs []byte, off uint32) map[string]string {
	if off == 0 {
		return nil
	}
	kv := blobDecode(blobs, off, nil)
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func clipUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// evict drops the oldest quarter of the edges (by last time) and the nodes
// left without edges, then rebuilds the adjacency lists and the intern
// table. A process whose edges are all old is a closed subgraph: it ran and
// ended long before what the graph still holds.
func (g *Graph) evict() {
	g.stats.Evictions++
	n := g.edges.len() - 1
	if n <= 0 {
		return
	}
	// The cut time: the last time below which a quarter of the edges end.
	lasts := make([]int64, 0, n)
	for i := 1; i < g.edges.len(); i++ {
		lasts = append(lasts, g.edges.at(uint32(i)).last())
	}
	cut := nthSmallest(lasts, n/4)
	keepNode := make([]bool, g.nodes.len())
	var newEdges chunked[edgeRec]
	newEdges.reset()
	eremap := make([]uint32, g.edges.len())
	for i := 1; i < g.edges.len(); i++ {
		e := g.edges.at(uint32(i))
		if e.last() <= cut {
			g.stats.EdgesDrop++
			continue
		}
		keepNode[e.from], keepNode[e.to] = true, true
		eremap[i] = newEdges.push(*e)
	}
	// Keep the hosts and users that kept processes point at.
	remap := make([]uint32, g.nodes.len())
	var newNodes chunked[nodeRec]
	newNodes.reset()
	ids := make(map[string]uint32, len(g.ids))
	for i := 1; i < g.nodes.len(); i++ {
		if !keepNode[i] {
			g.stats.NodesDrop++
			continue
		}
		x := *g.nodes.at(uint32(i))
		x.headOut, x.headIn = 0, 0
		remap[i] = newNodes.push(x)
		ids[x.id] = remap[i]
	}
	for i := 1; i < newNodes.len(); i++ {
		x := newNodes.at(uint32(i))
		x.host, x.user = remap[x.host], remap[x.user]
	}
	proxies := g.proxies[:0]
	for _, p := range g.proxies {
		if e := eremap[p.edge]; e != 0 {
			proxies = append(proxies, proxyRec{e, remap[p.host]})
		}
	}
	g.proxies = proxies
	written := make(map[uint32]int64, len(g.writtenAt))
	for n, t := range g.writtenAt {
		if remap[n] != 0 {
			written[remap[n]] = t
		}
	}
	g.writtenAt = written
	for sid, n := range g.sids {
		if remap[n] == 0 {
			delete(g.sids, sid)
		} else {
			g.sids[sid] = remap[n]
		}
	}
	for i := 1; i < newEdges.len(); i++ {
		e := newEdges.at(uint32(i))
		e.from, e.to = remap[e.from], remap[e.to]
		e.nextOut = newNodes.at(e.from).headOut
		e.nextIn = newNodes.at(e.to).headIn
		newNodes.at(e.from).headOut = uint32(i)
		newNodes.at(e.to).headIn = uint32(i)
	}
	g.nodes, g.edges, g.ids = newNodes, newEdges, ids
}

// nthSmallest returns the k-th smallest value of s (0-based), reordering s.
func nthSmallest(s []int64, k int) int64 {
	lo, hi := 0, len(s)-1
	for lo < hi {
		p := s[(lo+hi)/2]
		i, j := lo, hi
		for i <= j {
			for s[i] < p {
				i++
			}
			for s[j] > p {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return s[k]
		}
	}
	return s[k]
}

// Stats returns the graph's counters.
func (g *Graph) Stats() Stats {
	g.mu.RLock()
	defer g.mu.RUnlock()
	s := g.stats
	s.Nodes = g.nodes.len() - 1
	s.Edges = g.edges.len() - 1
	s.ArenaBytes = len(g.blobs)
	return s
}

// Entity returns the entity with the given id as the graph holds it (kept
// attributes only).
func (g *Graph) Entity(id string) (mdr.Entity, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.ids[id]
	if !ok {
		return mdr.Entity{}, false
	}
	return g.entityOf(n), true
}

func (g *Graph) entityOf(n uint32) mdr.Entity {
	x := g.nodes.at(n)
	return mdr.Entity{Kind: x.kind, ID: x.id, Name: g.nm(x), Attrs: blobMap(g.blobs, x.attrs)}
}

// Edge is one edge of the graph: a relation, or several occurrences of one
// reduced into one (Count of them, from First to Last; EventID is the
// first's).
type Edge struct {
	Kind    mdr.RelationKind  `json:"kind"`
	From    string            `json:"from"`
	To      string            `json:"to"`
	First   time.Time         `json:"first"`
	Last    time.Time         `json:"last"`
	Count   int               `json:"count"`
	EventID string            `json:"event_id,omitempty"`
	Attrs   map[string]string `json:"attrs,omitempty"`
}

func usec(t int64) time.Time { return time.UnixMicro(t).UTC() }

func (g *Graph) edgeOf(i uint32) Edge {
	e := g.edges.at(i)
	return Edge{Kind: e.kind(), From: g.nodes.at(e.from).id, To: g.nodes.at(e.to).id, First: usec(e.first()), Last: usec(e.last()),
		Count: int(e.count()), EventID: g.eventID(e.ev), Attrs: blobMap(g.blobs, e.attrs)}
}

// Edges calls f for every edge touching entity id (outgoing and incoming,
// newest first per direction) until f returns false.
func (g *Graph) Edges(id string, f func(Edge) bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.ids[id]
	if !ok {
		return
	}
	for e := g.nodes.at(n).headOut; e != 0; e = g.edges.at(e).nextOut {
		if !f(g.edgeOf(e)) {
			return
		}
	}
	for e := g.nodes.at(n).headIn; e != 0; e = g.edges.at(e).nextIn {
		if g.edges.at(e).from == n {
			continue
		}
		if !f(g.edgeOf(e)) {
			return
		}
	}
}

// foldTail reports whether name, lower-cased byte by byte (ASCII only),
// is the tail of id: the name is the id's text in another case.
func foldTail(id, name string) bool {
	t := id[len(id)-len(name):]
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 0x80 {
			return false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != t[i] {
			return false
		}
	}
	return true
}

// putCaseMask stores which bytes of name are upper case, one bit each:
// the name is then the id's tail with those bytes upper-cased, at an
// eighth of its size.
func (g *Graph) putCaseMask(tail, name string) uint32 {
	off := uint32(len(g.blobs))
	g.blobs = binary.AppendUvarint(g.blobs, uint64(len(name)))
	start := len(g.blobs)
	g.blobs = append(g.blobs, make([]byte, (len(name)+7)/8)...)
	for i := 0; i < len(name); i++ {
		if name[i] != tail[i] {
			g.blobs[start+i/8] |= 1 << (i % 8)
		}
	}
	return off
}

// nm returns the entity's name as the events wrote it.
func (g *Graph) nm(x *nodeRec) string {
	if x.nameMask == 0 {
		return x.name
	}
	n, w := binary.Uvarint(g.blobs[x.nameMask:])
	mask := g.blobs[int(x.nameMask)+w:]
	b := []byte(x.id[len(x.id)-int(n):])
	for i := range b {
		if mask[i/8]&(1<<(i%8)) != 0 {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

// seen records that node n took part in a relation at t.
func (g *Graph) seen(n uint32, t int64) {
	if x := g.nodes.at(n); t < x.first {
		x.first = t
	}
}
