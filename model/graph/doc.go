// Package graph owns the gorgonia training graph of a model.Config (GPT-NeoX
// and the Llama family: llama, mistral, qwen2, in llama.go) for a
// fixed (batch, length): forward, loss, backward through the fused ops of
// autograd, with parameter nodes sharing storage with a model.Weights so
// that one graph per core can train one model. It imports model, autograd,
// internal/kernels (huge-page buffers) and sinktoken; nothing but train,
// cmd and tests may import it.
package graph
