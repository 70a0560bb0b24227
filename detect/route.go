package detect

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mdrkit/mdr"
)

// router implements logsource routing as an index. Every pipeline mapping
// condition is a conjunction of field ∈ values; conditions over the same
// set of fields share one hash index from the joined, normalised values
// (lower-cased text, integers in decimal) to the mappings they satisfy. Per
// event the router builds one key per distinct field set (a handful: e.g.
// Channel+EventID, Channel) and looks it up, which marks the satisfied
// mappings; a route class (the set of mappings a rule must satisfy) is then
// open when all of its mappings are satisfied. The cost per event is a few
// lookups, independent of the number of rules.
type router struct {
	groups   []routeGroup
	slots    []int32 // the fields any group reads, each once
	nmap     int
	classes  [][]int32 // class → mapping ids that must all hold; class 0 needs none
	unrouted int
}

type routeGroup struct {
	slots []int32
	index map[string][]int32
}

// normRouteValue appends the normalised routing text of v to dst.
func normRouteValue(dst []byte, v mdr.Value) ([]byte, bool) {
	switch v.Kind() {
	case mdr.KindNull, mdr.KindList, mdr.KindObject:
		return dst, false
	}
	if s, ok := v.Str(); ok {
		if i, ok := mdr.ParseInt(s); ok {
			return strconv.AppendInt(dst, i, 10), true
		}
		return appendFold(dst, strings.TrimSpace(s)), true
	}
	if i, ok := v.Int(); ok {
		return strconv.AppendInt(dst, i, 10), true
	}
	return appendFold(dst, v.Text()), true
}

func normRouteString(s string) string {
	if i, ok := mdr.ParseInt(s); ok {
		return strconv.FormatInt(i, 10)
	}
	return fold(strings.TrimSpace(s))
}

func lsApplies(m, r Logsource) bool {
	eq := func(a, b string) bool { return a == "" || strings.EqualFold(a, b) }
	return eq(m.Product, r.Product) && eq(m.Category, r.Category) && eq(m.Service, r.Service)
}

// sameRaw reports whether a and b are the same value: v.Equal, with
// absent fields (most routing fields, for any one log format) and strings
// decided inline.
func sameRaw(a, b mdr.Value) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	if x, ok := a.Str(); ok {
		y, _ := b.Str()
		return x == y
	}
	return a.Kind() == mdr.KindNull || a.Equal(b)
}

// buildRouter indexes the pipeline and assigns each rule its class.
func (rs *Ruleset) buildRouter() {
	rt := &rs.route
	rt.classes = [][]int32{nil}
	var maps []LogsourceMapping
	if rs.cfg.pipeline != nil {
		maps = rs.cfg.pipeline.Logsources
	}
	rt.nmap = len(maps)
	groupOf := map[string]int{}
	for mi, m := range maps {
		for _, cond := range m.Conditions {
			fields := make([]string, 0, len(cond))
			for f := range cond {
				fields = append(fields, f)
			}
			sort.Strings(fields)
			gk := strings.Join(fields, "\x00")
			gi, ok := groupOf[gk]
			if !ok {
				gi = len(rt.groups)
				groupOf[gk] = gi
				g := routeGroup{index: map[string][]int32{}}
				for _, f := range fields {
					g.slots = append(g.slots, rs.slot(f))
				}
				rt.groups = append(rt.groups, g)
			}
			g := &rt.groups[gi]
			keys := []string{""}
			for k, f := range fields {
				var next []string
				for _, prefix := range keys {
					for _, v := range cond[f] {
						key := prefix
						if k > 0 {
							key += "\x00"
						}
						next = append(next, key+normRouteString(v))
					}
				}
				keys = next
			}
			for _, key := range keys {
				l := g.index[key]
				if len(l) == 0 || l[len(l)-1] != int32(mi) {
					g.index[key] = append(l, int32(mi))
				}
			}
		}
	}
	seen := map[int32]bool{}
	for _, g := range rt.groups {
		for _, s := range g.slots {
			if !seen[s] {
				seen[s] = true
				rt.slots = append(rt.slots, s)
			}
		}
	}
	classOf := map[string]int32{"": 0}
	for _, cr := range rs.rules {
		var need []int32
		var key strings.Builder
		for mi, m := range maps {
			if lsApplies(m.Logsource, cr.rule.Logsource) {
				need = append(need, int32(mi))
				key.WriteString(strconv.Itoa(mi))
				key.WriteByte(',')
			}
		}
		if len(need) == 0 {
			rt.unrouted++
		}
		c, ok := classOf[key.String()]
		if !ok {
			c = int32(len(rt.classes))
			classOf[key.String()] = c
			rt.classes = append(rt.classes, need)
		}
		cr.class = c
	}
}

// open computes which route classes ev belongs to, in sc.classOK. The
// routing fields of consecutive events often hold the same values (logs
// come in runs of one channel and event id): then the previous result is
// kept, decided first on the raw values, then on the normalised keys.
func (rt *router) open(ev *mdr.Event, sc *scratch) {
	sc.classOK[0] = true
	sc.openBits[0] |= 1
	if len(rt.classes) == 1 {
		return
	}
	same := sc.routeValid
	for k, slot := range rt.slots {
		fi := sc.field(slot)
		if fi < 0 { // an absent field routes as null does: no key
			if sc.routeRaw[k].Kind() != mdr.KindNull {
				same = false
				sc.routeRaw[k] = mdr.Value{}
			}
			continue
		}
		v := ev.Field(fi).Value
		if same && !sameRaw(v, sc.routeRaw[k]) {
			same = false
		}
		sc.routeRaw[k] = v
	}
	if same {
		return
	}
	keys := sc.keyBuf[:0]
	spans := sc.routeSpans[:0]
	for gi := range rt.groups {
		g := &rt.groups[gi]
		start := len(keys)
		ok := true
		for k, slot := range g.slots {
			fi := sc.field(slot)
			if fi < 0 {
				ok = false
				break
			}
			if k > 0 {
				keys = append(keys, 0)
			}
			if keys, ok = normRouteValue(keys, ev.Field(fi).Value); !ok {
				break
			}
		}
		if !ok {
			keys = keys[:start]
			spans = append(spans, -1, -1) // this group cannot hold
			continue
		}
		spans = append(spans, int32(start), int32(len(keys)))
	}
	sc.keyBuf, sc.routeSpans = keys, spans
	if sc.routeValid && string(keys) == string(sc.lastRoute) && slices.Equal(spans, sc.lastSpans) {
		return
	}
	sc.lastRoute = append(sc.lastRoute[:0], keys...)
	sc.lastSpans = append(sc.lastSpans[:0], spans...)
	sc.routeValid = true
	clear(sc.mapOK)
	for gi := range rt.groups {
		a, b := spans[2*gi], spans[2*gi+1]
		if a < 0 {
			continue
		}
		for _, mi := range rt.groups[gi].index[string(keys[a:b])] {
			sc.mapOK[mi] = true
		}
	}
	for c := 1; c < len(rt.classes); c++ {
		ok := true
		for _, mi := range rt.classes[c] {
			if !sc.mapOK[mi] {
				ok = false
				break
			}
		}
		sc.classOK[c] = ok
	}
	clear(sc.openBits)
	for c, ok := range sc.classOK {
		if ok {
			sc.openBits[c>>6] |= 1 << (c & 63)
		}
	}
}
