package correlate

import (
	"encoding/json"
	"fmt"
	"math"
)

// SnapshotVersion is the format version Snapshot writes and Restore reads.
const SnapshotVersion = 2

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
	Spec         string        `json:"spec"`
	Vals         []string      `json:"vals"`
	Seq          uint64        `json:"seq"`
	MaxSeen      int64         `json:"max_seen"`
	LastReleased int64         `json:"last_released"`
	Entries      []snapEntry   `json:"entries,omitempty"`
	Sum          float64       `json:"sum,omitempty"`
	Stages       [][]snapEntry `json:"stages,omitempty"`
	Pending      []snapEntry   `json:"pending,omitempty"`
}

type snapSpec struct {
	ID          string `json:"id"`
	Fingerprint string `json:"fp"`
}

type snapshot struct {
	Version int         `json:"version"`
	Specs   []snapSpec  `json:"specs"`
	Seq     uint64      `json:"seq"`
	Stats   Stats       `json:"stats"`
	Groups  []snapGroup `json:"groups"` // least recently active first
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

func snapEntries(ents []entry) []snapEntry {
	if len(ents) == 0 {
		return nil
	}
	out := make([]snapEntry, len(ents))
	for i, en := range ents {
		out[i] = toSnap(en)
	}
	return out
}

// Snapshot serialises the whole state (every group with its clock, its
// windows and its held-back entries, and the counters) into a versioned
// JSON document. Restoring it into an engine with the same specs
// continues the stream exactly: the hits after the restore are those an
// uninterrupted engine would have returned.
func (e *Engine) Snapshot() ([]byte, error) {
	s := snapshot{Version: SnapshotVersion, Seq: e.seq, Stats: e.stats}
	s.Stats.Groups, s.Stats.Pending, s.Stats.Entries = 0, 0, 0
	for i := range e.specs {
		s.Specs = append(s.Specs, snapSpec{ID: e.specs[i].ID, Fingerprint: e.specs[i].fingerprint()})
	}
	for g := e.lru.next; g != &e.lru; g = g.next {
		sg := snapGroup{Spec: e.specs[g.spec].ID, Vals: g.vals, Seq: g.seq, MaxSeen: g.maxSeen, LastReleased: g.lastReleased,
			Sum: g.sum, Entries: snapEntries(g.live()), Pending: snapEntries(g.pend)}
		if math.IsNaN(g.sum) || math.IsInf(g.sum, 0) {
			return nil, fmt.Errorf("%w: group of %q has a non-finite sum", ErrSnapshot, sg.Spec)
		}
		if g.stages != nil {
			sg.Stages = make([][]snapEntry, len(g.stages))
			for i, p := range g.stages {
				if p != nil {
					sg.Stages[i] = snapEntries(p.ents)
				}
			}
		}
		s.Groups = append(s.Groups, sg)
	}
	return json.Marshal(&s)
}

// Restore replaces the engine's state with a snapshot. Groups of specs
// that no longer exist, or whose definition changed (kind, rules,
// group-by, timespan, condition, percentile, chaining), are dropped and
// counted in Stats.RestoreDropped. The error reports bytes that are not a
// snapshot of a known version, or an inconsistent one; the engine is then
// unchanged.
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
	// Build the new state aside, then move it in.
	n := &Engine{cfg: e.cfg, specs: e.specs, topo: e.topo, groups: make(map[string]*group), seen: e.seen, stats: s.Stats}
	n.lru.next, n.lru.prev = &n.lru, &n.lru
	entries := func(sp *cspec, ses []snapEntry) ([]entry, error) {
		out := make([]entry, 0, len(ses))
		for _, se := range ses {
			if int(se.Rule) >= len(sp.distinct) {
				return nil, fmt.Errorf("%w: correlation %q: rule index %d out of range", ErrSnapshot, sp.ID, se.Rule)
			}
			out = append(out, fromSnap(se))
		}
		return out, nil
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
		g := n.newGroup(si, sg.Vals, sg.MaxSeen)
		g.seq, g.maxSeen, g.lastReleased = sg.Seq, sg.MaxSeen, sg.LastReleased
		live, err := entries(sp, sg.Entries)
		if err != nil {
			return err
		}
		for _, en := range live {
			if sp.eager {
				n.pushBack(g, sp, en)
			} else {
				g.ents = append(g.ents, en)
			}
		}
		g.sum = sg.Sum // exactly the running sum of the uninterrupted engine
		if g.pend, err = entries(sp, sg.Pending); err != nil {
			return err
		}
		if len(g.pend) == 0 {
			g.pend = nil
		}
		n.npend += len(g.pend)
		if sp.Kind == TemporalOrdered {
			if len(sg.Stages) != len(sp.Rules) {
				return fmt.Errorf("%w: correlation %q: %d stages for %d rules", ErrSnapshot, sp.ID, len(sg.Stages), len(sp.Rules))
			}
			for i, st := range sg.Stages {
				if len(st) == 0 {
					continue
				}
				ents, err := entries(sp, st)
				if err != nil {
					return err
				}
				g.stages[i] = &partial{start: ents[0].t, ents: ents}
			}
		}
	}
	n.seq = s.Seq // newGroup counted while rebuilding
	n.nents = 0   // recount: evictions while rebuilding subtracted from it
	for g := n.lru.next; g != &n.lru; g = g.next {
		n.nents += g.size()
	}
	e.groups, e.seq, e.npend, e.nents, e.stats = n.groups, n.seq, n.npend, n.nents, n.stats
	// The lru sentinel must stay inside e: move the list over.
	if n.lru.next == &n.lru {
		e.lru.next, e.lru.prev = &e.lru, &e.lru
	} else {
		e.lru.next, e.lru.prev = n.lru.next, n.lru.prev
		e.lru.next.prev = &e.lru
		e.lru.prev.next = &e.lru
	}
	e.trim(nil) // the bounds may have shrunk since the snapshot
	return nil
}
