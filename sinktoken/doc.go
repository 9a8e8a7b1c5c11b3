// Package sinktoken owns the rules shared by training and inference for
// attention-sink tokens: the reserved token strings <|sink_i|>, building a
// training sample ([sink_0 … sink_{k−1}] + block tokens), masking targets
// that are sink ids (label −100, Hugging Face's ignore index), and the
// attention variant setting (softmax, softmax1, sink_logit). It imports only
// the standard library; every package may import it.
package sinktoken
