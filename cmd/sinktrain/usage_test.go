package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestUsageExitCodes checks that every kind of wrong call exits with 2 and a
// one-line error, without running anything.
func TestUsageExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args string
		want string
	}{
		{"bogus", `unknown command "bogus" for "sinktrain"`},
		{"eval bogus", `unknown command "bogus" for "sinktrain eval"`},
		{"convert --from x", `required flag(s) "out" not set`},
		{"eval stream --model m --cache dense", "at least one of the flags in the group [text ids data] is required"},
		{"convert --from a --out b extra", `unknown command "extra"`},
		{"prepare --nope", "unknown flag: --nope"},
		{"generate --model m --cache dense --max-new-tokens x", "invalid argument"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), strings.Fields(tc.args), &stdout, &stderr)
		msg := stderr.String()
		if code != 2 || !strings.Contains(msg, tc.want) || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
			t.Errorf("sinktrain %s: exit %d, stderr %q; want exit 2 and one line containing %q", tc.args, code, msg, tc.want)
		}
	}
}

func TestBareParentPrintsHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"eval"}, &stdout, &stderr); code != 0 {
		t.Fatalf("sinktrain eval: exit %d, stderr %q", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "stream") {
		t.Fatalf("sinktrain eval: help does not list the stream subcommand:\n%s", stdout.String())
	}
}

// TestFlagNames: the Options fields that library errors name map to the
// flags that set them, and each of those flags exists.
func TestFlagNames(t *testing.T) {
	root := newRootCmd()
	flags := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { flags[f.Name] = true })
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	for field, want := range map[string]string{
		"Models": "model", "Inputs": "input", "IDs": "ids", "NLLOut": "nll-out", "DType": "dtype", "KVDType": "kv-dtype",
		"TopK": "top-k", "TopP": "top-p", "MaxTokens": "max-tokens", "MaxNewTokens": "max-new-tokens", "AddSinks": "add-sinks",
		"VocabSize": "vocab-size", "ValFraction": "val-fraction", "ShardTokens": "shard-tokens", "BLASThreads": "blas-threads",
		"Workers": "workers", "DefaultMaxTokens": "default-max-tokens", "MaxSessions": "max-sessions", "MaxQueue": "max-queue",
		"Parallel": "parallel", "MaxBodyBytes": "max-body", "Cache": "cache", "Epsilon": "epsilon", "Tokens": "tokens",
		"Temperature": "temperature", "Set": "set", "Config": "config", "Data": "data", "Text": "text", "Out": "out",
		"From": "from", "Model": "model", "Tokenizer": "tokenizer", "Sinks": "sinks", "Assets": "assets", "Compare": "compare",
		"Inspect": "inspect",
	} {
		if got := flagName(field); got != want || !flags[got] {
			t.Errorf("flagName(%s) = %q (a flag: %v), want the flag %q", field, got, flags[got], want)
		}
	}
}
