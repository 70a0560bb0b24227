package detect

import (
	"context"
	"errors"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"unsafe"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/ahocorasick"
)

// Match is one rule that matched one event. Rule points into the Ruleset
// and must be treated as read-only. A Match is a plain value, safe to share
// once returned.
type Match struct {
	Rule        *Rule
	Event       *mdr.Event
	Hidden      bool // the rule is hidden: it feeds correlations and raises no alert
	Explanation Explanation
}

// activation binds e for CEL programs.
type activation struct{ e eventVal }

func (a *activation) ResolveName(name string) (any, bool) {
	if name == "e" {
		return a.e, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// scratch is the per-Match working state, pooled per Ruleset so that the
// no-match path allocates nothing.
type scratch struct {
	gen        uint32
	slotGen    []uint32
	slotField  []int32
	foldGen    []uint32 // per event field index
	asciiGen   []uint32 // per event field index: gen when its string value is known to be ASCII
	kwDone     []uint32 // per event field index: gen when its field scan covered the keyword literals
	kwNoHit    []noHit  // per event field index: a value the keyword scan found nothing in
	slotNoHit  []noHit  // per slot: a value the field's scan found nothing in
	folded     []string
	buf        []byte // folded texts of this event
	tmp        []byte
	keyBuf     []byte
	hits       []int32
	fieldSlot  []int32 // per event field index: its slot, or -1
	routeSpans []int32 // per route group: key span in keyBuf, or -1
	lastRoute  []byte  // routing keys of the last event routed with this scratch
	lastSpans  []int32
	routeRaw   []mdr.Value // the values of the router's fields in the last event routed
	routeValid bool
	cand       []uint64
	kwMask     uint64 // open keyword classes of the last event with several (see keywordSet)
	kwSet      *acSet // their keyword set
	classOK    []bool
	openBits   []uint64 // classOK as a bitset
	mapOK      []bool
	act        activation
}

func (rs *Ruleset) newScratch() any {
	n := len(rs.paths)
	return &scratch{
		slotGen: make([]uint32, n), slotField: make([]int32, n),
		foldGen: make([]uint32, 64), asciiGen: make([]uint32, 64), kwDone: make([]uint32, 64), folded: make([]string, 64), kwNoHit: make([]noHit, 64),
		slotNoHit: make([]noHit, n),
		buf:       make([]byte, 0, 4096), tmp: make([]byte, 0, 256), keyBuf: make([]byte, 0, 128),
		hits: make([]int32, 0, 64), fieldSlot: make([]int32, 64),
		cand:    make([]uint64, 2*((len(rs.rules)+63)/64)), // first sets' hits, then second sets'
		classOK: make([]bool, len(rs.route.classes)), mapOK: make([]bool, rs.route.nmap),
		openBits: make([]uint64, (len(rs.route.classes)+63)/64),
		routeRaw: make([]mdr.Value, len(rs.route.slots)),
	}
}

// slot returns the field-table slot of path, adding it.
func (rs *Ruleset) slot(path string) int32 {
	if s, ok := rs.slotOf[path]; ok {
		return s
	}
	s := int32(len(rs.paths))
	rs.paths = append(rs.paths, path)
	rs.slotOf[path] = s
	return s
}

// build assigns slots, indexes routes and builds the prefilter.
func (rs *Ruleset) build() {
	st := &rs.stats
	// One copy of each path and argument for the whole ruleset: the same
	// literal recurs in many rules, and every heap object is marked by
	// every GC cycle of the host.
	intern := map[string]string{}
	in := func(s string) string {
		if t, ok := intern[s]; ok {
			return t
		}
		intern[s] = s
		return s
	}
	internAll := func(ss []string) {
		for i, s := range ss {
			ss[i] = in(s)
		}
	}
	// the rules' own copies of repeated metadata (tags, authors, false
	// positive notes, logsources): new slices, the caller's stay untouched
	internCopy := func(ss []string) []string {
		if len(ss) == 0 {
			return ss
		}
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = in(s)
		}
		return out
	}
	seen := map[*matcher]bool{}
	for _, cr := range rs.rules {
		r := &cr.rule
		r.Author, r.Status = in(r.Author), in(r.Status)
		ls := &r.Logsource
		ls.Product, ls.Category, ls.Service = in(ls.Product), in(ls.Category), in(ls.Service)
		r.Tags, r.FalsePositives = internCopy(r.Tags), internCopy(r.FalsePositives)
		cr.root.leaves(func(l *leaf) {
			if l.kind != lKeyword {
				l.slot = rs.slot(l.path)
				l.path = rs.paths[l.slot]
			}
			if m := l.m; m != nil && !seen[m] {
				seen[m] = true
				internAll(m.args)
				internAll(m.strs)
			}
		})
		if cr.rule.Hidden {
			st.Hidden++
		}
		if cr.native {
			st.Native++
		}
	}
	rs.buildRouter()
	perSlot := map[int32]map[string][]int32{}
	numSlot := map[int32]map[int64][]int32{}
	eqSlot := map[int32]map[string][]int32{}
	kw := map[string][]int32{}
	rs.pre.always = make([][]int32, len(rs.route.classes))
	nw := (len(rs.rules) + 63) / 64
	rs.pre.needB = make([]uint64, nw)
	// add indexes literal fl under id: the rule's index for its first set,
	// that index plus nw*64 (a bit in the second half of the candidate
	// bitmap) for its second set.
	add := func(fl fieldLit, id int32) {
		st.Literals++
		switch {
		case fl.num:
			addLit(slotMap(numSlot, rs.slot(fl.path)), fl.n, id)
		case fl.exact:
			addLit(slotMap(eqSlot, rs.slot(fl.path)), fl.lit, id)
		case fl.path == "":
			addLit(kw, literalWindow(fl.lit), id)
		default:
			addLit(slotMap(perSlot, rs.slot(fl.path)), literalWindow(fl.lit), id)
		}
	}
	for i, cr := range rs.rules {
		if !rs.cfg.prefilter || !cr.hasLit {
			rs.pre.always[cr.class] = append(rs.pre.always[cr.class], int32(i))
			if !cr.hasLit {
				st.Unfiltered++
			}
			continue
		}
		for _, fl := range cr.lits {
			add(fl, int32(i))
		}
	}
	// Second sets, where they cost no more scanning: a text literal of a
	// second set joins a field already scanned for first-set literals, and
	// only when it is no shorter than that field's shortest (the scan's
	// stride, see ahocorasick, follows the shortest literal).
	shortest := map[int32]int{} // per scanned field: its shortest literal of gramLen bytes or more
	for s, m := range perSlot {
		shortest[s] = strideLen(m)
	}
	for i, cr := range rs.rules {
		if !rs.cfg.prefilter || !cr.hasLit || len(cr.litsB) == 0 || !rs.cfg.everySecond && !rs.cheapSecond(cr.litsB, shortest) {
			continue
		}
		rs.pre.needB[i>>6] |= 1 << (i & 63)
		st.SecondSets++
		for _, fl := range cr.litsB {
			add(fl, int32(nw*64+i))
		}
	}
	rs.pre.numSlot = make([]*numSet, len(rs.paths))
	for s, m := range numSlot {
		rs.pre.numSlot[s] = rs.buildNumSet(m)
	}
	rs.pre.eqSlot = make([]*eqSet, len(rs.paths))
	for s, m := range eqSlot {
		rs.pre.eqSlot[s] = rs.buildEqSet(m)
	}
	rs.pre.bySlot = make([]*acSet, len(rs.paths))
	for s, m := range perSlot {
		rs.pre.bySlot[s] = rs.buildACSet(m)
	}
	if len(kw) > 0 {
		rs.pre.keyword = rs.buildACSet(kw)
		// The keyword literals of each route class apart: when only one
		// class with keyword rules is open (a Windows event meets the
		// product-wide keyword rules but not, say, the application log's),
		// its literals alone are scanned, which are fewer and often longer
		// (a longer stride in the 4-gram filter).
		byClass := map[int32]map[string][]int32{}
		for lit, rules := range kw {
			for _, r := range rules {
				c := rs.rules[rs.ruleOf(r)].class
				m := byClass[c]
				if m == nil {
					m = map[string][]int32{}
					byClass[c] = m
				}
				m[lit] = append(m[lit], r)
			}
		}
		rs.pre.kwByClass = make([]*acSet, len(rs.route.classes))
		for c, m := range byClass {
			rs.pre.kwByClass[c] = rs.buildACSet(m)
		}
		rs.pre.kwLits = byClass
		// Each scanned field also gets a set holding its own literals and
		// the keyword literals no shorter than its shortest: one pass over
		// its value then serves both scans, at the field's stride, for an
		// event whose keyword literals all qualify (see candidates).
		rs.pre.bySlotKW = make([]*acSet, len(rs.paths))
		rs.pre.kwFrom = make([]int32, len(rs.paths))
		for s, m := range perSlot {
			if len(m) > maxCombined {
				continue // a copy of a large set costs more memory than a second pass saves
			}
			short := strideLen(m) // after the second sets, which may add literals
			merged := make(map[string][]int32, len(m))
			for lit, ids := range m {
				merged[lit] = ids
			}
			added := false
			for lit, ids := range kw {
				if len(lit) >= short {
					merged[lit] = append(slices.Clip(merged[lit]), ids...)
					added = true
				}
			}
			if added {
				rs.pre.bySlotKW[s] = rs.buildACSet(merged)
				rs.pre.kwFrom[s] = int32(short)
			}
		}
	}
	rs.fidx = newFieldIndex(rs.paths)
	st.Rules = len(rs.rules)
	st.Correlations = len(rs.corr)
	st.Unrouted = rs.route.unrouted
	st.RouteClasses = len(rs.route.classes)
}

func sortStrings(s []string) { sort.Strings(s) }

// strideLen returns the length of the shortest literal of gramBytes or
// more in a field's index (maxStrideLen when none is shorter): the one that
// sets the stride of the field's scan (see ahocorasick).
func strideLen(m map[string][]int32) int {
	short := maxStrideLen
	for lit := range m {
		if len(lit) >= gramBytes && len(lit) < short {
			short = len(lit)
		}
	}
	return short
}

// maxCombined is the most literals a field may have for a combined field
// and keyword set (prefilter.bySlotKW).
const maxCombined = 2000

// slotMap returns the literal index of slot s, adding it.
func slotMap[K comparable](m map[int32]map[K][]int32, s int32) map[K][]int32 {
	l := m[s]
	if l == nil {
		l = map[K][]int32{}
		m[s] = l
	}
	return l
}

// addLit records that literal k selects rule id (once: a rule's literals
// are added together, so a repeat is the last entry).
func addLit[K comparable](m map[K][]int32, k K, id int32) {
	if l := m[k]; len(l) == 0 || l[len(l)-1] != id {
		m[k] = append(l, id)
	}
}

// field returns the index in the event of the field at slot, or -1.
func (sc *scratch) field(slot int32) int {
	if sc.slotGen[slot] != sc.gen {
		return -1
	}
	return int(sc.slotField[slot])
}

func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// foldedField returns fold(s) for the string value of event field i,
// computed once per event. The result is valid until the scratch is reused.
func (sc *scratch) foldedField(i int, s string) string {
	if sc.foldGen[i] == sc.gen {
		return sc.folded[i]
	}
	var f string
	if !needsFold(s) {
		f = s
	} else {
		start := len(sc.buf)
		sc.buf = appendFold(sc.buf, s)
		f = bytesString(sc.buf[start:])
	}
	sc.foldGen[i] = sc.gen
	sc.folded[i] = f
	return f
}

// foldTmp folds s into the temporary buffer (valid until the next call).
func (sc *scratch) foldTmp(s string) string {
	if !needsFold(s) {
		return s
	}
	sc.tmp = appendFold(sc.tmp[:0], s)
	return bytesString(sc.tmp)
}

// scalarText renders a non-string scalar into the temporary buffer the way
// mdr.Value.Text does (already folded: JSON numbers are finite).
func (sc *scratch) scalarText(v mdr.Value) (string, bool) {
	switch v.Kind() {
	case mdr.KindInt:
		i, _ := v.Int()
		sc.tmp = strconv.AppendInt(sc.tmp[:0], i, 10)
	case mdr.KindFloat:
		f, _ := v.Float()
		sc.tmp = strconv.AppendFloat(sc.tmp[:0], f, 'g', -1, 64) // lower-case for finite values
	case mdr.KindBool:
		b, _ := v.Bool()
		sc.tmp = strconv.AppendBool(sc.tmp[:0], b)
	default:
		return "", false
	}
	return bytesString(sc.tmp), true
}

// AppendMatches is Match appending to dst, so that a caller reusing dst
// allocates nothing for events that match no rule.
//
// A rule whose evaluation fails (its cost limit exceeded) does not stop the
// others: AppendMatches returns dst with every match found and an error
// joining one *EvalError per failed rule (see EvalErrors), naming the rule
// and the event's origin. Only when ctx is done does it stop early; the
// error then holds ctx.Err() too.
func (rs *Ruleset) AppendMatches(ctx context.Context, dst []Match, ev *mdr.Event) ([]Match, error) {
	if ev == nil || len(rs.rules) == 0 {
		return dst, nil
	}
	sc := rs.pool.Get().(*scratch)
	defer rs.pool.Put(sc)
	sc.gen++
	if sc.gen == 0 { // wrapped: forget every stamp
		clear(sc.slotGen)
		clear(sc.foldGen)
		clear(sc.asciiGen)
		clear(sc.kwDone)
		sc.gen = 1
	}
	if len(sc.foldGen) < ev.Len() { // grown once per larger event shape
		sc.foldGen = make([]uint32, ev.Len())
		sc.asciiGen = make([]uint32, ev.Len())
		sc.kwDone = make([]uint32, ev.Len())
		sc.fieldSlot = make([]int32, ev.Len())
		sc.folded = make([]string, ev.Len())
		sc.kwNoHit = append(sc.kwNoHit, make([]noHit, ev.Len()-len(sc.kwNoHit))...)
	}
	sc.buf = sc.buf[:0]

	for i := 0; i < ev.Len(); i++ {
		s := rs.fidx.lookup(ev.Field(i).Key)
		sc.fieldSlot[i] = s
		if s >= 0 {
			sc.slotGen[s] = sc.gen
			sc.slotField[s] = int32(i)
		}
	}
	rs.route.open(ev, sc)
	rs.candidates(ev, sc)
	var errs []error
	// A rule with a second literal set is a candidate only when both of its
	// sets had a hit.
	nw := len(rs.pre.needB)
	cand, candB := sc.cand[:nw], sc.cand[nw:]
	for w, need := range rs.pre.needB {
		cand[w] &= candB[w] | ^need
		candB[w] = 0
	}
	for w := range cand {
		word := cand[w]
		cand[w] = 0
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &^= 1 << b
			cr := rs.rules[w*64+b]
			if !sc.classOK[cr.class] {
				continue
			}
			ok, err := rs.eval(ctx, cr, ev, sc)
			if err != nil {
				if ctx.Err() != nil {
					clear(cand[w+1:])
					return dst, errors.Join(append(errs, err)...)
				}
				errs = append(errs, err)
				continue
			}
			if ok {
				dst = append(dst, Match{Rule: &cr.rule, Event: ev, Hidden: cr.rule.Hidden, Explanation: rs.explain(cr, ev, sc)})
			}
		}
	}
	return dst, errors.Join(errs...)
}

