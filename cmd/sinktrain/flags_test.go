package main

import (
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// execFlags runs cmd with args (its runF only records the options) and
// checks the error against wantErr; it reports whether the run succeeded,
// so that the recorded options are there to check.
func execFlags(t *testing.T, cmd *cobra.Command, args []string, wantErr string) bool {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SetIn(strings.NewReader(""))
	err := cmd.Execute()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("error = %v, want one containing %q", err, wantErr)
		}
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// checkFlags runs args through cmd (whose runF stores its options in *got)
// and checks the error against wantErr or the options against want; clear
// (may be nil) zeroes the fields flag parsing does not set (writers).
func checkFlags[O any](t *testing.T, cmd *cobra.Command, got **O, args []string, wantErr string, want O, clear func(*O)) {
	t.Helper()
	if !execFlags(t, cmd, args, wantErr) {
		return
	}
	if clear != nil {
		clear(*got)
	}
	if !reflect.DeepEqual(**got, want) {
		t.Errorf("options = %+v, want %+v", **got, want)
	}
}
