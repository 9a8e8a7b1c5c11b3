package autograd

import (
	"fmt"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Embedding gathers rows of a table:
//
//	y[i,:] = W[ids[i],:]          W: [V,D], ids: [N] → y: [N,D]
//
// Backward: dW[v,:] = Σ_{i: ids[i]=v} dy[i,:] (ids are not differentiated).
// ids is read at every run: the caller may overwrite its contents (not its
// length) between runs. An id outside [0, V) fails the run with an error.
func Embedding(w *G.Node, ids []int32) (*G.Node, error) {
	if err := wantDims("Embedding", "table", w, 2); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("autograd: Embedding: no ids, expected at least one")
	}
	return apply(&embeddingOp{base: base{name: "Embedding", arity: 1}, ids: ids}, "embedding("+w.Name()+")", w)
}

type embeddingOp struct {
	base
	ids []int32 // [N], owned by the caller
	out outBuf  // [N, D]
}

// embeddingGradOp scatters dy [N,D] into a [V,D] gradient.
type embeddingGradOp struct {
	base
	ids []int32 // [N]
	V   int
	out outBuf // [V, D]
}

var (
	_ G.Op   = (*embeddingOp)(nil)
	_ G.SDOp = (*embeddingOp)(nil)
	_ G.Op   = (*embeddingGradOp)(nil)
)

func (o *embeddingOp) Type() hm.Type { return fnType(2, 2) }

func (o *embeddingOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	return tensor.Shape{len(o.ids), s[1]}, nil
}

func checkIDs(ids []int32, V int) error {
	for i, id := range ids {
		if id < 0 || int(id) >= V {
			return fmt.Errorf("autograd: Embedding: id %d at position %d, expected an id in [0, %d)", id, i, V)
		}
	}
	return nil
}

func (o *embeddingOp) Do(in ...G.Value) (G.Value, error) {
	dt, err := o.check(in)
	if err != nil {
		return nil, err
	}
	V, D := in[0].Shape()[0], in[0].Shape()[1]
	if err := checkIDs(o.ids, V); err != nil {
		return nil, err
	}
	return run(o.out.get(dt, len(o.ids), D), func(y []float32) { gather(vals[float32](in[0]), y, o.ids, D) },
		func(y []float64) { gather(vals[float64](in[0]), y, o.ids, D) })
}

func (o *embeddingOp) DiffWRT(int) []bool { return []bool{true} }

func (o *embeddingOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dw, err := apply(&embeddingGradOp{base: base{name: "EmbeddingGrad", arity: 1}, ids: o.ids, V: in[0].Shape()[0]}, "dembedding", grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dw}, nil
}

func (o *embeddingGradOp) Type() hm.Type { return fnType(2, 2) }

func (o *embeddingGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	return tensor.Shape{o.V, s[1]}, nil
}

func (o *embeddingGradOp) Do(in ...G.Value) (G.Value, error) {
	dt, err := o.check(in)
	if err != nil {
		return nil, err
	}
	if err := checkIDs(o.ids, o.V); err != nil {
		return nil, err
	}
	D := in[0].Shape()[1]
	return run(o.out.get(dt, o.V, D), func(dw []float32) { scatterAdd(vals[float32](in[0]), dw, o.ids, D) },
		func(dw []float64) { scatterAdd(vals[float64](in[0]), dw, o.ids, D) })
}

func gather[T Float](w, y []T, ids []int32, D int) {
	for i, id := range ids {
		copy(y[i*D:(i+1)*D], w[int(id)*D:(int(id)+1)*D])
	}
}

func scatterAdd[T Float](dy, dw []T, ids []int32, D int) {
	clear(dw)
	for i, id := range ids {
		row, src := dw[int(id)*D:(int(id)+1)*D], dy[i*D:(i+1)*D]
		for j := range row {
			row[j] += src[j]
		}
	}
}
