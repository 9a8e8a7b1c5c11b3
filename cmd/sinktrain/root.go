package main

import (
	"github.com/spf13/cobra"
)

// usageError marks errors in how the command was called (exit code 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "sinktrain",
		Short: "Train, stream and inspect attention-sink GPT-NeoX language models",
		Long: `sinktrain makes StreamingLLM's attention sinks usable end to end: prepare a
byte-level BPE corpus, pretrain or finetune small GPT-NeoX (Pythia) models with
0, 1 or k learnable sink tokens on CPU, stream them through sink+window KV
caches, and compare cache configurations.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(subcommands()...)
	return root
}

// subcommands lists every built subcommand; each lives in its own file.
func subcommands() []*cobra.Command {
	return []*cobra.Command{
		newCompareCmd(nil, nil),
		newInspectCmd(nil),
		newEvalCmd(nil),
		newGenerateCmd(nil),
		newPretrainCmd(nil),
		newFinetuneCmd(nil),
		newConvertCmd(nil),
		newPrepareCmd(nil),
	}
}
