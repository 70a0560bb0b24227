package respond

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// PlaybookLibrary holds the playbooks that playbook-action steps call
// (CACAO §4.6: "the playbook ID SHOULD be … locally relevant to the system
// that will execute the playbook"). Implementations must be safe for
// concurrent use.
type PlaybookLibrary interface {
	// Playbook returns the playbook with the id. A non-empty version is the
	// modified timestamp the playbook must have; an empty one asks for the
	// latest. A missing playbook is an error wrapping ErrPlaybookNotFound.
	Playbook(id, version string) (*Playbook, error)
}

// PlaybookSet is an in-memory PlaybookLibrary. It is safe for concurrent use
// once built; Add must not run concurrently with lookups.
type PlaybookSet struct {
	byID map[string][]*Playbook // versions, oldest first
}

// NewPlaybookSet returns a library holding the playbooks.
func NewPlaybookSet(pbs ...*Playbook) *PlaybookSet {
	s := &PlaybookSet{byID: map[string][]*Playbook{}}
	for _, p := range pbs {
		s.Add(p)
	}
	return s
}

// Add adds a playbook (a version of its id).
func (s *PlaybookSet) Add(p *Playbook) {
	list := append(s.byID[p.ID], p)
	sort.SliceStable(list, func(i, j int) bool { return list[i].Modified.Before(list[j].Modified) })
	s.byID[p.ID] = list
}

// Len returns the number of playbooks (all versions).
func (s *PlaybookSet) Len() int {
	n := 0
	for _, l := range s.byID {
		n += len(l)
	}
	return n
}

// Playbook implements PlaybookLibrary.
func (s *PlaybookSet) Playbook(id, version string) (*Playbook, error) {
	list := s.byID[id]
	if len(list) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrPlaybookNotFound, id)
	}
	if version == "" {
		return list[len(list)-1], nil
	}
	want, err := time.Parse(time.RFC3339Nano, version)
	if err != nil {
		return nil, fmt.Errorf("playbook_version %q is not a timestamp", version)
	}
	for _, p := range list {
		if p.Modified.Equal(want) {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%w: %s version %s", ErrPlaybookNotFound, id, version)
}

// LoadPlaybookDir loads every *.json file of dir into a library, with the
// load options (command types, limits) applied to each, then checks that
// every playbook-action of the set names a playbook of the set. All
// failures are returned, joined.
func LoadPlaybookDir(dir string, opts ...LoadOption) (*PlaybookSet, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	set := NewPlaybookSet()
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(strings.ToLower(e.Name()), ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p, err := ParsePlaybook(data, append(append([]LoadOption(nil), opts...), WithFile(path))...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		set.Add(p)
	}
	for _, list := range set.byID {
		for _, p := range list {
			for _, id := range sortedStepIDs(p) {
				st := p.Steps[id]
				if st.Type != StepPlaybookAction {
					continue
				}
				if _, err := set.Playbook(st.PlaybookID, st.PlaybookVersion); err != nil {
					errs = append(errs, fmt.Errorf("playbook %s step %s: %w", p.ID, id, err))
				}
			}
		}
	}
	return set, errors.Join(errs...)
}

func sortedStepIDs(p *Playbook) []string {
	ids := make([]string, 0, len(p.Steps))
	for id := range p.Steps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
