package hunt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"
	"go.yaml.in/yaml/v3"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/store"
)

// Hunt is a saved hunt: a named query with a schedule and what its runs
// have found. It is a plain value that marshals as JSON.
type Hunt struct {
	Name  string `json:"name"`
	Query Query  `json:"query"`
	// Interval is how often the hunt should run (Due); 0 means on demand.
	Interval time.Duration `json:"interval,omitempty"`
	// Severity and Tags go into the rule Promote makes.
	Severity mdr.Severity `json:"severity,omitempty"`
	Tags     []string     `json:"tags,omitempty"`
	// LastRun is when the hunt last ran (the now passed to Library.Run),
	// Runs how often, Found how many results its runs reported in all.
	LastRun time.Time `json:"last_run,omitzero"`
	Runs    int       `json:"runs,omitempty"`
	Found   int64     `json:"found,omitempty"`
}

// Due reports whether a hunt with an Interval should run at now.
func (h *Hunt) Due(now time.Time) bool {
	return h.Interval > 0 && (h.LastRun.IsZero() || !now.Before(h.LastRun.Add(h.Interval)))
}

// MaxSeen bounds the results a saved hunt remembers for its differential
// runs (as 64-bit hashes of rule id and event id, 8 bytes each): beyond it
// the oldest are forgotten (RunStats.Forgotten), and a result forgotten
// that matches again is reported again.
const MaxSeen = 1_000_000

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// Library keeps saved hunts in a store.State under keys "hunt/saved/NAME"
// (the hunt), "hunt/seen/NAME" (the results seen) and "hunt/index" (the
// names). It is safe for concurrent use as far as the State is; two runs of
// one hunt at once may both report a result.
type Library struct {
	st store.State
}

// NewLibrary returns a library over st.
func NewLibrary(st store.State) *Library { return &Library{st: st} }

const indexKey = "hunt/index"

// Save stores h (replacing a hunt of the same name, whose run history is
// kept) after checking that its query compiles.
func (l *Library) Save(ctx context.Context, h Hunt) error {
	if !nameRE.MatchString(h.Name) {
		return fmt.Errorf("%w: hunt name %q: use 1 to 128 letters, digits, '.', '-' or '_'", ErrQuery, h.Name)
	}
	if _, err := Compile(ctx, h.Query); err != nil {
		return fmt.Errorf("hunt %s: %w", h.Name, err)
	}
	if old, err := l.Get(ctx, h.Name); err == nil {
		h.LastRun, h.Runs, h.Found = old.LastRun, old.Runs, old.Found
	} else if !errors.Is(err, mdr.ErrNotFound) {
		return err
	}
	if err := l.put(ctx, h); err != nil {
		return err
	}
	names, err := l.names(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(names, h.Name) {
		names = append(names, h.Name)
		slices.Sort(names)
		b, _ := json.Marshal(names)
		return l.st.PutState(ctx, indexKey, b)
	}
	return nil
}

func (l *Library) put(ctx context.Context, h Hunt) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return l.st.PutState(ctx, "hunt/saved/"+h.Name, b)
}

func (l *Library) names(ctx context.Context) ([]string, error) {
	b, err := l.st.GetState(ctx, indexKey)
	if errors.Is(err, mdr.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return nil, fmt.Errorf("hunt: index: %w", err)
	}
	return names, nil
}

// Get returns the saved hunt name, or an error wrapping mdr.ErrNotFound.
func (l *Library) Get(ctx context.Context, name string) (Hunt, error) {
	b, err := l.st.GetState(ctx, "hunt/saved/"+name)
	if err != nil {
		return Hunt{}, fmt.Errorf("hunt %s: %w", name, err)
	}
	var h Hunt
	if err := json.Unmarshal(b, &h); err != nil {
		return Hunt{}, fmt.Errorf("hunt %s: stored hunt unreadable: %w", name, err)
	}
	return h, nil
}

