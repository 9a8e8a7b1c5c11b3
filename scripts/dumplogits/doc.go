// Command dumplogits writes the logits sinktrain's inference code computes
// for a model on some token ids, as a safetensors file that
// scripts/check_hf.py compares with Hugging Face transformers:
//
//	go run ./scripts/dumplogits --model DIR [--ids "0 5 7 ..." | --ids-file F] --out logits.safetensors
//
// The file holds input_ids [B, T] (I64) and logits [B, T, V] (F32), dense
// attention. Each line of --ids-file (or of --ids, separated by ";") is one
// row; rows must have equal lengths. Without ids it uses two rows of 32
// deterministic ids (and the model's sinks first when it has any).
//
// It imports infer and checkpoint (any library package, never cmd).
package main
