package infer

import (
	"io"
	"strings"
	"unicode/utf8"
)

// TextStream decodes tokens incrementally: byte-level BPE tokens may split a
// character, so bytes of an incomplete trailing character are held back
// until the tokens that complete it arrive (at most utf8.UTFMax tokens).
type TextStream struct {
	Tok interface{ Decode([]int32) string }
	ids []int32 // tokens not written yet
}

// Add adds a token and returns the text it completes ("" while a character
// is incomplete).
func (u *TextStream) Add(id int32) string {
	u.ids = append(u.ids, id)
	s := u.Tok.Decode(u.ids)
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
	s := u.Tok.Decode(u.ids)
	u.ids = u.ids[:0]
	return s
}

func (u *TextStream) write(w io.Writer, id int32) error { return writeNonEmpty(w, u.Add(id)) }

func (u *TextStream) flush(w io.Writer) error { return writeNonEmpty(w, u.Flush()) }

func writeNonEmpty(w io.Writer, s string) error {
	if s == "" {
		return nil
	}
	_, err := io.WriteString(w, s)
	return err
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
