package train

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/model/graph"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// llamaSmall turns the small test model into a Llama one (2 heads, 1 kv head).
var llamaSmall = []string{"arch=llama", "num_kv_heads=1", "intermediate_size=88"}

// TestLlamaTrain pretrains Llama models in every variant (GQA and MHA, tied
// and untied, k sinks, softmax₁, sink logit): the loss drops, the run and
// its checkpoint are HF LlamaForCausalLM folders (config.json model_type
// llama, HF names, no lm_head.weight when tied) that reload as the model
// trained, and every sink row of embed_tokens gets a gradient.
func TestLlamaTrain(t *testing.T) {
	d := fixtureDataset(t)
	cases := []struct {
		name string
		sets []string
		kv   int
		tied bool
		k    int
		att  sinktoken.Attention
	}{
		{"gqa untied", nil, 1, false, 0, sinktoken.Softmax},
		{"mha tied 1 sink", []string{"num_kv_heads=0", "tie_embeddings=true", "sinks=1"}, 2, true, 1, sinktoken.Softmax},
		{"gqa tied 4 sinks", []string{"tie_embeddings=true", "sinks=4"}, 1, true, 4, sinktoken.Softmax},
		{"gqa softmax1", []string{"attention=softmax1"}, 1, false, 0, sinktoken.Softmax1},
		{"gqa tied sink_logit 1 sink", []string{"tie_embeddings=true", "attention=sink_logit", "sinks=1"}, 1, true, 1, sinktoken.SinkLogit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			sets := append(append(slices.Clone(llamaSmall), tc.sets...), "max_steps=12", "lr=1e-2", "min_lr=1e-3")
			losses, err := pretrain(t, d, out, false, sets...)
			if err != nil {
				t.Fatal(err)
			}
			if last := losses[len(losses)-1]; !(last < losses[0]-0.5) {
				t.Errorf("loss %v → %v, expected a drop", losses[0], last)
			}
			var cj map[string]any
			b, err := os.ReadFile(filepath.Join(out, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &cj); err != nil {
				t.Fatal(err)
			}
			if cj["model_type"] != "llama" || cj["architectures"].([]any)[0] != "LlamaForCausalLM" || cj["tie_word_embeddings"] != tc.tied ||
				cj["num_key_value_heads"] != float64(tc.kv) || cj["rope_theta"] != 10000.0 || cj["rms_norm_eps"] != 1e-5 || cj["hidden_act"] != "silu" {
				t.Errorf("config.json: %s", b)
			}
			raw, _, err := checkpoint.ReadSafetensors(filepath.Join(out, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := raw["lm_head.weight"]; ok == tc.tied {
				t.Errorf("tied %v, but lm_head.weight in model.safetensors: %v", tc.tied, ok)
			}
			for _, dir := range []string{out, checkpoint.CheckpointDir(out, 12)} {
				m, err := checkpoint.Load(dir)
				if err != nil {
					t.Fatal(err)
				}
				c := m.Config
				if c.Arch != model.Llama || c.KVHeads() != tc.kv || c.TieWordEmbeddings != tc.tied || len(c.SinkIDs) != tc.k ||
					c.Attention != tc.att || len(m.Weights) != len(c.ParamSpecs()) || len(raw) != len(c.ParamSpecs()) {
					t.Fatalf("%s: %+v, %d tensors", dir, c, len(m.Weights))
				}
			}
			m, err := checkpoint.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			// Gradients of the sink rows of embed_tokens are non-zero.
			T := tc.k + 24
			g, err := graph.New(m.Config, m.Weights, 2, T)
			if err != nil {
				t.Fatal(err)
			}
			var sinks []int32
			for _, id := range m.Config.SinkIDs {
				sinks = append(sinks, int32(id))
			}
			ids := make([]int32, 0, 2*T)
			for r := range 2 {
				block := make([]int32, 24)
				for i := range block {
					block[i] = int32(10 + (r*24+i)*7%400)
				}
				ids = append(ids, sinktoken.Sample(nil, sinks, block)...)
			}
			labels := sinktoken.Labels(nil, ids, sinks)
			if _, n, err := g.Step(ids, labels); err != nil || n != 2*(T-1)-2*max(tc.k-1, 0) {
				t.Fatalf("Step n=%d err=%v", n, err)
			}
			ge := g.Grad(m.Config.TensorName(model.TokenEmbd, -1))
			D := m.Config.HiddenSize
			for _, id := range m.Config.SinkIDs {
				var s float64
				for _, v := range ge[id*D : (id+1)*D] {
					s += math.Abs(float64(v))
				}
				if s == 0 {
					t.Errorf("sink id %d has a zero embed_tokens gradient", id)
				}
			}
		})
	}
}

// TestLlamaResumeExact: a Llama run (GQA, tied, 1 sink, sink logit)
// interrupted after step 3 and resumed gives every step's loss and the
// final weights bit for bit.
func TestLlamaResumeExact(t *testing.T) {
	d := fixtureDataset(t)
	dir := t.TempDir()
	sets := append(slices.Clone(llamaSmall), "tie_embeddings=true", "sinks=1", "attention=sink_logit")
	full := filepath.Join(dir, "full")
	want, err := pretrain(t, d, full, false, sets...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	intr := filepath.Join(dir, "intr")
	var got []float64
	o := Options{Data: d, Out: intr, Set: append(slices.Clone(small), sets...), Log: testLog{t},
		onStep: func(s int, l float64) {
			got = append(got, l)
			if s == 3 {
				cancel()
			}
		}}
	if err := Pretrain(ctx, o); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("interrupted after %d steps, want 3", len(got))
	}
	o.Resume, o.Set = true, nil
	if err := Pretrain(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("resumed losses %v\nuninterrupted    %v", got, want)
	}
	a, err := os.ReadFile(filepath.Join(full, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(intr, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, b) {
		t.Error("final weights differ after the resume")
	}
}

// TestLlamaFinetuneAddSinks: finetune --add-sinks grows a tied Llama
// model's embed_tokens only (lm_head stays absent, the head is the
// embedding) and an untied one's lm_head with it; the sink rows train.
func TestLlamaFinetuneAddSinks(t *testing.T) {
	d := fixtureDataset(t)
	for _, tied := range []bool{true, false} {
		base := filepath.Join(t.TempDir(), "base")
		sets := append(slices.Clone(llamaSmall), "max_steps=2")
		if tied {
			sets = append(sets, "tie_embeddings=true")
		}
		if _, err := pretrain(t, d, base, false, sets...); err != nil {
			t.Fatal(err)
		}
		bm, err := checkpoint.Load(base)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "ft")
		var losses []float64
		// The fixture tokenizer reserves <|sink_0..3|>: the fifth sink is a new id.
		err = Finetune(context.Background(), FinetuneOptions{From: base, AddSinks: 5, Options: Options{Data: d, Out: out,
			Set: append(append(slices.Clone(small), llamaSmall...), "max_steps=3"), Log: testLog{t}, onStep: func(_ int, l float64) { losses = append(losses, l) }}})
		if err != nil {
			t.Fatal(err)
		}
		m, err := checkpoint.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		c := m.Config
		if len(c.SinkIDs) != 5 || len(losses) != 3 || c.Arch != model.Llama || c.TieWordEmbeddings != tied || c.KVHeads() != 1 {
			t.Fatalf("tied %v: finetuned %+v, %d steps", tied, c, len(losses))
		}
		emb := m.Weights["model.embed_tokens.weight"]
		head, hasHead := m.Weights["lm_head.weight"]
		if hasHead == tied || emb.Shape[0] != c.VocabSize || c.VocabSize != bm.Config.VocabSize+1 ||
			(!tied && head.Shape[0] != c.VocabSize) {
			t.Errorf("tied %v: vocab %d → %d, embed %v, lm_head %v", tied, bm.Config.VocabSize, c.VocabSize, emb.Shape, hasHead)
		}
		// The sink rows moved away from their start (the base's mean row).
		D := c.HiddenSize
		for _, id := range c.SinkIDs {
			row := emb.Data[id*D : (id+1)*D]
			if id < bm.Config.VocabSize && slices.Equal(row, bm.Weights["model.embed_tokens.weight"].Data[id*D:(id+1)*D]) {
				t.Errorf("tied %v: sink id %d kept the base model's row", tied, id)
			}
		}
	}
}
