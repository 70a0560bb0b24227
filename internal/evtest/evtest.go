// Package evtest builds small events for tests from alternating field
// names and Go values.
package evtest

import (
	"fmt"

	"github.com/mdrkit/mdr"
)

// Event builds an event from key, value pairs. Values may be string, int,
// float64, bool, nil (JSON null), []string (a list) or an mdr.Value; any
// other type panics, since it is a mistake in the test itself.
func Event(kv ...any) *mdr.Event {
	var fs []mdr.Field
	for i := 0; i+1 < len(kv); i += 2 {
		var v mdr.Value
		switch x := kv[i+1].(type) {
		case string:
			v = mdr.String(x)
		case int:
			v = mdr.Int(int64(x))
		case float64:
			v = mdr.Float(x)
		case bool:
			v = mdr.Bool(x)
		case nil:
			v = mdr.Null()
		case []string:
			l := make([]mdr.Value, len(x))
			for j, s := range x {
				l[j] = mdr.String(s)
			}
			v = mdr.List(l)
		case mdr.Value:
			v = x
		default:
			panic(fmt.Sprintf("evtest: unsupported value type %T for field %v", x, kv[i]))
		}
		fs = append(fs, mdr.Field{Key: kv[i].(string), Value: v})
	}
	return mdr.NewEvent(mdr.Origin{Source: "test"}, fs...)
}
