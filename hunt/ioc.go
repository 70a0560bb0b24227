package hunt

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/netip"
	"regexp"
	"strings"
	"unsafe"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/ahocorasick"
	"github.com/mdrkit/mdr/store"
)

// Kind is the kind of an indicator of compromise.
type Kind string

// Indicator kinds and how a sweep matches them (values case-insensitively,
// in every field of the event):
const (
	KindHash     Kind = "hash"     // MD5, SHA-1 or SHA-256 hex: a whole token of a value (Hashes="MD5=…,SHA256=…")
	KindIP       Kind = "ip"       // an IPv4 address (a whole token) or an IPv6 address (a whole value)
	KindCIDR     Kind = "cidr"     // an address inside the prefix: a whole value or an IPv4 token
	KindDomain   Kind = "domain"   // a whole token (so also the host of a URL)
	KindFilename Kind = "filename" // a whole token (cmd.exe in C:\Windows\cmd.exe); with spaces, a substring
	KindPath     Kind = "path"     // a substring of a value
	KindRegistry Kind = "registry" // a substring of a value
	KindCmdline  Kind = "cmdline"  // a substring of a value
)

var kinds = map[Kind]bool{KindHash: true, KindIP: true, KindCIDR: true, KindDomain: true, KindFilename: true, KindPath: true, KindRegistry: true, KindCmdline: true}

// Indicator is one indicator of compromise. It is a plain value.
type Indicator struct {
	// ID names the indicator: the STIX id, or source:line.
	ID    string `json:"id"`
	Kind  Kind   `json:"kind"`
	Value string `json:"value"`
	// Name is a label from the source (STIX name, CSV description).
	Name string `json:"name,omitempty"`
}

// Limits of indicator loading.
const (
	MaxIndicators   = 1_000_000
	MaxIndicatorLen = 4096
)

// ParseIndicators reads indicators from data, whose format is sniffed: a
// STIX 2.1 bundle (JSON with "type": "bundle"), CSV with a header naming a
// value column (value, indicator or ioc) and optionally a kind column
// (kind or type) and id and name/description columns, or a plain list (one
// value per line, # comments, an optional "kind:" prefix such as
// "cmdline:-enc"). A value without a kind gets one guessed from its shape
// (hex of 32, 40 or 64 digits: hash; an address: ip; a prefix: cidr; a
// registry hive: registry; a drive or a slash: path; a dotted name with a
// letter TLD: domain, unless its last label is a common file extension:
// filename).
//
// Indicators that cannot be used are returned as rejects (each an
// *IndicatorError naming source and line or object, with the reason: an
// unknown kind, an empty or too long value, a STIX pattern other than an
// equality or IN comparison); the error is for data that cannot be read at
// all.
func ParseIndicators(source string, data []byte) ([]Indicator, []*IndicatorError, error) {
	trim := bytes.TrimSpace(data)
	if len(trim) > 0 && trim[0] == '{' {
		return parseSTIX(source, trim)
	}
	first, _, _ := bytes.Cut(trim, []byte("\n"))
	if h := csvHeader(string(first)); h != nil {
		return parseCSV(source, data, h)
	}
	return parseList(source, data)
}

// csvHeader returns the column indexes of a CSV header line, or nil.
func csvHeader(line string) map[string]int {
	if !strings.Contains(line, ",") {
		return nil
	}
	cols, err := csv.NewReader(strings.NewReader(line)).Read()
	if err != nil {
		return nil
	}
	h := map[string]int{}
	for i, c := range cols {
		switch strings.ToLower(strings.TrimSpace(c)) {
		case "value", "indicator", "ioc":
			h["value"] = i
		case "kind", "type":
			h["kind"] = i
		case "id":
			h["id"] = i
		case "name", "description":
			h["name"] = i
		}
	}
	if _, ok := h["value"]; !ok {
		return nil
	}
	return h
}

type indicatorSet struct {
	source string
	out    []Indicator
	rej    []*IndicatorError
}

