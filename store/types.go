package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/mdrkit/mdr"
)

// Common values of AlertRecord.Status. A store treats status as an opaque
// string; the statuses of an incident are mdr.IncidentNew and the others.
const (
	StatusNew        = "new"
	StatusOpen       = "open"
	StatusInProgress = "in_progress"
	StatusResolved   = "resolved"
	StatusClosed     = "closed"
	StatusSuppressed = "suppressed"
)

// AlertRecord is an alert as the store keeps it: the alert a rule raised
// plus the triage state that changes over its life. It is a plain value,
// safe to copy; a store never keeps a reference to the record passed in.
type AlertRecord struct {
	Alert mdr.Alert `json:"alert"`
	// Status is the triage status (see StatusNew and the others).
	Status string `json:"status,omitempty"`
	// Score is the triage score; ListQuery.Order ByScore lists highest first.
	Score float64 `json:"score,omitempty"`
	// Parts are the named parts of Score (see package triage).
	Parts []mdr.ScorePart `json:"parts,omitempty"`
	// Count is how many occurrences the record stands for when duplicates
	// were merged into it (0 or 1: one), First the event time of the
	// earliest; Alert.Time is the latest.
	Count int       `json:"count,omitempty"`
	First time.Time `json:"first,omitzero"`
	// Reason says why the record has its status (for example the
	// suppression that matched).
	Reason string `json:"reason,omitempty"`
	// IncidentID names the incident the alert was grouped into.
	IncidentID string `json:"incident_id,omitempty"`
	// Updated is when the record last changed, as the caller tells it.
	Updated time.Time `json:"updated,omitzero"`
	// Version is assigned by the store: 1 on PutAlert, incremented by every
	// UpdateAlert. An update must carry the version it read.
	Version uint64 `json:"version"`
}

// ID returns the alert's id.
func (a *AlertRecord) ID() string { return a.Alert.ID }

// Digest is a SHA-256 hash; it prints and marshals as lower-case hex.
type Digest [sha256.Size]byte

// IsZero reports whether d is all zero (the PrevHash of the first record).
func (d Digest) IsZero() bool { return d == Digest{} }

func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// MarshalText implements encoding.TextMarshaler.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Digest) UnmarshalText(b []byte) error {
	if len(b) != 2*sha256.Size {
		return fmt.Errorf("%w: digest must be %d hex digits, got %d", mdr.ErrInvalid, 2*sha256.Size, len(b))
	}
	_, err := hex.Decode(d[:], b)
	if err != nil {
		return fmt.Errorf("%w: digest: %v", mdr.ErrInvalid, err)
	}
	return nil
}

// AuditRecord is one entry of the audit log: who (Actor) did what (Action)
// to what (Target), with an opaque Payload (for example the JSON of a
// response command and its result).
//
// Seq, PrevHash and Hash are assigned by the store. Hash is
// ComputeHash(PrevHash); PrevHash is the Hash of the record before (zero for
// the first record), so changing or removing any record breaks every hash
// after it. It is a plain value, safe to copy.
type AuditRecord struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Target   string    `json:"target,omitempty"`
	Payload  []byte    `json:"payload,omitempty"`
	PrevHash Digest    `json:"prev_hash"`
	Hash     Digest    `json:"hash"`
}

// ComputeHash returns SHA-256 over prev followed by an unambiguous encoding
// of Seq, Time (Unix nanoseconds), Actor, Action, Target and Payload, each
// variable-length field preceded by its length.
func (r *AuditRecord) ComputeHash(prev Digest) Digest {
	h := sha256.New()
	h.Write(prev[:])
	var buf [binary.MaxVarintLen64]byte
	h.Write(buf[:binary.PutUvarint(buf[:], r.Seq)])
	h.Write(buf[:binary.PutVarint(buf[:], r.Time.UnixNano())])
	for _, s := range [...]string{r.Actor, r.Action, r.Target} {
		h.Write(buf[:binary.PutUvarint(buf[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	h.Write(buf[:binary.PutUvarint(buf[:], uint64(len(r.Payload)))])
	h.Write(r.Payload)
	var d Digest
	h.Sum(d[:0])
	return d
}

// Seal assigns r its place after prev in a chain: Seq, PrevHash, Hash, and
// Time (now, in UTC, when zero; otherwise truncated to what survives a
// round trip through Unix nanoseconds). Implementations of Audit call it
// under their append lock; the prev of the first record is the zero
// AuditRecord.
func Seal(r *AuditRecord, prev *AuditRecord, now time.Time) {
	if r.Time.IsZero() {
		r.Time = now
	}
	r.Time = time.Unix(0, r.Time.UnixNano()).UTC()
	r.Seq = prev.Seq + 1
	r.PrevHash = prev.Hash
	r.Hash = r.ComputeHash(r.PrevHash)
}

// CheckAppend returns ErrAssigned when the caller set a field the store
// assigns.
func CheckAppend(r *AuditRecord) error {
	if r.Seq != 0 || !r.PrevHash.IsZero() || !r.Hash.IsZero() {
		return ErrAssigned
	}
	return nil
}

// Verify reads the whole audit log and checks its chain: sequence numbers
// from 1 without gaps, each PrevHash equal to the Hash before it, each Hash
// equal to its recomputation. It returns the number of records checked and a
// *ChainError at the first record that fails.
func Verify(ctx context.Context, a Audit) (uint64, error) {
	var prev AuditRecord
	var n uint64
	for r, err := range a.ReadAudit(ctx, 1) {
		if err != nil {
			return n, err
		}
		switch {
		case r.Seq != prev.Seq+1:
			return n, &ChainError{Seq: r.Seq, Reason: fmt.Sprintf("sequence number follows %d", prev.Seq)}
		case r.PrevHash != prev.Hash:
			return n, &ChainError{Seq: r.Seq, Reason: "previous hash does not match the record before"}
		case r.Hash != r.ComputeHash(r.PrevHash):
			return n, &ChainError{Seq: r.Seq, Reason: "hash does not match the record's content"}
		}
		prev = r
		n++
	}
	return n, nil
}