// candidates marks in sc.cand the rules to evaluate: the prefilter's hits
// and the unfiltered rules of open route classes.
func (rs *Ruleset) candidates(ev *mdr.Event, sc *scratch) {
	for c, ok := range sc.classOK {
		if !ok {
			continue
		}
		for _, r := range rs.pre.always[c] {
			sc.cand[r>>6] |= 1 << (r & 63)
		}
	}
	if !rs.cfg.prefilter {
		return
	}
	sc.hits = sc.hits[:0]
	kw := rs.keywordSet(sc)
	kwMin := int32(math.MaxInt32)
	if kw != nil {
		kwMin = kw.minLit
	}
	// One pass over the event's fields: each field's own literals (when a
	// rule reads it; a repeated key counts once, the last, as rules read
	// it), then the keyword literals unless the first scan covered them.
	for fi := 0; fi < ev.Len(); fi++ {
		v := ev.Field(fi).Value
		if s := sc.fieldSlot[fi]; s >= 0 && int(sc.slotField[s]) == fi {
			rs.scanSlot(s, fi, v, kw, kwMin, sc)
		}
		if kw == nil || sc.kwDone[fi] == sc.gen {
			continue
		}
		if str, ok := v.Str(); ok {
			scanString(kw, &sc.kwNoHit[fi], fi, str, sc)
			continue
		}
		if l, ok := v.List(); ok {
			for _, x := range l {
				if str, ok := x.Str(); ok {
					sc.hits = markHits(kw, kw.m.Scan(sc.hits[:0], sc.foldTmp(str)), sc)
				}
			}
		}
	}
}

