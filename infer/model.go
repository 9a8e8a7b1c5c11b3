package infer

import (
	"math"
	"sync"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// Model is a GPT-NeoX model laid out for the pure-Go forward pass. It is
// read-only after NewModel and may be shared by any number of Sessions.
type Model struct {
	Config  model.Config
	embedIn []float32 // [V, D]
	layers  []layerWeights
	normW   []float32 // [D] final layer norm
	normB   []float32 // [D]
	embOut  []float32 // [V, D]
	invFreq []float64 // [rot/2] base^(−2i/rot)
	scale   float32   // 1/sqrt(hd)

	weights model.Weights // the weights by HF name, for Fingerprint
	fpOnce  sync.Once
	fp      [32]byte // Fingerprint, once computed
}

type layerWeights struct {
	ln1W, ln1B []float32 // [D]
	ln2W, ln2B []float32 // [D]
	qkvW       []float32 // [3D, D], rows per head: q, k, v of head 0, then head 1, …
	qkvB       []float32 // [3D]
	denseW     []float32 // [D, D]
	denseB     []float32 // [D]
	sinkLogit  []float32 // [H], sink_logit attention only
	fc1W       []float32 // [F, D]
	fc1B       []float32 // [F]
	fc2W       []float32 // [D, F]
	fc2B       []float32 // [D]
}

// LoadModel loads a checkpoint or HF folder (checkpoint.Load) for the
// forward pass.
func LoadModel(dir string) (*Model, error) {
	ck, err := checkpoint.Load(dir)
	if err != nil {
		return nil, err
	}
	return NewModel(ck.Config, ck.Weights)
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
	m := &Model{
		Config:  cfg,
		embedIn: w[model.EmbedIn].Data,
		normW:   w[model.FinalNormW].Data,
		normB:   w[model.FinalNormB].Data,
		embOut:  w[model.EmbedOut].Data,
		scale:   float32(1 / math.Sqrt(float64(cfg.HeadDim()))),
		weights: w,
	}
	rot := cfg.RotaryDims()
	m.invFreq = make([]float64, rot/2)
	for i := range m.invFreq {
		m.invFreq[i] = 1 / math.Pow(cfg.RotaryBase, float64(2*i)/float64(rot))
	}
	for l := range cfg.NumLayers {
		p := model.LayerPrefix(l)
		get := func(s string) []float32 { return w[p+s].Data }
		lw := layerWeights{
			ln1W: get(model.LN1W), ln1B: get(model.LN1B), ln2W: get(model.LN2W), ln2B: get(model.LN2B),
			qkvW: get(model.QKVW), qkvB: get(model.QKVB), denseW: get(model.DenseW), denseB: get(model.DenseB),
			fc1W: get(model.FC1W), fc1B: get(model.FC1B), fc2W: get(model.FC2W), fc2B: get(model.FC2B),
		}
		if cfg.Attention == sinktoken.SinkLogit {
			lw.sinkLogit = get(model.SinkLogit)
		}
		m.layers = append(m.layers, lw)
	}
	return m, nil
}

// SinkIDs returns the model's sink token ids (config sinktrain.sink_ids).
func (m *Model) SinkIDs() []int32 {
	out := make([]int32, len(m.Config.SinkIDs))
	for i, id := range m.Config.SinkIDs {
		out[i] = int32(id)
	}
	return out
}
