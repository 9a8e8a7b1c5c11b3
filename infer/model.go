package infer

import (
	"fmt"
	"math"
	"strconv"
	"sync"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/internal/input"
	"github.com/sinktrain/sinktrain/internal/kernels"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// Model is a model of any family package model describes, laid out for the
// pure-Go forward pass: its Features pick the shared building blocks
// (LayerNorm/RMSNorm, GELU/SwiGLU, MHA/GQA/MQA, RoPE/ALiBi, parallel or
// sequential residual). It is read-only after NewModel and may be shared by
// any number of Sessions.
type Model struct {
	Config model.Config
	f      model.Features

	H, KV, hd int // query heads, key/value heads, head dim
	qkvRows   int // (H+2KV)·hd: one token's q, k and v
	// Offsets of head h's query, kv head g's key and value inside a token's
	// qkv row, in the layout of the fused projection (or q | k | v for
	// separate ones).
	qOff, kOff, vOff []int

	embed   matrix    // [V, D]
	head    matrix    // [V, D] the LM head (embed when tied)
	normW   []float32 // [D] final norm
	normB   []float32 // [D] (zeros without a bias)
	layers  []layerWeights
	invFreq []float64 // [rot/2] RoPE (model.Config.InvFreq)
	slopes  []float32 // [H] ALiBi slopes (bf16-rounded for ALiBiBloom)
	scale   float32   // softmax scale (1/sqrt(hd) or MPT's softmax_scale)

	dtype    storage // how the matrices are stored
	widest   int     // the largest input width of any matrix (bfloat16 input buffers)
	matBytes int     // the bytes of all weight matrices as stored

	weights model.Weights             // the weights by HF name, for Fingerprint (matrices stored as bfloat16 have Data nil)
	halves  map[string]kernels.Panels // the bfloat16 matrices by HF name
	fpOnce  sync.Once
	fp      [32]byte // Fingerprint, once computed

	// passes holds the activation buffers of passes longer than a
	// session keeps (*acts), for the next long prefill of any of the
	// model's sessions: a turn does not allocate (and fault in) tens of
	// megabytes again, and an idle model's buffers go at the next GCs.
	passes sync.Pool
}

// passActs returns activation buffers for a pass of n rows, from
// m.passes when it holds large enough ones.
func (m *Model) passActs(n int) *acts {
	if a, ok := m.passes.Get().(*acts); ok && len(a.x) >= n*m.Config.HiddenSize {
		return a
	}
	a := newActs(m, n)
	return &a
}

// storage is how a Model stores its weight matrices.
type storage int

const (
	f32Storage  storage = iota // float32, as loaded
	bf16Storage                // bfloat16: half the bytes per decoded token
)

// projection is one linear map writing rows [off, off+rows) of a wider
// output row (q_proj, k_proj, v_proj into the qkv row; gate and up into
// the SwiGLU row).
type projection struct {
	w    matrix    // [rows, in]
	b    []float32 // [rows] or nil
	off  int
	rows int
}

type layerWeights struct {
	attnNormW, attnNormB []float32 // [D]; B zeros without a bias
	ffnNormW, ffnNormB   []float32 // [D]; nil for a shared parallel norm
	qkv                  []projection
	qNormW, qNormB       []float32    // [H·hd] qk_ln
	kNormW, kNormB       []float32    // [KV·hd]
	outW                 matrix       // [D, H·hd]
	outB                 []float32    // [D] or nil
	sinkLogit            []float32    // [H], sink_logit attention only
	up                   []projection // GELU: up [F]; SwiGLU: gate then up, [2F]
	downW                matrix       // [D, F]
	downB                []float32    // [D] or nil
	sliding              bool         // keys at cache distance ≥ SlidingWindow are masked
}

// LoadModel loads a checkpoint or HF folder (checkpoint.Load) for the
// forward pass.
func LoadModel(dir string) (*Model, error) {
	ck, err := checkpoint.Load(dir)
	if err != nil {
		return nil, err
	}
	return newModel(ck.Config, ck.Weights, f32Storage) // Load validated the config and the weights
}

// LoadModelAs is LoadModel storing the weight matrices as dtype
// (checkpoint.F32, or checkpoint.BF16: converted on load, rounded to
// nearest even; norms and biases stay float32). Any other dtype is refused.
func LoadModelAs(dir string, dtype checkpoint.DType) (*Model, error) {
	st, err := storageOf(dtype)
	if err != nil {
		return nil, err
	}
	ck, err := checkpoint.Load(dir)
	if err != nil {
		return nil, err
	}
	return newModel(ck.Config, ck.Weights, st)
}

// NewModelAs is NewModel storing the weight matrices as dtype (see
// LoadModelAs). With checkpoint.BF16 the float32 matrices of w are not
// kept.
func NewModelAs(cfg model.Config, w model.Weights, dtype checkpoint.DType) (*Model, error) {
	st, err := storageOf(dtype)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := w.Check(cfg); err != nil {
		return nil, err
	}
	return newModel(cfg, w, st)
}

// ParseDType reads the weight storage of LoadModelAs: "float32" (or "")
// or "bfloat16" (checkpoint.ParseDType's spellings); float16 and anything
// else are refused.
func ParseDType(s string) (checkpoint.DType, error) {
	d, err := checkpoint.ParseDType(s)
	if err == nil {
		_, err = storageOf(d)
	}
	if err != nil {
		return "", input.Usagef("DType", "dtype", strconv.Quote(s), "the engine stores weights as float32 or bfloat16")
	}
	return d, nil
}

// storageOf maps a dtype to a storage, refusing the ones inference cannot
// store weights in.
func storageOf(d checkpoint.DType) (storage, error) {
	switch d {
	case checkpoint.F32:
		return f32Storage, nil
	case checkpoint.BF16:
		return bf16Storage, nil
	}
	return 0, input.Errorf("DType", "dtype", string(d), "the engine stores weights as float32 or bfloat16")
}

// DType returns how the model stores its weight matrices.
func (m *Model) DType() checkpoint.DType {
	if m.dtype == bf16Storage {
		return checkpoint.BF16
	}
	return checkpoint.F32
}

// NewModel checks w against cfg and returns the model. The weights are
// shared, not copied.
func NewModel(cfg model.Config, w model.Weights) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := w.Check(cfg); err != nil {
		return nil, err
	}
	return newModel(cfg, w, f32Storage)
}

