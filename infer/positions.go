package infer

import (
	"math"

	"github.com/sinktrain/sinktrain/checkpoint"
)

// Positions inside the cache. A query sees its keys in cache order (sinks,
// then the window oldest first; a dense cache in stream order), and the
// i-th key it sees has cache position i, the query itself the last one: a
// cache holding stream tokens [0 1 2 3 6 7 8] gives them positions 0..6.
// RoPE gets its positions through the rotation scheme of the package doc;
// ALiBi adds a bias that depends on the key's cache position i and the
// query's qp.

// mptSlopes returns MPT's ALiBi slopes for n heads as transformers and
// llm-foundry compute them in float32: with n2 = 2^⌈log2 n⌉,
// m_i = 1/2^(i·bias_max/n2) for i = 1..n2, and when n2 ≠ n the odd-indexed
// slopes then the even-indexed ones, the first n (ALiBi's interleaving for
// head counts that are not powers of two).
func mptSlopes(n int, biasMax float64) []float32 {
	n2 := 1 << int(math.Ceil(math.Log2(float64(n))))
	s := make([]float32, n2)
	step := float32(biasMax / float64(n2))
	for i := range s {
		e := float32(i+1) * step
		s[i] = float32(1 / float64(float32(math.Exp2(float64(e)))))
	}
	if n2 == n {
		return s
	}
	out := make([]float32, 0, n2)
	for i := 1; i < n2; i += 2 {
		out = append(out, s[i])
	}
	for i := 0; i < n2; i += 2 {
		out = append(out, s[i])
	}
	return out[:n]
}

// bloomSlopes returns Falcon's (BLOOM's) ALiBi slopes for n heads, rounded
// to bfloat16 as transformers' build_alibi_tensor does: with c the largest
// power of two ≤ n, base 2^(−8/c) and slopes base^1..base^c, then for the
// remaining heads the odd powers of 2^(−4/c).
func bloomSlopes(n int) []float32 {
	c := 1 << int(math.Floor(math.Log2(float64(n))))
	out := make([]float32, 0, n)
	base := float32(math.Exp2(-math.Exp2(-(math.Log2(float64(c)) - 3))))
	for i := 1; i <= c; i++ {
		out = append(out, float32(math.Pow(float64(base), float64(i))))
	}
	if c != n {
		extra := float32(math.Exp2(-math.Exp2(-(math.Log2(float64(2*c)) - 3))))
		for i := 1; i < 1+2*min(c, n-c); i += 2 {
			out = append(out, float32(math.Pow(float64(extra), float64(i))))
		}
	}
	for i, s := range out {
		out[i] = bf16(s)
	}
	return out
}

// bf16 rounds x to bfloat16 (nearest even) and back.
func bf16(x float32) float32 { return checkpoint.BF16ToFloat32(checkpoint.Float32ToBF16(x)) }

// addALiBi adds head slope's ALiBi bias to the scores of a query at cache
// position qp over keys at cache positions from..from+len(sc)−1 (scores
// already scaled by scale):
//
//	MPT:        s_i += m·(i − qp)
//	BLOOM:      s_i += bf16(m·i)·scale   (score = (q·k + bf16(m·i))/√hd)
//
// BLOOM's bias uses the key's position alone, as transformers does; the
// softmax of a row does not change by a constant, so both are functions of
// the distance qp − i up to BLOOM's bfloat16 rounding.
func addALiBi(sc []float32, slope float32, from, qp int, bloom bool, scale float32) {
	if bloom {
		for i := range sc {
			sc[i] += bf16(slope*float32(from+i)) * scale
		}
		return
	}
	for i := range sc {
		sc[i] += slope * float32(from+i-qp)
	}
}

// maskSliding sets to −∞ the scores of keys at cache distance ≥ window from
// a query at cache position qp (Mistral/Qwen2 sliding_window: a key is
// visible when qp − i < window).
func maskSliding(sc []float32, qp, window int) {
	for i := range min(len(sc), max(0, qp-window+1)) {
		sc[i] = float32(math.Inf(-1))
	}
}
