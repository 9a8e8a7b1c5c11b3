package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
