package tokenizer

import (
	"os"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzParseTokenizer: any bytes give a tokenizer or an error, never a
// panic; a tokenizer that loads encodes, decodes and re-marshals.
func FuzzParseTokenizer(f *testing.F) {
	b, err := os.ReadFile(tokFixture)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	sp, err := os.ReadFile("testdata/families/sp_legacy.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sp)
	// The families' structures, on a small vocab.
	for _, parts := range []string{
		`"normalizer": null, "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}, "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}`,
		`"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}, "post_processor": {"type": "Sequence", "processors": [{"type": "ByteLevel"}, {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "a", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "pair": [], "special_tokens": {"a": {"id": "a", "ids": [0], "tokens": ["a"]}}}]}, "decoder": {"type": "ByteLevel"}`,
		`"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Punctuation", "behavior": "Contiguous"}, {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}, {"type": "Digits", "individual_digits": false}, {"type": "Split", "pattern": {"Regex": "[0-9][0-9][0-9]"}, "behavior": "Isolated", "invert": false}]}, "post_processor": {"type": "BertProcessing", "sep": ["b", 1], "cls": ["a", 0]}`,
		`"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Replace", "pattern": {"Regex": "a+"}, "content": "b"}]}, "pre_tokenizer": {"type": "Split", "pattern": {"String": "b"}, "behavior": "MergedWithNext", "invert": true}, "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": "a", "start": 1, "stop": 1}]}`,
	} {
		f.Add([]byte(`{` + parts + `, "added_tokens": [{"id": 3, "content": "<s>", "special": true, "normalized": false}], "model": {"type": "BPE", "unk_token": "a", "byte_fallback": true, "fuse_unk": true, "vocab": {"a": 0, "b": 1, "ab": 2, "<0x61>": 4}, "merges": [["a", "b"]]}}`))
	}
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}, "pre_tokenizer": {"type": "ByteLevel"}}`))
	f.Add([]byte(`{"model": {"type": "WordPiece"}}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tk, err := Parse(b)
		if err != nil {
			return
		}
		const text = "Hello <|endoftext|> wörld 12 's  \n\t²½ ab<s>a"
		ids := tk.Encode(text)
		_ = tk.Decode(ids)
		if special := tk.EncodeSpecial(text); len(special) != len(ids)+len(tk.SpecialPrefix())+len(tk.SpecialSuffix()) {
			t.Fatalf("EncodeSpecial gives %d ids for %d + the post-processor's", len(special), len(ids))
		}
		out, err := tk.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("re-parse of our own output: %v", err)
		}
	})
}

// FuzzEncode: encoding then decoding valid UTF-8 gives it back, and the
// scan and heap merges agree.
func FuzzEncode(f *testing.F) {
	tk, cases := tokLoadFixture(f)
	for _, c := range cases {
		f.Add(c.Text)
	}
	f.Add("<|sink_0|><|sink_0|>  \t\n'll'LL 😀")
	st := newBPEState(false)
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		ids := tk.Encode(s)
		if got := tk.Decode(ids); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		for i := 0; i < len(s); {
			j := pretokNext(s, i)
			if j <= i {
				t.Fatalf("pre-token at %d of %q is empty", i, s)
			}
			syms := make([]int32, 0, j-i)
			for k := i; k < j; k++ {
				syms = append(syms, tk.model.byteID[s[k]])
			}
			scan := slices.Clone(tk.model.mergeScan(slices.Clone(syms), st))
			if heap := tk.model.mergeHeap(syms, st); !slices.Equal(scan, heap) {
				t.Fatalf("word %q: scan %v, heap %v", s[i:j], scan, heap)
			}
			i = j
		}
	})
}

// FuzzEncodeFamilies: under Llama-3's and Qwen2's pre-tokenizers the fast
// loop, the general chain and regexp2 give the same ids, and byte-level
// chains (those and Falcon's) decode back to the text; the SentencePiece
// file encodes and decodes without failing and gives only its ids.
func FuzzEncodeFamilies(f *testing.F) {
	g := tokLoadOnig(f)
	for _, s := range g.Texts[:200] {
		f.Add(s)
	}
	f.Add("x²y 12½3456 'ſx <|endoftext|>\r\n\u3000 ")
	var fast, general, viaRegexp2 []*Tokenizer
	for _, name := range []string{"llama3", "qwen2"} {
		js := tokFixtureEdit(f, func(m map[string]any) {
			m["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": map[string]any{"Regex": g.Patterns[name]}, "behavior": "Isolated", "invert": false},
				map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
			}}
		})
		for _, l := range []*[]*Tokenizer{&fast, &general, &viaRegexp2} {
			tk, err := Parse(js)
			if err != nil {
				f.Fatal(err)
			}
			*l = append(*l, tk)
		}
		general[len(general)-1].pre.shape = tokPreGeneral
		v := viaRegexp2[len(viaRegexp2)-1]
		v.pre.shape = tokPreGeneral
		v.pre.steps[0].pattern.fast = tokFastNone
	}
	falcon, err := Parse(tokFixtureEdit(f, func(m map[string]any) {
		m["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Punctuation", "behavior": "Contiguous"},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
			map[string]any{"type": "Digits", "individual_digits": false},
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": "[0-9][0-9][0-9]"}, "behavior": "Isolated", "invert": false},
		}}
	}))
	if err != nil {
		f.Fatal(err)
	}
	sp := tokFamilyFile(f, "sp_legacy.json", nil)
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		for i := range fast {
			a, b, c := fast[i].Encode(s), general[i].Encode(s), viaRegexp2[i].Encode(s)
			if !slices.Equal(a, b) || !slices.Equal(a, c) {
				t.Fatalf("Encode(%q): fast %v, general %v, regexp2 %v", s, a, b, c)
			}
			if got := fast[i].Decode(a); got != s {
				t.Fatalf("Decode(Encode(%q)) = %q", s, got)
			}
		}
		if got := falcon.Decode(falcon.Encode(s)); got != s {
			t.Fatalf("Falcon: Decode(Encode(%q)) = %q", s, got)
		}
		for _, id := range sp.EncodeSpecial(s) {
			if _, ok := sp.Token(id); !ok {
				t.Fatalf("SentencePiece: Encode(%q) gives id %d without a token", s, id)
			}
		}
		_ = sp.Decode(sp.Encode(s))
	})
}
