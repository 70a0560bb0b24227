package triage

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// Store is what a Queue persists to: alerts, incidents, the audit chain and
// one state snapshot. store.Memory and store/badger implement it.
type Store interface {
	store.Alerts
	store.Incidents
	store.Audit
	store.State
}

// Linker finds the causal chain behind an alert: the ids of the entities
// (processes, files, hosts, logons) that led to it. Two alerts whose chains
// intersect are causally linked and join one incident, whatever the
// entity matching says. The investigation graph implements it; a Linker
// must be safe for use from the goroutine that calls Queue.Push.
type Linker interface {
	CausalChain(ctx context.Context, a *mdr.Alert) ([]string, error)
}

// Alert statuses of the queue.
const (
	AlertNew        = store.StatusNew
	AlertSuppressed = store.StatusSuppressed
)

// Alert is an alert as the queue holds it: the alert a rule raised, its
// score with parts, how often it occurred within the dedup window (Count,
// First, and Alert.Time as the last), its status and its incident. It is a
// plain value, safe to copy; its slices are shared by copies.
type Alert struct {
	mdr.Alert
	Score        Score     `json:"score"`
	Count        int       `json:"count"`
	First        time.Time `json:"first"`
	Status       string    `json:"status"`
	SuppressedBy string    `json:"suppressed_by,omitempty"`
	IncidentID   string    `json:"incident_id,omitempty"`
	Version      uint64    `json:"version"`
}

// Pushed says what Push did with an alert.
type Pushed struct {
	AlertID      string // the alert that holds it (the earlier one when deduplicated)
	IncidentID   string // "" for a suppressed alert outside any incident
	Deduplicated bool
	Suppressed   bool
	Replayed     bool // an alert with this id was already in the queue
}

// Stats counts what a Queue did since it was opened (Open counts what is
// in memory now).
type Stats struct {
	Pushed       int64 `json:"pushed"`
	Deduplicated int64 `json:"deduplicated"`
	Suppressed   int64 `json:"suppressed"`
	Replayed     int64 `json:"replayed"`
	// ReplayedStored counts alerts pushed again whose record was no longer
	// in memory; Flush keeps the stored record (the incident in memory
	// still counted the push).
	ReplayedStored    int64 `json:"replayed_stored"`
	IncidentsCreated  int64 `json:"incidents_created"`
	Reopened          int64 `json:"reopened"`
	LinkedCausally    int64 `json:"linked_causally"`
	LinkErrors        int64 `json:"link_errors"`
	SuppressionErrors int64 `json:"suppression_errors"`
	EvictedIncidents  int64 `json:"evicted_incidents"`
	EvictedAlerts     int64 `json:"evicted_alerts"`
	DroppedEventIDs   int64 `json:"dropped_event_ids"`
	DroppedPatterns   int64 `json:"dropped_patterns"`
	OpenIncidents     int   `json:"open_incidents"`
	OpenAlerts        int   `json:"open_alerts"`
}

// Option adds a host-supplied part to a Queue.
type Option func(*Queue) error

// WithLinker groups causally linked alerts (see Linker).
func WithLinker(l Linker) Option { return func(q *Queue) error { q.linker = l; return nil } }

// WithCatalog tells the rule scorer rule statuses and known false
// positives (see CatalogOf).
func WithCatalog(c RuleCatalog) Option { return func(q *Queue) error { q.catalog = c; return nil } }

// WithScorers appends host scorers after the built-in alert scorers.
func WithScorers(s ...AlertScorer) Option {
	return func(q *Queue) error { q.extra = append(q.extra, s...); return nil }
}

// WithIncidentScorers appends host scorers after the built-in incident
// parts.
func WithIncidentScorers(s ...IncidentScorer) Option {
	return func(q *Queue) error { q.iscorers = append(q.iscorers, s...); return nil }
}

