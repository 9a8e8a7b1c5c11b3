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
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}, "pre_tokenizer": {"type": "ByteLevel"}}`))
	f.Add([]byte(`{"model": {"type": "WordPiece"}}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tk, err := Parse(b)
		if err != nil {
			return
		}
		ids := tk.Encode("Hello <|endoftext|> wörld 12 's  \n")
		_ = tk.Decode(ids)
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
