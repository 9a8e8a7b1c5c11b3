// Command sinktrain trains, converts, evaluates and inspects attention-sink
// language models (GPT-NeoX, Llama, Mistral, Qwen2, Falcon, MPT). Each
// subcommand parses its flags into an Options struct and calls a library
// package; see README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sinktrain/sinktrain/internal/openblas"
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
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "sinktrain:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}