func (s *indicatorSet) add(line int, id string, kind Kind, value, name string) error {
	if len(s.out) >= MaxIndicators {
		return fmt.Errorf("%w: %s: more than %d indicators", ErrIndicator, s.source, MaxIndicators)
	}
	value = strings.TrimSpace(value)
	switch {
	case value == "":
		s.reject(line, "empty value")
		return nil
	case len(value) > MaxIndicatorLen:
		s.reject(line, fmt.Sprintf("value longer than %d bytes", MaxIndicatorLen))
		return nil
	}
	if kind == "" {
		kind = guessKind(value)
	}
	if !kinds[kind] {
		s.reject(line, fmt.Sprintf("unknown kind %q (want hash, ip, cidr, domain, filename, path, registry or cmdline)", kind))
		return nil
	}
	switch kind {
	case KindIP:
		if _, err := netip.ParseAddr(value); err != nil {
			s.reject(line, fmt.Sprintf("ip %q: %v", value, err))
			return nil
		}
	case KindCIDR:
		if _, err := netip.ParsePrefix(value); err != nil {
			s.reject(line, fmt.Sprintf("cidr %q: %v", value, err))
			return nil
		}
	case KindHash:
		if !hashRE.MatchString(value) {
			s.reject(line, fmt.Sprintf("hash %q is not 32, 40 or 64 hex digits", value))
			return nil
		}
	}
	if id == "" {
		id = fmt.Sprintf("%s:%d", s.source, line)
	}
	s.out = append(s.out, Indicator{ID: id, Kind: kind, Value: value, Name: name})
	return nil
}

func (s *indicatorSet) reject(line int, reason string) {
	s.rej = append(s.rej, &IndicatorError{Source: s.source, Line: line, Reason: reason})
}

