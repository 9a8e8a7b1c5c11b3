package study

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// cmpTinyConfig is a tiny GPT-NeoX over the 512-token fixture tokenizer
// (ids 1..4 are <|sink_0|> … <|sink_3|>).
func cmpTinyConfig(sinks int, att sinktoken.Attention) model.Config {
	c := model.Config{
		VocabSize: 512, HiddenSize: 32, NumLayers: 2, NumHeads: 2, IntermediateSize: 64,
		RotaryPct: 0.25, RotaryBase: 10000, MaxPositionEmbeddings: 256, LayerNormEps: 1e-5,
		ParallelResidual: true, HiddenAct: "gelu", EOSTokenID: 0, Attention: att,
	}
	for i := range sinks {
		c.SinkTokens = append(c.SinkTokens, sinktoken.TokenName(i))
		c.SinkIDs = append(c.SinkIDs, 1+i)
	}
	return c
}

// cmpTinyLlama is a tiny Llama (grouped-query, tied) over the same
// tokenizer, with k sinks.
func cmpTinyLlama(sinks int) model.Config {
	c := model.NewLlama(512, 32, 2, 4, 2, 64, true)
	c.EOSTokenID, c.BOSTokenID = 0, -1
	for i := range sinks {
		c.SinkTokens = append(c.SinkTokens, sinktoken.TokenName(i))
		c.SinkIDs = append(c.SinkIDs, 1+i)
	}
	return c
}

// cmpWriteTinyModel writes an HF-layout checkpoint (config.json,
// model.safetensors, the fixture tokenizer.json) of random weights into a
// new directory under t.TempDir(). Query/key weights are scaled up so that
// attention is far from uniform.
func cmpWriteTinyModel(t testing.TB, name string, cfg model.Config, seed uint64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := model.Init(cfg, seed)
	for _, r := range []model.Role{model.AttnQKV, model.AttnQ, model.AttnK} {
		for l := range cfg.NumLayers {
			if x := w.Role(cfg, r, l); x != nil {
				for i := range x.Data {
					x.Data[i] *= 10
				}
			}
		}
	}
	raw := make(map[string]checkpoint.Raw, len(w))
	for n, x := range w {
		raw[n] = checkpoint.FromFloat32(x.Shape, x.Data)
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), raw, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(cfg.HFJSON(nil), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(filepath.Join("testdata", "models", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), tok, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