// WithFeedback makes the queue learn into (and score from) f, which may be
// shared with other queues; by default each queue has its own, persisted
// with its state.
func WithFeedback(f *Feedback) Option {
	return func(q *Queue) error {
		if f == nil {
			return fmt.Errorf("%w: nil feedback", ErrConfig)
		}
		q.fb, q.sharedFB = f, true
		return nil
	}
}

// WithBaseline loads prior rarity knowledge (see Baseline).
func WithBaseline(b *Baseline) Option { return func(q *Queue) error { q.baseline = b; return nil } }

// WithClock sets the clock of the Updated times and audit records (default
// time.Now); event times never come from it.
func WithClock(now func() time.Time) Option { return func(q *Queue) error { q.now = now; return nil } }

// Queue is the scoring queue: alerts in, scored, deduplicated, suppressed
// and grouped into incidents; incidents out by score; analysts' status
// changes and verdicts back in. See the package documentation for the
// model.
//
// A Queue is safe for concurrent use; its methods serialise on one lock.
// Push works in memory; Flush writes what changed to the store (one
// versioned write per changed alert and incident, then the snapshot of the
// learned state). Status changes, assignments and verdicts are written at
// once, each as one versioned incident write plus one audit record.
type Queue struct {
	mu  sync.Mutex
	cfg Config
	st  Store
	now func() time.Time

	linker   Linker
	catalog  RuleCatalog
	extra    []AlertScorer
	iscorers []IncidentScorer
	scorers  []AlertScorer
	rarity   *rarity
	risk     *entityRisk
	fb       *Feedback
	sharedFB bool
	baseline *Baseline
	sups     []*compiledSuppression
	added    []Suppression // suppressions added at run time (persisted)
	env      *cel.Env
	ignore   []*regexp.Regexp
	kinds    []mdr.EntityKind
	useHost  bool

	alerts    map[string]*alertState
	dedup     map[string]*alertState
	incidents map[string]*incState
	names     map[string]nameInfo
	tags      map[string]*ruleTags
	byEntity  map[string][]*incState // most recent last, at most maxPerEntity
	byChain   map[string]*incState
	recent    [2]namedInfo  // the names looked up last, most recent first
	partBuf   [16]Part      // the parts of the alert being scored
	dirtyA    []*alertState // changed since the last Flush (alertState.dirty set)
	dirtyI    []*incState
	seq       uint64
	stats     Stats
}

type alertState struct {
	Alert
	dirty bool
	key   string
	inc   *incState
	chain []string // causal chain between findIncident and index
}

// Open returns the queue persisted in st (an empty one for an empty
// store): the learned state from its snapshot, the incidents and their
// alerts from their records, so that a queue reopened on the same store
// continues exactly where the last Flush left it.
func Open(ctx context.Context, st Store, cfg Config, opts ...Option) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	q := &Queue{cfg: cfg, st: st, now: time.Now,
		alerts: map[string]*alertState{}, dedup: map[string]*alertState{}, incidents: map[string]*incState{},
		names: map[string]nameInfo{}, tags: map[string]*ruleTags{},
		byEntity: map[string][]*incState{}, byChain: map[string]*incState{}}
	for _, o := range opts {
		if err := o(q); err != nil {
			return nil, err
		}
	}
	if q.fb == nil {
		q.fb = NewFeedback(cfg.MaxPatterns)
	}
	if len(cfg.KnownFalsePositives) > 0 {
		q.catalog = withKnownFPs(q.catalog, cfg.KnownFalsePositives)
	}
	q.risk = newEntityRisk(cfg.MaxPatterns, cfg.RiskWindow)
	q.rarity = newRarity(cfg.MaxPatterns, cfg.Weights.Prevalence, cfg.Weights.Repeat, q.baseline)
	q.scorers = append([]AlertScorer{&RuleBase{Weights: cfg.Weights, Catalog: q.catalog}, &Criticality{Rules: cfg.Criticality}, q.rarity, feedbackScorer{q.fb}}, q.extra...)
	var err error
	if q.env, err = suppressionEnv(); err != nil {
		return nil, err
	}
	for _, s := range cfg.Suppressions {
		cs, err := compileSuppression(q.env, s)
		if err != nil {
			return nil, &ConfigError{Key: "suppressions", Err: err}
		}
		q.sups = append(q.sups, cs)
	}
	for _, p := range cfg.IgnoreEntities {
		q.ignore = append(q.ignore, regexp.MustCompile("(?i)"+p))
	}
	for _, k := range cfg.MatchKinds {
		kind, _ := mdr.ParseEntityKind(k)
		if kind == mdr.EntityHost {
			q.useHost = true
			continue
		}
		q.kinds = append(q.kinds, kind)
	}
	if err := q.load(ctx); err != nil {
		return nil, err
	}
	return q, nil
}

