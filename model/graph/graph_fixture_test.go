package graph_test

import (
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/model/graph"
)

// relErr returns ‖a−b‖/‖b‖.
func relErr(a []float32, b []float64) float64 {
	var d, n float64
	for i := range b {
		e := float64(a[i]) - b[i]
		d += e * e
		n += b[i] * b[i]
	}
	return math.Sqrt(d / n)
}

type reference struct {
	f   map[string][]float64
	ids map[string][]int64
}

// loadFixture reads a model folder of scripts/fixtures (config.json and
// model.safetensors as transformers saved them, read directly so that
// every family's folder loads) and its reference.safetensors.
func loadFixture(t *testing.T, name string) (model.Config, model.Weights, reference) {
	t.Helper()
	dir := "../../testdata/fixtures/" + name
	regen := "(the fixtures come from scripts/fixtures/run-on-gpu.sh, see scripts/fixtures/README.md)"
	js, err := os.ReadFile(dir + "/config.json")
	if err != nil {
		t.Fatalf("%v %s", err, regen)
	}
	cfg, _, err := model.ParseConfig(js)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	params, _, err := checkpoint.ReadSafetensors(dir + "/model.safetensors")
	if err != nil {
		t.Fatalf("%v %s", err, regen)
	}
	w := model.Weights{}
	for _, s := range cfg.ParamSpecs() {
		p, ok := params[s.Name]
		if !ok {
			t.Fatalf("%s/model.safetensors has no %s %s", dir, s.Name, regen)
		}
		data, err := p.Float32s()
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		w[s.Name] = &model.Tensor{Shape: p.Shape, Data: data}
	}
	raw, _, err := checkpoint.ReadSafetensors(dir + "/reference.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	ref := reference{f: map[string][]float64{}, ids: map[string][]int64{}}
	for k, r := range raw {
		if r.DType == checkpoint.I64 {
			if ref.ids[k], err = r.Int64s(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if ref.f[k], err = r.Float64s(); err != nil {
			t.Fatal(err)
		}
	}
	return cfg, w, ref
}

func toInt32(v []int64) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

const fixtureTol = 2e-6 // reached: 8.7e-7 (issue 20 asks for 1e-5)

func TestGraphMatchesHF(t *testing.T) {
	// llama-train-*: scripts/fixtures (transformers' LlamaForCausalLM, GQA
	// untied and MHA tied); a tied model's embedding gradient is the sum of
	// its two uses, as HF's grad.model.embed_tokens.weight.
	for _, name := range []string{"gptneox-a", "gptneox-b", "llama-train-gqa", "llama-train-mha-tied"} {
		t.Run(name, func(t *testing.T) {
			cfg, w, ref := loadFixture(t, name)
			ids := toInt32(ref.ids["input_ids"])
			const B = 2
			T := len(ids) / B
			g, err := graph.New(cfg, w, B, T, graph.WithDiagnostics())
			if err != nil {
				t.Fatal(err)
			}
			loss, n, err := g.Step(ids, ids)
			if err != nil {
				t.Fatal(err)
			}
			worst, worstName := 0.0, ""
			defer func() { t.Logf("worst relative error %.3g (%s)", worst, worstName) }()
			check := func(what string, got []float32, want []float64) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
				}
				e := relErr(got, want)
				if e > worst {
					worst, worstName = e, what
				}
				if !(e <= fixtureTol) {
					t.Errorf("%s: relative error %.3g > %g", what, e, fixtureTol)
				}
			}
			if n != B*(T-1) {
				t.Errorf("scored %d targets, want %d", n, B*(T-1))
			}
			scalar := func(what string, got, want float64) {
				t.Helper()
				e := math.Abs(got-want) / math.Abs(want)
				if e > worst {
					worst, worstName = e, what
				}
				if !(e <= fixtureTol) {
					t.Errorf("%s %.8g, want %.8g (relative error %.3g > %g)", what, got, want, e, fixtureTol)
				}
			}
			scalar("loss", loss, ref.f["loss"][0])
			check("logits", g.Logits(), ref.f["logits"])
			for _, s := range cfg.ParamSpecs() {
				key := "grad." + s.Name
				if s.Name == model.EmbedOut {
					key = "grad.lm_head.weight" // transformers 5 names embed_out lm_head
				}
				check(key, g.Grad(s.Name), ref.f[key])
			}
			hidden := g.Hidden()
			if len(hidden) != cfg.NumLayers+1 {
				t.Fatalf("%d hidden states, want %d", len(hidden), cfg.NumLayers+1)
			}
			for i, h := range hidden {
				check(fmt.Sprintf("hidden.%d", i), h, ref.f[fmt.Sprintf("hidden.%d", i)])
			}
			for l := 0; l < cfg.NumLayers; l++ {
				check(fmt.Sprintf("attn.%d", l), g.AttentionProbs(l), ref.f[fmt.Sprintf("attn.%d", l)])
			}

			// Sink-prefixed input: HF loss with -100 at the sink.
			sids, slabels := toInt32(ref.ids["sink_input_ids"]), toInt32(ref.ids["sink_labels"])
			sg, err := graph.New(cfg, w, B, len(sids)/B)
			if err != nil {
				t.Fatal(err)
			}
			sloss, _, err := sg.Step(sids, slabels)
			if err != nil {
				t.Fatal(err)
			}
			scalar("sink_loss", sloss, ref.f["sink_loss"][0])

			// Forward-only gives the same logits.
			if err := g.Forward(ids); err != nil {
				t.Fatal(err)
			}
			check("forward logits", g.Logits(), ref.f["logits"])
		})
	}
}

// TestGraphForwardMatchesHF checks the forward logits against transformers
// on the inference fixtures of the Llama family: llama3 and linear
// rope_scaling, attention and MLP biases with a head_dim other than D/H,
// Mistral, and Qwen2's q/k/v biases with a tied head.
func TestGraphForwardMatchesHF(t *testing.T) {
	for _, name := range []string{"llama-gqa", "llama-mha-tied", "llama3-scaled", "llama-linear", "llama-bias", "mistral", "qwen2"} {
		t.Run(name, func(t *testing.T) {
			cfg, w, ref := loadFixture(t, name)
			ids := toInt32(ref.ids["input_ids"])
			const B = 2
			g, err := graph.New(cfg, w, B, len(ids)/B)
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Forward(ids); err != nil {
				t.Fatal(err)
			}
			e := relErr(g.Logits(), ref.f["logits"])
			t.Logf("logits relative error %.3g", e)
			if !(e <= fixtureTol) {
				t.Errorf("logits: relative error %.3g > %g", e, fixtureTol)
			}
		})
	}
}
