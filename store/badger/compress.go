package badger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"unsafe"

	bdg "github.com/dgraph-io/badger/v4"
	"github.com/klauspost/compress/s2"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// Event values (layout version 2) start with an encoding byte:
//
//	encRaw: the event encoding of codec.go follows
//	encS2:  uvarint len(id) | id | uvarint dictionary id (0: none) |
//	        s2 block of the event encoding without its leading id
//
// The id stays outside the compressed block so that dropping a bucket reads
// ids without decompressing. Dictionaries are raw s2 dictionaries made from
// recent events (see compressor) and stored under dictKey(id) before the
// first event that uses them is written.
const (
	encRaw byte = 0
	encS2  byte = 1
)

// Compression tuning, measured on benchmark.jsonl.gz (see the package doc).
const (
	// dictEvery is the number of events after which a new dictionary is made
	// from recent events.
	dictEvery = 20000
	// sampleEvery: one event in sampleEvery goes into the sample a
	// dictionary is made from.
	sampleEvery = 7
	// dictBytes is the size of a dictionary (s2's maximum is 64 KiB).
	dictBytes = 64 << 10
	// maxDecoded bounds the decoded size a stored value may claim.
	maxDecoded = 64 << 20
	// maxDicts bounds the dictionaries kept in memory for decoding; more are
	// read back from the store when needed.
	maxDicts = 256
)

var keyDictPrefix = []byte("\x00d/")

func dictKey(id uint32) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(nil), keyDictPrefix...), id)
}

// compressor holds the encoding side: the current dictionary and a sample
// of recent events to make the next one from. Its mutex serialises the
// encoding of concurrent appends.
type compressor struct {
	mu      sync.Mutex
	cur     *s2.Dict
	curID   uint32
	nextID  uint32
	count   int    // events encoded since the current dictionary
	val     []byte // the value being encoded
	sums    []bucketSummary
	sample  [][]byte // ring of sampled event encodings (without ids)
	sampleN int      // events seen, for sampling
	ring    int
}

// dicts caches decoding dictionaries by id.
type dicts struct {
	mu sync.RWMutex
	m  map[uint32]*s2.Dict
}

// encodeEvent appends the stored value of an event whose encoding (codec.go)
// is raw and whose id occupies raw[:idLen], compressed with the current
// dictionary. It may make and store a new dictionary first.
func (s *Store) encodeValue(dst, raw []byte, idLen int) ([]byte, error) {
	c := &s.comp
	body := raw[idLen:]
	c.sampleN++
	if c.sampleN%sampleEvery == 0 {
		const ringLen = 2 * dictBytes / 512 // enough samples of typical events for two dictionaries
		if len(c.sample) < ringLen {
			c.sample = append(c.sample, append([]byte(nil), body...))
		} else {
			c.sample[c.ring] = append(c.sample[c.ring][:0], body...)
			c.ring = (c.ring + 1) % ringLen
		}
	}
	c.count++
	if (c.cur == nil && c.count >= 2000) || c.count >= dictEvery {
		if err := s.newDict(); err != nil {
			return nil, err
		}
	}
	dst = append(dst, encS2)
	dst = append(dst, raw[:idLen]...)
	dst = binary.AppendUvarint(dst, uint64(c.curID))
	off := len(dst)
	need := s2.MaxEncodedLen(len(body))
	if need < 0 {
		return nil, fmt.Errorf("badger store: event of %d bytes too large to compress", len(body))
	}
	dst = slices.Grow(dst, need)
	var out []byte
	if c.cur != nil {
		out = c.cur.Encode(dst[off:off+need], body)
	} else {
		out = s2.Encode(dst[off:off+need], body)
	}
	return dst[:off+len(out)], nil
}

// newDict makes a dictionary of the newest sampled events, stores it in a
// transaction of its own (so it is durable before any event that uses it),
// and makes it current. Too small a sample keeps the current dictionary.
func (s *Store) newDict() error {
	c := &s.comp
	c.count = 0
	var data []byte
	n := len(c.sample)
	for i := 1; i <= n && len(data) < dictBytes; i++ {
		// newest first, so that the newest events end up nearest the end of
		// the dictionary, where s2 finds them with the shortest offsets
		k := (c.ring - i + 2*n) % n
		data = append(c.sample[k], data...)
	}
	if len(data) > dictBytes {
		data = data[len(data)-dictBytes:]
	}
	d := s2.MakeDict(data, nil)
	if d == nil {
		return nil
	}
	id := c.nextID
	if id == 0 {
		id = 1
	}
	if err := s.db.Update(func(txn *bdg.Txn) error { return txn.Set(dictKey(id), d.Bytes()) }); err != nil {
		return fmt.Errorf("badger store: store compression dictionary %d: %w", id, err)
	}
	c.cur, c.curID, c.nextID = d, id, id+1
	s.dicts.mu.Lock()
	if len(s.dicts.m) >= maxDicts {
		for k := range s.dicts.m { // evict one; it is read back when needed
			delete(s.dicts.m, k)
			break
		}
	}
	s.dicts.m[id] = d
	s.dicts.mu.Unlock()
	return nil
}