// scanSlot marks the rules whose literals for the field at slot s are in
// its value v (event field fi): numbers, whole values, then the scanned
// literals. When every keyword literal of the event (kw, the shortest
// kwMin bytes) is in the field's combined set, it scans with that set and
// marks the field done for the keyword scan.
func (rs *Ruleset) scanSlot(s int32, fi int, v mdr.Value, kw *acSet, kwMin int32, sc *scratch) {
	if ns := rs.pre.numSlot[s]; ns != nil && sc.anyOpen(ns.open) {
		markNumber(ns, v, sc)
	}
	if es := rs.pre.eqSlot[s]; es != nil && sc.anyOpen(es.open) {
		markEqual(es, fi, v, sc, true)
	}
	set := rs.pre.bySlot[s]
	if set == nil || !sc.anyOpen(set.open) {
		return
	}
	if str, ok := v.Str(); ok {
		if kw != nil && rs.pre.bySlotKW[s] != nil && kwMin >= rs.pre.kwFrom[s] {
			set = rs.pre.bySlotKW[s]
			sc.kwDone[fi] = sc.gen
		}
		scanString(set, &sc.slotNoHit[s], fi, str, sc)
		return
	}
	rs.scanValue(set, fi, v, sc, true)
}

// scanString marks the rules of set's literals found in the string value
// str of event field fi, unless nh remembers str as a value set found
// nothing in; a value with no hit is remembered.
func scanString(set *acSet, nh *noHit, fi int, str string, sc *scratch) {
	if nh.same(set, str) {
		return
	}
	sc.hits = markHits(set, sc.scanField(set.m, fi, str), sc)
	if len(sc.hits) == 0 {
		nh.remember(set, str)
	}
}

