package graph_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinktrain/sinktrain/autograd"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/model/graph"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// benchConfig is the reference config of issue 2: d=256, 4 layers, 4 heads,
// T=256, V=4096 (batch 8).
func benchConfig() model.Config {
	return model.Config{VocabSize: 4096, HiddenSize: 256, NumLayers: 4, NumHeads: 4, IntermediateSize: 1024,
		RotaryPct: 0.25, RotaryBase: 10000, MaxPositionEmbeddings: 2048, LayerNormEps: 1e-5,
		ParallelResidual: true, HiddenAct: "gelu", Attention: sinktoken.Softmax}
}

// benchLlamaConfig is the Llama twin of benchConfig: same width, depth and
// heads, 2 kv heads, SwiGLU width 688 (≈ 2/3 of 1024: the MLP's parameter
// count of the GELU twin), untied.
func benchLlamaConfig() model.Config {
	c := model.NewLlama(4096, 256, 4, 4, 2, 688, false)
	c.LayerNormEps = 1e-5
	return c
}

const benchB, benchT = 8, 256

func benchIDs(V int) []int32 {
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]int32, benchB*benchT)
	for i := range ids {
		ids[i] = int32(r.IntN(V))
	}
	return ids
}

// BenchmarkStep times one forward+backward Step of the fused graph: one
// graph of batch 8, OpenBLAS with as many threads as GOMAXPROCS.
func BenchmarkStep(b *testing.B) {
	autograd.SetBLASThreads(runtime.GOMAXPROCS(0))
	defer autograd.SetBLASThreads(1)
	step(b)
}

// BenchmarkStepThreads is BenchmarkStep with the graph splitting its ops
// over GOMAXPROCS goroutines (graph.WithThreads) and OpenBLAS on one thread
// per call: how several graphs on a few cores each run.
func BenchmarkStepThreads(b *testing.B) {
	autograd.SetBLASThreads(1)
	step(b, graph.WithThreads(runtime.GOMAXPROCS(0)))
}

func step(b *testing.B, opts ...graph.Option) {
	cfg := benchConfig()
	g, err := graph.New(cfg, model.Init(cfg, 1), benchB, benchT, opts...)
	if err != nil {
		b.Fatal(err)
	}
	ids := benchIDs(cfg.VocabSize)
	if _, _, err := g.Step(ids, ids); err != nil { // allocates the op buffers
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := g.Step(ids, ids); err != nil {
			b.Fatal(err)
		}
	}
	reportStep(b, cfg)
}

// BenchmarkStepPar is the training configuration: one graph per core
// (GOMAXPROCS graphs sharing the weights, each on its share of batch 8),
// single-threaded OpenBLAS, and the gradients summed (serially: ≈5M floats).
func BenchmarkStepPar(b *testing.B) { stepPar(b, benchConfig()) }

// BenchmarkStepParLlama is BenchmarkStepPar for the Llama twin.
func BenchmarkStepParLlama(b *testing.B) { stepPar(b, benchLlamaConfig()) }

func stepPar(b *testing.B, cfg model.Config) {
	autograd.SetBLASThreads(1)
	w := model.Init(cfg, 1)
	nw := min(runtime.GOMAXPROCS(0), benchB)
	ids := benchIDs(cfg.VocabSize)
	graphs := make([]*graph.Graph, nw)
	shares := make([][]int32, nw)
	first := 0
	for i := range graphs {
		rows := benchB / nw
		if i < benchB%nw {
			rows++
		}
		g, err := graph.New(cfg, w, rows, benchT)
		if err != nil {
			b.Fatal(err)
		}
		graphs[i], shares[i] = g, ids[first*benchT:(first+rows)*benchT]
		first += rows
	}
	specs := cfg.ParamSpecs()
	grads := make([][]float32, len(specs))
	for j, s := range specs {
		grads[j] = make([]float32, len(w[s.Name].Data))
	}
	errs := make([]error, nw)
	step := func() {
		var wg sync.WaitGroup
		for i, g := range graphs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, errs[i] = g.Step(shares[i], shares[i])
			}()
		}
		wg.Wait()
		for j, s := range specs {
			dst := grads[j]
			copy(dst, graphs[0].Grad(s.Name))
			for _, g := range graphs[1:] {
				for k, v := range g.Grad(s.Name) {
					dst[k] += v
				}
			}
		}
	}
	step() // allocates the op buffers
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	reportStep(b, cfg)
}

// reportStep reports tok/s and the achieved GF/s (graph.TrainFLOPsPerToken).
func reportStep(b *testing.B, cfg model.Config) {
	tok := float64(b.N * benchB * benchT)
	b.ReportMetric(tok/b.Elapsed().Seconds(), "tok/s")
	b.ReportMetric(tok*graph.TrainFLOPsPerToken(cfg, benchT)/b.Elapsed().Seconds()/1e9, "GF/s")
}