// newModel lays out checked weights for the forward pass, its matrices
// stored as st.
func newModel(cfg model.Config, w model.Weights, st storage) (*Model, error) {
	f := cfg.Features()
	m := &Model{Config: cfg, f: f, H: cfg.NumHeads, KV: cfg.KVHeads(), hd: cfg.HeadDim(), weights: w, dtype: st}
	if st == bf16Storage { // a copy of the map: the caller's tensors are not changed
		m.weights = make(model.Weights, len(w))
		for n, t := range w {
			m.weights[n] = t
		}
		m.halves = map[string]kernels.Panels{}
	}
	m.qkvRows = (m.H + 2*m.KV) * m.hd
	if f.QKNorm && f.QKV != model.QKVBlocked && f.QKV != model.QKVSeparate {
		return nil, fmt.Errorf("q/k LayerNorm needs each token's query and key contiguous, not the %s qkv layout", f.QKV)
	}
	m.qOff, m.kOff, m.vOff = qkvOffsets(f.QKV, m.H, m.KV, m.hd)
	D, F := cfg.HiddenSize, cfg.IntermediateSize
	get := func(r model.Role, l int) []float32 {
		if t := w.Role(cfg, r, l); t != nil {
			return t.Data
		}
		return nil
	}
	zeros := make([]float32, max(D, m.H*m.hd, m.KV*m.hd))
	bias := func(r model.Role, l, n int) []float32 { // a norm's bias, zeros when it has none
		if b := get(r, l); b != nil {
			return b
		}
		return zeros[:n]
	}
	mat := func(r model.Role, l int) matrix { // a matrix, converted to bfloat16 once per tensor
		name := cfg.TensorName(r, l)
		t := w[name]
		if t == nil {
			return matrix{}
		}
		mt := matrix{rows: t.Shape[0], cols: t.Shape[1]}
		m.widest = max(m.widest, mt.cols)
		if st == f32Storage {
			mt.f = t.Data
			_ = kernels.Huge(mt.f) // a decoding step streams it: huge pages
			m.matBytes += 4 * len(t.Data)
			return mt
		}
		if h, ok := m.halves[name]; ok {
			mt.p = h
			return mt
		}
		m.matBytes += 2 * len(t.Data)
		mt.p = kernels.PackPanels(t.Data, mt.rows, mt.cols)
		m.halves[name] = mt.p
		m.weights[name] = &model.Tensor{Shape: t.Shape}
		return mt
	}
	m.embed = mat(model.TokenEmbd, -1)
	m.head = mat(model.Output, -1)
	if cfg.TieWordEmbeddings {
		m.head = m.embed
	}
	m.normW, m.normB = get(model.OutputNorm, -1), bias(model.OutputNormB, -1, D)
	m.scale = float32(1 / math.Sqrt(float64(m.hd)))
	if cfg.SoftmaxScale > 0 {
		m.scale = float32(cfg.SoftmaxScale)
	}
	switch f.Positions {
	case model.RoPE:
		m.invFreq = cfg.InvFreq()
	case model.ALiBi:
		m.slopes = mptSlopes(m.H, cfg.ALiBiBiasMax)
	case model.ALiBiBloom:
		m.slopes = bloomSlopes(m.H)
	}
	for l := range cfg.NumLayers {
		lw := layerWeights{
			attnNormW: get(model.AttnNorm, l), attnNormB: bias(model.AttnNormB, l, D),
			outW: mat(model.AttnOut, l), outB: get(model.AttnOutB, l),
			downW: mat(model.FFNDown, l), downB: get(model.FFNDownB, l),
			sliding: cfg.Sliding(l),
		}
		if !f.SharedNorm {
			lw.ffnNormW, lw.ffnNormB = get(model.FFNNorm, l), bias(model.FFNNormB, l, D)
		}
		if f.QKV == model.QKVSeparate {
			lw.qkv = []projection{
				{w: mat(model.AttnQ, l), b: get(model.AttnQB, l), off: 0, rows: m.H * m.hd},
				{w: mat(model.AttnK, l), b: get(model.AttnKB, l), off: m.H * m.hd, rows: m.KV * m.hd},
				{w: mat(model.AttnV, l), b: get(model.AttnVB, l), off: (m.H + m.KV) * m.hd, rows: m.KV * m.hd},
			}
		} else {
			lw.qkv = []projection{{w: mat(model.AttnQKV, l), b: get(model.AttnQKVB, l), rows: m.qkvRows}}
		}
		if f.QKNorm {
			lw.qNormW, lw.qNormB = get(model.AttnQNorm, l), bias(model.AttnQNormB, l, m.H*m.hd)
			lw.kNormW, lw.kNormB = get(model.AttnKNorm, l), bias(model.AttnKNormB, l, m.KV*m.hd)
		}
		if f.MLP == model.SwiGLUMLP {
			lw.up = []projection{
				{w: mat(model.FFNGate, l), b: get(model.FFNGateB, l), off: 0, rows: F},
				{w: mat(model.FFNUp, l), b: get(model.FFNUpB, l), off: F, rows: F},
			}
		} else {
			lw.up = []projection{{w: mat(model.FFNUp, l), b: get(model.FFNUpB, l), rows: F}}
		}
		if cfg.Attention == sinktoken.SinkLogit {
			lw.sinkLogit = get(model.AttnSinks, l)
		}
		m.layers = append(m.layers, lw)
	}
	return m, nil
}

