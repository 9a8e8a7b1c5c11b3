// Package tokenizer owns Hugging Face tokenizer.json: loading, saving,
// encoding and decoding exactly as the tokenizers library does, and training
// a byte-level BPE from a corpus. It imports only the standard library and
// golang.org/x/text (Unicode normalizers); it must not import any other
// sinktrain package.
package tokenizer