// BenchmarkStepStock times the same model built from stock gorgonia ops
// (Mul, BatchedMatMul, SoftMax, broadcast arithmetic, ByIndices,
// LogSoftMax; erf-GELU from elementwise ops) — the baseline.
// TestStockMatchesHF checks that it computes the same loss and gradients.
func BenchmarkStepStock(b *testing.B) {
	cfg := benchConfig()
	s, err := newStock(cfg, model.Init(cfg, 1), benchB, benchT, benchIDs(cfg.VocabSize))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.step(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchB*benchT)/b.Elapsed().Seconds(), "tok/s")
}

// stock is the stock-op model of stockGraph with its gradient graph and
// machine, fed with one batch of ids.
type stock struct {
	m      G.VM
	loss   *G.Node
	params G.Nodes // in cfg.ParamSpecs() order
}

// newStock builds the stock graph of B rows of T ids (each row's next
// tokens are its targets) and its gradients.
func newStock(cfg model.Config, w model.Weights, B, T int, ids []int32) (*stock, error) {
	autograd.UseGorgoniaBLAS()
	g, loss, params, idx, onehot, err := stockGraph(cfg, w, B, T)
	if err != nil {
		return nil, err
	}
	if _, err := G.Grad(loss, params...); err != nil {
		return nil, err
	}
	m, err := autograd.NewMachine(g)
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		idx[i] = int(id)
	}
	N := B * T
	for i := 0; i < N; i++ {
		if i%T != T-1 {
			onehot[i*cfg.VocabSize+int(ids[i+1])] = 1 / float32(N-B)
		}
	}
	return &stock{m: m, loss: loss, params: params}, nil
}

// step runs forward and backward once.
func (s *stock) step() error {
	s.m.Reset()
	return s.m.RunAll()
}

