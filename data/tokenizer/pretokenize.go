package tokenizer

import (
	"strings"
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

// The Llama-3 pre-tokenizer splits text with the pattern
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// and Qwen2's with the same but \p{N} for \p{N}{1,3}. pretokNextLlama3
// implements both as a scanner: the alternatives in order, each as
// Oniguruma's backtracking resolves it. Its matches tile the text, and the
// tests check it against Oniguruma's own matches (testdata/onig).

// tokIsNewline reports whether b is '\r' or '\n'.
func tokIsNewline(b byte) bool { return b == '\r' || b == '\n' }

// tokContractionFold is tokContraction without case, as (?i:...) is in
// Oniguruma, which also folds the long s (U+017F) to s.
func tokContractionFold(s string) int {
	if len(s) == 0 {
		return 0
	}
	if strings.HasPrefix(s, "ſ") {
		return len("ſ")
	}
	lower := func(i int) byte {
		if i < len(s) && 'A' <= s[i] && s[i] <= 'Z' {
			return s[i] + 'a' - 'A'
		}
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	switch lower(0) {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v':
		if lower(1) == 'e' {
			return 2
		}
	case 'l':
		if lower(1) == 'l' {
			return 2
		}
	}
	return 0
}

// pretokNextLlama3 returns the end of the pre-token that starts at s[i]
// (i < len(s)): Llama-3's pattern with maxNum 3, Qwen2's with maxNum 1.
func pretokNextLlama3(s string, i, maxNum int) int {
	if s[i] == '\'' {
		if m := tokContractionFold(s[i+1:]); m > 0 {
			return i + 1 + m // (?i:'s|'t|'re|'ve|'m|'ll|'d)
		}
	}
	c, n := tokClassAt(s, i)
	switch c {
	case tokClassLetter:
		return tokSpan(s, i+n, tokClassLetter) // \p{L}+ (the optional prefix cannot be a letter)
	case tokClassNumber:
		j := i + n // \p{N}{1,maxNum}
		for k := 1; k < maxNum && j < len(s); k++ {
			cj, nj := tokClassAt(s, j)
			if cj != tokClassNumber {
				break
			}
			j += nj
		}
		return j
	}
	// [^\r\n\p{L}\p{N}]\p{L}+: one other or whitespace character, not a
	// newline, before a run of letters.
	if !tokIsNewline(s[i]) && i+n < len(s) {
		if c2, n2 := tokClassAt(s, i+n); c2 == tokClassLetter {
			return tokSpan(s, i+n+n2, tokClassLetter)
		}
	}
	// ' ?[^\s\p{L}\p{N}]+[\r\n]*': a run of other characters, after an
	// optional space, then any newlines.
	j := -1
	if c == tokClassOther {
		j = tokSpan(s, i+n, tokClassOther)
	} else if s[i] == ' ' && i+1 < len(s) {
		if c2, n2 := tokClassAt(s, i+1); c2 == tokClassOther {
			j = tokSpan(s, i+1+n2, tokClassOther)
		}
	}
	if j >= 0 {
		for j < len(s) && tokIsNewline(s[j]) {
			j++
		}
		return j
	}
	// c is whitespace. \s*[\r\n]+ ends after the last newline of the
	// whitespace run; \s+(?!\S) is the run less its last character when a
	// non-space follows; \s+ is the run.
	end, last, lastNL := i, i, -1
	for end < len(s) {
		ce, ne := tokClassAt(s, end)
		if ce != tokClassSpace {
			break
		}
		if tokIsNewline(s[end]) {
			lastNL = end
		}
		last, end = end, end+ne
	}
	if lastNL >= 0 {
		return lastNL + 1
	}
	if end < len(s) && last > i {
		return last
	}
	return end
}
