package remediate

import (
	"context"
	"fmt"
	"iter"
	"strings"

	"github.com/hashicorp/go-multierror"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/schema"
)

// Reverify checks a saved plan against telemetry that arrived after it was
// applied (a hunt over new events): a step whose artifact the events show
// again becomes unverified, with the event that shows it. What counts as
// seen again:
//
//   - a quarantined or deleted file written again at its path, or any
//     event naming the removed file's SHA256 (Sysmon's Hashes: the same
//     payload run or dropped elsewhere);
//   - a deleted registry value set again, or a restored one set to other
//     data than the data restored;
//   - a deleted service installed again, a deleted task created again, a
//     created account created again.
//
// Events are mapped with package schema; only events of the steps' hosts
// matter. Steps not done are left alone. The result counts the steps by
// state; Result.Err collects every event the mapper refused.
func (e *Executor) Reverify(ctx context.Context, id string, events iter.Seq2[*mdr.Event, error]) (*Result, error) {
	p, j, err := loadPlan(ctx, e.st, id)
	if err != nil {
		return nil, err
	}
	j.now = e.cfg.Now
	byItem := map[string][]int{}
	byHash := map[string][]int{}
	for i := range p.Steps {
		s := &p.Steps[i]
		rec, _ := j.record(s.ID)
		if !rec.State.Done() {
			continue
		}
		byItem[s.ScopeItem] = append(byItem[s.ScopeItem], i)
		if rec.SHA256 != "" {
			byHash[strings.ToUpper(rec.SHA256)] = append(byHash[strings.ToUpper(rec.SHA256)], i)
		}
	}
	refuted := map[int]string{}
	var errs *multierror.Error
	m := schema.Mapper{Processes: schema.NewProcessTable(1 << 12)}
	var r schema.Result
	for ev, err := range events {
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(byHash) > 0 {
			if h, ok := ev.String("Hashes"); ok {
				for _, part := range strings.Split(h, ",") {
					if k, v, ok := strings.Cut(part, "="); ok && strings.EqualFold(k, "SHA256") {
						for _, i := range byHash[strings.ToUpper(strings.TrimSpace(v))] {
							if _, done := refuted[i]; !done {
								refuted[i] = fmt.Sprintf("its file's hash was seen again in event %s", ev.ID())
							}
						}
					}
				}
			}
		}
		if err := m.Map(ev, &r); err != nil {
			errs = multierror.Append(errs, err)
			continue
		}
		for _, rel := range r.Relations {
			for _, i := range byItem[rel.To] {
				if _, done := refuted[i]; done {
					continue
				}
				if why := seenAgain(&p.Steps[i], rel); why != "" {
					refuted[i] = why + " again in event " + rel.EventID
				}
			}
		}
	}
	for i, why := range refuted {
		s := &p.Steps[i]
		if _, err := e.move(ctx, j, s.ID, EventRefute, e.cfg.Principal, func(r *StepRecord) { r.Detail = why }); err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	return e.result(p, j, nil, errs.ErrorOrNil()), nil
}

// seenAgain says how rel shows the artifact of s again ("" when it does
// not).
func seenAgain(s *Step, rel mdr.Relation) string {
	switch s.Kind {
	case KindQuarantineFile, KindDeleteFile:
		if rel.Kind == mdr.RelWroteFile || rel.Kind == mdr.RelRenamedFile {
			return "the file was written"
		}
	case KindDeleteRegistry:
		if rel.Kind == mdr.RelSetRegistry {
			return "the registry value was set"
		}
	case KindRestoreRegistry:
		if rel.Kind == mdr.RelSetRegistry && s.Check != nil && rel.Attrs["details"] != s.Check.Expect {
			return "the registry value was set to other data"
		}
	case KindStopService, KindDeleteService:
		if rel.Kind == mdr.RelInstalledService {
			return "the service was installed"
		}
	case KindDeleteTask:
		if rel.Kind == mdr.RelCreatedTask {
			return "the scheduled task was created"
		}
	case KindDisableAccount, KindDeleteAccount:
		if rel.Kind == mdr.RelCreatedAccount {
			return "the account was created"
		}
	}
	return ""
}
