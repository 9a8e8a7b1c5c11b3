package sinktoken

import "fmt"

// MaxSinks bounds the sink tokens of one model: sinks are prepended to
// every sample and kept in every K+W cache, so more than this is a mistake
// (and would only grow the embedding for nothing).
const MaxSinks = 1024

// IgnoreIndex is the label of targets that are not scored (Hugging Face's -100).
const IgnoreIndex = -100

// TokenName returns the reserved string of sink i: "<|sink_i|>".
func TokenName(i int) string { return fmt.Sprintf("<|sink_%d|>", i) }

// TokenNames returns the k sink strings <|sink_0|> … <|sink_{k-1}|>.
func TokenNames(k int) []string {
	out := make([]string, k)
	for i := range out {
		out[i] = TokenName(i)
	}
	return out
}

// Sample builds one training sample: the sink ids followed by the text block.
// dst is reused when it has capacity; the returned slice has len(sinks)+len(block).
func Sample(dst []int32, sinks []int32, block []int32) []int32 {
	dst = append(dst[:0], sinks...)
	return append(dst, block...)
}

// Labels writes the labels for a sample into dst (same length as ids): each
// position's own id (the model shifts: logits[t] predicts labels[t+1]), with
// sink ids replaced by IgnoreIndex so that they are never scored. The first
// text token is therefore predicted from the last sink.
func Labels(dst []int32, ids []int32, sinks []int32) []int32 {
	dst = append(dst[:0], ids...)
	for i, id := range dst {
		if IsSink(id, sinks) {
			dst[i] = IgnoreIndex
		}
	}
	return dst
}

// IsSink reports whether id is one of the sink ids.
func IsSink(id int32, sinks []int32) bool {
	for _, s := range sinks {
		if s == id {
			return true
		}
	}
	return false
}
