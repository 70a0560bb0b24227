package badger

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/mdrkit/mdr/store"
)

// layoutVersion is the key layout this build writes and reads. Change it
// with any change to the keys or values described in the package doc.
const layoutVersion uint32 = 2

// Key prefixes (first byte). See the package doc for the full layout.
const (
	pMeta     = 0x00 // metadata: layout version, bucket width, sequences
	pEvent    = 'e'  // events by bucket, time, sequence
	pEventID  = 'i'  // event id -> event key suffix
	pSummary  = 'b'  // event summaries by bucket, sequence
	pAlert    = 'a'  // alert records and their indexes
	pIncident = 'n'  // incident records and their indexes
	pGraph    = 'g'  // graph edges, out and in
	pAudit    = 'l'  // audit log by sequence
	pState    = 's'  // component state snapshots
)

// Sub-prefixes of record tables (second byte).
const (
	tRecord = 'r' // id -> JSON record
	tTime   = 't' // time(8) id -> empty
	tScore  = 's' // -score(8) time(8) id -> empty
	tStatus = 'S' // uvarint len(status) status time(8) id -> empty
)

// Sub-prefixes of the graph (second byte).
const (
	gOut = 'o'
	gIn  = 'i'
)

var (
	keyLayout      = []byte("\x00m/layout")
	keyBucketWidth = []byte("\x00m/bucket")
	keySeq         = []byte("\x00q/seq")
)

// orderedInt encodes a signed integer so that byte order is numeric order.
func orderedInt(x int64) uint64 { return uint64(x) ^ 1<<63 }

func fromOrderedInt(u uint64) int64 { return int64(u ^ 1<<63) }

// orderedFloat encodes a float so that byte order is numeric order.
func orderedFloat(f float64) uint64 {
	u := math.Float64bits(f)
	if u&(1<<63) != 0 {
		return ^u
	}
	return u | 1<<63
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// eventKeyLen is the length of an event key: prefix, bucket, time, seq.
const eventKeyLen = 1 + 8 + 8 + 8

func (s *Store) bucketOf(tk int64) int64 { return floorDiv(tk, s.bucketNanos) }

// eventKey appends the key of an event with time key tk and sequence seq.
func (s *Store) eventKey(b []byte, tk int64, seq uint64) []byte {
	b = append(b, pEvent)
	b = binary.BigEndian.AppendUint64(b, orderedInt(s.bucketOf(tk)))
	b = binary.BigEndian.AppendUint64(b, orderedInt(tk))
	return binary.BigEndian.AppendUint64(b, seq)
}

// eventBound returns the smallest event key at time t (t zero: the first
// possible event key).
func (s *Store) eventBound(t time.Time) []byte {
	return s.eventKey(make([]byte, 0, eventKeyLen), store.TimeKey(t), 0)
}

func idKey(id string) []byte {
	k := make([]byte, 0, 1+len(id))
	return append(append(k, pEventID), id...)
}

// adjacency key prefix of node in direction dir.
func adjPrefix(dir byte, node string) []byte {
	k := make([]byte, 0, 2+binary.MaxVarintLen64+len(node)+16)
	k = append(k, pGraph, dir)
	k = binary.AppendUvarint(k, uint64(len(node)))
	return append(k, node...)
}

func auditKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{pAudit}, seq)
}

func stateKey(key string) []byte {
	return append([]byte{pState}, key...)
}

// summaryKeyLen is the length of a summary key: prefix, bucket, seq.
const summaryKeyLen = 1 + 8 + 8

func summaryKey(bucket int64, seq uint64) []byte {
	k := make([]byte, 0, summaryKeyLen)
	k = append(k, pSummary)
	k = binary.BigEndian.AppendUint64(k, orderedInt(bucket))
	return binary.BigEndian.AppendUint64(k, seq)
}
