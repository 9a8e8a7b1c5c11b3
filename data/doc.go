// Package data owns everything between raw text and the token stream the
// trainer consumes: the dataset manifest, dataset directories (prepared,
// bare .arrow, HF save_to_disk), the memory-mapped loader with its
// serialisable sampling state, corpus decoding (UTF-8, Latin-1, JSONL), the
// embedded corpus, and `prepare`, which turns a text corpus into a tokenized
// dataset directory. Tokenizers live in [tokenizer], Arrow shards in
// [shard]. It imports data/tokenizer and data/shard; it must not import
// gorgonia, model, checkpoint, train, infer or study.
package data
