//go:build !mdrstdjson

package codec

import (
	"encoding/json"

	"github.com/bytedance/sonic/ast"
)

type numberish = json.Number

var visitorOpts = &ast.VisitorOptions{}

func walk(s string, v *visitor) error {
	return ast.Preorder(s, v, visitorOpts)
}

// Name is the JSON implementation this build uses.
const Name = "sonic"