// scanField scans the string value s of event field fi for m's literals,
// which are folded: an ASCII value is scanned as it is, lower-cased on the
// fly (ScanFold), any other through its folded form, made once per event.
func (sc *scratch) scanField(m *ahocorasick.Matcher, fi int, s string) []int32 {
	if sc.foldGen[fi] == sc.gen {
		return m.Scan(sc.hits[:0], sc.folded[fi])
	}
	if sc.asciiGen[fi] == sc.gen || isASCII(s) {
		sc.asciiGen[fi] = sc.gen
		return m.ScanFold(sc.hits[:0], s)
	}
	return m.Scan(sc.hits[:0], sc.foldedField(fi, s))
}

// keywordSet returns the keyword literals to scan this event's string
// values for: those of the route classes with keyword rules that are open,
// or nil when none is. One open class has its own set; several open
// together (a Windows event meets the product-wide keyword rules and, say,
// the security log's) get the union of their literals, built on first use
// (kwCombo) and remembered in sc for the next event. Scanning for every
// class's keywords instead would let one class's short literal set the
// stride for all events.
func (rs *Ruleset) keywordSet(sc *scratch) *acSet {
	kw := rs.pre.keyword
	if kw == nil {
		return nil
	}
	var mask uint64
	open, n := int32(-1), 0
	for i, c := range kw.classes {
		if sc.classOK[c] {
			open = c
			n++
			if i < 64 {
				mask |= 1 << i
			}
		}
	}
	switch {
	case n == 0:
		return nil
	case n == 1:
		return rs.pre.kwByClass[open]
	case len(kw.classes) > 64:
		return kw
	case sc.kwMask == mask && sc.kwSet != nil:
		return sc.kwSet
	}
	sc.kwMask, sc.kwSet = mask, rs.kwCombo(mask)
	return sc.kwSet
}

