package infer

import (
	"strings"
	"unicode/utf8"
)

// Decoder turns token ids into text (*tokenizer.Tokenizer is one).
type Decoder interface {
	Decode(ids []int32) string
}

// TextStream decodes generated tokens incrementally: byte-level BPE tokens
// may split a character, so the bytes of an incomplete trailing character
// are held back until the tokens that complete it arrive (at most
// utf8.UTFMax tokens).
type TextStream struct {
	dec Decoder
	ids []int32 // tokens not returned as text yet
}

// NewTextStream returns a TextStream decoding with dec.
func NewTextStream(dec Decoder) *TextStream { return &TextStream{dec: dec} }

// Add appends a token and returns the text it completes ("" while a
// character is incomplete).
func (u *TextStream) Add(id int32) string {
	u.ids = append(u.ids, id)
	s := u.dec.Decode(u.ids)
	if incomplete(s) && len(u.ids) < utf8.UTFMax {
		return ""
	}
	u.ids = u.ids[:0]
	return s
}

// Flush returns any held-back text.
func (u *TextStream) Flush() string {
	if len(u.ids) == 0 {
		return ""
	}
	s := u.dec.Decode(u.ids)
	u.ids = u.ids[:0]
	return s
}

// incomplete reports whether s ends inside a UTF-8 character (raw bytes) or
// with the replacement character a decoder puts for one.
func incomplete(s string) bool {
	if strings.HasSuffix(s, "\uFFFD") {
		return true
	}
	for i := 1; i <= min(utf8.UTFMax-1, len(s)); i++ {
		if b := s[len(s)-i]; utf8.RuneStart(b) {
			return b >= utf8.RuneSelf && !utf8.FullRuneInString(s[len(s)-i:])
		}
	}
	return false
}