// qkvOffsets returns where head h's query and kv head g's key and value sit
// inside one token's qkv row (hd-wide blocks; G = H/KV):
//
//	separate, blocked  q_h = h            k_g = H+g             v_g = H+KV+g
//	per_head           q_h = 3h           k_h = 3h+1            v_h = 3h+2
//	grouped            q_h = (h/G)(G+2)+h%G   k_g = g(G+2)+G    v_g = g(G+2)+G+1
func qkvOffsets(layout model.QKVLayout, H, KV, hd int) (q, k, v []int) {
	q, k, v = make([]int, H), make([]int, KV), make([]int, KV)
	G := H / KV
	for h := range H {
		switch layout {
		case model.QKVPerHead:
			q[h] = 3 * h
		case model.QKVGrouped:
			q[h] = h/G*(G+2) + h%G
		default:
			q[h] = h
		}
		q[h] *= hd
	}
	for g := range KV {
		switch layout {
		case model.QKVPerHead:
			k[g], v[g] = 3*g+1, 3*g+2
		case model.QKVGrouped:
			k[g], v[g] = g*(G+2)+G, g*(G+2)+G+1
		default:
			k[g], v[g] = H+g, H+KV+g
		}
		k[g], v[g] = k[g]*hd, v[g]*hd
	}
	return q, k, v
}

// SinkIDs returns the model's sink token ids (config sinktrain.sink_ids).
func (m *Model) SinkIDs() []int32 {
	out := make([]int32, len(m.Config.SinkIDs))
	for i, id := range m.Config.SinkIDs {
		out[i] = int32(id)
	}
	return out
}
