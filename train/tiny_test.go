package train

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/sinktrain/sinktrain/data"
)

// unigramEntropy returns the entropy (nats) of the token frequencies of ids.
func unigramEntropy(ids []int32) float64 {
	counts := map[int32]float64{}
	for _, id := range ids {
		counts[id]++
	}
	var h float64
	n := float64(len(ids))
	for _, c := range counts {
		h -= c / n * math.Log(c/n)
	}
	return h
}

// TestTinyBelowUnigram runs the tiny preset on the embedded text (about a
// minute on 2 cores) and checks the final loss against the unigram entropy.
func TestTinyBelowUnigram(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tiny")
	var losses []float64
	o := Options{Config: "tiny", Out: out, Log: testLog{t}, onStep: func(_ int, l float64) { losses = append(losses, l) }}
	if err := Pretrain(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	ds, err := data.OpenDataset(filepath.Join(out, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	tr, _ := ds.Split("train")
	h := unigramEntropy(tr.All(0))
	var last float64
	for _, l := range losses[len(losses)-10:] {
		last += l / 10
	}
	t.Logf("tiny: unigram entropy %.3f nats, first loss %.3f, mean of last 10 losses %.3f", h, losses[0], last)
	if !(last < h-0.5) {
		t.Errorf("final loss %.3f is not well below the unigram entropy %.3f", last, h)
	}
}