// maxKWCombos bounds the keyword sets kwCombo keeps; past it, events with
// a new combination of open classes scan for every keyword literal.
const maxKWCombos = 256

// kwCombo returns the union of the keyword literals of the classes whose
// bits mask sets (bit i: the class pre.keyword.classes[i]), building it
// once. It is safe for concurrent use: the ruleset stays immutable in
// behaviour, this is a cache of derived sets.
func (rs *Ruleset) kwCombo(mask uint64) *acSet {
	if v, ok := rs.kwCombos.Load(mask); ok {
		return v.(*acSet)
	}
	if rs.nKWCombos.Load() >= maxKWCombos {
		return rs.pre.keyword
	}
	m := map[string][]int32{}
	for i, c := range rs.pre.keyword.classes {
		if mask&(1<<i) == 0 {
			continue
		}
		for lit, ids := range rs.pre.kwLits[c] {
			m[lit] = append(m[lit], ids...)
		}
	}
	set, loaded := rs.kwCombos.LoadOrStore(mask, rs.buildACSet(m))
	if !loaded {
		rs.nKWCombos.Add(1)
	}
	return set.(*acSet)
}

// noHit remembers a string value in which a set's scan found no literal.
// The scan is a function of the set and the value alone, so the same value
// scanned with the same set again finds nothing either: many fields (the
// channel, the provider, the computer, a GUID) repeat from one event to the
// next, and comparing costs less than folding and scanning.
type noHit struct {
	set *acSet
	val []byte
}

