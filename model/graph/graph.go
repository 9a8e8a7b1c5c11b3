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
	threads     int
}

// WithDiagnostics makes the graph keep every hidden state of the last run
// (see [Graph.Hidden]). Attention probabilities are always kept.
func WithDiagnostics() Option { return func(o *graphOptions) { o.diagnostics = true } }

// WithThreads makes the graph split each op's work over n goroutines
// (autograd.SetThreads): for graphs that run side by side with fewer of them
// than cores. OpenBLAS must then run one thread per call.
func WithThreads(n int) Option { return func(o *graphOptions) { o.threads = n } }

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
// length tokens: GPT-NeoX, or the Llama family (llama, mistral, qwen2; see
// llama.go). w must pass w.Check(cfg); it is used in place, not copied.
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
	if err := trainable(cfg, length); err != nil {
		return nil, fmt.Errorf("new graph: %w", err)
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

// trainable refuses the families and features the graph does not build.
func trainable(c model.Config, length int) error {
	switch {
	case c.Arch == "" || c.Arch == model.GPTNeoX:
		return nil
	case !isLlama(c.Arch):
		return fmt.Errorf("model_type %q cannot be trained, expected \"gpt_neox\", \"llama\", \"mistral\" or \"qwen2\"", string(c.Arch))
	}
	for l := 0; l < c.NumLayers; l++ {
		if c.Sliding(l) && c.SlidingWindow < length {
			return fmt.Errorf("sliding_window %d is shorter than the training length %d, expected at least the length (the graph attends to every earlier token)", c.SlidingWindow, length)
		}
	}
	return nil
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

// tap is a node whose value is copied to dst after every run.
type tap struct {
	n   *G.Node
	dst []float32
}

// builder holds one graph under construction: its parameter nodes (HF
// names, in ParamSpecs order) and the taps to add once the gradient exists
// (gorgonia's differentiation analysis rejects non-differentiable consumers
// on the path to the loss).
type builder struct {
	gr     *Graph
	bg     *builtGraph
	params map[string]*G.Node
	order  []*G.Node
	names  []string
	taps   []tap
}

// keep records n as the next hidden state when diagnostics are on.
func (b *builder) keep(n *G.Node) {
	if b.gr.opts.diagnostics {
		buf := kernels.Alloc32(b.gr.batch * b.gr.length * b.gr.cfg.HiddenSize)
		b.bg.hidden = append(b.bg.hidden, buf)
		b.taps = append(b.taps, tap{n, buf})
	}
}

// build constructs the graph of the config's family; withGrad adds the
// backward and gradient taps.
func (gr *Graph) build(withGrad bool) (*builtGraph, error) {
	b := &builder{gr: gr, bg: &builtGraph{g: G.NewGraph(), loss: make([]float32, 1), hasGrad: withGrad},
		params: make(map[string]*G.Node)}
	for _, s := range gr.cfg.ParamSpecs() {
		v := tensor.New(tensor.WithShape(s.Shape...), tensor.WithBacking(gr.w[s.Name].Data))
		n := G.NewTensor(b.bg.g, tensor.Float32, len(s.Shape), G.WithShape(s.Shape...), G.WithName(s.Name), G.WithValue(v))
		b.params[s.Name] = n
		b.order = append(b.order, n)
		b.names = append(b.names, s.Name)
	}
	forward := b.gptNeoX
	if isLlama(gr.cfg.Arch) {
		forward = b.llama
	}
	final, head, err := forward()
	if err == nil {
		err = b.finish(final, head)
	}
	if err != nil {
		return nil, fmt.Errorf("build graph: %w", err)
	}
	autograd.SetThreads(b.bg.g, gr.opts.threads)
	return b.bg, nil
}

// gptNeoX builds the GPT-NeoX decoder up to the final layer norm and
// returns it with the LM head's weight.
func (b *builder) gptNeoX() (final, head *G.Node, err error) {
	c := b.gr.cfg
	x, err := autograd.Embedding(b.params[model.EmbedIn], b.gr.ids) // [N, D]
	if err != nil {
		return nil, nil, err
	}
	b.keep(x)
	norm := normalizer(c.Attention)
	rope := autograd.RoPE{Heads: c.NumHeads, InvFreq: c.InvFreq()}
	for l := 0; l < c.NumLayers; l++ {
		p := func(s string) *G.Node { return b.params[model.LayerPrefix(l)+s] }
		ln1, err := autograd.LayerNorm(x, p(model.LN1W), p(model.LN1B), c.LayerNormEps)
		if err != nil {
			return nil, nil, err
		}
		qkv, err := autograd.Linear(ln1, p(model.QKVW), p(model.QKVB)) // [N, 3D]
		if err != nil {
			return nil, nil, err
		}
		heads, err := autograd.RoPEHeads(qkv, b.gr.batch, rope) // [B,3H,T,hd]
		if err != nil {
			return nil, nil, err
		}
		var sink *G.Node
		if norm == autograd.NormSinkLogit {
			sink = p(model.SinkLogit)
		}
		ctx, err := autograd.CausalAttention(heads, c.NumHeads, sink, norm) // [N, D]
		if err != nil {
			return nil, nil, err
		}
		b.bg.attn = append(b.bg.attn, ctx)
		attn, err := autograd.Linear(ctx, p(model.DenseW), p(model.DenseB)) // [N, D]
		if err != nil {
			return nil, nil, err
		}
		mlpIn := x
		if !c.ParallelResidual {
			if x, err = autograd.Sum(x, attn); err != nil {
				return nil, nil, err
			}
			mlpIn = x
		}
		ln2, err := autograd.LayerNorm(mlpIn, p(model.LN2W), p(model.LN2B), c.LayerNormEps)
		if err != nil {
			return nil, nil, err
		}
		h, err := autograd.Linear(ln2, p(model.FC1W), p(model.FC1B)) // [N, F]
		if err != nil {
			return nil, nil, err
		}
		if h, err = autograd.GELU(h); err != nil {
			return nil, nil, err
		}
		mlp, err := autograd.Linear(h, p(model.FC2W), p(model.FC2B)) // [N, D]
		if err != nil {
			return nil, nil, err
		}
		if c.ParallelResidual {
			x, err = autograd.Sum(x, attn, mlp) // one pass, preallocated
		} else {
			x, err = autograd.Sum(x, mlp)
		}
		if err != nil {
			return nil, nil, err
		}
		if l < c.NumLayers-1 {
			b.keep(x)
		}
	}
	final, err = autograd.LayerNorm(x, b.params[model.FinalNormW], b.params[model.FinalNormB], c.LayerNormEps)
	if err != nil {
		return nil, nil, err
	}
	b.keep(final)
	return final, b.params[model.EmbedOut], nil
}

// finish adds the logits (final·headᵀ), and with a gradient the loss, the
// backward and the gradient taps, then every tap, and compiles the graph.
func (b *builder) finish(final, head *G.Node) error {
	bg, gr := b.bg, b.gr
	logits, err := autograd.Linear(final, head, nil) // [N, V]
	if err != nil {
		return err
	}
	bg.logits = logits // no tap: a [B*T, V] copy per step would cost more than the loss
	if bg.hasGrad {
		loss, err := autograd.CrossEntropy(logits, gr.targets, sinktoken.IgnoreIndex)
		if err != nil {
			return err
		}
		bg.scored = autograd.CrossEntropyScored(loss)
		b.taps = append(b.taps, tap{loss, bg.loss})
		grads, err := G.Grad(loss, b.order...)
		if err != nil {
			return err
		}
		bg.grads = make(map[string][]float32, len(grads))
		for i, gn := range grads {
			buf := kernels.Alloc32(len(gr.w[b.names[i]].Data))
			bg.grads[b.names[i]] = buf
			b.taps = append(b.taps, tap{gn, buf})
		}
	}
	for _, t := range b.taps {
		if _, err := autograd.Tap(t.n, t.dst); err != nil {
			return err
		}
	}
	bg.m, err = autograd.NewMachine(bg.g)
	return err
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
