package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode"

	"github.com/sinktrain/sinktrain/internal/input"
	"github.com/sinktrain/sinktrain/internal/openblas"
	"github.com/spf13/cobra"
	_ "go4.org/unsafe/assume-no-moving-gc" // gorgonia needs it on Go ≥ 1.21 or it panics at init
)

func main() {
	// Before anything else: the BLAS must run the kernels the CPU supports
	// (this may re-execute the process with OPENBLAS_CORETYPE set).
	if err := openblas.Ensure(os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sinktrain:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI with its output on stdout and stderr and returns the
// exit code: 0, 1 for errors, 2 for usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	c, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "sinktrain:", message(c, err))
	if isUsage(c, err) {
		return 2
	}
	return 1
}

// isUsage reports whether err is a usage error: cobra's (unknown flags,
// values of the wrong type, missing required flags…) or a value of one of
// c's flags that a library call found wrong in itself (an input.Error
// marked Usage, e.g. --cache foo, --max-new-tokens 0, --epsilon 2). Errors
// about what files hold, or about the machine (memory), are not.
func isUsage(c *cobra.Command, err error) bool {
	var ue usageError
	if errors.As(err, &ue) {
		return true
	}
	var ie *input.Error
	return c != nil && errors.As(err, &ie) && ie.Usage && c.Flags().Lookup(flagName(ie.Field)) != nil
}

// message words err for the command line: where a library's error is about
// one of its inputs (an input.Error), the input is named by the flag of c
// that sets it, e.g. "ids file x.ids: …" becomes "--ids x.ids: …".
func message(c *cobra.Command, err error) string {
	msg := err.Error()
	var ie *input.Error
	if c == nil || !errors.As(err, &ie) {
		return msg
	}
	name := flagName(ie.Field)
	if c.Flags().Lookup(name) == nil {
		return msg
	}
	override := ie.OverrideWhat
	if o := flagName(ie.OverrideField); ie.OverrideField != "" && c.Flags().Lookup(o) != nil {
		override = "--" + o
	}
	return strings.Replace(msg, ie.Error(), ie.Label("--"+name, override), 1)
}

// flagName returns the flag that sets the Options field of that name: the
// field in kebab case (MaxNewTokens → max-new-tokens, BLASThreads →
// blas-threads), but for the fields whose flag is named otherwise.
func flagName(field string) string {
	switch field {
	case "Models":
		return "model"
	case "Inputs":
		return "input"
	case "IDs":
		return "ids"
	case "DType":
		return "dtype"
	case "KVDType":
		return "kv-dtype"
	case "MaxBodyBytes":
		return "max-body"
	case "Runs":
		return "run"
	case "Windows":
		return "window"
	case "Budgets":
		return "results"
	}
	var b strings.Builder
	r := []rune(field)
	for i, c := range r {
		upper := unicode.IsUpper(c)
		if i > 0 && upper && (unicode.IsLower(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1])) {
			b.WriteByte('-')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}
