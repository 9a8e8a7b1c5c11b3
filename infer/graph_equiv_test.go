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
// logits equal the gorgonia training graph's logits for the same weights, for
// every attention variant (the HF fixtures cover only softmax).
func TestDenseMatchesTrainingGraph(t *testing.T) {
	for _, att := range []sinktoken.Attention{sinktoken.Softmax, sinktoken.Softmax1, sinktoken.SinkLogit} {
		t.Run(string(att), func(t *testing.T) {
			cfg := model.Config{
				VocabSize: 50, HiddenSize: 32, NumLayers: 2, NumHeads: 4, IntermediateSize: 64,
				RotaryPct: 0.5, RotaryBase: 10000, MaxPositionEmbeddings: 64, LayerNormEps: 1e-5,
				ParallelResidual: att != sinktoken.Softmax1, HiddenAct: "gelu", Attention: att,
			}
			w := model.Init(cfg, 7)
			// Larger weights than the init so attention is far from uniform.
			for _, s := range cfg.ParamSpecs() {
				for i := range w[s.Name].Data {
					w[s.Name].Data[i] *= 5
					if s.Name == model.LayerPrefix(0)+model.SinkLogit || s.Name == model.LayerPrefix(1)+model.SinkLogit {
						w[s.Name].Data[i] = float32(i) - 1
					}
				}
			}
			const T = 24
			ids := make([]int32, T)
			for i := range ids {
				ids[i] = int32((i*7 + 3) % cfg.VocabSize)
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
			if !(rel <= hfTol) {
				t.Fatalf("engine vs training graph logits: relative error %.3g, want ≤ %g", rel, hfTol)
			}
			t.Logf("engine vs training graph logits: relative error %.2g", rel)
		})
	}
}
