// Package data owns everything between raw text and the token stream the
// trainer consumes: the Hugging Face compatible byte-level BPE tokenizer
// (load, train, encode, decode, save as tokenizer.json), the Arrow IPC
// shards (`input_ids: list<int32>`, one row per document), the dataset
// manifest, the memory-mapped loader with its serialisable sampling state,
// and `prepare`, which turns a text corpus into a tokenized dataset
// directory. It depends only on the standard library, arrow-go,
// golang.org/x/text (Unicode normalizers) and internal/fsutil.
package data
