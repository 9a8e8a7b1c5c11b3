package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/infer"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("engine bench: ")
	if len(os.Args) < 2 {
		log.Fatal("usage: engine model|bench [flags]")
	}
	switch os.Args[1] {
	case "model":
		fs := flag.NewFlagSet("model", flag.ExitOnError)
		shape := fs.String("shape", "ref", "ref (d=256, 4 layers, V=4096) or pythia160m (d=768, 12 layers, V=50304)")
		out := fs.String("out", "", "output folder")
		tok := fs.String("tokenizer", "", "tokenizer.json to copy in (optional)")
		fs.Parse(os.Args[2:])
		writeModel(*shape, *out, *tok)
	case "bench":
		fs := flag.NewFlagSet("bench", flag.ExitOnError)
		dir := fs.String("model", "", "model folder")
		dtype := fs.String("dtype", "float32", "weight storage: float32 or bfloat16")
		p := fs.Int("p", 512, "prompt tokens of the prefill test")
		n := fs.Int("n", 128, "generated tokens of the decode test")
		r := fs.Int("r", 5, "repetitions (medians are printed)")
		cache := fs.String("cache", "dense", "cache spec")
		fs.Parse(os.Args[2:])
		bench(*dir, *dtype, *cache, *p, *n, *r)
	default:
		log.Fatalf("unknown command %q", os.Args[1])
	}
}

// shapes are the benchmarked model shapes (GPT-NeoX, rotary 0.25,
// parallel residual, untied).
func shape(name string) model.Config {
	c := model.Config{VocabSize: 4096, HiddenSize: 256, NumLayers: 4, NumHeads: 4, IntermediateSize: 1024,
		RotaryPct: 0.25, RotaryBase: 10000, MaxPositionEmbeddings: 2048, LayerNormEps: 1e-5, ParallelResidual: true,
		HiddenAct: "gelu", Attention: sinktoken.Softmax}
	switch name {
	case "ref":
	case "pythia160m":
		c.VocabSize, c.HiddenSize, c.NumLayers, c.NumHeads, c.IntermediateSize = 50304, 768, 12, 12, 3072
	default:
		log.Fatalf("unknown shape %q (ref or pythia160m)", name)
	}
	return c
}

func writeModel(name, out, tok string) {
	if out == "" {
		log.Fatal("--out is required")
	}
	cfg := shape(name)
	check(os.MkdirAll(out, 0o755))
	raw := map[string]checkpoint.Raw{}
	for n, w := range model.Init(cfg, 1) {
		raw[n] = checkpoint.FromFloat32(w.Shape, w.Data)
	}
	check(checkpoint.WriteSafetensors(filepath.Join(out, "model.safetensors"), raw, nil))
	b, err := json.MarshalIndent(cfg.HFJSON(nil), "", "  ")
	check(err)
	check(os.WriteFile(filepath.Join(out, "config.json"), b, 0o644))
	if tok != "" {
		b, err := os.ReadFile(tok)
		check(err)
		check(os.WriteFile(filepath.Join(out, "tokenizer.json"), b, 0o644))
	}
}

func bench(dir, dtype, cache string, p, n, reps int) {
	d, err := infer.ParseDType(dtype)
	check(err)
	m, err := infer.LoadModelAs(dir, d)
	check(err)
	spec, err := infer.ParseCacheSpec(cache)
	check(err)
	V := m.Config.VocabSize
	toks := make([]int32, max(p, n))
	for i := range toks {
		toks[i] = int32((i*7919 + 13) % V)
	}
	var pp, tg []float64
	sp, sg := m.NewSession(spec, p+n), m.NewSession(spec, p+n)
	for rep := range reps + 1 {
		sp.Reset() // as llama-bench clears its context's cache between repetitions
		t0 := time.Now()
		_, err := sp.Prefill(toks[:p])
		check(err)
		ppRate := float64(p) / time.Since(t0).Seconds()
		sg.Reset()
		s := sg
		t0 = time.Now()
		for i := range n {
			_, err := s.Step(toks[i])
			check(err)
		}
		tgRate := float64(n) / time.Since(t0).Seconds()
		if rep > 0 { // the first is a warm-up
			pp, tg = append(pp, ppRate), append(tg, tgRate)
		}
	}
	out, _ := json.Marshal(map[string]any{
		"model": dir, "dtype": dtype, "cache": cache, "threads": runtime.GOMAXPROCS(0), "p": p, "n": n, "reps": reps,
		"pp_tok_s": median(pp), "tg_tok_s": median(tg), "tg_ms_per_token": 1000 / median(tg), "pp_runs": pp, "tg_runs": tg,
	})
	fmt.Println(string(out))
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
