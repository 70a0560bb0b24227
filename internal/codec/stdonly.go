//go:build mdrstdjson

package codec

import "encoding/json"

type numberish = json.Number

// Name is the JSON implementation this build uses.
const Name = "encoding/json"

func walk(s string, v *visitor) error { return walkStd(s, v) }
