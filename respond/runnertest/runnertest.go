// Package runnertest is the conformance suite for respond.CommandRunner,
// the interface through which a host executes the CACAO command types the
// library does not (bash, powershell, ssh, http-api, …). Any
// implementation runs it from its own tests:
//
//	func TestMyRunner(t *testing.T) {
//		runnertest.Run(t, myRunner, func(typ string) respond.CommandRequest {
//			return respond.CommandRequest{Type: typ, Command: "echo ok"}
//		})
//	}
//
// The suite checks what the playbook engine relies on: a well-formed list
// of command types, each of them runnable, an error for any other type,
// an ended context honoured before anything runs, and safety for
// concurrent use (parallel branches run commands at the same time).
package runnertest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mdrkit/mdr/respond"
)

// Run checks r. harmless returns, for each of r's command types, a request
// that r can execute without side effects worth worrying about (it is run
// several times, concurrently).
func Run(t *testing.T, r respond.CommandRunner, harmless func(typ string) respond.CommandRequest) {
	t.Helper()
	types := r.CommandTypes()
	t.Run("CommandTypes", func(t *testing.T) {
		if len(types) == 0 {
			t.Fatal("no command types")
		}
		seen := map[string]bool{}
		for _, typ := range types {
			switch {
			case typ == "":
				t.Error("an empty command type")
			case typ == respond.CommandOpenC2HTTP || typ == respond.CommandManual:
				t.Errorf("%s is executed by the playbook engine, not by a runner", typ)
			case seen[typ]:
				t.Errorf("%s listed twice", typ)
			}
			seen[typ] = true
		}
	})
	t.Run("RunsEachType", func(t *testing.T) {
		for _, typ := range types {
			req := harmless(typ)
			req.Type = typ
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := r.Run(ctx, req)
			cancel()
			if err != nil {
				t.Errorf("%s: %v", typ, err)
			}
		}
	})
	t.Run("RefusesOtherTypes", func(t *testing.T) {
		req := harmless(types[0])
		req.Type = "x-runnertest-no-such-type"
		if _, err := r.Run(context.Background(), req); err == nil {
			t.Fatal("a type the runner does not list ran")
		}
	})
	t.Run("HonoursEndedContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req := harmless(types[0])
		req.Type = types[0]
		start := time.Now()
		_, err := r.Run(ctx, req)
		if err == nil {
			t.Fatal("ran with a cancelled context")
		}
		if !errors.Is(err, context.Canceled) {
			t.Logf("error does not wrap context.Canceled: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %v to notice the cancelled context", d)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			typ := types[i%len(types)]
			wg.Go(func() {
				req := harmless(typ)
				req.Type = typ
				if _, err := r.Run(context.Background(), req); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}
