// Package model owns the description of every architecture sinktrain runs:
// the [Config] read from and written to Hugging Face config.json files
// (GPT-NeoX, Llama, Mistral, Qwen2, Falcon, MPT; one file per family with
// its field names, defaults and refusals), the [Features] a config asks for
// (norm, MLP, qkv layout, biases, positions: what the shared building
// blocks of a forward pass read), the tensors of each family as a table
// from [Role] to Hugging Face name and shape (llama.cpp's llama-arch.cpp;
// [Config.ParamSpecs], [Config.TensorName]), RoPE frequencies
// ([Config.InvFreq]) and the in-memory [Weights].
//
// It also owns the one validator of a tensor list against a config
// ([Config.CheckTensors], [Weights.Check]).
//
// model imports only sinktoken (and the internal/input helper); it must not
// import gorgonia, autograd, internal/kernels or any other sinktrain
// package. It never reads files other than by parsing bytes handed to it
// (the checkpoint package does the I/O) and holds no gorgonia graph (that
// is model/graph).
package model
