package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinktrain/sinktrain/autograd"
	"github.com/sinktrain/sinktrain/internal/kernels"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// Option configures New.
type Option func(*graphOptions)

type graphOptions struct {
	diagnostics bool
}

// WithDiagnostics makes the graph keep every hidden state of the last run
// (see [Graph.Hidden]). Attention probabilities are always kept.
func WithDiagnostics() Option { return func(o *graphOptions) { o.diagnostics = true } }

// Graph is one forward+backward graph for a fixed (batch, length). Its
// parameter nodes share storage with the model.Weights passed in: updating
// w[name].Data in place (the optimizer does that) is seen by the next Step.
// Several Graphs (one per worker goroutine) may share one model.Weights; each has
// its own gradient buffers. A Graph is not safe for concurrent use.
type Graph struct {
	cfg           model.Config
	batch, length int
	opts          graphOptions

	ids     []int32 // [B*T] read by the embedding op
	targets []int32 // [B*T] shifted labels read by the cross-entropy op

	train *builtGraph // forward + backward
	fwd   *builtGraph // forward only, built on first Forward
	last  *builtGraph // the graph of the last Step or Forward
	w     model.Weights
}

// builtGraph is one compiled gorgonia graph with its taps.
type builtGraph struct {
	g       *G.ExprGraph
	m       G.VM
	loss    []float32            // [1]
	logits  *G.Node              // [B*T, V], read with autograd.LinearOutput
	grads   map[string][]float32 // HF layout, filled by Tap ops
	hidden  [][]float32          // L+1 × [B*T, D] when diagnostics are on
	attn    []*G.Node            // per layer, CausalAttention nodes
	scored  func() int           // scored targets of the last run
	hasGrad bool
}

// New builds and compiles the training graph of cfg for batch rows of
// length tokens. w must pass w.Check(cfg); it is used in place, not copied.
func New(cfg model.Config, w model.Weights, batch, length int, opts ...Option) (*Graph, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new graph: %w", err)
	}
	if err := w.Check(cfg); err != nil {
		return nil, fmt.Errorf("new graph: %w", err)
	}
	if batch <= 0 || length <= 0 {
		return nil, fmt.Errorf("new graph: batch %d, length %d, expected positive values", batch, length)
	}
	gr := &Graph{cfg: cfg, batch: batch, length: length, w: w,
		ids: make([]int32, batch*length), targets: make([]int32, batch*length)}
	for _, o := range opts {
		o(&gr.opts)
	}
	var err error
	if gr.train, err = gr.build(true); err != nil {
		return nil, err
	}
	return gr, nil
}

func normalizer(a sinktoken.Attention) autograd.Normalizer {
	switch a {
	case sinktoken.Softmax1:
		return autograd.NormSoftmax1
	case sinktoken.SinkLogit:
		return autograd.NormSinkLogit
	}
	return autograd.NormSoftmax
}

