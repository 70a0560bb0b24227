//go:build !mdrstdjson

package codec

import (
	"encoding/json"
	"errors"
	"github.com/bytedance/sonic"

	"github.com/bytedance/sonic/ast"
)

type numberish = json.Number

var errTrailing = errors.New("invalid characters after top-level value")

var visitorOpts = &ast.VisitorOptions{}

func walk(s string, v *visitor) error { return walkSonic(s, v) }

func walkSonic(s string, v *visitor) error {
	if err := ast.Preorder(s, v, visitorOpts); err != nil {
		return err
	}
	// sonic's walk stops after the first value; like encoding/json, reject
	// anything but white space after it (a SIMD validation, ~10 % of a decode).
	if !sonic.ValidString(s) {
		return errTrailing
	}
	// sonic takes raw control characters inside strings; encoding/json
	// (the mdrstdjson build) rejects them, as RFC 8259 does
	if mayHaveControl(s) {
		return controlInString(s)
	}
	return nil
}

// Name is the JSON implementation this build uses.
const Name = "sonic"
