// Package parallel runs independent pieces of work on all CPUs.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// For runs f(0), …, f(n-1) on up to GOMAXPROCS goroutines, each taking the
// next index as it finishes one, and returns when all have run. f must be
// safe to call concurrently for different indexes; with one CPU (or n <= 1)
// the calls run in order on the caller's goroutine.
func For(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}