// build constructs the graph; withGrad adds the backward and gradient taps.
func (gr *Graph) build(withGrad bool) (*builtGraph, error) {
	c := gr.cfg
	N, D := gr.batch*gr.length, c.HiddenSize
	bg := &builtGraph{g: G.NewGraph(), loss: make([]float32, 1), hasGrad: withGrad}
	g := bg.g
	params := make(map[string]*G.Node)
	var order []*G.Node
	var names []string
	for _, s := range c.ParamSpecs() {
		t := gr.w[s.Name]
		v := tensor.New(tensor.WithShape(s.Shape...), tensor.WithBacking(t.Data))
		n := G.NewTensor(g, tensor.Float32, len(s.Shape), G.WithShape(s.Shape...), G.WithName(s.Name), G.WithValue(v))
		params[s.Name] = n
		order = append(order, n)
		names = append(names, s.Name)
	}
	// Taps are added after G.Grad: gorgonia's differentiation analysis
	// rejects non-differentiable consumers on the path to the loss.
	type tap struct {
		n   *G.Node
		dst []float32
	}
	var taps []tap
	keep := func(n *G.Node) error {
		if gr.opts.diagnostics {
			buf := kernels.Alloc32(N * D)
			bg.hidden = append(bg.hidden, buf)
			taps = append(taps, tap{n, buf})
		}
		return nil
	}
	wrap := func(err error) error { return fmt.Errorf("build graph: %w", err) }

	x, err := autograd.Embedding(params[model.EmbedIn], gr.ids) // [N, D]
	if err != nil {
		return nil, wrap(err)
	}
	if err := keep(x); err != nil {
		return nil, wrap(err)
	}
	norm := normalizer(c.Attention)
	for l := 0; l < c.NumLayers; l++ {
		p := func(s string) *G.Node { return params[model.LayerPrefix(l)+s] }
		ln1, err := autograd.LayerNorm(x, p(model.LN1W), p(model.LN1B), c.LayerNormEps)
		if err != nil {
			return nil, wrap(err)
		}
		qkv, err := autograd.Linear(ln1, p(model.QKVW), p(model.QKVB)) // [N, 3D]
		if err != nil {
			return nil, wrap(err)
		}
		heads, err := autograd.RoPEHeads(qkv, gr.batch, c.NumHeads, c.RotaryDims(), c.RotaryBase) // [3,B,H,T,hd]
		if err != nil {
			return nil, wrap(err)
		}
		var sink *G.Node
		if norm == autograd.NormSinkLogit {
			sink = p(model.SinkLogit)
		}
		ctx, err := autograd.CausalAttention(heads, sink, norm) // [N, D]
		if err != nil {
			return nil, wrap(err)
		}
		bg.attn = append(bg.attn, ctx)
		attn, err := autograd.Linear(ctx, p(model.DenseW), p(model.DenseB)) // [N, D]
		if err != nil {
			return nil, wrap(err)
		}
		mlpIn := x
		if !c.ParallelResidual {
			if x, err = autograd.Sum(x, attn); err != nil {
				return nil, wrap(err)
			}
			mlpIn = x
		}
		ln2, err := autograd.LayerNorm(mlpIn, p(model.LN2W), p(model.LN2B), c.LayerNormEps)
		if err != nil {
			return nil, wrap(err)
		}
		h, err := autograd.Linear(ln2, p(model.FC1W), p(model.FC1B)) // [N, F]
		if err != nil {
			return nil, wrap(err)
		}
		if h, err = autograd.GELU(h); err != nil {
			return nil, wrap(err)
		}
		mlp, err := autograd.Linear(h, p(model.FC2W), p(model.FC2B)) // [N, D]
		if err != nil {
			return nil, wrap(err)
		}
		if c.ParallelResidual {
			x, err = autograd.Sum(x, attn, mlp) // one pass, preallocated
		} else {
			x, err = autograd.Sum(x, mlp)
		}
		if err != nil {
			return nil, wrap(err)
		}
		if l < c.NumLayers-1 {
			if err := keep(x); err != nil {
				return nil, wrap(err)
			}
		}
	}
	final, err := autograd.LayerNorm(x, params[model.FinalNormW], params[model.FinalNormB], c.LayerNormEps)
	if err != nil {
		return nil, wrap(err)
	}
	if err := keep(final); err != nil {
		return nil, wrap(err)
	}
	logits, err := autograd.Linear(final, params[model.EmbedOut], nil) // [N, V]
	if err != nil {
		return nil, wrap(err)
	}
	bg.logits = logits // no tap: a [B*T, V] copy per step would cost more than the loss
	if withGrad {
		loss, err := autograd.CrossEntropy(logits, gr.targets, sinktoken.IgnoreIndex)
		if err != nil {
			return nil, wrap(err)
		}
		bg.scored = autograd.CrossEntropyScored(loss)
		taps = append(taps, tap{loss, bg.loss})
		grads, err := G.Grad(loss, order...)
		if err != nil {
			return nil, wrap(err)
		}
		bg.grads = make(map[string][]float32, len(grads))
		for i, gn := range grads {
			buf := kernels.Alloc32(len(gr.w[names[i]].Data))
			bg.grads[names[i]] = buf
			taps = append(taps, tap{gn, buf})
		}
	}
	for _, t := range taps {
		if _, err := autograd.Tap(t.n, t.dst); err != nil {
			return nil, wrap(err)
		}
	}
	if bg.m, err = autograd.NewMachine(g); err != nil {
		return nil, wrap(err)
	}
	return bg, nil
}

