package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	tokFixture    = "../../testdata/fixtures/tokenizer/tokenizer.json"
	tokEncodings  = "../../testdata/fixtures/tokenizer/encodings.json"
	tokEOT        = "<|endoftext|>"
	tokSinkPrefix = "<|sink_"
)

type tokCase struct {
	Text string  `json:"text"`
	IDs  []int32 `json:"ids"`
}

func tokLoadFixture(t testing.TB) (*Tokenizer, []tokCase) {
	t.Helper()
	tk, err := Load(tokFixture)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(tokEncodings)
	if err != nil {
		t.Fatal(err)
	}
	var cases []tokCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return tk, cases
}

// tokFixtureEdit returns the fixture tokenizer.json changed by edit.
func tokFixtureEdit(t testing.TB, edit func(f map[string]any)) []byte {
	t.Helper()
	b, err := os.ReadFile(tokFixture)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	edit(f)
	b, err = json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTokenizerMatchesHF: every fixture encoding equals HF's, with the word
// cache on (each text twice, the second time from the cache) and off.
func TestTokenizerMatchesHF(t *testing.T) {
	tk, cases := tokLoadFixture(t)
	if got := tk.VocabSize(); got != 512 {
		t.Errorf("VocabSize = %d, want 512", got)
	}
	for _, cache := range []bool{true, false} {
		t.Run(fmt.Sprintf("word cache %v", cache), func(t *testing.T) {
			tk.SetWordCache(cache)
			defer tk.SetWordCache(true)
			for round := range 2 {
				for _, c := range cases {
					got := tk.Encode(c.Text)
					if c.IDs == nil {
						c.IDs = []int32{}
					}
					if !slices.Equal(got, c.IDs) {
						t.Errorf("round %d: Encode(%.40q)\n got %v\nwant %v", round, c.Text, got, c.IDs)
					}
					if dec := tk.Decode(c.IDs); dec != c.Text {
						t.Errorf("Decode(HF ids of %.40q) = %.40q", c.Text, dec)
					}
					// AppendEncode appends after existing ids.
					pre := []int32{7, 8}
					if got := tk.AppendEncode(pre, c.Text); !slices.Equal(got[:2], []int32{7, 8}) || !slices.Equal(got[2:], c.IDs) {
						t.Errorf("AppendEncode(%.40q) = %v", c.Text, got)
					}
				}
			}
		})
	}
}

// tokLongText is a multi-KB text: every fixture text, some Unicode and
// whitespace oddities, and a long word that takes the heap merge path.
func tokLongText(cases []tokCase) string {
	var sb strings.Builder
	for _, c := range cases {
		sb.WriteString(c.Text)
		sb.WriteString("\n\n")
	}
	sb.WriteString("Ünïcödé\u00a0spaces\u3000and\r\ncontrol \x01\x7f bytes, 𝔘𝔫𝔦 😀😀 ")
	sb.WriteString(strings.Repeat("thequickbrownfox", 40))
	return sb.String()
}

func TestTokenizerRoundTrip(t *testing.T) {
	tk, cases := tokLoadFixture(t)
	text := tokLongText(cases)
	if len(text) < 4096 {
		t.Fatalf("text has %d bytes, want a multi-KB text", len(text))
	}
	ids := tk.Encode(text)
	if got := tk.Decode(ids); got != text {
		t.Fatalf("Decode(Encode(text)) differs from text (%d vs %d bytes)", len(got), len(text))
	}
	// Invalid UTF-8 survives too: the byte alphabet covers every byte.
	bad := "\xff\xfe\x80 abc \xc3"
	if got := tk.Decode(tk.Encode(bad)); got != bad {
		t.Errorf("round trip of invalid UTF-8 = %q", got)
	}
}

// TestMergeHeapMatchesScan checks the long-word merge against the scan.
func TestMergeHeapMatchesScan(t *testing.T) {
	tk, cases := tokLoadFixture(t)
	st := newBPEState(false)
	for _, w := range strings.Fields(tokLongText(cases)) {
		syms := make([]int32, len(w))
		for i := range len(w) {
			syms[i] = tk.model.byteID[w[i]]
		}
		scan := slices.Clone(tk.model.mergeScan(slices.Clone(syms), st))
		heap := tk.model.mergeHeap(slices.Clone(syms), st)
		if !slices.Equal(scan, heap) {
			t.Fatalf("word %q: scan %v, heap %v", w, scan, heap)
		}
	}
}

func TestTokenizerSpecialTokens(t *testing.T) {
	tk, _ := tokLoadFixture(t)
	for i, s := range []string{tokEOT, "<|sink_0|>", "<|sink_1|>", "<|sink_2|>", "<|sink_3|>"} {
		if id, ok := tk.TokenID(s); !ok || id != int32(i) {
			t.Errorf("TokenID(%q) = %d, %v; want %d", s, id, ok, i)
		}
		if got := tk.Encode(s); !slices.Equal(got, []int32{int32(i)}) {
			t.Errorf("Encode(%q) = %v, want [%d]", s, got, i)
		}
		if tok, ok := tk.Token(int32(i)); !ok || tok != s {
			t.Errorf("Token(%d) = %q, %v", i, tok, ok)
		}
	}
	if tok, ok := tk.Token(203); !ok || tok != "Ċ" {
		t.Errorf("Token(203) = %q, %v; want Ċ", tok, ok)
	}
	if _, ok := tk.Token(512); ok {
		t.Error("Token(512) exists")
	}
	if got := tk.Decode([]int32{-1, 512, 0}); got != tokEOT {
		t.Errorf("Decode skips unknown ids: got %q", got)
	}
	// New special tokens get the next ids; existing ones keep theirs.
	ids := tk.AddSpecialTokens("<|sink_4|>", tokEOT, "<|pad|>", "<|sink_4|>")
	if !slices.Equal(ids, []int32{512, 0, 513, 512}) {
		t.Errorf("AddSpecialTokens = %v, want [512 0 513 512]", ids)
	}
	if tk.VocabSize() != 514 {
		t.Errorf("VocabSize after adding = %d, want 514", tk.VocabSize())
	}
	text := "a<|sink_4|>b<|pad|><|endoftext|>"
	if got := tk.Decode(tk.Encode(text)); got != text {
		t.Errorf("round trip with new specials = %q", got)
	}
	if got := tk.Encode("<|sink_4|>"); !slices.Equal(got, []int32{512}) {
		t.Errorf("Encode(<|sink_4|>) = %v", got)
	}
}

// TestAddedTokenFlags checks lstrip, rstrip, single_word and normalized
// added tokens on a file with an NFC normalizer and add_prefix_space. The
// file gives the new tokens ids 600…603; HF ignores that for tokens not in
// the model vocab and numbers them from the vocab size (512) in file order.
func TestAddedTokenFlags(t *testing.T) {
	tk, err := Parse(tokFixtureEdit(t, func(f map[string]any) {
		f["normalizer"] = map[string]any{"type": "NFC"}
		f["added_tokens"] = append(f["added_tokens"].([]any),
			map[string]any{"id": 600, "content": "<L>", "lstrip": true, "special": true, "normalized": false},
			map[string]any{"id": 601, "content": "<R>", "rstrip": true, "special": true, "normalized": false},
			map[string]any{"id": 602, "content": "cat", "single_word": true, "normalized": true},
			map[string]any{"id": 603, "content": "e\u0301t\u00e9"}, // normalized by default: matches NFC text
		)
	}))
	if err != nil {
		t.Fatal(err)
	}
	sp := tk.model.byteID[' ']
	for _, c := range []struct {
		in   string
		want []int32
	}{
		{"  <L>", []int32{512}},
		{"<R>  ", []int32{513}},
		{"<R>  <L>", []int32{513, 512}},
		{"cat", []int32{514}},
		{" cat ", []int32{sp, 514, sp}},
		{"\u00e9t\u00e9", []int32{515}},
	} {
		if got := tk.Encode(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	// single_word: "cat" inside a word is not the added token.
	for _, in := range []string{"cats", "bobcat", "_cat"} {
		if got := tk.Encode(in); slices.Contains(got, 514) {
			t.Errorf("Encode(%q) = %v matched a single_word token inside a word", in, got)
		}
	}
	if tk.VocabSize() != 516 {
		t.Errorf("VocabSize = %d, want 516", tk.VocabSize())
	}
}

func TestTokenizerAddPrefixSpace(t *testing.T) {
	tk, err := Parse(tokFixtureEdit(t, func(f map[string]any) {
		f["pre_tokenizer"].(map[string]any)["add_prefix_space"] = true
	}))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := tokLoadFixture(t)
	if got, want := tk.Encode("Alice<|endoftext|>was"), plain.Encode(" Alice<|endoftext|> was"); !slices.Equal(got, want) {
		t.Errorf("add_prefix_space: got %v, want %v", got, want)
	}
	if got := tk.Encode(""); len(got) != 0 {
		t.Errorf("Encode(\"\") = %v", got)
	}
}

// TestRoundTripCorpus round-trips whole books through the fixture tokenizer
// and one trained on them: the embedded corpus (../corpus/*.txt), plus the
// file named by $TOK_CORPUS when set (e.g. the default training corpus).
func TestRoundTripCorpus(t *testing.T) {
	paths, err := filepath.Glob("../corpus/*.txt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no embedded corpus in ../corpus (%v)", err)
	}
	if p := os.Getenv("TOK_CORPUS"); p != "" {
		paths = append(paths, p)
	}
	tk, _ := tokLoadFixture(t)
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		trained, err := TrainBPE(func(yield func(string) bool) { yield(text) }, 4096, tokSpecials(4))
		if err != nil {
			t.Fatal(err)
		}
		for name, tk := range map[string]*Tokenizer{"fixture": tk, "trained": trained} {
			ids := tk.Encode(text)
			if got := tk.Decode(ids); got != text {
				t.Errorf("%s: round trip of %s fails", name, path)
			}
			t.Logf("%s: %s, %d bytes, %d tokens", name, path, len(text), len(ids))
		}
	}
}

// TestEncodeConcurrent: goroutines share one tokenizer (run with -race),
// for the GPT-2 fixture and every family's (each pre-tokenizer path).
func TestEncodeConcurrent(t *testing.T) {
	tk, cases := tokLoadFixture(t)
	text := tokLongText(cases)
	tks := []*Tokenizer{tk}
	for _, fam := range strings.Fields(tokFamilyNames) {
		f, err := Load(filepath.Join(tokFamilyDir, fam, "tokenizer.json"))
		if err != nil {
			t.Fatal(err)
		}
		tks = append(tks, f)
	}
	for _, tk := range tks {
		want := tk.Encode(text)
		wantText := tk.Decode(want)
		errs := make(chan string, 4)
		for range 4 {
			go func() {
				for range 10 {
					got := tk.Encode(text)
					if !slices.Equal(got, want) || tk.Decode(got) != wantText {
						errs <- "concurrent Encode or Decode differs"
						return
					}
				}
				errs <- ""
			}()
		}
		for range 4 {
			if e := <-errs; e != "" {
				t.Error(e)
			}
		}
	}
}
