package tokenizer

import (
	"os"
	"strings"
	"testing"

	tiktoken "github.com/tiktoken-go/tokenizer"
)

// tokBenchText is the benchmark text: the file named by $TOK_BENCH_TEXT
// (e.g. the default training corpus), else the fixture texts repeated to
// about 1 MB.
func tokBenchText(b *testing.B) string {
	b.Helper()
	if path := os.Getenv("TOK_BENCH_TEXT"); path != "" {
		t, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		return string(t)
	}
	_, cases := tokLoadFixture(b)
	one := tokLongText(cases)
	return strings.Repeat(one, 1<<20/len(one)+1)
}

// BenchmarkEncode compares encoding throughput (MB/s) with tiktoken-go on
// the same text. tiktoken-go embeds its vocabularies (no network); r50k_base
// uses the same GPT-2 pre-tokenizer pattern.
func BenchmarkEncode(b *testing.B) {
	text := tokBenchText(b)
	fixture, _ := tokLoadFixture(b)
	trained, err := TrainBPE(func(yield func(string) bool) { yield(text[:min(len(text), 4<<20)]) }, 4096, tokSpecials(4))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		tk   *Tokenizer
	}{{"sinktrain-fixture512", fixture}, {"sinktrain-trained4096", trained}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			ids := make([]int32, 0, len(text)/2)
			for b.Loop() {
				ids = c.tk.AppendEncode(ids[:0], text)
			}
			b.ReportMetric(float64(len(text))/float64(len(ids)), "bytes/token")
		})
	}
	for _, enc := range []tiktoken.Encoding{tiktoken.R50kBase, tiktoken.Cl100kBase} {
		codec, err := tiktoken.Get(enc)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("tiktoken-"+string(enc), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			var n int
			for b.Loop() {
				ids, _, err := codec.Encode(text)
				if err != nil {
					b.Fatal(err)
				}
				n = len(ids)
			}
			b.ReportMetric(float64(len(text))/float64(n), "bytes/token")
		})
	}
}

// BenchmarkTrainBPE trains a 4096-token vocabulary on the benchmark text
// (set TOK_BENCH_TEXT to the 25 MB default corpus for the number).
func BenchmarkTrainBPE(b *testing.B) {
	text := tokBenchText(b)
	docs := func(yield func(string) bool) {
		for doc := range strings.SplitSeq(text, "\n\n") {
			if !yield(doc) {
				return
			}
		}
	}
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := TrainBPE(docs, 4096, tokSpecials(4)); err != nil {
			b.Fatal(err)
		}
	}
}