var (
	hashRE   = regexp.MustCompile(`^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$`)
	domainRE = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}$`)
	driveRE  = regexp.MustCompile(`^[A-Za-z]:[\\/]`)
	fileExts = map[string]bool{"exe": true, "dll": true, "sys": true, "ps1": true, "bat": true, "cmd": true, "vbs": true, "js": true,
		"jse": true, "hta": true, "scr": true, "lnk": true, "doc": true, "docx": true, "docm": true, "xls": true, "xlsx": true, "xlsm": true,
		"pdf": true, "zip": true, "rar": true, "7z": true, "iso": true, "img": true, "msi": true, "tmp": true, "dat": true, "bin": true,
		"txt": true, "jar": true, "py": true, "sh": true, "elf": true, "so": true, "wsf": true, "cpl": true, "ocx": true, "inf": true}
)

// guessKind guesses an indicator's kind from its shape.
func guessKind(v string) Kind {
	lower := strings.ToLower(v)
	switch {
	case hashRE.MatchString(v):
		return KindHash
	case strings.Contains(v, "/") && !strings.Contains(v, " ") && validPrefix(v):
		return KindCIDR
	case validAddr(v):
		return KindIP
	case strings.HasPrefix(lower, "hklm\\") || strings.HasPrefix(lower, "hkcu\\") || strings.HasPrefix(lower, "hkey_") ||
		strings.HasPrefix(lower, "hku\\") || strings.HasPrefix(lower, "\\registry\\"):
		return KindRegistry
	case driveRE.MatchString(v) || strings.HasPrefix(v, "\\\\") || strings.HasPrefix(v, "/"):
		return KindPath
	case domainRE.MatchString(v):
		if i := strings.LastIndexByte(lower, '.'); fileExts[lower[i+1:]] {
			return KindFilename
		}
		return KindDomain
	case !strings.ContainsAny(v, `\/ `) && strings.Contains(v, "."):
		return KindFilename
	}
	return KindCmdline
}

func validAddr(v string) bool   { _, err := netip.ParseAddr(v); return err == nil }
func validPrefix(v string) bool { _, err := netip.ParsePrefix(v); return err == nil }

func parseList(source string, data []byte) ([]Indicator, []*IndicatorError, error) {
	s := &indicatorSet{source: source}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), MaxIndicatorLen+1024)
	line := 0
	for sc.Scan() {
		line++
		v := strings.TrimSpace(sc.Text())
		if v == "" || strings.HasPrefix(v, "#") {
			continue
		}
		var kind Kind
		if k, rest, ok := strings.Cut(v, ":"); ok && kinds[Kind(strings.ToLower(k))] {
			kind, v = Kind(strings.ToLower(k)), rest
		}
		if err := s.add(line, "", kind, v, ""); err != nil {
			return nil, nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%w: %s:%d: %v", ErrIndicator, source, line+1, err)
	}
	return s.out, s.rej, nil
}

func parseCSV(source string, data []byte, h map[string]int) ([]Indicator, []*IndicatorError, error) {
	s := &indicatorSet{source: source}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	if _, err := r.Read(); err != nil { // the header
		return nil, nil, fmt.Errorf("%w: %s:1: %v", ErrIndicator, source, err)
	}
	col := func(rec []string, name string) string {
		if i, ok := h[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %v", ErrIndicator, source, err)
		}
		line := 0
		if len(rec) > 0 {
			line, _ = r.FieldPos(0)
		}
		kind := Kind(strings.ToLower(strings.TrimSpace(col(rec, "kind"))))
		if err := s.add(line, strings.TrimSpace(col(rec, "id")), kind, col(rec, "value"), col(rec, "name")); err != nil {
			return nil, nil, err
		}
	}
	return s.out, s.rej, nil
}

// stixObjects maps STIX object paths (type:property) to indicator kinds.
var stixObjects = map[string]Kind{
	"file:hashes.md5": KindHash, "file:hashes.'md5'": KindHash, "file:hashes.'sha-1'": KindHash, "file:hashes.sha1": KindHash,
	"file:hashes.'sha-256'": KindHash, "file:hashes.sha256": KindHash,
	"ipv4-addr:value": KindIP, "ipv6-addr:value": KindIP, "domain-name:value": KindDomain, "url:value": KindCmdline,
	"file:name": KindFilename, "directory:path": KindPath, "windows-registry-key:key": KindRegistry,
	"process:command_line": KindCmdline,
}

// stixComparison is one comparison expression: [object:path = 'v'] or
// [object:path IN ('a', 'b')].
var stixComparison = regexp.MustCompile(`^\[\s*([a-z0-9-]+:[A-Za-z0-9_.'-]+)\s+(=|IN)\s+(.+?)\s*\]$`)

// stixCompound finds the operators and qualifiers of patterns that are not
// one comparison (outside quoted strings, which hold no spaces around
// these words in practice).
var stixCompound = regexp.MustCompile(`\s(AND|OR|FOLLOWEDBY|WITHIN|REPEATS|START|STOP|LIKE|MATCHES|ISSUBSET|ISSUPERSET|NOT|!=|<=|>=|<|>)\s`)

var stixString = regexp.MustCompile(`'((?:[^'\\]|\\.)*)'`)

func parseSTIX(source string, data []byte) ([]Indicator, []*IndicatorError, error) {
	var bundle struct {
		Type    string            `json:"type"`
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(data, &bundle); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: not a STIX bundle: %v", ErrIndicator, source, err)
	}
	if bundle.Type != "bundle" {
		return nil, nil, fmt.Errorf("%w: %s: STIX type %q, want bundle", ErrIndicator, source, bundle.Type)
	}
	s := &indicatorSet{source: source}
	for i, raw := range bundle.Objects {
		var o struct {
			Type        string `json:"type"`
			ID          string `json:"id"`
			Name        string `json:"name"`
			Pattern     string `json:"pattern"`
			PatternType string `json:"pattern_type"`
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			s.reject(i+1, fmt.Sprintf("object %d: %v", i+1, err))
			continue
		}
		if o.Type != "indicator" {
			continue
		}
		if o.PatternType != "" && o.PatternType != "stix" {
			s.reject(i+1, fmt.Sprintf("indicator %s: pattern_type %q (only stix patterns are read)", o.ID, o.PatternType))
			continue
		}
		if op := stixCompound.FindString(o.Pattern); op != "" {
			s.reject(i+1, fmt.Sprintf("indicator %s: pattern %q uses %s (only one equality or IN comparison is read)", o.ID, o.Pattern, strings.TrimSpace(op)))
			continue
		}
		m := stixComparison.FindStringSubmatch(strings.TrimSpace(o.Pattern))
		if m == nil {
			s.reject(i+1, fmt.Sprintf("indicator %s: pattern %q is not one equality or IN comparison", o.ID, o.Pattern))
			continue
		}
		kind, ok := stixObjects[strings.ToLower(m[1])]
		if !ok {
			s.reject(i+1, fmt.Sprintf("indicator %s: object path %s is not supported", o.ID, m[1]))
			continue
		}
		var vals []string
		if m[2] == "=" {
			sm := stixString.FindStringSubmatch(m[3])
			if sm == nil || sm[0] != m[3] {
				s.reject(i+1, fmt.Sprintf("indicator %s: %s is not one quoted string", o.ID, m[3]))
				continue
			}
			vals = []string{sm[1]}
		} else {
			list := strings.TrimSpace(m[3])
			if !strings.HasPrefix(list, "(") || !strings.HasSuffix(list, ")") {
				s.reject(i+1, fmt.Sprintf("indicator %s: IN needs a parenthesised list", o.ID))
				continue
			}
			for _, sm := range stixString.FindAllStringSubmatch(list, -1) {
				vals = append(vals, sm[1])
			}
			if len(vals) == 0 {
				s.reject(i+1, fmt.Sprintf("indicator %s: IN with no string", o.ID))
				continue
			}
		}
		for _, v := range vals {
			v = strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(v)
			k := kind
			if k == KindIP && strings.Contains(v, "/") {
				k = KindCIDR
			}
			if err := s.add(i+1, o.ID, k, v, o.Name); err != nil {
				return nil, nil, err
			}
		}
	}
	return s.out, s.rej, nil
}

// Sweeper matches indicators against events. The cost per event does not
// grow with the number of indicators: token-like indicators (hashes,
// IPv4 addresses, domains, file names) are looked up in one hash map per
// token of the event's values, substrings are found by one Aho-Corasick
// scan per value (internal/ahocorasick), and addresses in prefixes by one
// map lookup per prefix length. A Sweeper is immutable and safe for
// concurrent use.
type Sweeper struct {
	inds   []Indicator
	tokens map[string][]int32 // normalised token -> indicators
	lens   [256][2]uint64     // first byte of a token -> bit n set when a token of length n (< 128) starts with it
	subs   *ahocorasick.Matcher
	subIdx []int32                // AC pattern -> indicator
	addrs  map[netip.Addr][]int32 // IPv6 (and IPv4) addresses as whole values
	nets   map[netip.Prefix][]int32
	bits   []int // prefix lengths present in nets
	plan   plan
}

// NewSweeper compiles indicators.
func NewSweeper(inds []Indicator) (*Sweeper, error) {
	if len(inds) == 0 {
		return nil, fmt.Errorf("%w: no indicators", ErrIndicator)
	}
	sw := &Sweeper{inds: inds, tokens: map[string][]int32{}, addrs: map[netip.Addr][]int32{}, nets: map[netip.Prefix][]int32{}}
	var subs []string
	var req requirement
	planned := true
	bitsSeen := map[int]bool{}
	for i, in := range inds {
		idx := int32(i)
		norm := store.Normalize(in.Value)
		switch in.Kind {
		case KindIP:
			a, err := netip.ParseAddr(in.Value)
			if err != nil {
				return nil, &IndicatorError{Source: in.ID, Reason: err.Error()}
			}
			a = a.Unmap()
			sw.addrs[a] = append(sw.addrs[a], idx)
			if a.Is4() {
				sw.tokens[a.String()] = append(sw.tokens[a.String()], idx)
				req = append(req, atom{value: a.String()})
			} else {
				planned = false
			}
			continue
		case KindCIDR:
			p, err := netip.ParsePrefix(in.Value)
			if err != nil {
				return nil, &IndicatorError{Source: in.ID, Reason: err.Error()}
			}
			p = p.Masked()
			sw.nets[p] = append(sw.nets[p], idx)
			bitsSeen[p.Bits()] = true
			planned = false
			continue
		case KindHash, KindDomain, KindFilename:
			if tok, ok := singleToken(norm); ok {
				sw.tokens[tok] = append(sw.tokens[tok], idx)
				req = append(req, atom{value: tok})
				continue
			}
		}
		subs = append(subs, norm)
		sw.subIdx = append(sw.subIdx, idx)
		if tok, ok := wholeToken(in.Value, false, false); ok && isASCII(in.Value) {
			req = append(req, atom{value: tok})
		} else {
			planned = false
		}
	}
	for tok := range sw.tokens { // tokens are 1 to store.MaxTokenLen (128) bytes
		if n := len(tok); n < 128 {
			sw.lens[tok[0]][n>>6] |= 1 << (n & 63)
		} else {
			sw.lens[tok[0]] = [2]uint64{^uint64(0), ^uint64(0)}
		}
	}
	for b := range bitsSeen {
		sw.bits = append(sw.bits, b)
	}
	if len(subs) > 0 {
		sw.subs = ahocorasick.New(subs)
	}
	if planned && len(req) > 0 {
		sw.plan = plan{req}
	}
	return sw, nil
}

// singleToken reports whether norm is one whole token.
func singleToken(norm string) (string, bool) {
	if norm == "" || len(norm) > store.MaxTokenLen {
		return "", false
	}
	for i := 0; i < len(norm); i++ {
		c := norm[i]
		if !(('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '.' || c == '-' || c == '_') {
			return "", false
		}
	}
	return norm, true
}

// Len returns the number of indicators.
func (sw *Sweeper) Len() int { return len(sw.inds) }

// IOCHit is one indicator found in one field of one event. It is a plain
// value.
type IOCHit struct {
	Indicator Indicator
	Field     string // the field (a dotted path for nested values)
	Event     *mdr.Event
}

// sweepState is the per-sweep scratch.
type sweepState struct {
	buf  []byte
	path []byte
	hits []int32
	seen map[[2]int32]bool // (indicator, field) already reported for this event
	out  []IOCHit
	fi   int32
}

// Match appends to dst the hits of ev.
func (sw *Sweeper) Match(dst []IOCHit, ev *mdr.Event) []IOCHit {
	st := &sweepState{out: dst}
	sw.match(st, ev)
	return st.out
}

func (sw *Sweeper) match(st *sweepState, ev *mdr.Event) {
	clear(st.seen)
	for i := range ev.Len() {
		f := ev.Field(i)
		st.path = append(st.path[:0], f.Key...)
		st.fi = int32(i)
		sw.value(st, ev, f.Value, 0)
	}
}

func (sw *Sweeper) value(st *sweepState, ev *mdr.Event, v mdr.Value, depth int) {
	switch v.Kind() {
	case mdr.KindObject:
		if depth >= maxValueDepth {
			return
		}
		ms, _ := v.Members()
		n := len(st.path)
		for _, m := range ms {
			st.path = append(append(st.path[:n], '.'), m.Key...)
			sw.value(st, ev, m.Value, depth+1)
		}
		st.path = st.path[:n]
	case mdr.KindList:
		if depth >= maxValueDepth {
			return
		}
		items, _ := v.List()
		for _, it := range items {
			sw.value(st, ev, it, depth+1)
		}
	case mdr.KindString:
		s, _ := v.Str()
		sw.text(st, ev, s)
	}
}

const maxValueDepth = 32

func (sw *Sweeper) text(st *sweepState, ev *mdr.Event, s string) {
	if len(sw.tokens) > 0 {
		st.buf = store.AppendNormalized(st.buf[:0], s)
		store.Tokens(bytesString(st.buf), func(tok string, _, _ bool) {
			if n := min(len(tok), 127); sw.lens[tok[0]][n>>6]&(1<<(n&63)) != 0 {
				for _, idx := range sw.tokens[tok] {
					sw.hit(st, ev, idx)
				}
			}
			if len(sw.nets) > 0 && looksIPv4(tok) {
				sw.inNets(st, ev, tok)
			}
		})
	}
	if sw.subs != nil {
		st.hits = sw.subs.ScanFold(st.hits[:0], s)
		for _, p := range st.hits {
			sw.hit(st, ev, sw.subIdx[p])
		}
	}
	if (len(sw.addrs) > 0 || len(sw.nets) > 0) && looksIPv6(s) {
		if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil {
			a = a.Unmap()
			for _, idx := range sw.addrs[a] {
				sw.hit(st, ev, idx)
			}
			sw.addrInNets(st, ev, a)
		}
	}
}

// looksIPv6 reports whether s may be an IPv6 address (before parsing it:
// a failed parse allocates its error).
func looksIPv6(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) < 2 || len(s) > 45 || !strings.Contains(s, ":") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == ':' || c == '.' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F') || c == '%') {
			return false
		}
	}
	return true
}

func looksIPv4(tok string) bool {
	if len(tok) < 7 || len(tok) > 15 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func (sw *Sweeper) inNets(st *sweepState, ev *mdr.Event, tok string) {
	if a, err := netip.ParseAddr(tok); err == nil {
		sw.addrInNets(st, ev, a)
	}
}

func (sw *Sweeper) addrInNets(st *sweepState, ev *mdr.Event, a netip.Addr) {
	for _, b := range sw.bits {
		if p, err := a.Prefix(b); err == nil {
			for _, idx := range sw.nets[p] {
				sw.hit(st, ev, idx)
			}
		}
	}
}

func (sw *Sweeper) hit(st *sweepState, ev *mdr.Event, idx int32) {
	k := [2]int32{idx, st.fi}
	if st.seen == nil {
		st.seen = map[[2]int32]bool{}
	}
	if st.seen[k] {
		return
	}
	st.seen[k] = true
	st.out = append(st.out, IOCHit{Indicator: sw.inds[idx], Field: string(st.path), Event: ev})
}

// Sweep is the configuration of an IOC sweep. It is a plain value.
type Sweep struct {
	Range
	// Limit stops the sweep after this many hits; 0 means no limit.
	Limit    int
	Progress ProgressFunc
}

// Sweep streams every hit of the indicators in the events of cfg's range,
// in time order (the hits of one event in field order). On a Summarized
// store it reads only the segments whose summary may hold one of the
// token-like indicators (when every indicator has a whole token).
func (sw *Sweeper) Sweep(ctx context.Context, src store.Events, cfg Sweep) iter.Seq2[IOCHit, error] {
	return func(yield func(IOCHit, error) bool) {
		var keep func(*store.Summary) bool
		if len(sw.plan) > 0 {
			keep = sw.plan.keep
		}
		sc := newScanner(src, cfg.Range, keep, cfg.Progress)
		defer func() { sc.report(true) }()
		st := &sweepState{}
		for ev, err := range sc.events(ctx) {
			if err != nil {
				yield(IOCHit{}, err)
				return
			}
			st.out = st.out[:0]
			sw.match(st, ev)
			for _, h := range st.out {
				sc.p.Matched++
				if !yield(h, nil) {
					return
				}
				if cfg.Limit > 0 && sc.p.Matched >= int64(cfg.Limit) {
					return
				}
			}
		}
	}
}

// bytesString views b as a string without copying; b must not change while
// the string is used.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
