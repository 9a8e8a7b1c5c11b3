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
// corpus; the other sinktrain rows are the 512-token fixture under each
// family's pre-tokenizer; tiktoken-go embeds its vocabularies (no
// network); r50k_base uses the same GPT-2 pre-tokenizer pattern.
func BenchmarkEncode(b *testing.B) {
	text := tokBenchText(b)
	fixture, _ := tokLoadFixture(b)
	trained := tokBenchTrained(b)
	for _, c := range []struct {
		name  string
		tk    *Tokenizer
		cache bool
	}{
		{"sinktrain-trained4096", trained, true},
		{"sinktrain-trained4096-nocache", trained, false},
		{"sinktrain-fixture512", fixture, true},
		{"sinktrain-llama3-split", tokBenchVariant(b, "llama3", false), true},
		{"sinktrain-llama3-regexp2", tokBenchVariant(b, "llama3", true), true},
		{"sinktrain-falcon", tokBenchVariant(b, "falcon", false), true},
		{"sinktrain-sp-legacy", tokBenchSentencePiece(b, false), true},
		{"sinktrain-sp-metaspace", tokBenchSentencePiece(b, true), true},
	} {
		b.Run(c.name, func(b *testing.B) {
			c.tk.SetWordCache(c.cache)
			defer c.tk.SetWordCache(true)
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

// tokBenchVariant is the fixture's byte-level BPE under the Llama-3 or
// Falcon pre-tokenizer; with regexp2 the Llama-3 Split runs through
// regexp2 instead of the hand-written matcher.
func tokBenchVariant(b *testing.B, family string, regexp2 bool) *Tokenizer {
	g := tokLoadOnig(b)
	pre := map[string]any{"type": "Sequence", "pretokenizers": []any{
		map[string]any{"type": "Split", "pattern": map[string]any{"Regex": g.Patterns["llama3"]}, "behavior": "Isolated", "invert": false},
		map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
	}}
	if family == "falcon" {
		pre = map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Punctuation", "behavior": "Contiguous"},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
			map[string]any{"type": "Digits", "individual_digits": false},
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": "[0-9][0-9][0-9]"}, "behavior": "Isolated", "invert": false},
		}}
	}
	tk, err := Parse(tokFixtureEdit(b, func(f map[string]any) { f["pre_tokenizer"] = pre }))
	if err != nil {
		b.Fatal(err)
	}
	if regexp2 {
		tk.pre.shape = tokPreGeneral
		tk.pre.steps[0].pattern.fast = tokFastNone
	}
	return tk
}

// tokBenchSentencePiece is the fixture's vocabulary and merges read as
// SentencePiece BPE ("Ġ" → "▁", the 256 <0xNN> tokens added, byte
// fallback): the Llama-2 layout (Prepend/Replace normalizer, the whole
// text one word) or, with metaspace, Metaspace splitting at every space.
func tokBenchSentencePiece(b *testing.B, metaspace bool) *Tokenizer {
	tk, err := Parse(tokFixtureEdit(b, func(f map[string]any) {
		m := f["model"].(map[string]any)
		sp := func(s string) string { return strings.ReplaceAll(s, "Ġ", "▁") }
		vocab := map[string]any{}
		n := 0
		for tok, id := range m["vocab"].(map[string]any) {
			vocab[sp(tok)] = id
			n = max(n, int(id.(float64))+1)
		}
		for c := range 256 {
			vocab[fmt.Sprintf("<0x%02X>", c)] = n + c
		}
		merges := m["merges"].([]any)
		for i, p := range merges {
			pp := p.([]any)
			merges[i] = []any{sp(pp[0].(string)), sp(pp[1].(string))}
		}
		m["vocab"], m["byte_fallback"] = vocab, true
		f["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "Prepend", "prepend": "▁"},
			map[string]any{"type": "Replace", "pattern": map[string]any{"String": " "}, "content": "▁"},
		}}
		f["pre_tokenizer"] = nil
		f["decoder"] = map[string]any{"type": "Sequence", "decoders": []any{
			map[string]any{"type": "Replace", "pattern": map[string]any{"String": "▁"}, "content": " "},
			map[string]any{"type": "ByteFallback"}, map[string]any{"type": "Fuse"},
			map[string]any{"type": "Strip", "content": " ", "start": 1, "stop": 0},
		}}
		if metaspace {
			f["normalizer"] = nil
			f["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}
		}
	}))
	if err != nil {
		b.Fatal(err)
	}
	return tk
}
