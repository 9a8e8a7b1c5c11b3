package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/sinktrain/sinktrain/data"
)

// newPrepareCmd builds `sinktrain prepare`. runF nil runs data.Prepare.
func newPrepareCmd(runF func(context.Context, *data.PrepareOptions) error) *cobra.Command {
	if runF == nil {
		runF = data.Prepare
	}
	o := data.DefaultPrepareOptions()
	cmd := &cobra.Command{
		Use:   "prepare --input PATH... --out DIR [--tokenizer FILE | --vocab-size N] [--val-fraction F] [--sinks K]",
		Short: "Tokenize a text corpus into Arrow shards with a byte-level BPE tokenizer",
		Long: `prepare reads text files, directories (walked for .txt, .text, .md and .jsonl)
and globs: UTF-8 (Latin-1 and Windows-1252 are detected and converted, CRLF
becomes LF), one document per file or per line of a .jsonl file (its "text"
field). It holds out --val-fraction of the documents (chosen by a hash of their
text, so the split is deterministic), trains a byte-level BPE tokenizer of
--vocab-size on the rest with <|endoftext|> and <|sink_0|>…<|sink_{K-1}|>
reserved (or uses --tokenizer), encodes every document followed by
<|endoftext|> on all cores, and writes DIR: tokenizer.json, train-00000.arrow…,
val-00000.arrow… (Arrow IPC, input_ids: list<int32>, one row per document) and
manifest.json with the sha256 of every file. With no --input it uses the
public-domain books embedded in the binary. DIR must not exist or be empty; on
error nothing is left in it.`,
		Example: `  sinktrain prepare --out data/tiny
  sinktrain prepare --input corpus/train --out data/gutenberg --vocab-size 4096
  sinktrain prepare --input 'notes/*.md' --input chats.jsonl --out data/mine --tokenizer pythia/tokenizer.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Progress = cmd.ErrOrStderr()
			return runF(cmd.Context(), &o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.Inputs, "input", nil, "text `PATH`: file, directory or glob (repeatable; none: the embedded corpus)")
	f.StringVar(&o.Out, "out", "", "dataset `DIR` to create (new or empty)")
	f.StringVar(&o.Tokenizer, "tokenizer", "", "use this tokenizer.json `FILE` instead of training one")
	f.IntVar(&o.VocabSize, "vocab-size", o.VocabSize, "vocabulary size `N` of the trained tokenizer")
	f.Float64Var(&o.ValFraction, "val-fraction", o.ValFraction, "fraction `F` of documents held out for validation (0: none)")
	f.IntVar(&o.Sinks, "sinks", o.Sinks, "reserve `K` sink tokens <|sink_0|>… in the trained tokenizer")
	f.Int64Var(&o.ShardTokens, "shard-tokens", o.ShardTokens, "start a new shard after `N` tokens")
	_ = cmd.MarkFlagRequired("out")
	cmd.MarkFlagsMutuallyExclusive("tokenizer", "vocab-size")
	return cmd
}
