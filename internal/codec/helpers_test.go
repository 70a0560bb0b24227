package codec

import (
	"testing"

	"github.com/mdrkit/mdr"
)

func decodeWith(t testing.TB, walker func(string, *visitor) error, line []byte) (*mdr.Event, error) {
	b := mdr.NewBuilder(16)
	v := visitor{b: b}
	if err := walker(string(line), &v); err != nil {
		return nil, err
	}
	if !v.done {
		return nil, ErrNotObject
	}
	return b.Finish(mdr.Origin{Source: "x", Line: 1}, line), nil
}

func sameEvent(a, b *mdr.Event) bool {
	if a.Len() != b.Len() || a.ID() != b.ID() || !a.Time().Equal(b.Time()) || a.DuplicateKeys() != b.DuplicateKeys() {
		return false
	}
	for i := 0; i < a.Len(); i++ {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Key != fb.Key || !fa.Value.Equal(fb.Value) {
			return false
		}
	}
	return true
}
