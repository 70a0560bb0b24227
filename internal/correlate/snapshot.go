package correlate

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"math"
)

// SnapshotVersion is the format version Snapshot writes and Restore reads.
const SnapshotVersion = 1

type snapEntry struct {
	T    int64    `json:"t"`
	Seq  uint64   `json:"q"`
	Rule uint16   `json:"r,omitempty"`
	ID   string   `json:"i,omitempty"`
	Str  string   `json:"s,omitempty"`
	Num  float64  `json:"n,omitempty"`
	IDs  []string `json:"ids,omitempty"`
	N    int      `json:"c,omitempty"`
}

type snapGroup struct {
	Spec    string        `json:"spec"`
	Vals    []string      `json:"vals"`
	Seq     uint64        `json:"seq"`
	Entries []snapEntry   `json:"entries,omitempty"`
	Sum     float64       `json:"sum,omitempty"`
	Stages  [][]snapEntry `json:"stages,omitempty"`
}

type snapPending struct {
	Spec  string    `json:"spec"`
	Vals  []string  `json:"vals"`
	Entry snapEntry `json:"entry"`
}

type snapSpec struct {
	ID          string `json:"id"`
	Fingerprint string `json:"fp"`
}

type snapshot struct {
	Version      int           `json:"version"`
	Specs        []snapSpec    `json:"specs"`
	Started      bool          `json:"started"`
	MaxSeen      int64         `json:"max_seen"`
	LastReleased int64         `json:"last_released"`
	Seq          uint64        `json:"seq"`
	Stats        Stats         `json:"stats"`
	Groups       []snapGroup   `json:"groups"` // least recently active first
	Pending      []snapPending `json:"pending"`
}

func toSnap(en entry) snapEntry {
	return snapEntry{T: en.t, Seq: en.seq, Rule: en.rule, ID: en.id, Str: en.str, Num: en.num, IDs: en.ids, N: en.n}
}

func fromSnap(s snapEntry) entry {
	en := entry{t: s.T, seq: s.Seq, rule: s.Rule, id: s.ID, str: s.Str, num: s.Num, ids: s.IDs, n: s.N}
	if en.n > 0 && en.ids == nil {
		en.ids = []string{}
	}
	return en
}

// Snapshot serialises the whole state (groups, held-back events, event
// time, counters) into a versioned JSON document. Restoring it into an
// engine with the same specs continues the stream exactly: the hits after
// the restore are those an uninterrupted engine would have returned.
func (e *Engine) Snapshot() ([]byte, error) {
	s := snapshot{Version: SnapshotVersion, Started: e.started, MaxSeen: e.maxSeen, LastReleased: e.lastReleased, Seq: e.seq, Stats: e.stats}
	s.Stats.Groups, s.Stats.Pending = 0, 0
	for i := range e.specs {
		s.Specs = append(s.Specs, snapSpec{ID: e.specs[i].ID, Fingerprint: e.specs[i].fingerprint()})
	}
	for g := e.lru.next; g != &e.lru; g = g.next {
		sg := snapGroup{Spec: e.specs[g.spec].ID, Vals: g.vals, Seq: g.seq, Sum: g.sum}
		if math.IsNaN(g.sum) || math.IsInf(g.sum, 0) {
			return nil, fmt.Errorf("%w: group of %q has a non-finite sum", ErrSnapshot, sg.Spec)
		}
		for _, en := range g.live() {
			sg.Entries = append(sg.Entries, toSnap(en))
		}
		if g.stages != nil {
			sg.Stages = make([][]snapEntry, len(g.stages))
			for i, p := range g.stages {
				if p == nil {
					continue
				}
				st := make([]snapEntry, 0, len(p.ents))
				for _, en := range p.ents {
					st = append(st, toSnap(en))
				}
				sg.Stages[i] = st
			}
		}
		s.Groups = append(s.Groups, sg)
	}
	for _, p := range e.pend {
		s.Pending = append(s.Pending, snapPending{Spec: e.specs[p.spec].ID, Vals: p.vals, Entry: toSnap(p.e)})
	}
	return json.Marshal(&s)
}