// maxNoHit bounds the values remembered (longer ones rarely repeat).
const maxNoHit = 256

func (n *noHit) same(set *acSet, s string) bool {
	return n.set == set && string(n.val) == s
}

func (n *noHit) remember(set *acSet, s string) {
	if len(s) > maxNoHit {
		return
	}
	n.set = set
	n.val = append(n.val[:0], s...)
}

func (rs *Ruleset) scanValue(set *acSet, fi int, v mdr.Value, sc *scratch, top bool) {
	switch v.Kind() {
	case mdr.KindString:
		s, _ := v.Str()
		var f string
		if top {
			f = sc.foldedField(fi, s)
		} else {
			f = sc.foldTmp(s)
		}
		sc.hits = markHits(set, set.m.Scan(sc.hits[:0], f), sc)
	case mdr.KindList:
		l, _ := v.List()
		for _, x := range l {
			rs.scanValue(set, fi, x, sc, false)
		}
	default:
		if t, ok := sc.scalarText(v); ok {
			sc.hits = markHits(set, set.m.Scan(sc.hits[:0], t), sc)
		}
	}
}

// markEqual marks the rules whose exact literal equals the folded text of
// v (for a list, of any element), as scanValue folds it.
func markEqual(es *eqSet, fi int, v mdr.Value, sc *scratch, top bool) {
	var t string
	switch v.Kind() {
	case mdr.KindString:
		s, _ := v.Str()
		// folding shortens a text at most threefold (the Kelvin sign K is
		// three bytes, k one): a value this long cannot fold to a literal
		if len(s) > 4*es.maxLen {
			return
		}
		if top {
			t = sc.foldedField(fi, s)
		} else {
			t = sc.foldTmp(s)
		}
	case mdr.KindList:
		l, _ := v.List()
		for _, x := range l {
			markEqual(es, fi, x, sc, false)
		}
		return
	default:
		var ok bool
		if t, ok = sc.scalarText(v); !ok {
			return
		}
	}
	if len(t) > es.maxLen {
		return
	}
	for _, r := range es.rules[t] {
		sc.cand[r>>6] |= 1 << (r & 63)
	}
}

