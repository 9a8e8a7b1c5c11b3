package infer

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sinktrain/sinktrain/checkpoint"
)

// familyFixtures are the model folders scripts/fixtures/generate.py makes
// for the architectures beside GPT-NeoX; every one must be present (a
// missing fixture fails its test).
var familyFixtures = []string{
	"llama-gqa", "llama-mha-tied", "llama3-scaled", "llama-linear", "llama-bias", "mistral", "qwen2",
	"falcon-mqa", "falcon-new", "falcon-alibi", "mpt",
}

// streamFixtures have reference.safetensors with stream.* and generate.*
// (the training fixtures of GPT-NeoX and Llama too).
var streamFixtures = append([]string{"gptneox-a", "gptneox-b", "llama-train-gqa", "llama-train-mha-tied"}, familyFixtures...)

// streamSpecs are the cache specs of stream.nll.<spec>.
var streamSpecs = []string{"dense", "0+16", "1+15", "4+12", "recompute:16"}

// fixtureRef reads a fixture's reference.safetensors.
func fixtureRef(t *testing.T, name string) map[string]checkpoint.Raw {
	t.Helper()
	ref, _, err := checkpoint.ReadSafetensors(filepath.Join(fixtures, name, "reference.safetensors"))
	if err != nil {
		t.Fatalf("%s (regenerate with scripts/fixtures/generate.py): %v", name, err)
	}
	return ref
}

func refInts(t *testing.T, ref map[string]checkpoint.Raw, key string) []int32 {
	t.Helper()
	r, ok := ref[key]
	if !ok {
		t.Fatalf("reference.safetensors has no %s (regenerate with scripts/fixtures/generate.py)", key)
	}
	v, err := r.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

func refFloats(t *testing.T, ref map[string]checkpoint.Raw, key string) []float64 {
	t.Helper()
	r, ok := ref[key]
	if !ok {
		t.Fatalf("reference.safetensors has no %s (regenerate with scripts/fixtures/generate.py)", key)
	}
	v, err := r.Float64s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestFamiliesMatchHF checks every architecture's dense logits against
// transformers (float64) within 1e-5 relative: token by token (Step), in
// prefill chunks of 7 (chunk boundaries inside the batch row) and in one
// chunk.
func TestFamiliesMatchHF(t *testing.T) {
	for _, name := range familyFixtures {
		t.Run(name, func(t *testing.T) {
			m, rows, ref := loadFixture(t, name)
			V := m.Config.VocabSize
			worst := 0.0
			for r, row := range rows {
				want := ref[r*len(row)*V : (r+1)*len(row)*V]
				step := make([]float32, len(row)*V)
				s := m.NewSession(CacheSpec{Kind: Dense}, 4)
				for i, tok := range row {
					l, err := s.Step(tok)
					if err != nil {
						t.Fatal(err)
					}
					copy(step[i*V:], l)
				}
				worst = max(worst, relErr(step, want))
				for _, chunk := range []int{7, DefaultChunk} {
					got := make([]float32, len(row)*V)
					s := m.NewSession(CacheSpec{Kind: Dense}, 4)
					s.most = chunk
					if err := s.PrefillAll(row, got); err != nil {
						t.Fatal(err)
					}
					worst = max(worst, relErr(got, want))
				}
			}
			if worst > 1e-5 {
				t.Errorf("relative error %.3g > 1e-5", worst)
			}
			t.Logf("worst relative error %.2g", worst)
		})
	}
}

// TestFixturesStreamNLL checks the streaming NLL of every fixture model
// under every policy against the independent float64 incremental reference
// (scripts/fixtures/streamref.py), within 1e-5 relative (of max(1, NLL)).
func TestFixturesStreamNLL(t *testing.T) {
	for _, name := range streamFixtures {
		t.Run(name, func(t *testing.T) {
			ck, err := checkpoint.Load(filepath.Join(fixtures, name))
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewModel(ck.Config, ck.Weights)
			if err != nil {
				t.Fatal(err)
			}
			ref := fixtureRef(t, name)
			ids := refInts(t, ref, "stream.ids")
			for _, spec := range streamSpecs {
				want := refFloats(t, ref, "stream.nll."+spec)
				cs, err := ParseCacheSpec(spec)
				if err != nil {
					t.Fatal(err)
				}
				got := nlls(t, m, cs, Tokens(ids))
				if len(got) != len(want) {
					t.Fatalf("%s: %d scored targets, want %d", spec, len(got), len(want))
				}
				worst := 0.0
				for i, w := range want {
					worst = max(worst, math.Abs(got[i+1]-w)/max(1, math.Abs(w)))
				}
				if worst > 1e-5 {
					t.Errorf("%s: NLL differs by up to %.3g relative > 1e-5", spec, worst)
				}
				t.Logf("%s: worst relative ΔNLL %.2g", spec, worst)
			}
		})
	}
}

// TestFixturesGreedy: the Generator with a greedy Sampler continues
// generate.prompt with HF generate's 20 tokens (do_sample=False, EOS
// disabled: here EOS is set to no token).
func TestFixturesGreedy(t *testing.T) {
	for _, name := range streamFixtures {
		t.Run(name, func(t *testing.T) {
			ck, err := checkpoint.Load(filepath.Join(fixtures, name))
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewModel(ck.Config, ck.Weights)
			if err != nil {
				t.Fatal(err)
			}
			ref := fixtureRef(t, name)
			prompt, want := refInts(t, ref, "generate.prompt"), refInts(t, ref, "generate.greedy")
			sampler, err := NewSampler(SamplerOptions{Temperature: 0}, nil)
			if err != nil {
				t.Fatal(err)
			}
			g := NewGenerator(m, CacheSpec{Kind: Dense}, sampler)
			g.EOS, g.MoreEOS = -1, nil
			var got []int32
			if err := g.Turn(context.Background(), prompt, len(want), func(tok int32) error {
				got = append(got, tok)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("greedy tokens %v, HF generated %v", got, want)
			}
		})
	}
}
