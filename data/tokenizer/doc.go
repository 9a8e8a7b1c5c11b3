// Package tokenizer owns Hugging Face tokenizer.json: loading, saving,
// encoding and decoding exactly as the tokenizers library (0.23) does for
// the BPE families (byte-level: GPT-2, GPT-NeoX, Llama-3, Qwen2, Falcon;
// SentencePiece-style with byte fallback: Llama-2, Mistral), and training
// a byte-level BPE from a corpus. It imports only the standard library,
// golang.org/x/text (Unicode normalizers) and github.com/dlclark/regexp2
// (the regexes of Split and Replace); it must not import any other
// sinktrain package.
package tokenizer