// setIDs copies ids into the graph's input buffer.
func (gr *Graph) setIDs(ids []int32) error {
	if len(ids) != len(gr.ids) {
		return fmt.Errorf("%d ids, expected batch %d × length %d = %d", len(ids), gr.batch, gr.length, len(gr.ids))
	}
	copy(gr.ids, ids)
	return nil
}

func (gr *Graph) run(bg *builtGraph) error {
	bg.m.Reset()
	gr.last = bg
	if err := bg.m.RunAll(); err != nil {
		return fmt.Errorf("run graph: %w", err)
	}
	return nil
}

// Step runs forward and backward. ids and labels are [batch*length]
// row-major. labels[t] is the target id of position t
// (sinktoken.IgnoreIndex skips it); like Hugging Face, logits at t predict
// labels[t+1] within each row. It returns the mean loss over scored targets
// and how many were scored.
func (gr *Graph) Step(ids, labels []int32) (loss float64, n int, err error) {
	if err := gr.setIDs(ids); err != nil {
		return 0, 0, err
	}
	if len(labels) != len(gr.targets) {
		return 0, 0, fmt.Errorf("%d labels, expected %d", len(labels), len(gr.targets))
	}
	T := gr.length
	for b := 0; b < gr.batch; b++ {
		row, dst := labels[b*T:(b+1)*T], gr.targets[b*T:(b+1)*T]
		copy(dst, row[1:])
		dst[T-1] = sinktoken.IgnoreIndex
	}
	if err := gr.run(gr.train); err != nil {
		return 0, 0, err
	}
	return float64(gr.train.loss[0]), gr.train.scored(), nil
}

// Forward runs the forward pass only (no loss, no backward); read the
// result with Logits, Hidden and AttentionProbs.
func (gr *Graph) Forward(ids []int32) error {
	if err := gr.setIDs(ids); err != nil {
		return err
	}
	if gr.fwd == nil {
		var err error
		if gr.fwd, err = gr.build(false); err != nil {
			return err
		}
	}
	return gr.run(gr.fwd)
}

// Grad returns parameter name's gradient of the mean loss of the last Step
// (HF layout, len = the parameter's size), or nil for an unknown name. The
// slice is owned by the graph and overwritten by the next Step.
func (gr *Graph) Grad(name string) []float32 { return gr.train.grads[name] }

// Logits returns the [batch*length, V] logits of the last Step or Forward
// (owned by the graph: copy what you keep).
func (gr *Graph) Logits() []float32 {
	if gr.last == nil {
		return nil
	}
	return autograd.LinearOutput[float32](gr.last.logits)
}

// Hidden returns the hidden states of the last run when the graph was built
// WithDiagnostics (nil otherwise), as Hugging Face's output_hidden_states:
// L+1 entries of [batch*length, D]: the embeddings, the output of layers
// 0…L−2, and the output of the last layer after the final layer norm.
func (gr *Graph) Hidden() [][]float32 {
	if gr.last == nil {
		return nil
	}
	return gr.last.hidden
}

// AttentionProbs returns layer l's attention probabilities [B,H,T,T] of the
// last run (owned by the graph; masked entries are 0), or nil.
func (gr *Graph) AttentionProbs(l int) []float32 {
	if gr.last == nil || l < 0 || l >= len(gr.last.attn) {
		return nil
	}
	return autograd.AttentionProbs[float32](gr.last.attn[l])
}

// Batch and Length return the graph's fixed shape.
func (gr *Graph) Batch() int  { return gr.batch }
func (gr *Graph) Length() int { return gr.length }
