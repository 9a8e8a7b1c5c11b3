package sinktoken

import (
	"slices"
	"testing"
)

func TestSampleAndLabels(t *testing.T) {
	sinks := []int32{5, 6}
	block := []int32{10, 11, 5, 12} // a sink id inside the text is never scored either
	ids := Sample(nil, sinks, block)
	if want := []int32{5, 6, 10, 11, 5, 12}; !slices.Equal(ids, want) {
		t.Fatalf("Sample = %v, want %v", ids, want)
	}
	labels := Labels(nil, ids, sinks)
	if want := []int32{-100, -100, 10, 11, -100, 12}; !slices.Equal(labels, want) {
		t.Fatalf("Labels = %v, want %v", labels, want)
	}
	// Reuse of dst: no stale values.
	buf := make([]int32, 0, 16)
	buf = Sample(buf, nil, []int32{1, 2})
	if !slices.Equal(buf, []int32{1, 2}) {
		t.Fatalf("Sample without sinks = %v", buf)
	}
}

func TestTokenNames(t *testing.T) {
	if got := TokenNames(3); !slices.Equal(got, []string{"<|sink_0|>", "<|sink_1|>", "<|sink_2|>"}) {
		t.Fatalf("TokenNames(3) = %v", got)
	}
}

func TestAttentionValidate(t *testing.T) {
	for _, a := range []Attention{"", Softmax, Softmax1, SinkLogit} {
		if err := a.Validate(); err != nil {
			t.Errorf("%q: %v", a, err)
		}
	}
	if err := Attention("sigmoid").Validate(); err == nil {
		t.Error("sigmoid: no error")
	}
	if !Softmax.ExportsToHF() || Softmax1.ExportsToHF() || SinkLogit.ExportsToHF() {
		t.Error("only softmax exports to transformers")
	}
}
