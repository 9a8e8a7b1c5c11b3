package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sinktrain/sinktrain/internal/kernels"
	"github.com/sinktrain/sinktrain/internal/openblas"
)

// versionText is what `sinktrain version` and `sinktrain --version` print:
// the build, the BLAS and its kernels in use, the CPU and the worker default.
func versionText() string {
	var b strings.Builder
	version, commit := "(devel)", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			commit = rev
			if modified == "true" {
				commit += " (modified)"
			}
		}
	}
	f := openblas.Detect()
	fmt.Fprintf(&b, "sinktrain %s\n", version)
	fmt.Fprintf(&b, "commit:  %s\n", commit)
	fmt.Fprintf(&b, "go:      %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if core := openblas.Core(); core != "" {
		how := "chosen by the library"
		if v := os.Getenv(openblas.Env); v != "" {
			how = openblas.Env + "=" + v
		}
		fmt.Fprintf(&b, "blas:    %s, kernels %s (%v; %s)\n", openblas.Implementation, core, openblas.CoreLevel(core), how)
		fmt.Fprintf(&b, "         %s\n", strings.TrimSpace(openblas.Config()))
	} else {
		fmt.Fprintf(&b, "blas:    %s\n", openblas.Implementation)
	}
	kern := "C (cgo; AVX-512, AVX2+FMA or baseline x86-64, chosen at load)"
	if kernels.Impl == "go" {
		kern = "pure Go (no cgo, or the purego tag)"
	}
	fmt.Fprintf(&b, "kernels: %s\n", kern)
	bf := "widened to float32 (no AVX512-BF16)"
	if kernels.BF16Dot() {
		bf = "AVX512-BF16 pair products"
	}
	fmt.Fprintf(&b, "bf16:    --dtype bfloat16 products: %s\n", bf)
	fmt.Fprintf(&b, "cpu:     %s; %s\n", f.Brand, f.Used())
	fmt.Fprintf(&b, "workers: %d by default (GOMAXPROCS)\n", runtime.GOMAXPROCS(0))
	return b.String()
}

func newVersionCmd(out io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the BLAS kernels in use and the CPU features",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			w := out
			if w == nil {
				w = c.OutOrStdout()
			}
			_, err := io.WriteString(w, versionText())
			return err
		},
	}
}