// Restore replaces the engine's state with a snapshot. Groups and held-back
// events of specs that no longer exist, or whose definition changed (kind,
// rules, group-by, timespan, condition, percentile), are dropped and
// counted in Stats.RestoreDropped. The error reports bytes that are not a
// snapshot of a known version; the engine is then unchanged.
func (e *Engine) Restore(data []byte) error {
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("%w: %v", ErrSnapshot, err)
	}
	if s.Version != SnapshotVersion {
		return fmt.Errorf("%w: version %d, this build reads %d", ErrSnapshot, s.Version, SnapshotVersion)
	}
	byID := make(map[string]int, len(e.specs))
	for i := range e.specs {
		byID[e.specs[i].ID] = i
	}
	usable := make(map[string]int, len(s.Specs))
	for _, sp := range s.Specs {
		if i, ok := byID[sp.ID]; ok && e.specs[i].fingerprint() == sp.Fingerprint {
			usable[sp.ID] = i
		}
	}
	// Build the new state aside, then swap it in.
	n := &Engine{cfg: e.cfg, specs: e.specs, groups: make(map[string]*group), seen: e.seen,
		started: s.Started, maxSeen: s.MaxSeen, lastReleased: s.LastReleased, seq: s.Seq, stats: s.Stats}
	n.lru.next, n.lru.prev = &n.lru, &n.lru
	checkEntry := func(spec int, se snapEntry) error {
		if int(se.Rule) >= len(e.specs[spec].distinct) {
			return fmt.Errorf("%w: correlation %q: rule index %d out of range", ErrSnapshot, e.specs[spec].ID, se.Rule)
		}
		return nil
	}
	for _, sg := range s.Groups {
		si, ok := usable[sg.Spec]
		if !ok {
			n.stats.RestoreDropped++
			continue
		}
		sp := &n.specs[si]
		if len(sg.Vals) != len(sp.GroupBy) {
			return fmt.Errorf("%w: correlation %q: group has %d values, spec groups by %d", ErrSnapshot, sp.ID, len(sg.Vals), len(sp.GroupBy))
		}
		n.keybuf = appendKey(n.keybuf[:0], si, sg.Vals)
		if _, dup := n.groups[string(n.keybuf)]; dup {
			return fmt.Errorf("%w: correlation %q: duplicate group %q", ErrSnapshot, sp.ID, sg.Vals)
		}
		g := n.group(si, "", sg.Vals)
		g.seq = sg.Seq
		for _, se := range sg.Entries {
			if err := checkEntry(si, se); err != nil {
				return err
			}
			if sp.eager {
				n.pushBack(g, sp, fromSnap(se))
			} else {
				g.ents = append(g.ents, fromSnap(se))
			}
		}
		g.sum = sg.Sum // exactly the running sum of the uninterrupted engine
		if sp.Kind == TemporalOrdered {
			if len(sg.Stages) != len(sp.Rules) {
				return fmt.Errorf("%w: correlation %q: %d stages for %d rules", ErrSnapshot, sp.ID, len(sg.Stages), len(sp.Rules))
			}
			for i, st := range sg.Stages {
				if len(st) == 0 {
					continue
				}
				p := &partial{start: st[0].T}
				for _, se := range st {
					if err := checkEntry(si, se); err != nil {
						return err
					}
					p.ents = append(p.ents, fromSnap(se))
				}
				g.stages[i] = p
			}
		}
		n.settle(g)
	}
	for _, sp := range s.Pending {
		si, ok := usable[sp.Spec]
		if !ok {
			n.stats.RestoreDropped++
			continue
		}
		if len(sp.Vals) != len(n.specs[si].GroupBy) {
			return fmt.Errorf("%w: correlation %q: pending event has %d group values, spec groups by %d", ErrSnapshot, sp.Spec, len(sp.Vals), len(n.specs[si].GroupBy))
		}
		if err := checkEntry(si, sp.Entry); err != nil {
			return err
		}
		n.keybuf = appendKey(n.keybuf[:0], si, sp.Vals)
		n.pend = append(n.pend, pending{e: fromSnap(sp.Entry), spec: si, key: string(n.keybuf), vals: sp.Vals})
	}
	heap.Init(&n.pend)
	n.seq = s.Seq // group() counted while rebuilding
	// The lru sentinel must stay inside e: move the list over.
	e.groups, e.dl, e.pend = n.groups, n.dl, n.pend
	e.started, e.maxSeen, e.lastReleased, e.seq, e.stats = n.started, n.maxSeen, n.lastReleased, n.seq, n.stats
	if n.lru.next == &n.lru {
		e.lru.next, e.lru.prev = &e.lru, &e.lru
	} else {
		e.lru.next, e.lru.prev = n.lru.next, n.lru.prev
		e.lru.next.prev = &e.lru
		e.lru.prev.next = &e.lru
	}
	return nil
}
