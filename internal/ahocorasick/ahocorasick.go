package ahocorasick

// automaton is an Aho–Corasick automaton (see the package doc).
type automaton struct {
	classes [256]uint8
	// foldClasses is classes with each ASCII upper-case letter in the
	// class of its lower case: the automaton run over the lower-cased text.
	foldClasses [256]uint8
	nclass      int
	// delta[row+class] is the next state's row (state*nclass), with outFlag
	// set when that state has outputs: one load per byte, no multiply.
	delta    []uint32
	outStart []uint32 // outputs of state s: outs[outStart[s]:outStart[s+1]]
	outs     []int32
	npat     int
}

// newAutomaton compiles patterns; the empty pattern is ignored.
func newAutomaton(patterns []string) *automaton {
	m := &automaton{npat: len(patterns)}
	// byte classes: each byte used by a pattern gets its own class; class 0
	// is every other byte.
	used := [256]bool{}
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			used[p[i]] = true
		}
	}
	m.nclass = 1
	for b := 0; b < 256; b++ {
		if used[b] {
			m.classes[b] = uint8(m.nclass)
			m.nclass++
		}
	}
	if m.nclass > 256 { // all 256 bytes used: class 0 unused but index overflow
		m.nclass = 256
		for b := 0; b < 256; b++ {
			m.classes[b] = uint8(b)
		}
	}
	m.foldClasses = m.classes
	for b := 'A'; b <= 'Z'; b++ {
		m.foldClasses[b] = m.classes[b+'a'-'A']
	}
	nc := m.nclass
	// trie
	const none = ^uint32(0)
	goto_ := make([]uint32, nc) // state 0 = root
	for i := range goto_ {
		goto_[i] = none
	}
	outs := [][]int32{nil}
	for pi, p := range patterns {
		if p == "" {
			continue
		}
		s := uint32(0)
		for i := 0; i < len(p); i++ {
			c := m.classes[p[i]]
			nx := goto_[int(s)*nc+int(c)]
			if nx == none {
				nx = uint32(len(outs))
				outs = append(outs, nil)
				for k := 0; k < nc; k++ {
					goto_ = append(goto_, none)
				}
				goto_[int(s)*nc+int(c)] = nx
			}
			s = nx
		}
		outs[s] = append(outs[s], int32(pi))
	}
	nstates := len(outs)
	fail := make([]uint32, nstates)
	// BFS: complete the transition function and merge outputs.
	queue := make([]uint32, 0, nstates)
	for c := 0; c < nc; c++ {
		nx := goto_[c]
		if nx == none {
			goto_[c] = 0
			continue
		}
		fail[nx] = 0
		queue = append(queue, nx)
	}
	for qi := 0; qi < len(queue); qi++ {
		s := queue[qi]
		if f := fail[s]; len(outs[f]) > 0 {
			outs[s] = append(outs[s], outs[f]...)
		}
		for c := 0; c < nc; c++ {
			idx := int(s)*nc + c
			nx := goto_[idx]
			if nx == none {
				goto_[idx] = goto_[int(fail[s])*nc+c]
				continue
			}
			fail[nx] = goto_[int(fail[s])*nc+c]
			queue = append(queue, nx)
		}
	}
	if uint64(nstates)*uint64(nc) >= outFlag {
		panic("ahocorasick: automaton too large") // 2^31 table entries: far beyond any rule set
	}
	for i, nx := range goto_ {
		v := nx * uint32(nc)
		if len(outs[nx]) > 0 {
			v |= outFlag
		}
		goto_[i] = v
	}
	m.delta = goto_
	m.outStart = make([]uint32, nstates+1)
	for s := 0; s < nstates; s++ {
		m.outStart[s+1] = m.outStart[s] + uint32(len(outs[s]))
	}
	m.outs = make([]int32, 0, m.outStart[nstates])
	for s := 0; s < nstates; s++ {
		m.outs = append(m.outs, outs[s]...)
	}
	return m
}

// scan appends the index of every pattern occurrence in text, each byte
// read through classes (m.classes, or m.foldClasses for the lower-cased
// text).
func (m *automaton) scan(dst []int32, text string, classes *[256]uint8) []int32 {
	nc := uint32(m.nclass)
	delta := m.delta
	row := uint32(0)
	for i := 0; i < len(text); i++ {
		v := delta[row+uint32(classes[text[i]])]
		row = v &^ outFlag
		if v&outFlag != 0 {
			s := row / nc
			dst = append(dst, m.outs[m.outStart[s]:m.outStart[s+1]]...)
		}
	}
	return dst
}

const outFlag = 1 << 31

// contains reports whether any pattern occurs in text.
func (m *automaton) contains(text string) bool {
	row := uint32(0)
	for i := 0; i < len(text); i++ {
		v := m.delta[row+uint32(m.classes[text[i]])]
		if v&outFlag != 0 {
			return true
		}
		row = v
	}
	return false
}
