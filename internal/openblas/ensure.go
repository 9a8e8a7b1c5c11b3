package openblas

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// Ensure re-executes the process with OPENBLAS_CORETYPE set when the loaded
// OpenBLAS chose kernels below what the CPU supports (see the package doc);
// it returns only when the process goes on as it is. Notes (what was chosen,
// or why nothing was) go to log as one line each. Without OpenBLAS it does
// nothing.
func Ensure(log io.Writer) error {
	if Implementation != "OpenBLAS" {
		return nil
	}
	return ensure(log, Core(), Detect(), os.Getenv, os.Unsetenv, syscall.Exec)
}

// ensure is Ensure with its world passed in (for tests).
func ensure(log io.Writer, loaded string, f Features, getenv func(string) string, unsetenv func(string) error,
	exec func(string, []string, []string) error) error {
	previous := getenv(reexecEnv)
	d := Decide(loaded, f, getenv(Env), previous)
	if previous != "" {
		unsetenv(reexecEnv) // children start afresh
	}
	if d.Note != "" && log != nil {
		fmt.Fprintln(log, "sinktrain:", d.Note)
	}
	if !d.Reexec {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("openblas: re-run with %s=%s: %w", Env, d.Core, err)
	}
	env := append(os.Environ(), Env+"="+d.Core, reexecEnv+"="+loaded)
	if err := exec(exe, os.Args, env); err != nil {
		return fmt.Errorf("openblas: re-run %s with %s=%s: %w", exe, Env, d.Core, err)
	}
	return nil
}
