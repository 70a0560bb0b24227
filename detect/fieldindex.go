package detect

// fieldIndex maps the field paths rules read to their slots with an
// open-addressing table and a hash of a few bytes of the key, cheaper per
// event field than a Go map lookup (which hashes the whole key). It is
// immutable after build.
type fieldIndex struct {
	mask  uint32
	keys  []string
	slots []int32
}

func fieldHash(s string) uint32 {
	n := len(s)
	if n == 0 {
		return 0
	}
	return uint32(n)*0x9E3779B1 ^ uint32(s[0])*0x85EBCA77 ^ uint32(s[n-1])*0xC2B2AE3D ^ uint32(s[n/2])*0x27D4EB2F ^ uint32(s[n/3])*0x165667B1
}

func newFieldIndex(paths []string) fieldIndex {
	size := uint32(16)
	for size < uint32(4*len(paths)) {
		size <<= 1
	}
	fi := fieldIndex{mask: size - 1, keys: make([]string, size), slots: make([]int32, size)}
	for slot, p := range paths {
		if p == "" {
			continue
		}
		i := fieldHash(p) & fi.mask
		for fi.keys[i] != "" {
			i = (i + 1) & fi.mask
		}
		fi.keys[i] = p
		fi.slots[i] = int32(slot)
	}
	return fi
}

// lookup returns the slot of path, or -1.
func (fi *fieldIndex) lookup(path string) int32 {
	if path == "" {
		return -1
	}
	i := fieldHash(path) & fi.mask
	for {
		k := fi.keys[i]
		if k == "" {
			return -1
		}
		if k == path {
			return fi.slots[i]
		}
		i = (i + 1) & fi.mask
	}
}
