// Package shard owns the Arrow IPC shards of a dataset: one column
// `input_ids: list<int32>`, one row per document — the schema pyarrow and HF
// datasets use. It writes them (with their sha256), memory-maps them, and
// parses IPC file and stream formats into zero-copy views of the mapped
// bytes, validating every length before arrow-go allocates. It imports only
// arrow-go and the standard library; it must not import any other sinktrain
// package.
package shard
