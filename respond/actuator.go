package respond

import (
	"context"
	"slices"
)

// Actuator is what a host product implements to let mdrkit act through its
// own EDR, firewall or identity provider, which the library never owns. It
// is an OpenC2 consumer reduced to two methods.
//
// Features answers the OpenC2 'query features' command (LS §4.1): the
// language versions ("1.0"), the profiles ("er", "mdr", "slpf", ...), the
// action × target pairs the actuator supports, and its rate limit in
// commands per minute (0 = none declared). The dispatcher calls it when an
// actuator is registered and may call it again; it refuses commands whose
// pair is not declared, without calling Execute.
//
// Execute performs one command and answers with an OpenC2 response:
//   - 200 when the action was performed. When the action is reversible the
//     response carries Undo, the compensating command (allow device for
//     contain device, set er:account enabled for disabled, create
//     er:registry_entry with the old value for delete, ...). Undo must be
//     a complete command that this actuator accepts.
//   - 102 when the action was accepted and completes later.
//   - 400 when the command cannot be processed (bad or missing argument,
//     for example contain device without device_containment: the er
//     profile requires that it must not succeed), 404 when the target does
//     not exist, 403 when the actuator refuses, 500 on failure, 501 when
//     the action × target pair is not supported, 503 when temporarily
//     unavailable (the dispatcher retries 503).
//
// The status_text should say why, as the er profile recommends ("Cannot
// access device", "Downstream device argument not populated").
//
// Execute returns a non-nil error only when no OpenC2 answer could be
// obtained (the console could not be reached, ctx ended); wrap errors that
// may succeed on retry with Transient. A returned error and a non-200
// status are both failures to the dispatcher, which retries only
// transient ones.
//
// Execute must honour ctx (the dispatcher applies per-command timeouts
// through it) and must be safe for concurrent use: the dispatcher calls it
// from several goroutines when it runs a batch. Commands reach Execute
// already validated (Command.Validate) and addressed to hosts this
// actuator serves.
//
// The conformance suite in package respond/actuatortest checks these
// rules against any implementation.
type Actuator interface {
	Features(ctx context.Context) (Features, error)
	Execute(ctx context.Context, cmd Command) (Response, error)
}

// Features describes what an actuator supports: the results of an OpenC2
// query features command.
type Features struct {
	Versions []string // OpenC2 language versions, "1.0"
	Profiles []string // profile NSIDs, "er", "mdr", ...
	Pairs    Pairs    // supported action × target pairs
	// RateLimit is the maximum number of commands per minute the actuator
	// accepts; 0 means none declared.
	RateLimit float64
}

// Results returns the query features results for the requested features.
// An empty list asks for none (the heartbeat of LS §4.2.1) and gives nil.
func (f Features) Results(list []Feature) *Results {
	if len(list) == 0 {
		return nil
	}
	r := &Results{}
	for _, ft := range list {
		switch ft {
		case FeatureVersions:
			r.Versions = slices.Clone(f.Versions)
			if r.Versions == nil {
				r.Versions = []string{}
			}
		case FeatureProfiles:
			r.Profiles = slices.Clone(f.Profiles)
			if r.Profiles == nil {
				r.Profiles = []string{}
			}
		case FeaturePairs:
			r.Pairs = f.Pairs.Clone()
			if r.Pairs == nil {
				r.Pairs = Pairs{}
			}
		case FeatureRateLimit:
			if f.RateLimit > 0 {
				rl := f.RateLimit
				r.RateLimit = &rl
			}
		}
	}
	if r.empty() {
		return nil
	}
	return r
}

// QueryFeatures answers a 'query features' command from f, as LS §4.1
// requires: 400 when the command carries an argument other than
// response_requested, otherwise 200 with the requested results. It is a
// helper for Actuator implementations; cmd must be a query features
// command.
func QueryFeatures(f Features, cmd Command) Response {
	if cmd.Action != ActionQuery || cmd.Target.Features == nil {
		return Response{Status: StatusNotImplemented, StatusText: "Command not supported"}
	}
	if a := cmd.Args; a != nil && (a.StartTime != nil || a.StopTime != nil || a.Duration != nil || a.ER != nil || len(a.Extensions) > 0) {
		return Response{Status: StatusBadRequest, StatusText: "query features takes no argument other than response_requested"}
	}
	return Response{Status: StatusOK, Results: f.Results(*cmd.Target.Features)}
}

// NewCommand returns a command of action on target, with a new random
// command id. It is a convenience for code that builds commands.
func NewCommand(action Action, target Target) Command {
	return Command{Action: action, Target: target, CommandID: NewCommandID()}
}