// loadDictIDs sets the next dictionary id from those stored.
func (s *Store) loadDictIDs() error {
	s.dicts.m = map[uint32]*s2.Dict{}
	return s.db.View(func(txn *bdg.Txn) error {
		it := txn.NewIterator(bdg.IteratorOptions{Prefix: keyDictPrefix, Reverse: true})
		defer it.Close()
		it.Seek(append(append([]byte(nil), keyDictPrefix...), 0xff, 0xff, 0xff, 0xff, 0xff))
		if it.Valid() {
			k := it.Item().Key()
			if len(k) != len(keyDictPrefix)+4 {
				return corrupt(k, "dictionary key of the wrong length")
			}
			s.comp.nextID = binary.BigEndian.Uint32(k[len(keyDictPrefix):]) + 1
		}
		return nil
	})
}

// dict returns the decoding dictionary id, reading it from txn when it is
// not cached.
func (s *Store) dict(txn *bdg.Txn, id uint32) (*s2.Dict, error) {
	s.dicts.mu.RLock()
	d := s.dicts.m[id]
	s.dicts.mu.RUnlock()
	if d != nil {
		return d, nil
	}
	var b []byte
	item, err := txn.Get(dictKey(id))
	if err == nil {
		b, err = item.ValueCopy(nil)
	}
	if err != nil {
		if errors.Is(err, bdg.ErrKeyNotFound) {
			return nil, fmt.Errorf("compression dictionary %d missing", id)
		}
		return nil, err
	}
	if d = s2.NewDict(b); d == nil {
		return nil, fmt.Errorf("compression dictionary %d unreadable", id)
	}
	s.dicts.mu.Lock()
	if len(s.dicts.m) >= maxDicts {
		for k := range s.dicts.m {
			delete(s.dicts.m, k)
			break
		}
	}
	s.dicts.m[id] = d
	s.dicts.mu.Unlock()
	return d, nil
}

// decodeValue rebuilds the event of a stored value; buf is a reusable
// buffer for the decompressed encoding, returned grown.
func (s *Store) decodeValue(txn *bdg.Txn, v []byte, b *mdr.Builder, buf []byte) (ev *mdr.Event, _ []byte, err error) {
	if len(v) == 0 {
		return nil, buf, errShort
	}
	switch v[0] {
	case encRaw:
		ev, err = decodeEvent(v[1:], b)
		return ev, buf, err
	case encS2:
	default:
		return nil, buf, errors.New("unknown value encoding")
	}
	v = v[1:]
	idn, k := binary.Uvarint(v)
	if k <= 0 || idn > uint64(len(v)-k) {
		return nil, buf, errShort
	}
	idEnd := k + int(idn)
	dictID, k2 := binary.Uvarint(v[idEnd:])
	if k2 <= 0 || dictID > 1<<32-1 {
		return nil, buf, errShort
	}
	block := v[idEnd+k2:]
	n, err := s2.DecodedLen(block)
	if err != nil || n > maxDecoded {
		return nil, buf, fmt.Errorf("compressed event unreadable (%v)", err)
	}
	// The event keeps its strings in the decompressed encoding: decompress
	// into a fresh buffer and let the strings point into it (one allocation
	// and no copy per event; buf is not needed).
	out := make([]byte, idEnd+n)
	copy(out, v[:idEnd])
	var dec []byte
	if dictID == 0 {
		dec, err = s2.Decode(out[idEnd:], block)
	} else {
		var d *s2.Dict
		if d, err = s.dict(txn, uint32(dictID)); err == nil {
			dec, err = d.Decode(out[idEnd:], block)
		}
	}
	if err != nil {
		return nil, buf, fmt.Errorf("compressed event: %w", err)
	}
	if len(dec) != n || (n > 0 && &dec[0] != &out[idEnd]) {
		return nil, buf, errors.New("compressed event: decoded length differs from the header")
	}
	ev, err = decodeEventString(unsafe.String(unsafe.SliceData(out), len(out)), b)
	return ev, buf, err
}

// valueID reads the id of a stored event value.
func valueID(v []byte) (string, error) {
	if len(v) == 0 || (v[0] != encRaw && v[0] != encS2) {
		return "", errors.New("unknown value encoding")
	}
	return eventID(v[1:])
}

// idPrefixLen is the length of the id at the start of an event encoding.
func idPrefixLen(id string) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], uint64(len(id))) + len(id)
}

// bucketSummary is the summary of one chunk's events in one bucket.
type bucketSummary struct {
	bucket int64
	b      *store.SummaryBuilder
}

// summaryItem is an event for a bucket's summary builder.
type summaryItem struct {
	b *store.SummaryBuilder
	e *mdr.Event
}

// maxChunkBuckets bounds the buckets one transaction of events touches
// (each gets a summary entry).
const maxChunkBuckets = 8

// summaryFor appends a reset summary for bucket, reusing builders.
func (c *compressor) summaryFor(sums []bucketSummary, bucket int64) []bucketSummary {
	if len(sums) < cap(sums) && sums[:len(sums)+1][len(sums)].b != nil {
		sums = sums[:len(sums)+1]
		sums[len(sums)-1].bucket = bucket
		sums[len(sums)-1].b.Reset()
		return sums
	}
	return append(sums, bucketSummary{bucket: bucket, b: store.NewSummaryBuilder(nil)})
}
