package model

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/sinktoken"
)

const fixtures = "../testdata/fixtures"

// TestParseConfigFixtures reads the transformers 5 config and the classic 4.x
// config of the same model and checks they describe the same architecture.
func TestParseConfigFixtures(t *testing.T) {
	parse := func(name string) Config {
		b, err := os.ReadFile(fixtures + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := ParseConfig(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return c
	}
	v5, classic := parse("gptneox-a/config.json"), parse("gptneox-a/config.classic.json")
	want := Config{VocabSize: 96, HiddenSize: 64, NumLayers: 2, NumHeads: 4, IntermediateSize: 256,
		RotaryPct: 0.25, RotaryBase: 10000, MaxPositionEmbeddings: 256, LayerNormEps: 1e-5,
		ParallelResidual: true, HiddenAct: "gelu", BOSTokenID: 0, EOSTokenID: 2, Attention: sinktoken.Softmax}
	if v5.VocabSize != want.VocabSize || v5.RotaryPct != want.RotaryPct || v5.RotaryBase != want.RotaryBase ||
		v5.HeadDim() != 16 || v5.RotaryDims() != 4 || !v5.ParallelResidual || v5.EOSTokenID != 2 {
		t.Fatalf("config.json parsed as %+v, want %+v", v5, want)
	}
	classic.EOSTokenID = v5.EOSTokenID // the fixture's classic file differs only there
	if classic.HiddenSize != v5.HiddenSize || classic.RotaryPct != v5.RotaryPct || classic.RotaryBase != v5.RotaryBase ||
		classic.NumLayers != v5.NumLayers || classic.IntermediateSize != v5.IntermediateSize {
		t.Fatalf("classic config %+v differs from v5 %+v", classic, v5)
	}
	b := parse("gptneox-b/config.json")
	if b.RotaryPct != 1 || b.ParallelResidual || b.RotaryDims() != 16 {
		t.Fatalf("gptneox-b parsed as %+v", b)
	}
}

// TestConfigRoundTrip writes HFJSON and parses it back, sink section included.
func TestConfigRoundTrip(t *testing.T) {
	c := Config{VocabSize: 100, HiddenSize: 32, NumLayers: 2, NumHeads: 4, IntermediateSize: 64,
		RotaryPct: 0.5, RotaryBase: 500, MaxPositionEmbeddings: 64, LayerNormEps: 1e-6, HiddenAct: "gelu",
		EOSTokenID: 0, Attention: sinktoken.SinkLogit, SinkTokens: []string{"<|sink_0|>"}, SinkIDs: []int{1}}
	b, err := json.Marshal(c.HFJSON(json.RawMessage(`{"lr":0.001}`)))
	if err != nil {
		t.Fatal(err)
	}
	got, sec, err := ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Attention != c.Attention || len(got.SinkIDs) != 1 || got.SinkIDs[0] != 1 || got.RotaryBase != 500 ||
		got.LayerNormEps != 1e-6 || sec == nil || string(sec.Train) != `{"lr":0.001}` {
		t.Fatalf("round trip: got %+v, section %+v", got, sec)
	}
}

// TestParseConfigBadInput: each bad field gives one line naming it.
func TestParseConfigBadInput(t *testing.T) {
	base := `"model_type":"gpt_neox","vocab_size":96,"hidden_size":64,"num_hidden_layers":2,"intermediate_size":256`
	for _, tc := range []struct{ json, want string }{
		{`{` + base + `,"num_attention_heads":5}`, "hidden_size 64 is not divisible by num_attention_heads 5"},
		{`{` + base + `,"num_attention_heads":4,"rotary_pct":0}`, "rotary_pct"},
		{`{` + base + `,"num_attention_heads":4,"rotary_pct":1.5}`, "expected a value in (0, 1]"},
		{`{` + base + `,"num_attention_heads":4,"rope_parameters":{"partial_rotary_factor":-1}}`, "rotary_pct"},
		{`{` + base + `,"num_attention_heads":4,"hidden_act":"relu"}`, `hidden_act "relu" is not supported`},
		{`{` + base + `}`, "num_attention_heads is missing"},
		{`{` + base + `,"num_attention_heads":4,"tie_word_embeddings":true}`, "tie_word_embeddings"},
		{`{` + base + `,"num_attention_heads":4,"sinktrain":{"attention":"sigmoid"}}`, `attention "sigmoid"`},
		{`{` + base + `,"num_attention_heads":4,"sinktrain":{"sink_tokens":["<|sink_0|>"],"sink_ids":[96]}}`, "sink_ids[0] = 96"},
		{`{"model_type":"gpt2"}`, `model_type "gpt2" is not supported`},
		{`{"model_type":"llama"}`, "required field vocab_size is missing"},
		{`{"model_type":`, "unexpected end of JSON input"},
		{`{` + base + `,"num_attention_heads":"four"}`, "num_attention_heads"},
	} {
		_, _, err := ParseConfig([]byte(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", tc.json, err, tc.want)
		}
	}
}

// TestWeightsCheck: missing, mis-shaped, extra and non-finite tensors are named.
func TestWeightsCheck(t *testing.T) {
	c := Config{VocabSize: 10, HiddenSize: 8, NumLayers: 1, NumHeads: 2, IntermediateSize: 16,
		RotaryPct: 1, RotaryBase: 10000, LayerNormEps: 1e-5, HiddenAct: "gelu"}
	w := Init(c, 1)
	if err := w.Check(c); err != nil {
		t.Fatal(err)
	}
	qkv := LayerPrefix(0) + QKVW
	for name, mutate := range map[string]func(Weights){
		"is missing":       func(w Weights) { delete(w, qkv) },
		"has shape [8 24]": func(w Weights) { w[qkv] = NewTensor(8, 24) },
		"unexpected":       func(w Weights) { w["extra.weight"] = NewTensor(1) },
		"non-finite":       func(w Weights) { w[qkv].Data[3] = float32(math.NaN()) },
	} {
		w := Init(c, 1)
		mutate(w)
		if err := w.Check(c); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
