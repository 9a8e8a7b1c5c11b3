package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

// Hugging Face tokenizers compiles the patterns of Split, Replace and its
// own pre-tokenizers with Oniguruma (Ruby syntax, UTF-8). tokRegex runs
// them with regexp2, whose .NET syntax agrees with Ruby's on what these
// files use (look-ahead, \p{..} classes, \s, (?i:..), ^ and $ at line
// boundaries with regexp2.Multiline); constructs on which the two disagree
// are refused (tokCheckRegex). testdata/onig holds Oniguruma's own matches
// for the families' patterns, which the tests compare against.

// tokPart is a part of a text: [start, end) in bytes, and whether it is a
// match of the pattern that cut it.
type tokPart struct {
	start, end int
	match      bool
}

// tokRegex is a Split or Replace pattern: a literal string or a regex.
type tokRegex struct {
	literal string          // the String pattern; "" with re set for a regex (or an empty String)
	re      *regexp2.Regexp // nil for a non-empty literal
	fast    int             // tokFastNone, or the hand-written matcher equal to re
}

// The hand-written matchers that replace regexp2 for known patterns.
const (
	tokFastNone   = iota
	tokFastLlama3 // Llama-3's pattern: numbers in runs of at most 3
	tokFastQwen2  // Qwen2's pattern: numbers one by one
	tokFastDigit3 // Falcon's [0-9][0-9][0-9]
)

// tokLlama3Pattern and tokQwen2Pattern are the Split regexes of Llama-3 and
// Qwen2 tokenizer.json files, matched by pretokNextLlama3.
const (
	tokLlama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	tokQwen2Pattern  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// tokParsePattern reads a pattern object, {"String": s} or {"Regex": r}.
func tokParsePattern(raw json.RawMessage, path string) (*tokRegex, error) {
	o, err := tokParseObj(raw, path)
	if err != nil {
		return nil, err
	}
	switch {
	case o.has("String") && !o.has("Regex"):
		s, err := o.str("String")
		if err != nil {
			return nil, err
		}
		if s != "" {
			return &tokRegex{literal: s}, nil
		}
		return &tokRegex{re: regexp2.MustCompile("", regexp2.Multiline)}, nil
	case o.has("Regex") && !o.has("String"):
		s, err := o.str("Regex")
		if err != nil {
			return nil, err
		}
		if err := tokCheckRegex(s); err != nil {
			return nil, fmt.Errorf("%s %q: %v", o.at("Regex"), s, err)
		}
		re, err := regexp2.Compile(s, regexp2.Multiline)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %v", o.at("Regex"), s, err)
		}
		x := &tokRegex{re: re}
		switch s {
		case tokLlama3Pattern:
			x.fast = tokFastLlama3
		case tokQwen2Pattern:
			x.fast = tokFastQwen2
		case "[0-9][0-9][0-9]":
			x.fast = tokFastDigit3
		}
		return x, nil
	}
	return nil, fmt.Errorf("%s: want {\"String\": ...} or {\"Regex\": ...}", path)
}

// tokCheckRegex refuses the regex constructs whose meaning differs between
// Oniguruma's Ruby syntax and regexp2: word classes and boundaries (\w, \b:
// Oniguruma's take every number), the Ruby-only escapes \h \R \X \K \G,
// POSIX bracket classes, and the m flag (dot-all in Ruby, multi-line in
// .NET).
func tokCheckRegex(s string) error {
	inClass := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			if strings.IndexByte("wWbBhHRXKG", s[i]) >= 0 {
				return fmt.Errorf(`\%c is not supported (its meaning differs between Oniguruma and Go's regexp2)`, s[i])
			}
		case c == '[' && inClass && i+1 < len(s) && s[i+1] == ':':
			return fmt.Errorf("POSIX bracket classes ([:name:]) are not supported")
		case c == '[':
			inClass = true
		case c == ']':
			inClass = false
		case c == '(' && !inClass && strings.HasPrefix(s[i:], "(?"):
			j := i + 2
			for j < len(s) && strings.IndexByte("imx-", s[j]) >= 0 {
				if s[j] == 'm' {
					return fmt.Errorf("the m flag is not supported (dot-all in Ruby syntax, multi-line in .NET)")
				}
				j++
			}
		}
	}
	return nil
}

