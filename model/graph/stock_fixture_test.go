package graph_test

import (
	"math"
	"testing"

	"github.com/sinktrain/sinktrain/model"
)

// TestStockMatchesHF checks the benchmarks' baseline: the model built from
// stock gorgonia ops (BenchmarkStepStock) gives transformers' loss and every
// gradient on the Pythia-style fixture (the stock graph has the parallel
// residual only) within the fused graph's tolerance.
func TestStockMatchesHF(t *testing.T) {
	cfg, w, ref := loadFixture(t, "gptneox-a")
	ids := toInt32(ref.ids["input_ids"])
	const B = 2
	s, err := newStock(cfg, w, B, len(ids)/B, ids)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.step(); err != nil {
		t.Fatal(err)
	}
	loss := float64(s.loss.Value().Data().(float32))
	if want := ref.f["loss"][0]; !(math.Abs(loss-want) <= fixtureTol*math.Abs(want)) {
		t.Errorf("loss %.8g, want %.8g", loss, want)
	}
	worst, worstName := 0.0, ""
	for i, spec := range cfg.ParamSpecs() {
		key := "grad." + spec.Name
		if spec.Name == model.EmbedOut {
			key = "grad.lm_head.weight"
		}
		g, err := s.params[i].Grad()
		if err != nil {
			t.Fatal(err)
		}
		got, want := g.Data().([]float32), ref.f[key]
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %d", key, len(got), len(want))
		}
		e := relErr(got, want)
		if e > worst {
			worst, worstName = e, key
		}
		if !(e <= fixtureTol) {
			t.Errorf("%s: relative error %.3g > %g", key, e, fixtureTol)
		}
	}
	t.Logf("loss %.8g (HF %.8g), worst gradient relative error %.3g (%s)", loss, ref.f["loss"][0], worst, worstName)
}
