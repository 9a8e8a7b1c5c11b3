package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/infer"
)

func TestGenerateFlags(t *testing.T) {
	def := func(o generateOptions) generateOptions {
		o.MaxNewTokens, o.Temperature, o.TopK, o.TopP, o.Seed, o.DType = 128, 0.8, 40, 1, 1, "float32"
		return o
	}
	tests := []struct {
		args    []string
		want    generateOptions
		wantErr string
	}{
		{
			args: []string{"--model", "m", "--cache", "4+252", "--prompt", "Once upon"},
			want: def(generateOptions{Model: "m", Cache: "4+252", Prompt: "Once upon"}),
		},
		{
			args: []string{"--model", "m", "--cache", "1+63", "--chat", "--max-new-tokens", "20", "--temperature", "0", "--top-k", "0", "--seed", "7", "--dtype", "bf16"},
			want: generateOptions{Model: "m", Cache: "1+63", Chat: true, MaxNewTokens: 20, DType: "bf16", SamplerOptions: infer.SamplerOptions{TopP: 1, Seed: 7}},
		},
		{args: []string{"--model", "m", "--cache", "dense"}, wantErr: "at least one of the flags"},
		{args: []string{"--model", "m", "--cache", "dense", "--chat", "--prompt", "x"}, wantErr: "none of the others"},
		{
			args: []string{"--model", "m", "--cache", "dense", "--ids", "p.ids", "--tokenizer", "t.json"},
			want: def(generateOptions{Model: "m", Cache: "dense", IDs: "p.ids", Tokenizer: "t.json"}),
		},
		{args: []string{"--model", "m", "--cache", "dense", "--ids", "p.ids", "--prompt", "x"}, wantErr: "none of the others"},
		{args: []string{"--model", "m", "--cache", "dense", "--chat", "--tokenizer", "t.json"}, wantErr: "none of the others"},
		{args: []string{"--model", "m", "--prompt", "x"}, wantErr: `"cache" not set`},
		{args: []string{"--model", "m", "--cache", "dense", "--prompt", "x", "--seed", "-1"}, wantErr: "invalid argument"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got *generateOptions
			cmd := newGenerateCmd(func(_ context.Context, o *generateOptions) error { got = o; return nil })
			checkFlags(t, cmd, &got, tt.args, tt.wantErr, tt.want, func(o *generateOptions) { o.In, o.Out, o.Notice = nil, nil, nil })
		})
	}
}

// TestRunGenerate: greedy generation is deterministic and streams text,
// also under recompute; chat answers every turn under K+W and dense caches;
// a bad spec names it.
func TestRunGenerate(t *testing.T) {
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cfg := setJSON(t, read(filepath.Join(fixtures, "gptneox-a", "config.json")), "vocab_size", 512)
	dir := randomModel(t, filepath.Join(t.TempDir(), "m"), cfg, read(filepath.Join(fixtures, "tokenizer", "tokenizer.json")))
	gen := func(o generateOptions) string {
		t.Helper()
		var out bytes.Buffer
		o.Model, o.Out = dir, &out
		if err := runGenerate(context.Background(), &o); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	a := gen(generateOptions{Cache: "0+16", Prompt: "Alice was", MaxNewTokens: 12})
	b := gen(generateOptions{Cache: "0+16", Prompt: "Alice was", MaxNewTokens: 12})
	if a != b || a == "\n" {
		t.Errorf("greedy outputs differ or are empty: %q vs %q", a, b)
	}
	if s := gen(generateOptions{Cache: "0+16", Prompt: "Alice was", MaxNewTokens: 12, SamplerOptions: infer.SamplerOptions{Temperature: 1, TopK: 5, Seed: 3}}); s == "" {
		t.Error("sampling produced nothing")
	}
	if r := gen(generateOptions{Cache: "recompute:8", Prompt: "Alice was", MaxNewTokens: 12}); r == "\n" {
		t.Error("recompute produced nothing")
	}
	// --chat runs serve.Chat (tested there); a recompute cache is refused.
	if err := runGenerate(context.Background(), &generateOptions{Model: dir, Cache: "recompute:16", Chat: true, MaxNewTokens: 2, In: strings.NewReader("hi\n"), Out: &bytes.Buffer{}}); err == nil || !strings.Contains(err.Error(), "recompute") {
		t.Errorf("chat under recompute: %v", err)
	}
	for _, cache := range []string{"1+31", "dense"} {
		chat := gen(generateOptions{Cache: cache, Chat: true, MaxNewTokens: 6, In: strings.NewReader("Hello there\n\nWho are you, Alice?\nThe rabbit hole is deep and long and dark.\n")})
		if n := strings.Count(chat, "\n"); n < 3 {
			t.Errorf("%s: chat answered %d turns, want 3:\n%q", cache, n, chat)
		}
	}
	err := runGenerate(context.Background(), &generateOptions{Model: dir, Cache: "4+", Prompt: "x", MaxNewTokens: 1, Out: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), `cache spec "4+": W (window) is empty`) {
		t.Errorf("bad cache: %v", err)
	}
}
