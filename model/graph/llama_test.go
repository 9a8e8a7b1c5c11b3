package graph_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/model/graph"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// llamaRef is an independent float64 forward of a Llama-family model,
// written from transformers' modeling_llama with the tensors' HF names
// spelled out: the reference the Llama graph is checked against.
type llamaRef struct {
	c model.Config
	w map[string][]float64
}

// llamaOut is what one reference run returns.
type llamaOut struct {
	loss   float64
	logits []float64   // [B·T, V]
	hidden [][]float64 // L+1 × [B·T, D]
	probs  [][]float64 // L × [B, H, T, T]
}

func (r llamaRef) t(name string) []float64 { return r.w[name] }

func (r llamaRef) layer(l int, s string) []float64 {
	return r.w[fmt.Sprintf("model.layers.%d.%s", l, s)]
}

// matT returns x·Wᵀ (+ b): x [n, in], W [out, in].
func matT(x, w, b []float64, in int) []float64 {
	n, out := len(x)/in, len(w)/in
	y := make([]float64, n*out)
	for i := 0; i < n; i++ {
		for o := 0; o < out; o++ {
			var s float64
			for k := 0; k < in; k++ {
				s += x[i*in+k] * w[o*in+k]
			}
			if b != nil {
				s += b[o]
			}
			y[i*out+o] = s
		}
	}
	return y
}

func rms(x, w []float64, eps float64) []float64 {
	D := len(w)
	y := make([]float64, len(x))
	for i := 0; i < len(x); i += D {
		var s float64
		for _, v := range x[i : i+D] {
			s += v * v
		}
		r := 1 / math.Sqrt(s/float64(D)+eps)
		for j := 0; j < D; j++ {
			y[i+j] = x[i+j] * r * w[j]
		}
	}
	return y
}

// rotate applies rotate_half RoPE in place to the heads of one token's row
// (nh heads of hd) at position t.
func rotate(row []float64, nh, hd, t int, inv []float64) {
	half := hd / 2
	for h := 0; h < nh; h++ {
		x := row[h*hd : (h+1)*hd]
		for i := 0; i < half; i++ {
			a := float64(t) * inv[i]
			x1, x2 := x[i], x[i+half]
			x[i] = x1*math.Cos(a) - x2*math.Sin(a)
			x[i+half] = x2*math.Cos(a) + x1*math.Sin(a)
		}
	}
}

func (r llamaRef) run(ids, labels []int32, B, T int) llamaOut {
	c := r.c
	V, D, H, KV, hd, L := c.VocabSize, c.HiddenSize, c.NumHeads, c.KVHeads(), c.HeadDim(), c.NumLayers
	N := B * T
	inv := c.InvFreq()
	var out llamaOut
	x := make([]float64, N*D)
	emb := r.t("model.embed_tokens.weight")
	for i, id := range ids {
		copy(x[i*D:(i+1)*D], emb[int(id)*D:(int(id)+1)*D])
	}
	out.hidden = append(out.hidden, append([]float64(nil), x...))
	for l := 0; l < L; l++ {
		h := rms(x, r.layer(l, "input_layernorm.weight"), c.LayerNormEps)
		q := matT(h, r.layer(l, "self_attn.q_proj.weight"), r.layer(l, "self_attn.q_proj.bias"), D)
		k := matT(h, r.layer(l, "self_attn.k_proj.weight"), r.layer(l, "self_attn.k_proj.bias"), D)
		v := matT(h, r.layer(l, "self_attn.v_proj.weight"), r.layer(l, "self_attn.v_proj.bias"), D)
		for i := 0; i < N; i++ {
			rotate(q[i*H*hd:(i+1)*H*hd], H, hd, i%T, inv)
			rotate(k[i*KV*hd:(i+1)*KV*hd], KV, hd, i%T, inv)
		}
		ctx := make([]float64, N*H*hd)
		probs := make([]float64, B*H*T*T)
		sinks := r.layer(l, "self_attn.sink_logits")
		for b := 0; b < B; b++ {
			for hq := 0; hq < H; hq++ {
				g := hq / (H / KV)
				for i := 0; i < T; i++ {
					qi := q[(b*T+i)*H*hd+hq*hd:][:hd]
					s := make([]float64, i+1)
					m := math.Inf(-1)
					for j := range s {
						kj := k[(b*T+j)*KV*hd+g*hd:][:hd]
						for d := range qi {
							s[j] += qi[d] * kj[d]
						}
						s[j] /= math.Sqrt(float64(hd))
						m = math.Max(m, s[j])
					}
					extra := math.Inf(-1)
					switch c.Attention {
					case sinktoken.Softmax1:
						extra = 0
					case sinktoken.SinkLogit:
						extra = sinks[hq]
					}
					m = math.Max(m, extra)
					z := math.Exp(extra - m)
					for j := range s {
						s[j] = math.Exp(s[j] - m)
						z += s[j]
					}
					for j := range s {
						p := s[j] / z
						probs[((b*H+hq)*T+i)*T+j] = p
						vj := v[(b*T+j)*KV*hd+g*hd:][:hd]
						for d := range vj {
							ctx[(b*T+i)*H*hd+hq*hd+d] += p * vj[d]
						}
					}
				}
			}
		}
		out.probs = append(out.probs, probs)
		attn := matT(ctx, r.layer(l, "self_attn.o_proj.weight"), r.layer(l, "self_attn.o_proj.bias"), H*hd)
		for i := range x {
			x[i] += attn[i]
		}
		h = rms(x, r.layer(l, "post_attention_layernorm.weight"), c.LayerNormEps)
		gate := matT(h, r.layer(l, "mlp.gate_proj.weight"), r.layer(l, "mlp.gate_proj.bias"), D)
		up := matT(h, r.layer(l, "mlp.up_proj.weight"), r.layer(l, "mlp.up_proj.bias"), D)
		for i, gv := range gate {
			gate[i] = gv / (1 + math.Exp(-gv)) * up[i]
		}
		mlp := matT(gate, r.layer(l, "mlp.down_proj.weight"), r.layer(l, "mlp.down_proj.bias"), c.IntermediateSize)
		for i := range x {
			x[i] += mlp[i]
		}
		if l < L-1 {
			out.hidden = append(out.hidden, append([]float64(nil), x...))
		}
	}
	final := rms(x, r.t("model.norm.weight"), c.LayerNormEps)
	out.hidden = append(out.hidden, final)
	head := r.t("lm_head.weight")
	if head == nil {
		head = emb
	}
	out.logits = matT(final, head, nil, D)
	var n int
	for b := 0; b < B; b++ {
		for t := 0; t < T-1; t++ {
			y := labels[b*T+t+1]
			if y == sinktoken.IgnoreIndex {
				continue
			}
			row := out.logits[(b*T+t)*V : (b*T+t+1)*V]
			m := math.Inf(-1)
			for _, z := range row {
				m = math.Max(m, z)
			}
			var s float64
			for _, z := range row {
				s += math.Exp(z - m)
			}
			out.loss += m + math.Log(s) - row[y]
			n++
		}
	}
	out.loss /= float64(n)
	return out
}

