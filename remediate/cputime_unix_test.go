//go:build unix

package remediate

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user and system) the test process has
// used, every goroutine included. On a shared machine it is a steadier
// measure of cost than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
