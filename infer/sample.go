package infer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/sinktrain/sinktrain/internal/input"
)

// SamplerOptions configure a Sampler.
type SamplerOptions struct {
	Temperature float64 // ≤ 0: greedy (the most likely token)
	TopK        int     // sample among the TopK most likely tokens; 0: all
	Seed        uint64  // the sampler's random stream
}

// Sampler draws next tokens from logits: greedy for temperature ≤ 0,
// otherwise from softmax(logits/T) restricted to the top-k tokens. Tokens
// it excludes (a model's sinks) are never drawn. Its random stream depends
// only on the seed, so a run is reproducible. A Sampler is not safe for
// concurrent use.
type Sampler struct {
	o       SamplerOptions
	exclude []int32
	rng     *rand.Rand
	sorted  []float32 // [V] top-k scratch
	probs   []float64 // [V] sampling scratch
}

// Validate checks the options.
func (o SamplerOptions) Validate() error {
	if o.TopK < 0 {
		return input.Errorf("TopK", "top-k", strconv.Itoa(o.TopK), "expected ≥ 0 (0: all tokens)")
	}
	if math.IsNaN(o.Temperature) || math.IsInf(o.Temperature, 0) {
		return input.Errorf("Temperature", "temperature", fmt.Sprint(o.Temperature), "expected a finite number (≤ 0: greedy)")
	}
	return nil
}

// NewSampler returns a sampler that never draws a token of exclude.
func NewSampler(o SamplerOptions, exclude []int32) (*Sampler, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &Sampler{o: o, exclude: slices.Clone(exclude), rng: rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))}, nil
}

// Sample returns the next token for logits [V] (logits is not modified).
func (s *Sampler) Sample(logits []float32) int32 {
	excluded := func(i int) bool { return slices.Contains(s.exclude, int32(i)) }
	if s.o.Temperature <= 0 {
		best := -1
		for i, v := range logits {
			if !excluded(i) && (best < 0 || v > logits[best]) {
				best = i
			}
		}
		return int32(best)
	}
	if len(s.probs) != len(logits) {
		s.sorted, s.probs = make([]float32, len(logits)), make([]float64, len(logits))
	}
	threshold := float32(math.Inf(-1))
	if k := s.o.TopK; k > 0 && k < len(logits) {
		copy(s.sorted, logits)
		slices.Sort(s.sorted)
		threshold = s.sorted[len(logits)-k]
	}
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = max(mx, float64(v))
	}
	var sum float64
	for i, v := range logits {
		p := 0.0
		if !excluded(i) && v >= threshold {
			p = math.Exp((float64(v) - mx) / s.o.Temperature)
		}
		s.probs[i] = p
		sum += p
	}
	r := s.rng.Float64() * sum
	last := 0
	for i, p := range s.probs {
		if p == 0 {
			continue
		}
		last = i
		if r -= p; r < 0 {
			break
		}
	}
	return int32(last)
}