// List returns the saved hunts by name.
func (l *Library) List(ctx context.Context) ([]Hunt, error) {
	names, err := l.names(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Hunt, 0, len(names))
	for _, n := range names {
		h, err := l.Get(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// RunStats says what one run of a saved hunt did. It is a plain value.
type RunStats struct {
	Progress
	New       int64 // results not reported by an earlier run
	Old       int64 // results reported before, not again
	Forgotten int64 // remembered results dropped for MaxSeen
}

// Run runs the saved hunt name over src and calls emit with each result
// that no earlier run reported (osquery's differential results), then
// records the run (LastRun = now) and the results seen. If the query or
// emit fails, nothing is recorded and the next run reports the same
// results again.
func (l *Library) Run(ctx context.Context, src store.Events, name string, now time.Time, emit func(Result) error) (RunStats, error) {
	var st RunStats
	h, err := l.Get(ctx, name)
	if err != nil {
		return st, err
	}
	q := h.Query
	user := q.Progress
	q.Progress = func(p Progress) {
		st.Progress = p
		if user != nil {
			user(p)
		}
	}
	p, err := Compile(ctx, q)
	if err != nil {
		return st, fmt.Errorf("hunt %s: %w", name, err)
	}
	seen, err := l.seen(ctx, name)
	if err != nil {
		return st, err
	}
	have := make(map[uint64]struct{}, len(seen))
	for _, x := range seen {
		have[x] = struct{}{}
	}
	for r, err := range p.Run(ctx, src) {
		if err != nil {
			return st, fmt.Errorf("hunt %s: %w", name, err)
		}
		k := resultKey(r)
		if _, ok := have[k]; ok {
			st.Old++
			continue
		}
		have[k] = struct{}{}
		seen = append(seen, k)
		st.New++
		if err := emit(r); err != nil {
			return st, err
		}
	}
	if over := len(seen) - MaxSeen; over > 0 {
		seen = seen[over:]
		st.Forgotten = int64(over)
	}
	b := make([]byte, 0, 8*len(seen))
	for _, x := range seen {
		b = binary.LittleEndian.AppendUint64(b, x)
	}
	if err := l.st.PutState(ctx, "hunt/seen/"+name, b); err != nil {
		return st, err
	}
	h.LastRun, h.Runs, h.Found = now, h.Runs+1, h.Found+st.New
	return st, l.put(ctx, h)
}

func (l *Library) seen(ctx context.Context, name string) ([]uint64, error) {
	b, err := l.st.GetState(ctx, "hunt/seen/"+name)
	if errors.Is(err, mdr.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("hunt %s: results seen: %d bytes is not a list of hashes", name, len(b))
	}
	out := make([]uint64, len(b)/8)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return out, nil
}

func resultKey(r Result) uint64 {
	return xxhash.Sum64String(r.RuleID + "\x00" + r.Event.ID())
}

// Promote turns a hunt into a detect rule that runs live with the same
// semantics: the query's condition (a CEL query) or its Sigma rule as
// compiled (a Sigma query of one rule, which routes by logsource only when
// run with the same Sigma pipeline), restricted to the hunt's hosts. The
// time range does not carry over: a live rule sees events as they come.
// The rule id is "hunt-" and the hunt's name.
func Promote(h Hunt) (detect.Rule, error) {
	p, err := Compile(context.Background(), h.Query)
	if err != nil {
		return detect.Rule{}, fmt.Errorf("hunt %s: %w", h.Name, err)
	}
	r, ok := p.Rule()
	if !ok {
		return detect.Rule{}, fmt.Errorf("%w: hunt %s holds several Sigma rules; promote needs one", ErrQuery, h.Name)
	}
	r.ID = "hunt-" + h.Name
	r.Title = "Promoted hunt " + h.Name
	if r.Description == "" {
		r.Description = "Promoted from the saved hunt " + h.Name + "."
	}
	r.Status = "experimental"
	if h.Severity != mdr.SeverityUnknown {
		r.Severity = h.Severity
	}
	if len(h.Tags) > 0 {
		r.Tags = slices.Clone(h.Tags)
	}
	r.Fields = slices.Clone(h.Query.Fields)
	r.Source = mdr.Origin{}
	if len(h.Query.Hosts) > 0 {
		r.Condition = "(" + r.Condition + ") && (" + hostCondition(h.Query.Hosts) + ")"
	}
	return r, nil
}

// hostCondition is a CEL condition true for events of one of hosts, read
// from the fields engine.HostOf reads.
func hostCondition(hosts []string) string {
	var list []string
	for _, h := range hosts {
		list = append(list, strconv.Quote(h))
	}
	vals := "[" + strings.Join(list, ", ") + "]"
	var parts []string
	for _, f := range hostFields {
		parts = append(parts, fmt.Sprintf("e[%q].equalsFold(%s)", f, vals))
	}
	return strings.Join(parts, " || ")
}

// RuleYAML writes a rule in detect's native YAML format (detect.ParseRules
// reads it back), for example to put a promoted hunt among rule files.
func RuleYAML(r detect.Rule) ([]byte, error) {
	out, err := yaml.Marshal([]detect.Rule{r})
	if err != nil {
		return nil, fmt.Errorf("hunt: rule %s: %w", r.ID, err)
	}
	return out, nil
}