// markNumber marks the rules whose numeric literal equals v (or, for a
// list, any element), with the semantics of numEq: the value read as a
// number, integers exactly, floats only when integral.
func markNumber(ns *numSet, v mdr.Value, sc *scratch) {
	var n number
	var ok bool
	switch v.Kind() {
	case mdr.KindInt:
		i, _ := v.Int()
		n, ok = number{i: i, isInt: true}, true
	case mdr.KindFloat, mdr.KindString:
		t, isStr := v.Str()
		if !isStr {
			t, _ = sc.scalarText(v) // a non-text scalar leaves t empty: not a number
		}
		n, ok = parseNumber(t)
	case mdr.KindList:
		l, _ := v.List()
		for _, x := range l {
			markNumber(ns, x, sc)
		}
		return
	}
	if !ok {
		return
	}
	if !n.isInt {
		if n.f != math.Trunc(n.f) || n.f < math.MinInt64 || n.f >= math.MaxInt64 {
			return
		}
		n.i = int64(n.f)
	}
	for _, r := range ns.rules[n.i] {
		sc.cand[r>>6] |= 1 << (r & 63)
	}
}

// anyOpen reports whether any of the route classes in the bitset open (a
// set's classes) is open for this event.
func (sc *scratch) anyOpen(open []uint64) bool {
	for w, b := range open {
		if b&sc.openBits[w] != 0 {
			return true
		}
	}
	return false
}

func markHits(set *acSet, hits []int32, sc *scratch) []int32 {
	for _, h := range hits {
		for _, r := range set.ruleIDs[set.ruleAt[h]:set.ruleAt[h+1]] {
			sc.cand[r>>6] |= 1 << (r & 63)
		}
	}
	return hits
}

// eval evaluates one rule on the event.
func (rs *Ruleset) eval(ctx context.Context, cr *compiledRule, ev *mdr.Event, sc *scratch) (bool, error) {
	if cr.native {
		return rs.evalNode(cr.root, ev, sc), nil
	}
	sc.act.e = eventVal{ev: ev}
	out, _, err := cr.prg.ContextEval(ctx, &sc.act)
	sc.act.e = eventVal{}
	if err != nil {
		evalErr := func(cause error) *EvalError {
			return &EvalError{RuleID: cr.rule.ID, Event: ev.Origin(), EventID: ev.ID(), Err: cause}
		}
		if ctx.Err() != nil {
			return false, evalErr(ctx.Err())
		}
		var ec interpreter.EvalCancelledError
		if errors.As(err, &ec) {
			if ec.Cause == interpreter.CostLimitExceeded {
				return false, evalErr(ErrCost)
			}
			return false, evalErr(err)
		}
		return false, nil // an error caused by the event's data: no match
	}
	return out == types.True, nil
}
