package respond

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// CommandRecorder is a CommandRunner that executes nothing: it records every
// request and answers out_args variables from Outputs. It is the in-memory
// CommandRunner: the test double for hosts' playbook tests, and what lets a
// dry run walk playbooks whose command types the host cannot execute.
// Respond/runnertest checks it like any runner.
//
// Set Types and Outputs before use; a CommandRecorder is then safe for
// concurrent use.
type CommandRecorder struct {
	// Types are the command types it accepts.
	Types []string
	// Outputs answers out_args variables by name.
	Outputs map[string]string

	mu   sync.Mutex
	reqs []CommandRequest
}

// NewCommandRecorder returns a recorder accepting the types (CACAO's
// command-type vocabulary, openc2-http and manual excepted, when none are
// given).
func NewCommandRecorder(types ...string) *CommandRecorder {
	if len(types) == 0 {
		types = []string{"bash", "caldera-cmd", "elastic", "http-api", "jupyter", "kestrel", "powershell", "sigma", "ssh", "yara"}
	}
	return &CommandRecorder{Types: types}
}

// CommandTypes implements CommandRunner.
func (r *CommandRecorder) CommandTypes() []string { return slices.Clone(r.Types) }

// Run implements CommandRunner: it records req and returns the Outputs of
// its out_args.
func (r *CommandRecorder) Run(ctx context.Context, req CommandRequest) (CommandResult, error) {
	if err := ctx.Err(); err != nil {
		return CommandResult{}, err
	}
	if !slices.Contains(r.Types, req.Type) {
		return CommandResult{}, fmt.Errorf("%w: command type %q", ErrUnsupported, req.Type)
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	res := CommandResult{Values: map[string]string{}}
	for _, n := range req.OutArgs {
		if v, ok := r.Outputs[n]; ok {
			res.Values[n] = v
		}
	}
	return res, nil
}

// Requests returns the requests recorded so far, in order.
func (r *CommandRecorder) Requests() []CommandRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}
