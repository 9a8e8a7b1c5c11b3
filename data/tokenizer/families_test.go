package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// tokFamilyNames are the tokenizer families whose HF fixtures must exist:
// testdata/fixtures/tokenizers/<family>/ holds a small tokenizer trained by
// HF tokenizers with the family's tokenizer.json layout and encodings.json,
// HF's results for tricky strings.
const tokFamilyNames = "llama2 mistral llama3 qwen2 falcon"

const tokFamilyDir = "../../testdata/fixtures/tokenizers"

// tokFamilyCase is one entry of a family's encodings.json: HF's
// encode(text, add_special_tokens=False).ids, encode(text,
// add_special_tokens=True).ids and decode(ids, skip_special_tokens=False).
type tokFamilyCase struct {
	Text       string  `json:"text"`
	IDs        []int32 `json:"ids"`
	IDsSpecial []int32 `json:"ids_special"`
	Decoded    *string `json:"decoded"`
}

// TestFamilyFixtures checks every entry of every family's HF fixture: the
// ids with and without special tokens, and the decoded text. A family
// listed in tokFamilyNames that has no fixture fails; a family directory that
// is not listed is checked too.
func TestFamilyFixtures(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(tokFamilyDir, "*", "tokenizer.json"))
	families := strings.Fields(tokFamilyNames)
	for _, d := range dirs {
		if f := filepath.Base(filepath.Dir(d)); !slices.Contains(families, f) {
			families = append(families, f)
		}
	}
	for _, fam := range families {
		t.Run(fam, func(t *testing.T) {
			dir := filepath.Join(tokFamilyDir, fam)
			tk, err := Load(filepath.Join(dir, "tokenizer.json"))
			if err != nil {
				t.Fatalf("%v (the fixture generator writes %s)", err, dir)
			}
			b, err := os.ReadFile(filepath.Join(dir, "encodings.json"))
			if err != nil {
				t.Fatal(err)
			}
			var cases []tokFamilyCase
			if err := json.Unmarshal(b, &cases); err != nil {
				t.Fatalf("%s/encodings.json: %v", dir, err)
			}
			if len(cases) == 0 {
				t.Fatalf("%s/encodings.json has no entries", dir)
			}
			for _, c := range cases {
				if c.IDs == nil || c.IDsSpecial == nil || c.Decoded == nil {
					t.Fatalf("%s/encodings.json: entry %.40q lacks ids, ids_special or decoded", dir, c.Text)
				}
				if got := tk.Encode(c.Text); !slices.Equal(got, c.IDs) {
					t.Errorf("Encode(%.60q)\n got %v\nwant %v", c.Text, got, c.IDs)
				}
				if got := tk.EncodeSpecial(c.Text); !slices.Equal(got, c.IDsSpecial) {
					t.Errorf("EncodeSpecial(%.60q)\n got %v\nwant %v", c.Text, got, c.IDsSpecial)
				}
				if got := tk.Decode(c.IDs); got != *c.Decoded {
					t.Errorf("Decode(HF ids of %.60q) = %.60q, want %.60q (HF decode(ids, skip_special_tokens=False))", c.Text, got, *c.Decoded)
				}
			}
			// The fixture round-trips: saved bytes equal the file HF wrote.
			want, _ := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
			got, err := tk.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("MarshalJSON differs from the tokenizer.json HF wrote")
			}
		})
	}
}

// tokFamilyFile parses testdata/families/name changed by edit (may be nil).
func tokFamilyFile(t testing.TB, name string, edit func(f map[string]any)) *Tokenizer {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/families", name))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		var f map[string]any
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		edit(f)
		if b, err = json.Marshal(f); err != nil {
			t.Fatal(err)
		}
	}
	tk, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// tokJSON parses a JSON literal of a test.