// spans appends to dst the parts of s that the pattern cuts (every byte in
// exactly one span, in order), with the matches as Hugging Face's
// find_matches gives them: the leftmost matches found one after the other,
// an empty match right after the previous match skipped by one character
// (the onig crate's find_iter). With mapped, s stands for its byte-level
// text (each byte one character, bytesTable.toRune).
func (x *tokRegex) spans(dst []tokPart, s string, mapped bool, bt *bytesTable, st *bpeState) []tokPart {
	if s == "" {
		return dst
	}
	prev := 0
	add := func(start, end int) {
		if prev != start {
			dst = append(dst, tokPart{prev, start, false})
		}
		dst = append(dst, tokPart{start, end, true})
		prev = end
	}
	switch {
	case x.re == nil:
		lit := x.literal
		if mapped {
			if lit = tokUnmap(bt, lit); lit == "" {
				break // a character outside the byte alphabet never matches
			}
		}
		for i := 0; ; {
			k := strings.Index(s[i:], lit)
			if k < 0 {
				break
			}
			add(i+k, i+k+len(lit))
			i += k + len(lit)
		}
	case x.fast == tokFastDigit3:
		// ASCII digits are their own byte-level characters and no other
		// byte maps to one, so raw bytes serve for the mapped text too.
		for i := 0; i+3 <= len(s); {
			if tokIsDigit(s[i]) && tokIsDigit(s[i+1]) && tokIsDigit(s[i+2]) {
				add(i, i+3)
				i += 3
			} else {
				i++
			}
		}
	case x.fast != tokFastNone && !mapped:
		maxNum := 3
		if x.fast == tokFastQwen2 {
			maxNum = 1
		}
		for i := 0; i < len(s); {
			j := pretokNextLlama3(s, i, maxNum)
			add(i, j)
			i = j
		}
	default:
		runes, offs := st.runes[:0], st.offs[:0]
		for i := 0; i < len(s); {
			r, n := rune(0), 1
			if mapped {
				r = bt.toRune[s[i]]
			} else {
				r, n = utf8.DecodeRuneInString(s[i:])
			}
			runes, offs = append(runes, r), append(offs, i)
			i += n
		}
		offs = append(offs, len(s))
		st.runes, st.offs = runes, offs
		lastEnd, lastMatchEnd := 0, -1
		for lastEnd <= len(runes) {
			m, err := x.re.FindRunesMatchStartingAt(runes, lastEnd)
			if err != nil || m == nil {
				break
			}
			start, end := m.RuneIndex, m.RuneIndex+m.RuneLength
			if start == end && lastMatchEnd == end {
				lastEnd++
				continue
			}
			lastEnd, lastMatchEnd = end, end
			add(offs[start], offs[end])
		}
	}
	if prev != len(s) {
		dst = append(dst, tokPart{prev, len(s), false})
	}
	return dst
}

// tokIsDigit reports whether b is an ASCII digit.
func tokIsDigit(b byte) bool { return '0' <= b && b <= '9' }

// tokUnmap returns the raw bytes that byte-level text s stands for, or ""
// if a character of s is not in the byte alphabet.
func tokUnmap(bt *bytesTable, s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		c := bt.runeByte(r)
		if c < 0 {
			return ""
		}
		b = append(b, byte(c))
	}
	return string(b)
}

// replaceAll returns s with every match replaced by content, as
// NormalizedString::replace and the Replace decoder do.
func (x *tokRegex) replaceAll(s, content string, st *bpeState) string {
	if x.re == nil {
		return strings.ReplaceAll(s, x.literal, content)
	}
	spans := x.spans(nil, s, false, nil, st)
	var b strings.Builder
	for _, sp := range spans {
		if sp.match {
			b.WriteString(content)
		} else {
			b.WriteString(s[sp.start:sp.end])
		}
	}
	return b.String()
}
