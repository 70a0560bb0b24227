package badger

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// madvPageout is Linux's MADV_PAGEOUT (5.4 and later): reclaim the pages of
// a range. On a file mapping it drops the pages from the process's resident
// set (writing dirty ones back first); on anonymous memory without swap it
// does nothing, so a range that was unmapped and reused meanwhile is never
// harmed (MADV_DONTNEED would zero it).
const madvPageout = 21

// releaseMappedPages asks the kernel to reclaim the pages of the store's
// memory-mapped files (value log, tables, memtable logs) that this process
// has touched. badger maps every file it writes or reads and its pages stay
// resident (clean ones could be reclaimed under memory pressure, but they
// count in RSS): a bulk load of 1.6 GB would otherwise keep about as much
// resident. It reports the bytes of mappings advised; errors are ignored
// (an older kernel refuses the advice with EINVAL and nothing changes).
func releaseMappedPages(dir string) int64 {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return 0
	}
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	prefix := []byte(abs + string(filepath.Separator))
	var total int64
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Bytes()
		i := bytes.Index(line, prefix)
		if i < 0 {
			continue
		}
		dash := bytes.IndexByte(line, '-')
		sp := bytes.IndexByte(line, ' ')
		if dash < 0 || sp < dash {
			continue
		}
		lo, err1 := strconv.ParseUint(string(line[:dash]), 16, 64)
		hi, err2 := strconv.ParseUint(string(line[dash+1:sp]), 16, 64)
		if err1 != nil || err2 != nil || hi <= lo {
			continue
		}
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(lo), uintptr(hi-lo), madvPageout); e == 0 {
			total += int64(hi - lo)
		}
	}
	return total
}
