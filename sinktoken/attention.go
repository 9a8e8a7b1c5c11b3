package sinktoken

import "fmt"

// Attention selects how attention scores are normalised.
type Attention string

const (
	// Softmax is standard softmax attention: p_j = exp(s_j) / Σ_k exp(s_k).
	Softmax Attention = "softmax"
	// Softmax1 adds a zero logit to the denominator ("zero sink", E. Miller):
	// p_j = exp(s_j) / (1 + Σ_k exp(s_k)).
	Softmax1 Attention = "softmax1"
	// SinkLogit adds one learned logit b_h per head to the denominator (gpt-oss):
	// p_j = exp(s_j) / (exp(b_h) + Σ_k exp(s_k)).
	SinkLogit Attention = "sink_logit"
)

// Validate reports whether a is a known variant ("" counts as Softmax).
func (a Attention) Validate() error {
	switch a {
	case "", Softmax, Softmax1, SinkLogit:
		return nil
	}
	return fmt.Errorf("attention %q is not supported, expected softmax, softmax1 or sink_logit", string(a))
}

// ExportsToHF reports whether transformers' GPTNeoXForCausalLM computes this
// variant (only plain softmax).
func (a Attention) ExportsToHF() bool { return a == "" || a == Softmax }