func (q *Queue) ignored(name string) bool { return q.name(name).ignored }

// nameInfo is what the queue derives from an entity name, cached.
type nameInfo struct {
	ignored bool
	hostKey string // "host:" + the lower-cased name
}

type namedInfo struct {
	name string
	info nameInfo
}

const maxNameCache = 1 << 16

// name returns what the queue derives from n: from the two names looked
// up last (a push asks for its host and user several times), else from
// the cache.
func (q *Queue) name(n string) nameInfo {
	if q.recent[0].name == n && q.recent[0].info.hostKey != "" {
		return q.recent[0].info
	}
	if q.recent[1].name == n && q.recent[1].info.hostKey != "" {
		q.recent[0], q.recent[1] = q.recent[1], q.recent[0]
		return q.recent[0].info
	}
	ni := q.lookupName(n)
	q.recent[1], q.recent[0] = q.recent[0], namedInfo{n, ni}
	return ni
}

func (q *Queue) lookupName(n string) nameInfo {
	if ni, ok := q.names[n]; ok {
		return ni
	}
	ni := nameInfo{hostKey: "host:" + strings.ToLower(n)}
	for _, re := range q.ignore {
		if re.MatchString(n) {
			ni.ignored = true
			break
		}
	}
	if len(q.names) >= maxNameCache {
		clear(q.names)
	}
	q.names[n] = ni
	return ni
}

// lower returns s lower-cased: s itself when it holds no upper-case or
// non-ASCII letter (as strings.ToLower would), else through the name cache.
func (q *Queue) lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || ('A' <= c && c <= 'Z') {
			return q.lookupName(s).hostKey[len("host:"):]
		}
	}
	return s
}

// ruleTags are the ATT&CK tactics and techniques of a rule's tags.
type ruleTags struct {
	tactics    []*mdr.Tactic
	techniques []string
}

func (q *Queue) tagsOf(a *mdr.Alert) *ruleTags {
	if t, ok := q.tags[a.RuleID]; ok {
		return t
	}
	t := &ruleTags{tactics: mdr.TacticsOf(a.Tags), techniques: mdr.TechniquesOf(a.Tags)}
	if len(q.tags) < q.cfg.MaxPatterns {
		q.tags[a.RuleID] = t
	}
	return t
}