// stockGraph builds the GPT-NeoX forward and loss from stock ops. idx holds
// the token ids, onehot [N,V] the target weights (1/n at the target).
func stockGraph(cfg model.Config, w model.Weights, B, T int) (g *G.ExprGraph, loss *G.Node, params G.Nodes, idx []int, onehot []float32, err error) {
	g = G.NewGraph()
	N, D, V, H := B*T, cfg.HiddenSize, cfg.VocabSize, cfg.NumHeads
	hd, rot := cfg.HeadDim(), cfg.RotaryDims()
	p := map[string]*G.Node{}
	for _, s := range cfg.ParamSpecs() {
		v := tensor.New(tensor.WithShape(s.Shape...), tensor.WithBacking(w[s.Name].Data))
		n := G.NewTensor(g, tensor.Float32, len(s.Shape), G.WithShape(s.Shape...), G.WithName(s.Name), G.WithValue(v))
		p[s.Name] = n
		params = append(params, n)
	}
	constant := func(name string, data []float32, shape ...int) *G.Node {
		return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name),
			G.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))))
	}
	idx = make([]int, N)
	idxN := G.NewTensor(g, tensor.Int, 1, G.WithShape(N), G.WithName("ids"), G.WithValue(tensor.New(tensor.WithShape(N), tensor.WithBacking(idx))))
	onehot = make([]float32, N*V)
	target := constant("onehot", onehot, N, V)

	// RoPE tables [1,T,hd]: cos/sin on rotary dims, 1/0 elsewhere; R = rotate_half.
	cosT, sinT, rmat := make([]float32, T*hd), make([]float32, T*hd), make([]float32, hd*hd)
	half := rot / 2
	for t := 0; t < T; t++ {
		for i := 0; i < hd; i++ {
			cosT[t*hd+i] = 1
			if i < rot {
				f := float64(t) * math.Pow(cfg.RotaryBase, -float64(2*(i%half))/float64(rot))
				cosT[t*hd+i], sinT[t*hd+i] = float32(math.Cos(f)), float32(math.Sin(f))
			}
		}
	}
	for i := 0; i < half; i++ {
		rmat[(i+half)*hd+i] = -1 // out[i] = -x[i+half]
		rmat[i*hd+i+half] = 1    // out[i+half] = x[i]
	}
	cosN, sinN, rN := constant("cos", cosT, 1, T, hd), constant("sin", sinT, 1, T, hd), constant("rot", rmat, hd, hd)
	mask := make([]float32, T*T)
	for i := 0; i < T; i++ {
		for j := i + 1; j < T; j++ {
			mask[i*T+j] = -1e9
		}
	}
	maskN := constant("mask", mask, 1, T, T)
	scale := G.NewConstant(float32(1/math.Sqrt(float64(hd))), G.WithName("scale"))

	must := func(n *G.Node, e error) *G.Node {
		if e != nil && err == nil {
			err = e
		}
		return n
	}
	linear := func(x, wt, bias *G.Node) *G.Node {
		y := must(G.Mul(x, must(G.Transpose(wt))))
		if bias != nil {
			y = must(G.BroadcastAdd(y, bias, nil, []byte{0}))
		}
		return y
	}
	eps := G.NewConstant(float32(cfg.LayerNormEps), G.WithName("eps"))
	mhalf := G.NewConstant(float32(-0.5), G.WithName("mhalf"))
	layerNorm := func(x, wt, bias *G.Node) *G.Node {
		mu := must(G.Mean(x, 1))
		xc := must(G.BroadcastSub(x, mu, nil, []byte{1}))
		v := must(G.Mean(must(G.Square(xc)), 1))
		r := must(G.Pow(must(G.Add(v, eps)), mhalf))
		y := must(G.BroadcastHadamardProd(xc, r, nil, []byte{1}))
		y = must(G.BroadcastHadamardProd(y, wt, nil, []byte{0}))
		return must(G.BroadcastAdd(y, bias, nil, []byte{0}))
	}
	// GELU(x) = x·Φ(x) = ½x + ½|x|·erf(|x|/√2); gorgonia has no erf, so
	// erf(u), u ≥ 0, is Abramowitz–Stegun 7.1.26 from stock ops:
	// 1 − t·(a1 + t·(a2 + t·(a3 + t·(a4 + t·a5))))·e^(−u²), t = 1/(1 + p·u),
	// |error| ≤ 1.5e-7.
	cnst := func(name string, v float64) *G.Node { return G.NewConstant(float32(v), G.WithName(name)) }
	half32, one := cnst("half", 0.5), cnst("one", 1)
	invSqrt2, pAS := cnst("inv_sqrt2", 1/math.Sqrt2), cnst("as_p", 0.3275911)
	as := []*G.Node{cnst("as_a1", 0.254829592), cnst("as_a2", -0.284496736), cnst("as_a3", 1.421413741),
		cnst("as_a4", -1.453152027), cnst("as_a5", 1.061405429)}
	gelu := func(x *G.Node) *G.Node {
		ax := must(G.Abs(x))
		u := must(G.Mul(ax, invSqrt2))
		t := must(G.Inverse(must(G.Add(one, must(G.Mul(u, pAS))))))
		poly := must(G.Mul(t, as[4]))
		for i := 3; i >= 0; i-- {
			poly = must(G.HadamardProd(t, must(G.Add(poly, as[i]))))
		}
		erf := must(G.Sub(one, must(G.HadamardProd(poly, must(G.Exp(must(G.Neg(must(G.Square(u))))))))))
		return must(G.Mul(must(G.Add(x, must(G.HadamardProd(ax, erf)))), half32))
	}
	heads := func(qkv *G.Node, s int) *G.Node { // [N,3D] → [B·H, T, hd]
		x := must(G.Reshape(qkv, tensor.Shape{B, T, H, 3 * hd}))
		x = must(G.Slice(x, nil, nil, nil, G.S(s*hd, (s+1)*hd)))
		x = must(G.Transpose(x, 0, 2, 1, 3))
		return must(G.Reshape(x, tensor.Shape{B * H, T, hd}))
	}
	rope := func(x *G.Node) *G.Node {
		xr := must(G.Reshape(must(G.Mul(must(G.Reshape(x, tensor.Shape{B * H * T, hd})), rN)), tensor.Shape{B * H, T, hd}))
		a := must(G.BroadcastHadamardProd(x, cosN, nil, []byte{0}))
		return must(G.Add(a, must(G.BroadcastHadamardProd(xr, sinN, nil, []byte{0}))))
	}

	x := must(G.ByIndices(p[model.EmbedIn], idxN, 0))
	for l := 0; l < cfg.NumLayers && err == nil; l++ {
		pp := func(s string) *G.Node { return p[model.LayerPrefix(l)+s] }
		qkv := linear(layerNorm(x, pp(model.LN1W), pp(model.LN1B)), pp(model.QKVW), pp(model.QKVB))
		q, k, v := rope(heads(qkv, 0)), rope(heads(qkv, 1)), heads(qkv, 2)
		s := must(G.Mul(must(G.BatchedMatMul(q, k, false, true)), scale))
		s = must(G.BroadcastAdd(s, maskN, nil, []byte{0}))
		ctx := must(G.BatchedMatMul(must(G.SoftMax(s)), v))
		ctx = must(G.Reshape(must(G.Transpose(must(G.Reshape(ctx, tensor.Shape{B, H, T, hd})), 0, 2, 1, 3)), tensor.Shape{N, D}))
		attn := linear(ctx, pp(model.DenseW), pp(model.DenseB))
		mlp := linear(gelu(linear(layerNorm(x, pp(model.LN2W), pp(model.LN2B)), pp(model.FC1W), pp(model.FC1B))), pp(model.FC2W), pp(model.FC2B))
		x = must(G.Add(must(G.Add(x, attn)), mlp))
	}
	logits := linear(layerNorm(x, p[model.FinalNormW], p[model.FinalNormB]), p[model.EmbedOut], nil)
	loss = must(G.Neg(must(G.Sum(must(G.HadamardProd(must(G.LogSoftMax(logits)), target))))))
	return g, loss, params, idx, onehot, err
}
