// Command customstore shows a host product bringing its own storage: a
// store.Store that keeps everything in the in-memory store and also ships
// every audit record, as it is appended, to the product's SIEM (here: a
// JSON-lines writer). Any implementation must pass the conformance suite
// store/storetest, and this one does (main_test.go).
//
//	go run ./examples/customstore
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/mdrkit/mdr/store"
)

// siemStore is the in-memory store with the audit chain mirrored to a
// writer. It is safe for concurrent use: store.Memory is, and the writer is
// guarded by mu.
type siemStore struct {
	*store.Memory
	mu  sync.Mutex
	out io.Writer
}

// AppendAudit appends to the chain, then ships the record as stored (with
// its sequence number and hashes, so the SIEM can check the chain too).
func (s *siemStore) AppendAudit(ctx context.Context, r store.AuditRecord) (store.AuditRecord, error) {
	rec, err := s.Memory.AppendAudit(ctx, r)
	if err != nil {
		return rec, err
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return rec, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err = fmt.Fprintf(s.out, "%s\n", b)
	return rec, err
}

var _ store.Store = (*siemStore)(nil)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "customstore:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	s := &siemStore{Memory: store.NewMemory(), out: w}
	defer s.Close()
	for _, a := range []string{"incident opened", "host contained", "incident closed"} {
		if _, err := s.AppendAudit(ctx, store.AuditRecord{Actor: "j.analyst", Action: a, Target: "inc-1"}); err != nil {
			return err
		}
	}
	n, err := store.Verify(ctx, s)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d audit records shipped, chain verified\n", n)
	return nil
}
