// Package svg renders the Graphviz DOT pictures of package investigate as
// SVG in pure Go: Graphviz itself runs compiled to WebAssembly inside the
// process (github.com/goccy/go-graphviz on the wazero runtime), so no
// system Graphviz is needed. It is a separate package so that only programs
// that draw pictures link the WebAssembly runtime and the embedded
// Graphviz.
//
// A Renderer holds one Graphviz instance, which is costly to start (the
// WebAssembly module is compiled on New); reuse it for many pictures. A
// Renderer is not safe for concurrent use.
package svg

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/goccy/go-graphviz"
)

// ErrRender wraps every failure to parse or lay out a picture.
var ErrRender = errors.New("svg: render")

// Renderer turns DOT text into SVG.
type Renderer struct {
	gv *graphviz.Graphviz
}

// New starts a Graphviz instance.
func New(ctx context.Context) (*Renderer, error) {
	gv, err := graphviz.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: start graphviz: %v", ErrRender, err)
	}
	return &Renderer{gv: gv}, nil
}

// Render lays out the DOT graph with the dot engine and writes it as SVG.
func (r *Renderer) Render(ctx context.Context, dot []byte, w io.Writer) error {
	g, err := graphviz.ParseBytes(dot)
	if err != nil {
		return fmt.Errorf("%w: parse DOT: %v", ErrRender, err)
	}
	defer g.Close()
	if err := r.gv.Render(ctx, g, graphviz.SVG, w); err != nil {
		return fmt.Errorf("%w: %v", ErrRender, err)
	}
	return nil
}

// Close releases the Graphviz instance.
func (r *Renderer) Close() error { return r.gv.Close() }
