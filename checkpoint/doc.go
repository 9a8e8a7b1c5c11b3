// Package checkpoint owns sinktrain's files on disk: safetensors reading and
// writing (F32, F16, BF16, F64, integer tensors; sharded indexes), config.json
// and tokenizer.json alongside, optimizer and trainer state, atomic writes
// (temp file, fsync, rename, fsync dir), Hugging Face import and export of
// every family package model describes, dtype conversion, and adding sink
// tokens to a model (tokenizer.json is read and edited through
// data/tokenizer, never parsed here).
//
// It imports model, data/tokenizer and sinktoken; it must not import
// gorgonia, autograd, model/graph, train, infer, study or data, and it
// builds without cgo.
package checkpoint
