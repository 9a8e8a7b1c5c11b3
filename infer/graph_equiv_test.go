package infer

import (
	"math"
	"testing"

	_ "go4.org/unsafe/assume-no-moving-gc" // gorgonia (graph.New) needs it on Go ≥ 1.21

	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/model/graph"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// TestDenseMatchesTrainingGraph checks that the streaming engine's dense
// logits equal the gorgonia training graph's logits for the same weights,
// for every attention variant and sink count, GPT-NeoX and Llama (GQA and
// MHA, tied and untied heads); the HF fixtures cover only softmax.
func TestDenseMatchesTrainingGraph(t *testing.T) {
	neox := func(att sinktoken.Attention) model.Config {
		return model.Config{
			VocabSize: 50, HiddenSize: 32, NumLayers: 2, NumHeads: 4, IntermediateSize: 64,
			RotaryPct: 0.5, RotaryBase: 10000, MaxPositionEmbeddings: 64, LayerNormEps: 1e-5,
			ParallelResidual: att != sinktoken.Softmax1, HiddenAct: "gelu", Attention: att,
		}
	}
	llama := func(att sinktoken.Attention, kv int, tied bool, sinks int) model.Config {
		c := model.NewLlama(50, 32, 2, 4, kv, 88, tied)
		c.LayerNormEps, c.RotaryBase, c.Attention = 1e-5, 500, att
		for i := range sinks {
			c.SinkIDs = append(c.SinkIDs, 47+i)
		}
		c.SinkTokens = sinktoken.TokenNames(sinks)
		return c
	}
	cases := []struct {
		name string
		cfg  model.Config
	}{
		{"gpt_neox/softmax", neox(sinktoken.Softmax)},
		{"gpt_neox/softmax1", neox(sinktoken.Softmax1)},
		{"gpt_neox/sink_logit", neox(sinktoken.SinkLogit)},
		{"llama/softmax gqa untied", llama(sinktoken.Softmax, 2, false, 0)},
		{"llama/softmax mha tied, 1 sink", llama(sinktoken.Softmax, 0, true, 1)},
		{"llama/softmax gqa tied, 3 sinks", llama(sinktoken.Softmax, 1, true, 3)},
		{"llama/softmax1 gqa untied, 1 sink", llama(sinktoken.Softmax1, 2, false, 1)},
		{"llama/sink_logit gqa tied", llama(sinktoken.SinkLogit, 2, true, 0)},
		{"llama/sink_logit mha untied, 2 sinks", llama(sinktoken.SinkLogit, 0, false, 2)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			w := model.Init(cfg, 7)
			// Larger weights than the init so attention is far from uniform;
			// sink logits of both signs.
			for _, s := range cfg.ParamSpecs() {
				for i := range w[s.Name].Data {
					w[s.Name].Data[i] *= 5
					if s.Role == model.AttnSinks {
						w[s.Name].Data[i] = float32(i) - 1
					}
				}
			}
			const T = 24
			ids := make([]int32, T)
			for i := range ids {
				ids[i] = int32((i*7 + 3) % 40)
				if i < len(cfg.SinkIDs) {
					ids[i] = int32(cfg.SinkIDs[i])
				}
			}
			g, err := graph.New(cfg, w, 1, T)
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Forward(ids); err != nil {
				t.Fatal(err)
			}
			want := g.Logits()
			m, err := NewModel(cfg, w)
			if err != nil {
				t.Fatal(err)
			}
			s := m.NewSession(CacheSpec{Kind: Dense}, T)
			var num, den float64
			for i, id := range ids {
				got, err := s.Step(id)
				if err != nil {
					t.Fatal(err)
				}
				for v, x := range got {
					d := float64(x - want[i*cfg.VocabSize+v])
					num += d * d
					den += float64(want[i*cfg.VocabSize+v]) * float64(want[i*cfg.VocabSize+v])
				}
			}
			rel := math.Sqrt(num / den)
			t.Logf("engine vs training graph logits: relative error %.3g", rel)
			if rel > 3e-6 || math.IsNaN(rel) { // float32 rounding: 4.8e-7 – 1.7e-6 measured
				t.Fatalf("engine vs training graph logits: relative error %.3g, want ≤ 3e-6", rel)
			}
		})
	}
}