// randomWeights fills every tensor of c with seeded values: matrices
// N(0, 1/fan_in), embeddings N(0, 0.25), biases N(0, 0.01), norm weights
// 1 + N(0, 0.04), sink logits N(0, 1) — no zero bias, no unit norm, so a
// tensor in the wrong place cannot pass.
func randomWeights(c model.Config, seed uint64) model.Weights {
	r := rand.New(rand.NewPCG(seed, 9))
	w := model.Init(c, seed)
	for _, s := range c.ParamSpecs() {
		d := w[s.Name].Data
		mean, sd := 0.0, 0.1
		switch {
		case s.Role == model.TokenEmbd:
			sd = 0.5
		case strings.HasSuffix(s.Name, "norm.weight"):
			mean, sd = 1, 0.2
		case strings.HasSuffix(s.Name, ".bias"):
		case s.Role == model.AttnSinks:
			sd = 1
		default:
			sd = 1 / math.Sqrt(float64(s.Shape[1]))
		}
		for i := range d {
			d[i] = float32(mean + sd*r.NormFloat64())
		}
	}
	return w
}

// TestLlamaGraphMatchesReference checks the Llama graph against llamaRef:
// loss, logits, hidden states and attention maps of a forward, and every
// parameter's gradient at its largest coordinate and two seeded others
// against central differences of the reference loss — for grouped-query,
// multi-query and multi-head attention, tied and untied heads, q/k/v and
// MLP biases, a head_dim other than D/H, llama3 and linear rope_scaling,
// every attention variant, and labels ignoring a sink position.
func TestLlamaGraphMatchesReference(t *testing.T) {
	const B, T = 2, 7
	base := model.NewLlama(23, 16, 2, 4, 2, 24, false)
	base.RotaryBase, base.LayerNormEps = 500, 1e-5
	type variant struct {
		name string
		edit func(c *model.Config)
	}
	variants := []variant{
		{"gqa", func(c *model.Config) {}},
		{"mha tied softmax1", func(c *model.Config) {
			c.NumKVHeads, c.TieWordEmbeddings, c.Attention = 0, true, sinktoken.Softmax1
		}},
		{"mqa sink_logit llama3", func(c *model.Config) {
			c.NumKVHeads, c.Attention = 1, sinktoken.SinkLogit
			c.MaxPositionEmbeddings = 64
			c.RopeScaling = model.RopeScaling{Type: "llama3", Factor: 4, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 16}
		}},
		{"llama biases head_dim linear", func(c *model.Config) {
			c.AttentionBias, c.MLPBias, c.HeadSize = true, true, 6
			c.RopeScaling = model.RopeScaling{Type: "linear", Factor: 2}
		}},
		{"qwen2 tied sink_logit", func(c *model.Config) {
			c.Arch, c.TieWordEmbeddings, c.Attention, c.BOSTokenID, c.EOSTokenID = model.Qwen2, true, sinktoken.SinkLogit, -1, -1
		}},
		{"mistral softmax1", func(c *model.Config) {
			c.Arch, c.Attention, c.SlidingWindow = model.Mistral, sinktoken.Softmax1, 4096
		}},
	}
	for vi, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			c := base
			v.edit(&c)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			w := randomWeights(c, uint64(10+vi))
			ids := make([]int32, B*T)
			for i := range ids {
				ids[i] = int32((i*7 + 3) % c.VocabSize)
			}
			labels := append([]int32(nil), ids...)
			labels[1] = sinktoken.IgnoreIndex // a sink at position 1 of row 0
			g, err := graph.New(c, w, B, T, graph.WithDiagnostics())
			if err != nil {
				t.Fatal(err)
			}
			loss, n, err := g.Step(ids, labels)
			if err != nil {
				t.Fatal(err)
			}
			if n != B*(T-1)-1 {
				t.Errorf("scored %d targets, want %d", n, B*(T-1)-1)
			}
			ref := llamaRef{c: c, w: map[string][]float64{}}
			for name, tt := range w {
				ref.w[name] = to64(tt.Data)
			}
			want := ref.run(ids, labels, B, T)
			const tol = 1e-6
			if math.Abs(loss-want.loss) > tol*math.Abs(want.loss) {
				t.Errorf("loss %.9g, want %.9g", loss, want.loss)
			}
			worst, worstName, worstGrad := 0.0, "", 0.0
			defer func() { t.Logf("worst relative error %.3g (%s), gradients %.3g", worst, worstName, worstGrad) }()
			check := func(what string, got []float32, want []float64, tol float64) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
				}
				e := relErr(got, want)
				if e > worst {
					worst, worstName = e, what
				}
				if !(e <= tol) {
					t.Errorf("%s: relative error %.3g > %g", what, e, tol)
				}
			}
			check("logits", g.Logits(), want.logits, tol)
			for i, h := range g.Hidden() {
				check(fmt.Sprintf("hidden.%d", i), h, want.hidden[i], tol)
			}
			if len(g.Hidden()) != c.NumLayers+1 {
				t.Errorf("%d hidden states, want %d", len(g.Hidden()), c.NumLayers+1)
			}
			for l := 0; l < c.NumLayers; l++ {
				check(fmt.Sprintf("attn.%d", l), g.AttentionProbs(l), want.probs[l], tol)
			}
			r := rand.New(rand.NewPCG(uint64(vi), 5))
			for _, s := range c.ParamSpecs() {
				gr := g.Grad(s.Name)
				top := 0
				for i, v := range gr {
					if math.Abs(float64(v)) > math.Abs(float64(gr[top])) {
						top = i
					}
				}
				scale := math.Abs(float64(gr[top]))
				for _, i := range []int{top, r.IntN(len(gr)), r.IntN(len(gr))} {
					p := ref.w[s.Name]
					const eps = 1e-5
					orig := p[i]
					p[i] = orig + eps
					lp := ref.run(ids, labels, B, T).loss
					p[i] = orig - eps
					lm := ref.run(ids, labels, B, T).loss
					p[i] = orig
					fd := (lp - lm) / (2 * eps)
					d := math.Abs(float64(gr[i]) - fd)
					worstGrad = math.Max(worstGrad, d/scale)
					if !(d <= 2e-5*scale+1e-8) {
						t.Errorf("grad %s[%d] = %.8g, central difference %.8g (largest |grad| %.3g)", s.Name, i, gr[i], fd, scale)
					}
				}
			}
			// Forward-only gives the same logits.
			if err := g.Forward(ids); err != nil {
				t.Fatal(err)
			}
			check("forward logits", g.Logits(), want.logits, tol)
		})
	}
}

func TestLlamaGraphRejects(t *testing.T) {
	c := model.NewLlama(23, 16, 1, 4, 2, 24, false)
	c.Arch, c.SlidingWindow = model.Mistral, 4
	w := model.Init(c, 1)
	if _, err := graph.New(c, w, 1, 8); err == nil || !strings.Contains(err.Error(), "sliding_window 4") {
		t.Errorf("sliding window shorter than the length: err = %v", err)
	}
	if _, err := graph.New(c, w, 1, 4); err != nil {
		t.Errorf("sliding window as long as the length: %v", err)
	}
	f, _, err := model.ParseConfig([]byte(`{"model_type":"falcon","vocab_size":64,"hidden_size":32,"num_hidden_layers":1,
		"num_attention_heads":4,"multi_query":true,"parallel_attn":true,"bias":false,"alibi":false}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := graph.New(f, model.Init(f, 1), 1, 4); err == nil || !strings.Contains(err.Error(), `model_type "falcon" cannot be trained`) {
		t.Errorf("falcon: err = %v", err)
	}
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
