package infer

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// byteTok is a tokenizer whose token i is the single byte i.
type byteTok struct{}

func (byteTok) Encode(s string) []int32 {
	out := make([]int32, len(s))
	for i := range len(s) {
		out[i] = int32(s[i])
	}
	return out
}

func (byteTok) Decode(ids []int32) string {
	b := make([]byte, len(ids))
	for i, id := range ids {
		b[i] = byte(id)
	}
	return string(b)
}

func (byteTok) TokenID(string) (int32, bool) { return 0, false }

// writes records each Write so that the test sees what was streamed when.
type writes []string

func (w *writes) Write(p []byte) (int, error) { *w = append(*w, string(p)); return len(p), nil }

// TestUTF8StreamHoldsPartialCharacters: "é€" is 2+3 bytes, one token per
// byte; nothing is written until a character is complete.
func TestUTF8StreamHoldsPartialCharacters(t *testing.T) {
	var w writes
	u := TextStream{Tok: byteTok{}}
	for _, id := range (byteTok{}).Encode("aé€b") {
		must(t, u.write(&w, id))
	}
	must(t, u.flush(&w))
	if got := strings.Join(w, "|"); got != "a|é|€|b" {
		t.Errorf("writes %q, want a|é|€|b", got)
	}
}

// TestGenerate: greedy generation is deterministic and streams text, under
// K+W and recompute caches (chat is serve.Chat, tested there).
func TestGenerate(t *testing.T) {
	dir := writeModelDir(t, 1)
	run := func(o GenerateOptions) string {
		var out bytes.Buffer
		o.Model, o.Out = dir, &out
		must(t, Generate(context.Background(), &o))
		return out.String()
	}
	a := run(GenerateOptions{Cache: "1+15", Prompt: "Alice was", MaxNewTokens: 12})
	b := run(GenerateOptions{Cache: "1+15", Prompt: "Alice was", MaxNewTokens: 12})
	if a != b || a == "\n" {
		t.Errorf("greedy outputs differ or are empty: %q vs %q", a, b)
	}
	s := run(GenerateOptions{Cache: "1+15", Prompt: "Alice was", MaxNewTokens: 12, Temperature: 1, TopK: 5, Seed: 3})
	if s == "" {
		t.Error("sampling produced nothing")
	}
	if r := run(GenerateOptions{Cache: "recompute:8", Prompt: "Alice was", MaxNewTokens: 12}); r == "\n" {
		t.Error("recompute produced nothing")
	}
	var out bytes.Buffer
	err := Generate(context.Background(), &GenerateOptions{Model: dir, Cache: "4+", Prompt: "x", MaxNewTokens: 1, Out: &out})
	if err == nil || !strings.Contains(err.Error(), `cache spec "4+"`) {
		t.Errorf("bad cache: %v", err)
	}
}
