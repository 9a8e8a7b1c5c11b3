package infer

import (
	"math"
	"strings"
	"testing"
)

func newSampler(t *testing.T, o SamplerOptions, exclude []int32) *Sampler {
	t.Helper()
	s, err := NewSampler(o, exclude)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// counts draws n tokens from logits and returns how often each came.
func counts(s *Sampler, logits []float32, n int) []int {
	c := make([]int, len(logits))
	for range n {
		c[s.Sample(logits)]++
	}
	return c
}

// TestSamplerTopP: probabilities 0.5, 0.3, 0.15, 0.05 (token 4 is a sink,
// never drawn). Top-p 0.7 keeps tokens 0 and 1 (0.5 < 0.7 ≤ 0.8) and draws
// them 5:3; top-p 0.5 keeps token 0 alone; top-p 1 keeps all four in
// proportion. Frequencies over 20,000 draws are within 4 standard errors.
func TestSamplerTopP(t *testing.T) {
	p := []float64{0.5, 0.3, 0.15, 0.05, 0.4}
	logits := make([]float32, len(p))
	for i, v := range p {
		logits[i] = float32(math.Log(v))
	}
	const n = 20000
	for _, tt := range []struct {
		topP float64
		want []float64
	}{
		{0.7, []float64{0.625, 0.375, 0, 0, 0}},
		{0.5, []float64{1, 0, 0, 0, 0}},
		{1, []float64{0.5, 0.3, 0.15, 0.05, 0}},
		{0, []float64{0.5, 0.3, 0.15, 0.05, 0}},
	} {
		s := newSampler(t, SamplerOptions{Temperature: 1, TopP: tt.topP, Seed: 5}, []int32{4})
		c := counts(s, logits, n)
		for i, w := range tt.want {
			got := float64(c[i]) / n
			se := math.Sqrt(w*(1-w)/n) + 1e-9
			if math.Abs(got-w) > 4*se {
				t.Errorf("top-p %g: token %d drawn %.4f of the time, want %.4f ± %.4f", tt.topP, i, got, w, 4*se)
			}
		}
	}
}

// TestSamplerTopKAndGreedy: top-k 2 keeps the two most likely non-sink
// tokens; temperature 0 takes the most likely non-sink token.
func TestSamplerTopKAndGreedy(t *testing.T) {
	logits := []float32{0, 3, 1, 2, 9}
	s := newSampler(t, SamplerOptions{Temperature: 0.7, TopK: 3, Seed: 1}, []int32{4})
	// top-3 of all logits is {4, 1, 3}; the sink 4 is masked: 1 and 3 remain.
	c := counts(s, logits, 2000)
	if c[0] != 0 || c[2] != 0 || c[4] != 0 || c[1] == 0 || c[3] == 0 {
		t.Errorf("top-k 3 with sink 4 masked: counts %v, want only tokens 1 and 3", c)
	}
	g := newSampler(t, SamplerOptions{}, []int32{4})
	if got := g.Sample(logits); got != 1 {
		t.Errorf("greedy: %d, want 1 (4 is a sink)", got)
	}
}

// TestSamplerStreams: the same seed and stream draw the same tokens;
// another stream or seed draws others.
func TestSamplerStreams(t *testing.T) {
	logits := make([]float32, 64)
	draw := func(o SamplerOptions) []int32 {
		o.Temperature = 1
		s := newSampler(t, o, nil)
		out := make([]int32, 32)
		for i := range out {
			out[i] = s.Sample(logits)
		}
		return out
	}
	eq := func(a, b []int32) bool {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	a := draw(SamplerOptions{Seed: 3, Stream: 1})
	if !eq(a, draw(SamplerOptions{Seed: 3, Stream: 1})) {
		t.Error("same seed and stream drew different tokens")
	}
	if eq(a, draw(SamplerOptions{Seed: 3, Stream: 2})) || eq(a, draw(SamplerOptions{Seed: 4, Stream: 1})) {
		t.Error("another stream or seed drew the same 32 tokens")
	}
}

func TestSamplerTopPValidate(t *testing.T) {
	for _, p := range []float64{-0.1, 1.5} {
		if _, err := NewSampler(SamplerOptions{TopP: p}, nil); err == nil || !strings.Contains(err.Error(), "top-p") {
			t.Errorf("top-p %v: %v", p, err)
		}
	}
}
