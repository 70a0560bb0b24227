package investigate

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// CatalogNode is the store.Graph node under which Save lists every entity:
// one edge of kind mdr.RelUnknown from CatalogNode to each entity, whose
// attributes hold the entity's kind ("_kind"), name ("_name") and kept
// attributes. The graph's own edges are stored as relations whose
// attributes add "_count" and "_last" (RFC 3339) when an edge stands for
// several reduced relations.
const CatalogNode = "investigate:catalog"

const saveBatch = 4096

// Save writes the graph to dst: a catalog of its entities and every edge,
// in batches. Saving into a store that already holds a graph adds to it
// (store.Graph edges have no identity); save into an empty one.
func (g *Graph) Save(ctx context.Context, dst store.Graph) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	batch := make([]mdr.Relation, 0, saveBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := dst.AppendEdges(ctx, batch); err != nil {
			return fmt.Errorf("investigate: save: %w", err)
		}
		batch = batch[:0]
		return nil
	}
	for i := 1; i < g.nodes.len(); i++ {
		x := g.nodes.at(uint32(i))
		a := blobMap(g.blobs, x.attrs)
		if a == nil {
			a = make(map[string]string, 2)
		}
		a["_kind"] = x.kind.String()
		if g.nm(x) != "" {
			a["_name"] = g.nm(x)
		}
		batch = append(batch, mdr.Relation{Kind: mdr.RelUnknown, From: CatalogNode, To: x.id, Attrs: a})
		if len(batch) == saveBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	for i := 1; i < g.edges.len(); i++ {
		e := g.edgeOf(uint32(i))
		if e.Count > 1 {
			if e.Attrs == nil {
				e.Attrs = make(map[string]string, 2)
			}
			e.Attrs["_count"] = strconv.Itoa(e.Count)
			e.Attrs["_last"] = e.Last.Format(time.RFC3339Nano)
		}
		batch = append(batch, mdr.Relation{Kind: e.Kind, From: e.From, To: e.To, Time: e.First, EventID: e.EventID, Attrs: e.Attrs})
		if len(batch) == saveBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// Load reads a graph that Save wrote to src. Edges keep their reduction
// (first, last, count); relations added afterwards are reduced only into
// edges made after the load.
func Load(ctx context.Context, src store.Graph, cfg Config) (*Graph, error) {
	g, err := New(cfg)
	if err != nil {
		return nil, err
	}
	var ids []string
	for r, err := range src.Neighbors(ctx, CatalogNode, store.EdgeQuery{Dir: store.Out}) {
		if err != nil {
			return nil, &StoreError{Node: CatalogNode, Err: err}
		}
		if r.Kind != mdr.RelUnknown || r.To == "" {
			continue
		}
		kind, err := mdr.ParseEntityKind(r.Attrs["_kind"])
		if err != nil {
			return nil, &StoreError{Node: r.To, Err: err}
		}
		attrs := maps.Clone(r.Attrs)
		name := attrs["_name"]
		delete(attrs, "_kind")
		delete(attrs, "_name")
		if _, ok := g.ids[r.To]; !ok {
			ids = append(ids, r.To)
		}
		g.entity(&mdr.Entity{Kind: kind, ID: r.To, Name: name, Attrs: attrs})
	}
	var rels []mdr.Relation
	for _, id := range ids {
		for r, err := range src.Neighbors(ctx, id, store.EdgeQuery{Dir: store.Out}) {
			if err != nil {
				return nil, &StoreError{Node: id, Err: err}
			}
			rels = append(rels, r)
		}
	}
	slices.SortStableFunc(rels, func(a, b mdr.Relation) int { return a.Time.Compare(b.Time) })
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range rels {
		if err := g.loadEdge(&rels[i]); err != nil {
			return nil, err
		}
	}
	// Loaded edges are never extended: reduction restarts after a load.
	g.seq++
	for i := 1; i < g.nodes.len(); i++ {
		g.nodes.at(uint32(i)).inSeq, g.nodes.at(uint32(i)).outSeq = g.seq, g.seq
	}
	return g, nil
}

func (g *Graph) loadEdge(r *mdr.Relation) error {
	count, last := 1, r.Time
	if c := r.Attrs["_count"]; c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 {
			return &StoreError{Node: r.From, Err: fmt.Errorf("%w: bad _count %q", ErrInput, c)}
		}
		count = n
	}
	if l := r.Attrs["_last"]; l != "" {
		t, err := time.Parse(time.RFC3339Nano, l)
		if err != nil || t.Before(r.Time) {
			return &StoreError{Node: r.From, Err: fmt.Errorf("%w: bad _last %q", ErrInput, l)}
		}
		last = t
	}
	if g.edges.len() >= g.cfg.MaxEdges {
		g.evict()
	}
	u, v := g.node(r.From), g.node(r.To)
	g.seen(u, r.Time.UnixMicro())
	g.seen(v, r.Time.UnixMicro())
	if r.Kind == mdr.RelWroteFile || r.Kind == mdr.RelRenamedFile {
		if w, ok := g.writtenAt[v]; !ok || r.Time.UnixMicro() < w {
			g.writtenAt[v] = r.Time.UnixMicro()
		}
	}
	switch r.Kind {
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
	if keep := keptAttrs[r.Kind]; len(keep) > 0 {
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
	first := r.Time.UnixMicro()
	d := last.UnixMicro() - first
	if d > 1<<32-1 {
		d = 1<<32 - 1
	}
	if count > 0xffffff {
		count = 0xffffff
	}
	rec := edgeRec{from: u, to: v, lastD: uint32(d), countKind: uint32(count)<<8 | uint32(r.Kind),
		ev: g.eventOff(r.EventID), attrs: attrs, nextOut: g.nodes.at(u).headOut, nextIn: g.nodes.at(v).headIn}
	rec.setFirst(first)
	e := g.edges.push(rec)
	g.nodes.at(u).headOut = e
	g.nodes.at(v).headIn = e
	if g.isProxy(e) {
		var host uint32
		if h := g.nodes.at(u).host; h != 0 {
			host = h
		} else if hp := hostPart(r.To); hp != "" {
			host = g.ids["host:"+hp]
		}
		g.proxies = append(g.proxies, proxyRec{e, host})
	}
	g.stats.Relations += int64(count)
	return nil
}