func tokJSON(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

// tokEncodeCase is a hand-derived expectation: ids without and with the
// post-processor's tokens, and the decoded text of ids.
type tokEncodeCase struct {
	text    string
	ids     []int32
	special []int32 // nil: BOS (1) + ids
	decoded string
}

func tokCheckCases(t *testing.T, tk *Tokenizer, cases []tokEncodeCase) {
	t.Helper()
	for _, c := range cases {
		if got := tk.Encode(c.text); !slices.Equal(got, c.ids) {
			t.Errorf("Encode(%q) = %v, want %v", c.text, got, c.ids)
		}
		special := c.special
		if special == nil {
			special = append([]int32{1}, c.ids...)
		}
		if got := tk.EncodeSpecial(c.text); !slices.Equal(got, special) {
			t.Errorf("EncodeSpecial(%q) = %v, want %v", c.text, got, special)
		}
		if got := tk.Decode(c.ids); got != c.decoded {
			t.Errorf("Decode(%v) = %q, want %q", c.ids, got, c.decoded)
		}
	}
}

// TestSentencePieceLegacy: the Llama-2 / TinyLlama layout (normalizer
// Prepend "▁" + Replace " " → "▁", no pre-tokenizer, BPE with byte
// fallback, fused unknowns, decoder Replace/ByteFallback/Fuse/Strip, BOS
// template) on testdata/families/sp_legacy.json. Expected ids worked out
// from tokenizers' Rust source (vocab ids in the file):
//   - the whole normalized segment is one word; merges apply by rank;
//   - a character not in the vocab becomes its <0xNN> tokens if all exist,
//     else <unk> (0); consecutive unknowns fuse into one, and a pending
//     <unk> is only placed before the next known character, after any
//     byte-fallback tokens (BPE::merge_word);
//   - Prepend applies to every segment between added tokens;
//   - Strip removes one leading space of the fused text.
func TestSentencePieceLegacy(t *testing.T) {
	tk := tokFamilyFile(t, "sp_legacy.json", nil)
	tokCheckCases(t, tk, []tokEncodeCase{
		{"hello world", []int32{26, 31}, nil, "hello world"},      // ▁hello ▁world
		{"  hello", []int32{32, 26}, nil, "  hello"},              // ▁▁ ▁hello: rank 0 (▁ h) before rank 10 (▁ ▁)
		{"中", []int32{12, 5, 6, 7}, nil, "中"},                     // ▁ <0xE4><0xB8><0xAD>
		{"éé", []int32{12, 0}, nil, "<unk>"},                      // é lacks <0xC3>: one fused <unk>
		{"é中é", []int32{12, 5, 6, 7, 0}, nil, "中<unk>"},           // the pending <unk> goes after the fallback bytes
		{"a</s>b", []int32{12, 20, 2, 12, 0}, nil, "a</s> <unk>"}, // ▁a </s> ▁b(unk); b has no byte token
		{"\thello", []int32{12, 3, 13, 23, 24}, nil, "\thello"},
		{"", []int32{}, []int32{1}, ""},
	})
	if id, ok := tk.BOS(); !ok || id != 1 {
		t.Errorf("BOS() = %d, %v; want 1", id, ok)
	}
	if got := tk.Decode([]int32{1, 26, 31}); got != "<s> hello world" {
		t.Errorf("Decode with BOS = %q", got)
	}
	// fuse_unk false: one <unk> per unknown character.
	nofuse := tokFamilyFile(t, "sp_legacy.json", func(f map[string]any) { f["model"].(map[string]any)["fuse_unk"] = false })
	if got := nofuse.Encode("éé"); !slices.Equal(got, []int32{12, 0, 0}) {
		t.Errorf("no fuse_unk: Encode(éé) = %v, want [12 0 0]", got)
	}
	// Without byte_fallback 中 is unknown too.
	nofb := tokFamilyFile(t, "sp_legacy.json", func(f map[string]any) { f["model"].(map[string]any)["byte_fallback"] = false })
	if got := nofb.Encode("é中é"); !slices.Equal(got, []int32{12, 0}) {
		t.Errorf("no byte_fallback: Encode(é中é) = %v, want [12 0]", got)
	}
}

// TestMetaspace: the newer Llama/Mistral conversions (no normalizer,
// Metaspace pre-tokenizer and decoder). prepend_scheme "first" prepends
// "▁" only to the piece at offset 0 of the text; the decoder drops "▁" in
// the first token; split cuts before every "▁" (MergedWithNext).
func TestMetaspace(t *testing.T) {
	meta := func(scheme string, split bool) func(f map[string]any) {
		return func(f map[string]any) {
			m := map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": scheme, "split": split}
			f["normalizer"] = nil
			f["pre_tokenizer"] = m
			f["decoder"] = m
		}
	}
	first := tokFamilyFile(t, "sp_legacy.json", meta("first", false))
	tokCheckCases(t, first, []tokEncodeCase{
		{"hello world", []int32{26, 31}, nil, "hello world"},
		{"</s>hello", []int32{2, 13, 23, 24}, nil, "</s>hello"}, // not at offset 0: h el lo
		{"hello</s> world", []int32{26, 2, 31}, nil, "hello</s> world"},
		{"  a", []int32{32, 20}, nil, "a"}, // ▁▁a starts with ▁: nothing prepended; the decoder drops the first token's ▁
	})
	always := tokFamilyFile(t, "sp_legacy.json", meta("always", false))
	tokCheckCases(t, always, []tokEncodeCase{
		{"</s>hello", []int32{2, 26}, nil, "</s> hello"}, // the first token is </s>: ▁hello decodes with its space
	})
	never := tokFamilyFile(t, "sp_legacy.json", meta("never", false))
	tokCheckCases(t, never, []tokEncodeCase{
		{"hello world", []int32{13, 23, 24, 31}, nil, "hello world"},
	})
	split := tokFamilyFile(t, "sp_legacy.json", meta("always", true))
	tokCheckCases(t, split, []tokEncodeCase{
		{"  a", []int32{12, 12, 20}, nil, " a"}, // pieces ▁ | ▁a: no ▁▁ across pieces
		{"hello  world", []int32{26, 12, 31}, nil, "hello  world"},
	})
	// The legacy add_prefix_space false needs prepend_scheme never (HF
	// refuses it with the default, always).
	legacy := tokFamilyFile(t, "sp_legacy.json", func(f map[string]any) {
		f["normalizer"] = nil
		f["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "add_prefix_space": false, "prepend_scheme": "never"}
	})
	if got := legacy.Encode("hello"); !slices.Equal(got, []int32{13, 23, 24}) {
		t.Errorf("add_prefix_space false: Encode(hello) = %v", got)
	}
}

// TestSplitBehaviours runs Split on "a-b--c-" (matches of "-" at 1, 3, 4,
// 6) with every behaviour, and a regex with empty matches ("x*" on "axb":
// Oniguruma matches (0,0), (1,2), (3,3)), the pieces worked out from
// NormalizedString::split.
func TestSplitBehaviours(t *testing.T) {
	st := newBPEState(false)
	bt := newBytesTable()
	pieces := func(pattern, behaviour string, invert bool, s string) []string {
		var c tokPreChain
		raw, _ := json.Marshal(map[string]any{"type": "Split", "pattern": tokJSON(t, pattern), "behavior": behaviour, "invert": invert})
		if err := c.parse(raw, "pre_tokenizer"); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range c.steps[0].apply(nil, tokPiece{s, true}, false, bt, st) {
			out = append(out, p.s)
		}
		return out
	}
	const dash = `{"String": "-"}`
	for _, c := range []struct {
		pattern, behaviour string
		invert             bool
		in                 string
		want               []string
	}{
		{dash, "Removed", false, "a-b--c-", []string{"a", "b", "c"}},
		{dash, "Isolated", false, "a-b--c-", []string{"a", "-", "b", "-", "-", "c", "-"}},
		{dash, "MergedWithPrevious", false, "a-b--c-", []string{"a-", "b-", "-", "c-"}},
		{dash, "MergedWithNext", false, "a-b--c-", []string{"a", "-b", "-", "-c", "-"}},
		{dash, "Contiguous", false, "a-b--c-", []string{"a", "-", "b", "--", "c", "-"}},
		{dash, "Removed", true, "a-b--c-", []string{"-", "-", "-", "-"}},
		{dash, "MergedWithPrevious", true, "a-b--c-", []string{"a", "-b", "-", "-c", "-"}},
		{`{"Regex": "x*"}`, "Isolated", false, "axb", []string{"a", "x", "b"}},
		{`{"Regex": "x*"}`, "MergedWithPrevious", false, "axb", []string{"ax", "b"}},
		{`{"Regex": "x*"}`, "Removed", false, "axb", []string{"a", "b"}},
		{`{"Regex": "\\d+"}`, "Isolated", true, "ab12c", []string{"ab", "12", "c"}},
		{`{"String": ""}`, "Isolated", false, "ab", []string{"a", "b"}},
	} {
		if got := pieces(c.pattern, c.behaviour, c.invert, c.in); !slices.Equal(got, c.want) {
			t.Errorf("Split %s %s invert=%v on %q = %q, want %q", c.pattern, c.behaviour, c.invert, c.in, got, c.want)
		}
	}
}

// tokOnigGolden is testdata/onig/splits.json: Oniguruma's matches of each
// pattern on each text, as flat [start, end, ...] byte offsets.
type tokOnigGolden struct {
	Texts    []string             `json:"texts"`
	Patterns map[string]string    `json:"patterns"`
	Matches  map[string][][]int32 `json:"matches"`
}

func tokLoadOnig(t testing.TB) *tokOnigGolden {
	t.Helper()
	b, err := os.ReadFile("testdata/onig/splits.json")
	if err != nil {
		t.Fatal(err)
	}
	var g tokOnigGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Texts) < 3000 || len(g.Patterns) < 5 {
		t.Fatalf("splits.json has %d texts and %d patterns", len(g.Texts), len(g.Patterns))
	}
	return &g
}

// tokMatchOffsets returns the flat offsets of the matches among spans.
func tokMatchOffsets(spans []tokPart) []int32 {
	out := []int32{}
	for _, sp := range spans {
		if sp.match {
			out = append(out, int32(sp.start), int32(sp.end))
		}
	}
	return out
}

// TestSplitsMatchOniguruma checks, for every pattern of the families, the
// regexp2 path and the hand-written matchers (GPT-2's pretokNext,
// Llama-3's and Qwen2's pretokNextLlama3) against the matches of
// Oniguruma, the engine HF tokenizers uses, on 3,000 random strings of
// tricky characters and the lines of the HF fixture texts.
func TestSplitsMatchOniguruma(t *testing.T) {
	g := tokLoadOnig(t)
	st := newBPEState(false)
	for name, pat := range g.Patterns {
		raw, _ := json.Marshal(map[string]string{"Regex": pat})
		x, err := tokParsePattern(raw, "pattern")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wantFast := map[string]int{"llama3": tokFastLlama3, "qwen2": tokFastQwen2, "falcon": tokFastDigit3}[name]
		if x.fast != wantFast {
			t.Errorf("%s: hand-written matcher %d, want %d", name, x.fast, wantFast)
		}
		engines := map[string]func(s string) []int32{
			"regexp2": func(s string) []int32 {
				re := *x
				re.fast = tokFastNone
				return tokMatchOffsets(re.spans(nil, s, false, nil, st))
			},
		}
		switch name {
		case "llama3", "qwen2", "falcon":
			engines["hand-written"] = func(s string) []int32 { return tokMatchOffsets(x.spans(nil, s, false, nil, st)) }
		case "gpt2":
			engines["hand-written"] = func(s string) []int32 {
				out := []int32{}
				for i := 0; i < len(s); {
					j := pretokNext(s, i)
					out = append(out, int32(i), int32(j))
					i = j
				}
				return out
			}
		}
		for engine, run := range engines {
			bad := 0
			for i, s := range g.Texts {
				want := g.Matches[name][i]
				if got := run(s); !slices.Equal(got, want) {
					if bad++; bad <= 3 {
						t.Errorf("%s, %s: %q\n got %v\nwant %v (Oniguruma)", name, engine, s, got, want)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%s, %s: %d of %d texts differ from Oniguruma", name, engine, bad, len(g.Texts))
			}
		}
	}
}

// tokWordTokenizer is the GPT-2 fixture with ByteLevel without regex: it
// encodes a text as one word.
func tokWordTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	word, err := Parse(tokFixtureEdit(t, func(f map[string]any) {
		f["pre_tokenizer"] = map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}
	}))
	if err != nil {
		t.Fatal(err)
	}
	return word
}

// tokBytePieces encodes each piece as one word with the BPE of the GPT-2
// fixture.
func tokBytePieces(word *Tokenizer, pieces []string) []int32 {
	out := []int32{}
	for _, p := range pieces {
		out = word.AppendEncode(out, p)
	}
	return out
}

// TestLlama3Style: the fixture's byte-level BPE under Llama-3's (and
// Qwen2's) pre-tokenizer, Split with the family regex then ByteLevel
// without regex, and Llama-3's post-processor (ByteLevel, then a template
// that puts a BOS first). Each text must encode as Oniguruma's pieces
// encoded one by one; the fast loop, the general chain and regexp2 agree.
func TestLlama3Style(t *testing.T) {
	g := tokLoadOnig(t)
	_, cases := tokLoadFixture(t)
	word := tokWordTokenizer(t)
	for _, name := range []string{"llama3", "qwen2"} {
		js := tokFixtureEdit(t, func(f map[string]any) {
			f["pre_tokenizer"] = tokJSON(t, `{"type": "Sequence", "pretokenizers": [
				{"type": "Split", "pattern": {"Regex": `+tokJSONQuote(g.Patterns[name])+`}, "behavior": "Isolated", "invert": false},
				{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}`)
			f["post_processor"] = tokJSON(t, `{"type": "Sequence", "processors": [
				{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
				{"type": "TemplateProcessing",
				 "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
				 "pair": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
				          {"SpecialToken": {"id": "<|endoftext|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
				 "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [0], "tokens": ["<|endoftext|>"]}}}]}`)
		})
		var tk, general, viaRegexp2 *Tokenizer
		for _, p := range []**Tokenizer{&tk, &general, &viaRegexp2} {
			var err error
			if *p, err = Parse(js); err != nil {
				t.Fatal(err)
			}
		}
		if tk.pre.shape != tokPreSplitBL || !tk.model.bytePath {
			t.Fatalf("%s: shape %d bytePath %v: the fast loop is not used", name, tk.pre.shape, tk.model.bytePath)
		}
		general.pre.shape = tokPreGeneral
		viaRegexp2.pre.shape = tokPreGeneral
		viaRegexp2.pre.steps[0].pattern.fast = tokFastNone
		texts := append(slices.Clone(g.Texts), tokLongText(cases))
		for i, s := range texts {
			got := tk.Encode(s)
			if i < len(g.Texts) && !strings.Contains(s, "<|") { // Oniguruma saw no added tokens
				var pieces []string
				m := g.Matches[name][i]
				for k := 0; k < len(m); k += 2 {
					pieces = append(pieces, s[m[k]:m[k+1]])
				}
				if want := tokBytePieces(word, pieces); !slices.Equal(got, want) {
					t.Fatalf("%s: Encode(%q) = %v, want %v (Oniguruma's pieces)", name, s, got, want)
				}
			}
			if g2, r2 := general.Encode(s), viaRegexp2.Encode(s); !slices.Equal(got, g2) || !slices.Equal(got, r2) {
				t.Fatalf("%s: Encode(%.60q): fast %v, general %v, regexp2 %v", name, s, got, g2, r2)
			}
			if dec := tk.Decode(got); dec != s {
				t.Fatalf("%s: Decode(Encode(%q)) = %q", name, s, dec)
			}
		}
		if id, ok := tk.BOS(); !ok || id != 0 {
			t.Errorf("%s: BOS() = %d, %v; want 0", name, id, ok)
		}
		if got := tk.EncodeSpecial("Alice"); !slices.Equal(got, append([]int32{0}, tk.Encode("Alice")...)) {
			t.Errorf("%s: EncodeSpecial(Alice) = %v", name, got)
		}
	}
}

// tokJSONQuote returns s as a JSON string literal.
func tokJSONQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestFalconStyle: Falcon's pre-tokenizer, Punctuation (Contiguous),
// ByteLevel with the GPT-2 regex, then Digits and Split "[0-9][0-9][0-9]"
// on the byte-level text: a UTF-8 continuation byte whose byte-level
// character is numeric (² is C2 B2 → Â ², ¼ is … BC → ¼) splits off, as in
// HF. Pieces worked out by hand from the Rust source; each piece is then
// encoded by the fixture's BPE.
func TestFalconStyle(t *testing.T) {
	tk, err := Parse(tokFixtureEdit(t, func(f map[string]any) {
		f["pre_tokenizer"] = tokJSON(t, `{"type": "Sequence", "pretokenizers": [
			{"type": "Punctuation", "behavior": "Contiguous"},
			{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
			{"type": "Digits", "individual_digits": false},
			{"type": "Split", "pattern": {"Regex": "[0-9][0-9][0-9]"}, "behavior": "Isolated", "invert": false}]}`)
	}))
	if err != nil {
		t.Fatal(err)
	}
	word := tokWordTokenizer(t)
	for _, c := range []struct {
		in     string
		pieces []string
	}{
		{"hello, world!!", []string{"hello", ",", " world", "!!"}},
		{"abc 123456 def", []string{"abc", " ", "123", "456", " def"}},
		{"x²y", []string{"x", "\xc2", "\xb2", "y"}},
		{"м", []string{"\xd0", "\xbc"}},
		{"12½3456", []string{"12", "\xc2", "\xbd", "345", "6"}},
		{"(555) 123-4567", []string{"(", "555", ")", " ", "123", "-", "456", "7"}},
		{"don't", []string{"don", "'", "t"}},
	} {
		if got, want := tk.Encode(c.in), tokBytePieces(word, c.pieces); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v (pieces %q)", c.in, got, want, c.pieces)
		}
		if got := tk.Decode(tk.Encode(c.in)); got != c.in {
			t.Errorf("Decode(Encode(%q)) = %q", c.in, got)
		}
	}
	// Digits with individual_digits: every digit alone.
	ind, err := Parse(tokFixtureEdit(t, func(f map[string]any) {
		f["pre_tokenizer"] = tokJSON(t, `{"type": "Sequence", "pretokenizers": [
			{"type": "Digits", "individual_digits": true}, {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]}`)
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ind.Encode("a 2024!"), tokBytePieces(word, []string{"a ", "2", "0", "2", "4", "!"}); !slices.Equal(got, want) {
		t.Errorf("individual digits: %v, want %v", got, want)
	}
}

// TestModelOptions: ignore_merges (a word in the vocab is one token even
// where its merges do not build it), continuing_subword_prefix and
// end_of_word_suffix on the character path.
func TestModelOptions(t *testing.T) {
	model := func(extra, vocab, merges string) *Tokenizer {
		tk, err := Parse([]byte(`{"pre_tokenizer": null, "model": {"type": "BPE", ` + extra + `"vocab": ` + vocab + `, "merges": ` + merges + `}}`))
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	const abc = `{"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5}`
	// b c is merged first, and no merge joins a + bc.
	if got := model(``, abc, `[["b", "c"], ["a", "b"]]`).Encode("abc"); !slices.Equal(got, []int32{0, 4}) {
		t.Errorf("merges: Encode(abc) = %v, want [0 4]", got)
	}
	if got := model(`"ignore_merges": true, `, abc, `[["b", "c"], ["a", "b"]]`).Encode("abc"); !slices.Equal(got, []int32{5}) {
		t.Errorf("ignore_merges: Encode(abc) = %v, want [5]", got)
	}
	// "##" before every character but the first; a merge of a and ##b makes "ab".
	pre := model(`"continuing_subword_prefix": "##", `, `{"a": 0, "##b": 1, "ab": 2, "##a": 3}`, `[["a", "##b"]]`)
	for in, want := range map[string][]int32{"ab": {2}, "ba": {3}, "aab": {0, 3, 1}} {
		if got := pre.Encode(in); !slices.Equal(got, want) {
			t.Errorf("prefix: Encode(%q) = %v, want %v", in, got, want)
		}
	}
	suf := model(`"end_of_word_suffix": "</w>", `, `{"a": 0, "b</w>": 1, "ab</w>": 2, "b": 3}`, `[["a", "b</w>"]]`)
	for in, want := range map[string][]int32{"ab": {2}, "bb": {3, 1}} {
		if got := suf.Encode(in); !slices.Equal(got, want) {
			t.Errorf("suffix: Encode(%q) = %v, want %v", in, got, want)
		}
	}
	// No decoder: HF joins the tokens with spaces.
	if got := suf.Decode([]int32{0, 3, 1}); got != "a b b</w>" {
		t.Errorf("no decoder: Decode = %q, want %q", got, "a b b</w>")
	}
}

// TestDecoders checks each decoder against its Rust source on token lists.
func TestDecoders(t *testing.T) {
	bt := newBytesTable()
	run := func(js string, tokens ...string) string {
		d, err := tokParseDecoder(json.RawMessage(js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return d.decode(tokens, bt)
	}
	for _, c := range []struct {
		decoder string
		tokens  []string
		want    string
	}{
		{`{"type": "ByteFallback"}`, []string{"<0x61>", "<0x62>", "c", "<0xE4>", "<0xB8>", "<0xAD>"}, "abc中"},
		{`{"type": "ByteFallback"}`, []string{"<0x+A>", "<0xzz>", "<0x4>"}, "\n<0xzz><0x4>"}, // Rust's from_str_radix takes "+A"
		{`{"type": "ByteFallback"}`, []string{"<0xE4>", "x"}, "\xe4x"},                       // HF: U+FFFD; raw bytes here
		{`{"type": "Strip", "content": " ", "start": 2, "stop": 1}`, []string{"   a  ", " ", "b"}, " a b"},
		{`{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}`, []string{"▁▁a", "▁b▁"}, "a b "},
		{`{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": true}`, []string{"▁a", "▁b"}, " a b"},
		{`{"type": "Replace", "pattern": {"Regex": "a+"}, "content": "-"}`, []string{"baab", "a"}, "b-b-"},
		{`{"type": "Sequence", "decoders": [{"type": "Fuse"}, {"type": "Strip", "content": "x", "start": 0, "stop": 2}]}`, []string{"ax", "xx"}, "ax"},
		{`{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}`, []string{"Ġa", "é"}, " a\xe9"},
	} {
		if got := run(c.decoder, c.tokens...); got != c.want {
			t.Errorf("%s on %q = %q, want %q", c.decoder, c.tokens, got, c.want)
		}
	}
}

// TestPostProcessors: Bert and Roberta put cls before and sep after; a
// template may put tokens on both sides; Sequence composes them.
func TestPostProcessors(t *testing.T) {
	for _, c := range []struct {
		js             string
		prefix, suffix []int32
	}{
		{`null`, nil, nil},
		{`{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true}`, nil, nil},
		{`{"type": "BertProcessing", "sep": ["[SEP]", 102], "cls": ["[CLS]", 101]}`, []int32{101}, []int32{102}},
		{`{"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": true, "add_prefix_space": false}`, []int32{0}, []int32{2}},
		{`{"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
		  "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
		  "special_tokens": {"<s>": {"id": "<s>", "ids": [1, 5], "tokens": ["<s>", "x"]}, "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}}`,
			[]int32{1, 5}, []int32{2}},
	} {
		p, err := tokParsePostProcessor(json.RawMessage(c.js))
		if err != nil {
			t.Errorf("%s: %v", c.js, err)
			continue
		}
		if !slices.Equal(p.prefix, c.prefix) || !slices.Equal(p.suffix, c.suffix) {
			t.Errorf("%s: prefix %v suffix %v, want %v %v", c.js, p.prefix, p.suffix, c.prefix, c.suffix)
		}
	}
}

// TestFamiliesBadInput: what is not supported is refused with one line
// naming tokenizer.json and the field.
func TestFamiliesBadInput(t *testing.T) {
	edit := func(f func(m map[string]any)) string {
		b, err := os.ReadFile("testdata/families/sp_legacy.json")
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ = json.Marshal(m)
		return string(b)
	}
	set := func(key, js string) string { return edit(func(m map[string]any) { m[key] = tokJSON(t, js) }) }
	model := func(key string, v any) string {
		return edit(func(m map[string]any) { m["model"].(map[string]any)[key] = v })
	}
	for _, c := range []struct{ name, json, want string }{
		{"whitespace in a sequence", set("pre_tokenizer", `{"type": "Sequence", "pretokenizers": [{"type": "Metaspace", "replacement": "▁"}, {"type": "Whitespace"}]}`),
			`pre_tokenizer.pretokenizers[1].type "Whitespace" is not supported`},
		{"bert pre-tokenizer", set("pre_tokenizer", `{"type": "BertPreTokenizer"}`), `pre_tokenizer.type "BertPreTokenizer" is not supported`},
		{"lowercase in a sequence", set("normalizer", `{"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Lowercase"}]}`),
			`normalizer.normalizers[1].type "Lowercase" is not supported`},
		{"precompiled", set("normalizer", `{"type": "Precompiled", "precompiled_charsmap": "AA=="}`), `normalizer.type "Precompiled"`},
		{"wordpiece decoder", set("decoder", `{"type": "Sequence", "decoders": [{"type": "Fuse"}, {"type": "WordPiece", "prefix": "##"}]}`),
			`decoder.decoders[1].type "WordPiece" is not supported`},
		{"ctc decoder", set("decoder", `{"type": "CTC"}`), `decoder.type "CTC"`},
		{"unknown post-processor", set("post_processor", `{"type": "Magic"}`), `post_processor.type "Magic" is not supported`},
		{"template without A", set("post_processor", `{"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}], "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}`),
			"post_processor.single: want sequence A exactly once"},
		{"template unknown special", set("post_processor", `{"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "pair": [], "special_tokens": {}}`),
			`post_processor.single[0].SpecialToken.id "<bos>" is not in post_processor.special_tokens`},
		{"two adding processors", set("post_processor", `{"type": "Sequence", "processors": [{"type": "BertProcessing", "sep": ["a", 1], "cls": ["b", 2]}, {"type": "BertProcessing", "sep": ["a", 1], "cls": ["b", 2]}]}`),
			"more than one processor that adds tokens"},
		{"split behaviour", set("pre_tokenizer", `{"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways", "invert": false}`),
			`pre_tokenizer.behavior "Sideways" is not supported`},
		{"split without invert", set("pre_tokenizer", `{"type": "Split", "pattern": {"String": " "}, "behavior": "Removed"}`), "pre_tokenizer.invert: missing"},
		{"split bad regex", set("pre_tokenizer", `{"type": "Split", "pattern": {"Regex": "(ab"}, "behavior": "Removed", "invert": false}`), `pre_tokenizer.pattern.Regex "(ab"`},
		{"split word class", set("pre_tokenizer", `{"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Removed", "invert": false}`), `\w is not supported`},
		{"split m flag", set("pre_tokenizer", `{"type": "Split", "pattern": {"Regex": "(?m:.)"}, "behavior": "Removed", "invert": false}`), "the m flag"},
		{"split posix class", set("pre_tokenizer", `{"type": "Split", "pattern": {"Regex": "[[:alpha:]]"}, "behavior": "Removed", "invert": false}`), "POSIX"},
		{"metaspace scheme", set("pre_tokenizer", `{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "sometimes"}`), `pre_tokenizer.prepend_scheme "sometimes"`},
		{"metaspace replacement", set("pre_tokenizer", `{"type": "Metaspace", "replacement": "ab"}`), "pre_tokenizer.replacement: want a string of one character"},
		{"metaspace legacy default", set("pre_tokenizer", `{"type": "Metaspace", "replacement": "▁", "add_prefix_space": false}`), "does not match"},
		{"metaspace disagreement", set("pre_tokenizer", `{"type": "Metaspace", "replacement": "▁", "add_prefix_space": false, "prepend_scheme": "always"}`), "does not match"},
		{"metaspace first later", set("pre_tokenizer", `{"type": "Sequence", "pretokenizers": [{"type": "Digits"}, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"}]}`),
			`prepend_scheme "first" is supported only as the first pre-tokenizer`},
		{"two byte levels", set("pre_tokenizer", `{"type": "Sequence", "pretokenizers": [{"type": "ByteLevel"}, {"type": "ByteLevel"}]}`), "more than one ByteLevel"},
		{"strip decoder", set("decoder", `{"type": "Strip", "content": " ", "start": -1, "stop": 0}`), "decoder.start: want an integer"},
		{"replace without content", set("normalizer", `{"type": "Replace", "pattern": {"String": " "}}`), "normalizer.content: want a string"},
		{"pattern both", set("normalizer", `{"type": "Replace", "pattern": {"String": " ", "Regex": " "}, "content": ""}`), "normalizer.pattern: want"},
		{"no type", set("decoder", `{"content": " "}`), "decoder.type: missing"},
		{"not an object", set("normalizer", `[1]`), "normalizer: want a JSON object"},
		{"unk not in vocab", model("unk_token", "<oov>"), `model.unk_token "<oov>" is not in model.vocab`},
		{"dropout", model("dropout", 0.5), "model.dropout 0.5 is not supported"},
		{"version", edit(func(m map[string]any) { m["version"] = "2.0" }), `version "2.0" is not supported`},
	} {
		_, err := Parse([]byte(c.json))
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, "tokenizer.json") || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q, want one line naming tokenizer.json and containing %q", c.name, msg, c.want)
		}
	}
}

// TestFamiliesRoundTrip: a file in HF's layout saves byte for byte as it
// was; every variant the tests build saves, reloads and encodes the same.
func TestFamiliesRoundTrip(t *testing.T) {
	b, err := os.ReadFile("testdata/families/sp_legacy.json")
	if err != nil {
		t.Fatal(err)
	}
	tk, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tk.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(b) {
		t.Error("sp_legacy.json: MarshalJSON differs from the file")
	}
	fixture, err := os.ReadFile(tokFixture)
	if err != nil {
		t.Fatal(err)
	}
	gpt2, _ := tokLoadFixture(t)
	if out, _ := gpt2.MarshalJSON(); string(out) != string(fixture) {
		t.Error("the HF fixture's MarshalJSON differs from the file HF wrote")
	}
	text := "hello world  中 éé a</s>b\t x²y 12½3456 don't"
	for _, pre := range []string{
		`{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}`,
		`{"type": "Sequence", "pretokenizers": [{"type": "Punctuation"}, {"type": "Digits", "individual_digits": true}, {"type": "Split", "pattern": {"String": "l"}, "behavior": "MergedWithNext", "invert": true}]}`,
	} {
		v := tokFamilyFile(t, "sp_legacy.json", func(f map[string]any) { f["pre_tokenizer"] = tokJSON(t, pre) })
		saved, err := v.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(saved)
		if err != nil {
			t.Fatalf("%s: reload: %v", pre, err)
		}
		again, _ := back.MarshalJSON()
		if string(again) != string(saved) || !slices.Equal(back.Encode(text), v.Encode(text)) {
			t.Errorf("%s: the saved file does not reload to the same tokenizer", pre)
		}
	}
}

// TestDecodeStream: streaming one id at a time gives the full decode's
// text in pieces, keeps the spaces a first-token rule would drop, and
// holds back a character split over ids.
func TestDecodeStream(t *testing.T) {
	sp := tokFamilyFile(t, "sp_legacy.json", nil)
	gpt2, _ := tokLoadFixture(t)
	for _, c := range []struct {
		tk   *Tokenizer
		ids  []int32
		want []string
	}{
		{sp, []int32{26, 31, 31}, []string{"hello", " world", " world"}},
		{sp, []int32{12, 5, 6, 7, 26}, []string{"", "", "", "中", " hello"}},
		{sp, []int32{1, 26}, []string{"<s>", " hello"}},
		{gpt2, gpt2.Encode("café 😀!"), nil},
	} {
		d := c.tk.NewDecodeStream()
		var got []string
		for _, id := range c.ids {
			got = append(got, d.Next(id))
		}
		if c.want != nil && !slices.Equal(got, c.want) {
			t.Errorf("stream of %v = %q, want %q", c.ids, got, c.want)
		}
		if all := strings.Join(got, ""); all != c.tk.Decode(c.ids) {
			t.Errorf("stream of %v joins to %q, want %q", c.ids, all, c.tk.Decode(c.ids))
		}
		for _, s := range got {
			if !utf8.ValidString(s) {
				t.Errorf("stream of %v wrote a broken character: %q", c.ids, got)
			}
		}
	}
}

// TestDecodeStreamFlush: the bytes of an incomplete character come out of
// Flush, and what follows continues the same text.
func TestDecodeStreamFlush(t *testing.T) {
	tk, err := Load("../../testdata/fixtures/tokenizer/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	c3, ok1 := tk.TokenID("Ã") // byte 0xC3 in the byte-level alphabet
	a9, ok2 := tk.TokenID("©") // byte 0xA9: together "é"
	if !ok1 || !ok2 {
		t.Fatal("the fixture tokenizer lacks the byte tokens of é")
	}
	d := tk.NewDecodeStream()
	if s := d.Next(c3); s != "" {
		t.Fatalf("Next of half a character = %q, want nothing yet", s)
	}
	if s := d.Flush(); s != "\xc3" {
		t.Fatalf("Flush = %q, want the held byte", s)
	}
	if s := d.Flush(); s != "" {
		t.Fatalf("second Flush = %q, want nothing", s)
	}
	if s := d.Next(a9); s != "\xa9" {
		t.Fatalf("Next after Flush = %q, want the second byte (together the full decode é)", s)
	}
}
