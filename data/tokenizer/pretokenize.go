package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// The GPT-2 pre-tokenizer splits text with the pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// Go's regexp has no look-ahead, so pretokNext implements the pattern as a
// hand-written scanner. The matches tile the text: every byte belongs to
// exactly one piece. Invalid UTF-8 bytes count as "other" characters (like
// U+FFFD, which is a symbol).

// Character classes of the pattern.
const (
	tokClassOther  = iota // [^\s\p{L}\p{N}]
	tokClassLetter        // \p{L}
	tokClassNumber        // \p{N}
	tokClassSpace         // \s
)

// tokASCIIClasses is the class of every ASCII byte, indexed by the byte.
const tokASCIIClasses = "" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x03\x03\x03\x03\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x00\x00\x00\x00\x00\x00" +
	"\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00" +
	"\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00"

// tokClassAt returns the class of the character at s[i] and its size in bytes.
func tokClassAt(s string, i int) (class uint8, size int) {
	if b := s[i]; b < utf8.RuneSelf {
		return tokASCIIClasses[b], 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	switch {
	case unicode.IsLetter(r):
		return tokClassLetter, n
	case unicode.IsNumber(r):
		return tokClassNumber, n
	case unicode.IsSpace(r):
		return tokClassSpace, n
	}
	return tokClassOther, n
}

// tokSpan returns the end of the run of class c characters starting at i.
func tokSpan(s string, i int, c uint8) int {
	for i < len(s) {
		ci, n := tokClassAt(s, i)
		if ci != c {
			break
		}
		i += n
	}
	return i
}

// tokContraction returns the length of the contraction suffix ('s 't 're
// 've 'm 'll 'd) that follows an apostrophe at the start of s, or 0.
func tokContraction(s string) int {
	if len(s) == 0 {
		return 0
	}
	switch s[0] {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v':
		if len(s) > 1 && s[1] == 'e' {
			return 2
		}
	case 'l':
		if len(s) > 1 && s[1] == 'l' {
			return 2
		}
	}
	return 0
}

// pretokNext returns the end of the GPT-2 pre-token that starts at s[i]
// (i < len(s)).
func pretokNext(s string, i int) int {
	if s[i] == '\'' {
		if m := tokContraction(s[i+1:]); m > 0 {
			return i + 1 + m
		}
	}
	c, n := tokClassAt(s, i)
	if c != tokClassSpace {
		return tokSpan(s, i+n, c) // \p{L}+, \p{N}+, [^\s\p{L}\p{N}]+
	}
	if s[i] == ' ' && i+1 < len(s) {
		if c2, n2 := tokClassAt(s, i+1); c2 != tokClassSpace {
			return tokSpan(s, i+1+n2, c2) // ' ?' before a non-space run
		}
	}
	// \s+(?!\S): the whitespace run, less its last character when a
	// non-space follows; a single whitespace character falls to \s+.
	last, j := i, i+n
	for j < len(s) {
		cj, nj := tokClassAt(s, j)
		if cj != tokClassSpace {
			break
		}
		last, j = j, j+nj
	}
	if j < len(s) && last > i {
		return last
	}
	return j
}
