package tokenizer

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// tokSpecials are the trainer's reserved tokens: <|endoftext|> and k sinks.
func tokSpecials(k int) []string {
	s := []string{tokEOT}
	for i := range k {
		s = append(s, fmt.Sprintf("%s%d|>", tokSinkPrefix, i))
	}
	return s
}

// tokDocs yields the fixture texts as documents.
func tokDocs(t testing.TB) func(yield func(string) bool) {
	_, cases := tokLoadFixture(t)
	return func(yield func(string) bool) {
		for _, c := range cases {
			if !yield(c.Text) {
				return
			}
		}
	}
}

func tokTrainSmall(t testing.TB, vocab int) *Tokenizer {
	t.Helper()
	tk, err := TrainBPE(tokDocs(t), vocab, tokSpecials(4))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestTrainBPE(t *testing.T) {
	tk := tokTrainSmall(t, 400)
	if tk.VocabSize() != 400 {
		t.Fatalf("VocabSize = %d, want 400", tk.VocabSize())
	}
	// Ids: specials, then the byte alphabet in rune order (as HF's trainer).
	for i, s := range tokSpecials(4) {
		if got := tk.Encode(s); !slices.Equal(got, []int32{int32(i)}) {
			t.Errorf("Encode(%q) = %v, want [%d]", s, got, i)
		}
	}
	for id, want := range map[int32]string{5: "!", 6: "\"", 198 + 5: "Ċ", 5 + 255: "Ń"} {
		if got, _ := tk.Token(id); got != want {
			t.Errorf("Token(%d) = %q, want %q", id, got, want)
		}
	}
	_, cases := tokLoadFixture(t)
	text := tokLongText(cases) + tokEOT + "<|sink_3|>"
	ids := tk.Encode(text)
	if got := tk.Decode(ids); got != text {
		t.Error("trained tokenizer does not round-trip text")
	}
	if len(ids) >= len(text)*3/5 {
		t.Errorf("trained tokenizer compresses poorly: %d ids for %d bytes", len(ids), len(text))
	}
	// Special tokens in the corpus are not learned as merges.
	for _, m := range tk.merges {
		if strings.Contains(m[0]+m[1], "sink") {
			t.Errorf("merge %q learned from a special token", m)
		}
	}
	// Deterministic: a second run gives the same file.
	a, _ := tk.MarshalJSON()
	b, _ := tokTrainSmall(t, 400).MarshalJSON()
	if string(a) != string(b) {
		t.Error("two trainings on the same corpus differ")
	}
}

// TestTrainBPEReference trains on a tiny corpus whose merges are worked out
// by hand: counts with ties broken by the smaller pair of ids.
func TestTrainBPEReference(t *testing.T) {
	docs := func(yield func(string) bool) {
		yield("aaab aab ab")
	}
	tk, err := TrainBPE(docs, 1+256+4, []string{tokEOT})
	if err != nil {
		t.Fatal(err)
	}
	// Words "aaab", "Ġaab", "Ġab" (ids: a < b < Ġ < merged tokens).
	// 1: a a ×3 ties a b ×3; (a, a) is the smaller pair → aa.
	//    aaab → aa a b, Ġaab → Ġ aa b, Ġab → Ġ a b.
	// 2: a b ×2 → ab.  aaab → aa ab, Ġab → Ġ ab.
	// 3: all pairs ×1: (aa, ab) (Ġ, aa) (aa, b) (Ġ, ab); smallest (Ġ, aa) → Ġaa.
	// 4: (aa, ab) (Ġaa, b) (Ġ, ab); smallest (Ġ, ab) → Ġab.
	want := [][2]string{{"a", "a"}, {"a", "b"}, {"Ġ", "aa"}, {"Ġ", "ab"}}
	if !slices.Equal(tk.merges, want) {
		t.Errorf("merges = %q, want %q", tk.merges, want)
	}
}

func TestTrainBPEErrors(t *testing.T) {
	docs := func(yield func(string) bool) { yield("abc") }
	if _, err := TrainBPE(docs, 100, []string{tokEOT}); err == nil {
		t.Error("vocab below 256 + specials: no error")
	}
	if _, err := TrainBPE(docs, 300, []string{tokEOT, tokEOT}); err == nil {
		t.Error("duplicate special: no error")
	}
	// A corpus with no pairs stops early.
	tk, err := TrainBPE(func(yield func(string) bool) {}, 300, []string{tokEOT})
	if err != nil || tk.VocabSize() != 257 {
		t.Errorf("empty corpus: %v, vocab %d", err, tk.VocabSize())
	}
}
