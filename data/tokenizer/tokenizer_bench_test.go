package tokenizer

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tiktoken "github.com/tiktoken-go/tokenizer"
)

// tokBenchText is the benchmark's held-out text: $TOK_BENCH_TEXT, by
// default Moby-Dick from scripts/get-corpus.sh (not in the training corpus),
// with CRLF as LF as `sinktrain prepare` reads it.
func tokBenchText(b *testing.B) string {
	b.Helper()
	path := os.Getenv("TOK_BENCH_TEXT")
	if path == "" {
		path = "../../corpus/eval/melville-moby_dick.txt"
	}
	t, err := os.ReadFile(path)
	if err != nil {
		b.Fatalf("benchmark text: %v (run scripts/get-corpus.sh, or set TOK_BENCH_TEXT)", err)
	}
	return strings.ReplaceAll(string(t), "\r\n", "\n")
}

// tokBenchTrain returns the documents (one per .txt file) of the training
// corpus: $TOK_BENCH_TRAIN, by default corpus/train of scripts/get-corpus.sh.
func tokBenchTrain(b *testing.B) []string {
	b.Helper()
	dir := os.Getenv("TOK_BENCH_TRAIN")
	if dir == "" {
		dir = "../../corpus/train"
	}
	var docs []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".txt") {
			return err
		}
		t, err := os.ReadFile(path)
		docs = append(docs, strings.ReplaceAll(string(t), "\r\n", "\n"))
		return err
	})
	if err == nil && len(docs) == 0 {
		err = fmt.Errorf("no .txt files in %s", dir)
	}
	if err != nil {
		b.Fatalf("training corpus: %v (run scripts/get-corpus.sh, or set TOK_BENCH_TRAIN)", err)
	}
	return docs
}

// tokBenchTrained is the tokenizer `sinktrain prepare --input corpus/train`
// trains: vocabulary 4096 with <|endoftext|> and 4 sinks reserved.
func tokBenchTrained(b *testing.B) *Tokenizer {
	b.Helper()
	docs := tokBenchTrain(b)
	tk, err := TrainBPE(slices.Values(docs), 4096, tokSpecials(4))
	if err != nil {
		b.Fatal(err)
	}
	return tk
}

// BenchmarkEncode compares encoding throughput (MB/s) of held-out text
// (Moby-Dick) with tiktoken-go on the same text, and sinktrain's with its
// word cache on and off. sinktrain's tokenizer is trained on the training
// corpus; tiktoken-go embeds its vocabularies (no network); r50k_base uses
// the same GPT-2 pre-tokenizer pattern.
func BenchmarkEncode(b *testing.B) {
	text := tokBenchText(b)
	trained := tokBenchTrained(b)
	for _, cache := range []bool{true, false} {
		name := "sinktrain-trained4096"
		if !cache {
			name += "-nocache"
		}
		b.Run(name, func(b *testing.B) {
			trained.SetWordCache(cache)
			defer trained.SetWordCache(true)
			b.SetBytes(int64(len(text)))
			ids := make([]int32, 0, len(text)/2)
			for b.Loop() {
				ids = trained.AppendEncode(ids[:0], text)
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

// BenchmarkTrainBPE trains a 4096-token vocabulary on the training corpus
// (corpus/train: 21 MB).
func BenchmarkTrainBPE(b *testing.B) {
	docs := tokBenchTrain(b)
	n := 0
	for _, d := range docs {
		n += len(d)
	}
	b.SetBytes(int64(n))
	for b.Loop() {
		if _, err := TrainBPE(slices.Values(docs), 4096, tokSpecials(4)); err != nil {
			b.Fatal(err)
		}
	}
}
