package main

import (
	"context"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/checkpoint"
)

const fixtures = "../../testdata/fixtures/"

// TestMatchesReference: the dumped logits of the fixture's input_ids match
// transformers' float64 logits within 1e-5 relative (float32 reaches
// about 2e-7).
func TestMatchesReference(t *testing.T) {
	ref, _, err := checkpoint.ReadSafetensors(fixtures + "gptneox-b/reference.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := ref["input_ids"].Int64s()
	T := ref["input_ids"].Shape[1]
	var sb strings.Builder
	for i, id := range ids {
		if i > 0 && i%T == 0 {
			sb.WriteString(";")
		}
		sb.WriteString(" " + strconv.FormatInt(id, 10))
	}
	out := filepath.Join(t.TempDir(), "logits.safetensors")
	if err := run(context.Background(), fixtures+"gptneox-b", sb.String(), "", out); err != nil {
		t.Fatal(err)
	}
	got, _, err := checkpoint.ReadSafetensors(out)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := got["logits"].Float64s()
	b, _ := ref["logits"].Float64s()
	var num, den float64
	for i := range b {
		num += (a[i] - b[i]) * (a[i] - b[i])
		den += b[i] * b[i]
	}
	if rel := math.Sqrt(num / den); !(rel <= 1e-5) || len(a) != len(b) {
		t.Fatalf("relative difference %g (%d vs %d values)", rel, len(a), len(b))
	} else {
		t.Logf("relative difference %.3g", rel)
	}
}
