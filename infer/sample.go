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
	Temperature float64 // ≥ 0; 0: greedy (the most likely token)
	TopK        int     // sample among the TopK most likely tokens; 0: all
	TopP        float64 // nucleus: the fewest most likely tokens whose probability reaches TopP; 0 or 1: all
	Seed        uint64  // the sampler's random stream
	// Stream selects one of many independent random streams of the same
	// seed (sinktrain serve: a chat turn's index, so that every turn of a
	// conversation is reproducible on its own). 0 is the seed's stream.
	Stream uint64
}

// Sampler draws next tokens from logits: greedy for temperature ≤ 0,
// otherwise from softmax(logits/T) restricted to the top-k tokens, then to
// the top-p nucleus (HF transformers' order). Tokens
// it excludes (a model's sinks) are never drawn. Its random stream depends
// only on the seed, so a run is reproducible. A Sampler is not safe for
// concurrent use.
type Sampler struct {
	o       SamplerOptions
	exclude []int32
	rng     *rand.Rand
	sorted  []float32 // [V] top-k scratch
	probs   []float64 // [V] sampling scratch
	order   []int32   // top-p scratch
}

// Validate checks the options.
func (o SamplerOptions) Validate() error {
	if o.TopK < 0 {
		return input.Usagef("TopK", "top-k", strconv.Itoa(o.TopK), "expected ≥ 0 (0: all tokens)")
	}
	if !(o.Temperature >= 0) || math.IsInf(o.Temperature, 0) {
		return input.Usagef("Temperature", "temperature", fmt.Sprint(o.Temperature), "expected a finite number ≥ 0 (0: greedy)")
	}
	if !(o.TopP >= 0 && o.TopP <= 1) {
		return input.Usagef("TopP", "top-p", fmt.Sprint(o.TopP), "expected 0 ≤ P ≤ 1 (0 or 1: all tokens)")
	}
	return nil
}

// NewSampler returns a sampler that never draws a token of exclude.
func NewSampler(o SamplerOptions, exclude []int32) (*Sampler, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &Sampler{o: o, exclude: slices.Clone(exclude), rng: rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15^o.Stream))}, nil
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
	if p := s.o.TopP; p > 0 && p < 1 {
		sum = s.nucleus(sum * p)
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

// nucleus keeps the most likely tokens until their mass reaches mass (the
// one that crosses it included, ties broken by lower id) and zeroes the
// others; it returns the kept mass.
func (s *Sampler) nucleus(mass float64) float64 {
	s.order = s.order[:0]
	for i, p := range s.probs {
		if p > 0 {
			s.order = append(s.order, int32(i))
		}
	}
	slices.SortFunc(s.order, func(a, b int32) int {
		if s.probs[a] != s.probs[b] {
			if s.probs[a] > s.probs[b] {
				return -1
			}
			return 1
		}
		return int(a - b)
	})
	kept := 0.0
	for j, i := range s.order {
		if kept >= mass {
			for _, z := range s.order[j:] {
				s.probs[z] = 0
			}
			break
		}
		kept += s.probs[i]
	}
	return kept
}
