package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// usageError marks errors in how the command was called (exit code 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "sinktrain",
		Short: "Train, stream and inspect attention-sink language models",
		Long: `sinktrain makes StreamingLLM's attention sinks usable end to end: prepare a
byte-level BPE corpus, pretrain or finetune small GPT-NeoX (Pythia) models with
0, 1 or k learnable sink tokens on CPU, stream them and Hugging Face Llama,
Mistral, Qwen2, Falcon and MPT models through sink+window KV caches, and
compare cache configurations.`,
		Example: `  sinktrain prepare --out runs/data                       # embedded text → tokenizer + shards
  sinktrain pretrain --config tiny --data runs/data --set sinks=1 --out runs/sink1
  sinktrain eval stream --model runs/sink1 --data runs/data --cache 1+63 --cache 0+64
  sinktrain completion bash > /etc/bash_completion.d/sinktrain`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.Version = "set" // --version prints versionText, like `sinktrain version`
	root.SetVersionTemplate(strings.ReplaceAll(versionText(), "{{", "{ {"))
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(subcommands()...)
	markUsageErrors(root)
	return root
}

// newParentCmd builds a command that only groups its children (`sinktrain
// eval`, `sinktrain inspect`); markUsageErrors gives it its help and its
// unknown-subcommand error.
func newParentCmd(use, short string, children ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short}
	c.AddCommand(children...)
	return c
}

// markUsageErrors makes every way of calling a command wrongly exit with 2:
// bad positional arguments, missing required flags and violated flag groups
// (cobra checks the last two after PersistentPreRunE, so they are checked
// here first), and unknown subcommands.
func markUsageErrors(root *cobra.Command) {
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		if err := c.ValidateRequiredFlags(); err != nil {
			return usageError{err}
		}
		if err := c.ValidateFlagGroups(); err != nil {
			return usageError{err}
		}
		return nil
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
			// A bare parent command prints its help; a word that is not
			// one of its subcommands is a usage error.
			c.Args = cobra.ArbitraryArgs
			c.RunE = func(cmd *cobra.Command, args []string) error {
				if len(args) > 0 {
					return usageError{fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())}
				}
				return cmd.Help()
			}
		}
		if a := c.Args; a != nil {
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := a(cmd, args); err != nil {
					return usageError{err}
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// subcommands lists every built subcommand; each lives in its own file.
func subcommands() []*cobra.Command {
	return []*cobra.Command{
		newCompareCmd(nil, nil),
		newInspectCmd(nil),
		newEvalCmd(nil),
		newGenerateCmd(nil),
		newServeCmd(nil),
		newPretrainCmd(nil),
		newFinetuneCmd(nil),
		newConvertCmd(nil),
		newPrepareCmd(nil),
		newVersionCmd(nil),
	}
}
