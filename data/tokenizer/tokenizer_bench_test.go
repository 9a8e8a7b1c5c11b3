package tokenizer

import (
	"fmt"
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
	}{
		{"sinktrain-fixture512", fixture},
		{"sinktrain-trained4096", trained},
		{"sinktrain-llama3-split", tokBenchVariant(b, "llama3", false)},
		{"sinktrain-llama3-regexp2", tokBenchVariant(b, "llama3", true)},
		{"sinktrain-falcon", tokBenchVariant(b, "falcon", false)},
		{"sinktrain-sp-legacy", tokBenchSentencePiece(b, false)},
		{"sinktrain-sp-metaspace", tokBenchSentencePiece(b, true)},
	} {
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
