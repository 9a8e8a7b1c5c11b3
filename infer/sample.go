package infer

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/sinktrain/sinktrain/sinktoken"
)

// SamplerOptions are the sampling parameters of generation (sinktrain
// generate and the OpenAI API of sinktrain serve).
type SamplerOptions struct {
	Temperature float64 // ≤ 0: greedy (the most likely token)
	TopK        int     // sample among the K most likely tokens; 0: all
	TopP        float64 // nucleus: the fewest most likely tokens whose probability reaches P; 0 or ≥ 1: all
	Seed        uint64
	// Stream selects one of many independent random streams of the same
	// seed (a chat turn's index, so that every turn of a conversation is
	// reproducible on its own).
	Stream uint64
}

// Sampler draws next tokens from logits. The model's sink tokens are never
// drawn. A Sampler is not safe for concurrent use.
type Sampler struct {
	o      SamplerOptions
	rng    *rand.Rand
	banned []int32   // sink ids
	sorted []float32 // [V] top-k scratch
	probs  []float64 // [V] unnormalised probabilities
	order  []int32   // [V] top-p scratch
}

// NewSampler returns a sampler over a vocabulary of v tokens that never
// draws a token of banned (the sinks).
func NewSampler(o SamplerOptions, v int, banned []int32) *Sampler {
	return &Sampler{
		o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15^o.Stream)), banned: banned,
		sorted: make([]float32, v), probs: make([]float64, v),
	}
}

// Sample draws the next token: greedy for temperature ≤ 0, otherwise from
// softmax(logits/T) restricted to the top-k tokens, then to the top-p
// nucleus (HF transformers' order: temperature, top-k, top-p).
func (s *Sampler) Sample(logits []float32) int32 {
	masked := func(i int) bool { return sinktoken.IsSink(int32(i), s.banned) }
	if s.o.Temperature <= 0 {
		best := -1
		for i, v := range logits {
			if !masked(i) && (best < 0 || v > logits[best]) {
				best = i
			}
		}
		return int32(best)
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
		if !masked(i) && v >= threshold {
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