// Push adds one alert, raised on ev (nil when the event is not at hand;
// suppressions over event fields then see none). It scores the alert,
// deduplicates it, applies suppressions and groups it into an incident.
// Pushing an alert id the queue already holds changes nothing (Replayed).
func (q *Queue) Push(ctx context.Context, a mdr.Alert, ev *mdr.Event) (Pushed, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stats.Pushed++
	q.seq++
	if old, ok := q.alerts[a.ID]; ok {
		q.stats.Replayed++
		return Pushed{AlertID: old.ID, IncidentID: old.IncidentID, Replayed: true, Suppressed: old.Status == AlertSuppressed}, nil
	}
	var err error
	var sup *compiledSuppression
	if len(q.sups) > 0 {
		sup, err = matchSuppressions(ctx, q.sups, &a, ev)
		if err != nil {
			q.stats.SuppressionErrors++
		}
	}
	key := q.dedupKey(&a)
	if q.cfg.DedupWindow > 0 {
		if as := q.dedup[key]; as != nil && absDur(a.Time.Sub(as.Time)) <= q.cfg.DedupWindow &&
			(as.Status == AlertSuppressed) == (sup != nil) {
			return q.dedupInto(as, &a), err
		}
	}
	as := &alertState{Alert: Alert{Alert: a, Count: 1, First: a.Time, Status: AlertNew}, key: key}
	as.EventIDs = slices.Clone(a.EventIDs)
	if sup != nil {
		as.Status, as.SuppressedBy = AlertSuppressed, sup.ID
		q.stats.Suppressed++
	}
	q.rarity.lastID, q.rarity.lastKey = a.ID, patternOf(key)
	as.Score = q.scoreAlert(&as.Alert, q.partBuf[:0])
	q.rarity.observe(&a)
	inc, lerr := q.findIncident(ctx, as)
	if lerr != nil && err == nil {
		err = lerr
	}
	if inc == nil && as.Status != AlertSuppressed {
		inc = q.newIncident(as)
	}
	if as.Status != AlertSuppressed {
		q.observeRisk(&as.Alert)
	}
	if inc != nil {
		inc.add(q, as)
		q.index(inc, as)
		q.markI(inc)
	}
	q.alerts[as.ID] = as
	q.dedup[key] = as
	q.markA(as)
	if len(q.incidents) > q.cfg.MaxIncidents || len(q.alerts) > q.cfg.MaxAlerts {
		q.evict()
	}
	return Pushed{AlertID: as.ID, IncidentID: as.IncidentID, Suppressed: as.Status == AlertSuppressed}, err
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// dedupKey is the alert's pattern key (see PatternKey) followed by the
// values of Config.DedupFields.
func (q *Queue) dedupKey(a *mdr.Alert) string {
	var b strings.Builder
	img := imageOf(a)
	b.Grow(len(a.RuleID) + len(a.Host) + len(img) + 2)
	b.WriteString(q.lower(a.RuleID))
	b.WriteByte('|')
	b.WriteString(q.lower(a.Host))
	b.WriteByte('|')
	b.WriteString(q.lower(img))
	for _, f := range q.cfg.DedupFields {
		b.WriteByte(0)
		b.WriteString(a.Fields[f])
	}
	return b.String()
}

// patternOf is the PatternKey part of a dedup key.
func patternOf(dedupKey string) string {
	if i := strings.IndexByte(dedupKey, 0); i >= 0 {
		return dedupKey[:i]
	}
	return dedupKey
}

func (q *Queue) dedupInto(as *alertState, a *mdr.Alert) Pushed {
	q.stats.Deduplicated++
	as.Count++
	if a.Time.Before(as.First) {
		as.First = a.Time
	}
	if a.Time.After(as.Time) {
		as.Time = a.Time
	}
	for _, id := range a.EventIDs {
		if len(as.EventIDs) >= q.cfg.MaxEventIDs {
			q.stats.DroppedEventIDs++
			continue
		}
		as.EventIDs = append(as.EventIDs, id)
	}
	q.rarity.lastID, q.rarity.lastKey = a.ID, patternOf(as.key)
	q.rarity.observe(a)
	q.markA(as)
	if as.Status == AlertSuppressed {
		q.stats.Suppressed++
	}
	if inc := as.inc; inc != nil {
		inc.in.Alerts++
		if as.Status == AlertSuppressed {
			inc.in.Suppressed++
		} else if r := inc.rules[as.RuleID]; r != nil {
			r.count++
		}
		inc.touch(q, a.Time)
		q.markI(inc)
	}
	return Pushed{AlertID: as.ID, IncidentID: as.IncidentID, Deduplicated: true, Suppressed: as.Status == AlertSuppressed}
}

func (q *Queue) scoreAlert(a *Alert, buf []Part) Score {
	parts := buf[:0]
	var sofar float64
	for _, s := range q.scorers {
		n := len(parts)
		parts = s.ScoreAlert(a, sofar, parts)
		for _, p := range parts[n:] {
			sofar += p.Value
		}
	}
	// the alert gets a copy of exactly its parts (alertState stays within
	// a 384-byte size class)
	sc := newScore(slices.Clone(parts))
	clear(parts) // drop the buffer's references to the details
	return sc
}

func (q *Queue) markA(as *alertState) {
	if !as.dirty {
		as.dirty = true
		q.dirtyA = append(q.dirtyA, as)
	}
}

func (q *Queue) markI(inc *incState) {
	if !inc.dirty {
		inc.dirty = true
		q.dirtyI = append(q.dirtyI, inc)
	}
}

// riskKeys are the entities whose risk an alert feeds: its host and users.
func (q *Queue) riskKeys(a *mdr.Alert, f func(key string)) {
	if a.Host != "" {
		if ni := q.name(a.Host); !ni.ignored {
			f(ni.hostKey)
		}
	}
	for i := range a.Entities {
		e := &a.Entities[i]
		if e.Kind == mdr.EntityUser && e.ID != "" && !q.ignored(e.Name) {
			f(e.ID)
		}
	}
}

func (q *Queue) observeRisk(a *Alert) {
	q.riskKeys(&a.Alert, func(k string) { q.risk.observe(k, a.RuleID, a.Score.Total, a.Time) })
}

// entityKeys returns the grouping keys of an alert.
func (q *Queue) entityKeys(a *mdr.Alert, dst []string) []string {
	if q.useHost && a.Host != "" {
		if ni := q.name(a.Host); !ni.ignored {
			dst = append(dst, ni.hostKey)
		}
	}
	for _, k := range q.kinds {
		for i := range a.Entities {
			e := &a.Entities[i]
			if e.Kind == k && e.ID != "" && !q.ignored(e.Name) {
				dst = append(dst, e.ID)
			}
		}
	}
	return dst
}

// holdsAll reports whether every key points at inc.
func (q *Queue) holdsAll(inc *incState, keys []string) bool {
	for _, k := range keys {
		if !slices.Contains(q.byEntity[k], inc) {
			return false
		}
	}
	return true
}

func (q *Queue) near(inc *incState, t time.Time) bool {
	lb := q.cfg.Lookback
	return !t.Before(inc.in.First.Add(-lb)) && !t.After(inc.in.Last.Add(lb))
}

// findIncident returns the incident as joins, or nil.
func (q *Queue) findIncident(ctx context.Context, as *alertState) (*incState, error) {
	var err error
	var found *incState
	if q.linker != nil {
		chain, lerr := q.linker.CausalChain(ctx, &as.Alert.Alert)
		if lerr != nil {
			q.stats.LinkErrors++
			err = fmt.Errorf("triage: causal chain of alert %s: %w", as.ID, lerr)
		}
		for _, id := range chain {
			if inc := q.byChain[id]; inc != nil && q.near(inc, as.Time) && (found == nil || inc.lastSeq > found.lastSeq) {
				found = inc
			}
		}
		as.chain = chain
		if found != nil {
			q.stats.LinkedCausally++
		}
	}
	if found == nil {
		var buf [8]string
		keys := q.entityKeys(&as.Alert.Alert, buf[:0])
		for i, k := range keys {
			for _, inc := range q.byEntity[k] {
				if !q.near(inc, as.Time) || (found != nil && inc.lastSeq <= found.lastSeq) {
					continue
				}
				if q.cfg.Match == MatchAll && (i > 0 || !q.holdsAll(inc, keys)) {
					continue
				}
				found = inc
			}
		}
	}
	if found != nil && isClosed(found.in.Status) {
		if q.cfg.Reopen == ReopenNever || as.Status == AlertSuppressed {
			// a suppressed alert never reopens an incident
			return nil, err
		}
		if rerr := q.transition(ctx, found, mdr.IncidentNew, "triage", "reopened by alert "+as.ID); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		found.in.Reopened++
		q.stats.Reopened++
	}
	return found, err
}

func isClosed(status string) bool {
	return status == mdr.IncidentClosed || status == mdr.IncidentFalsePositive
}

func (q *Queue) newIncident(as *alertState) *incState {
	q.stats.IncidentsCreated++
	inc := &incState{rules: map[string]*ruleAgg{}}
	inc.in = mdr.Incident{ID: "inc:" + as.ID, Status: mdr.IncidentNew, Created: as.Time, First: as.Time, Last: as.Time}
	q.incidents[inc.in.ID] = inc
	return inc
}

// index points the alert's entity keys and causal chain at inc.
func (q *Queue) index(inc *incState, as *alertState) {
	var buf [8]string
	for _, k := range q.entityKeys(&as.Alert.Alert, buf[:0]) {
		l := q.byEntity[k]
		if i := slices.Index(l, inc); i >= 0 && i == len(l)-1 {
			continue // already the most recent
		} else if i >= 0 {
			l = append(slices.Delete(l, i, i+1), inc)
		} else {
			if len(l) >= maxPerEntity {
				l = slices.Delete(l, 0, 1)
			}
			l = append(l, inc)
			inc.keys = append(inc.keys, k)
		}
		q.byEntity[k] = l
	}
	for _, id := range as.chain {
		if len(inc.chain) >= maxChainPerIncident {
			break
		}
		if q.byChain[id] != inc {
			q.byChain[id] = inc
			inc.chain = append(inc.chain, id)
		}
	}
	as.chain = nil
}

const (
	maxChainPerIncident = 1024
	maxPerEntity        = 8 // incidents remembered per entity key
	maxListPerIncident  = 64
	maxAlertIDs         = 10_000
)

// evict removes the least recently active eighth of the incidents (and
// their alerts) from memory, keeping what is not yet written until Flush.
func (q *Queue) evict() {
	all := make([]*incState, 0, len(q.incidents))
	for _, inc := range q.incidents {
		all = append(all, inc)
	}
	slices.SortFunc(all, func(a, b *incState) int { return cmpU64(a.lastSeq, b.lastSeq) })
	n := max(len(all)/8, 1)
	if len(q.alerts) > q.cfg.MaxAlerts {
		n = max(n, len(all)/2)
	}
	for _, inc := range all[:n] {
		q.dropIncident(inc)
	}
	// alerts outside incidents (suppressed) are dropped oldest first
	if len(q.alerts) > q.cfg.MaxAlerts {
		var loose []*alertState
		for _, as := range q.alerts {
			if as.inc == nil {
				loose = append(loose, as)
			}
		}
		slices.SortFunc(loose, func(a, b *alertState) int { return a.Time.Compare(b.Time) })
		for _, as := range loose[:len(loose)/2] {
			q.dropAlert(as)
		}
	}
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (q *Queue) dropIncident(inc *incState) {
	q.stats.EvictedIncidents++
	delete(q.incidents, inc.in.ID)
	for _, k := range inc.keys {
		l := q.byEntity[k]
		if i := slices.Index(l, inc); i >= 0 {
			l = slices.Delete(l, i, i+1)
		}
		if len(l) == 0 {
			delete(q.byEntity, k)
		} else {
			q.byEntity[k] = l
		}
	}
	for _, k := range inc.chain {
		if q.byChain[k] == inc {
			delete(q.byChain, k)
		}
	}
	for _, as := range inc.members {
		q.dropAlert(as)
	}
	inc.evicted = true
}

func (q *Queue) dropAlert(as *alertState) {
	q.stats.EvictedAlerts++
	delete(q.alerts, as.ID)
	if q.dedup[as.key] == as {
		delete(q.dedup, as.key)
	}
}

// Stats returns the queue's counters.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.stats
	s.OpenIncidents, s.OpenAlerts = len(q.incidents), len(q.alerts)
	s.DroppedPatterns = q.rarity.Dropped + q.fb.Dropped()
	return s
}

// Feedback returns what the queue's verdicts taught (see Feedback).
func (q *Queue) Feedback() *Feedback { return q.fb }
