package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokPreStep is one pre-tokenizer of tokenizer.json's "pre_tokenizer" (a
// Sequence is flattened into its steps).
type tokPreStep struct {
	kind int // tokPre*

	addPrefixSpace bool // ByteLevel: a space before every piece that lacks one
	useRegex       bool // ByteLevel: split with the GPT-2 pattern

	replacement string // Metaspace: the character that stands for a space
	prepend     int    // Metaspace: tokPrependAlways, tokPrependFirst or tokPrependNever
	split       bool   // Metaspace: split before every replacement character

	pattern *tokRegex // Split
	invert  bool      // Split: the pieces between matches are the matches
	behave  int       // Split, Punctuation, Digits: tokBehave*
}

// Pre-tokenizer kinds.
const (
	tokPreByteLevel = iota
	tokPreMetaspace
	tokPreSplit
	tokPrePunctuation
	tokPreDigits
)

// Metaspace prepend schemes.
const (
	tokPrependAlways = iota
	tokPrependFirst  // only to the piece that starts the text
	tokPrependNever
)

// Split behaviours: what becomes of the matches (SplitDelimiterBehavior).
const (
	tokBehaveRemoved            = iota // dropped
	tokBehaveIsolated                  // pieces of their own
	tokBehaveMergedWithPrevious        // appended to the piece before
	tokBehaveMergedWithNext            // prepended to the piece after
	tokBehaveContiguous                // runs of matches (and of non-matches) joined
)

// tokBehaviourNames lists the behaviours in the order of their constants.
const tokBehaviourNames = "Removed Isolated MergedWithPrevious MergedWithNext Contiguous"

// tokPiece is a part of the text on its way through the pre-tokenizers.
type tokPiece struct {
	s     string
	first bool // starts at offset 0 of the encoded text
}

// Shapes of pre-tokenizer chains with a dedicated encoding loop.
const (
	tokPreGeneral = iota
	tokPreNone    // no pre-tokenizer: each segment is one word
	tokPreGPT2    // ByteLevel alone (GPT-2 pattern or none)
	tokPreSplitBL // Split with a hand-written pattern, then ByteLevel without prefix or regex (Llama-3, Qwen2)
)

// tokPreChain is the whole pre-tokenizer.
type tokPreChain struct {
	steps  []tokPreStep
	shape  int  // tokPre{General,None,GPT2,SplitBL}
	mapped bool // a ByteLevel step maps the pieces to byte-level text
}

// tokParsePreTokenizer reads the pre-tokenizer: null, ByteLevel, Metaspace,
// Split, Punctuation, Digits or a Sequence of them.
func tokParsePreTokenizer(m json.RawMessage) (tokPreChain, error) {
	var c tokPreChain
	if err := c.parse(m, "pre_tokenizer"); err != nil {
		return c, err
	}
	for i, p := range c.steps {
		switch {
		case p.kind == tokPreByteLevel && c.mapped:
			return c, fmt.Errorf("pre_tokenizer: more than one ByteLevel is not supported")
		case p.kind == tokPreByteLevel:
			c.mapped = true
		case p.kind == tokPreMetaspace && c.mapped:
			return c, fmt.Errorf("pre_tokenizer: Metaspace after ByteLevel is not supported")
		case p.kind == tokPreMetaspace && p.prepend == tokPrependFirst && i > 0:
			// HF prepends to the piece whose original offset is 0, which a
			// normalizer or an earlier pre-tokenizer may have moved.
			return c, fmt.Errorf("pre_tokenizer: Metaspace with prepend_scheme \"first\" is supported only as the first pre-tokenizer")
		}
	}
	switch s := c.steps; {
	case len(s) == 0:
		c.shape = tokPreNone
	case len(s) == 1 && s[0].kind == tokPreByteLevel:
		c.shape = tokPreGPT2
	case len(s) == 2 && s[0].kind == tokPreSplit && s[0].pattern.fast != tokFastNone && !s[0].invert &&
		s[0].behave == tokBehaveIsolated && s[1].kind == tokPreByteLevel && !s[1].addPrefixSpace && !s[1].useRegex:
		c.shape = tokPreSplitBL
	}
	return c, nil
}

// parse appends the steps of m (found at path) to c.
func (c *tokPreChain) parse(m json.RawMessage, path string) error {
	if tokIsNull(m) {
		return nil
	}
	o, err := tokParseObj(m, path)
	if err != nil {
		return err
	}
	typ, err := o.typ()
	if err != nil {
		return err
	}
	p := tokPreStep{}
	switch typ {
	case "Sequence":
		list, err := o.list("pretokenizers")
		if err != nil {
			return err
		}
		for i, x := range list {
			at := fmt.Sprintf("%s[%d]", o.at("pretokenizers"), i)
			if tokIsNull(x) {
				return fmt.Errorf("%s: null is not a pre-tokenizer", at)
			}
			if err := c.parse(x, at); err != nil {
				return err
			}
		}
		return nil
	case "ByteLevel":
		p.kind = tokPreByteLevel
		if p.addPrefixSpace, err = o.boolOr("add_prefix_space", true); err != nil {
			return err
		}
		if p.useRegex, err = o.boolOr("use_regex", true); err != nil {
			return err
		}
		if _, err = o.boolOr("trim_offsets", true); err != nil {
			return err
		}
	case "Metaspace":
		p.kind = tokPreMetaspace
		if p.replacement, err = o.char("replacement"); err != nil {
			return err
		}
		scheme, err := o.strOr("prepend_scheme", "always")
		if err != nil {
			return err
		}
		switch scheme {
		case "always":
			p.prepend = tokPrependAlways
		case "first":
			p.prepend = tokPrependFirst
		case "never":
			p.prepend = tokPrependNever
		default:
			return fmt.Errorf("%s %q is not supported (want always, first or never)", o.at("prepend_scheme"), scheme)
		}
		aps, err := o.boolOr("add_prefix_space", true)
		if err != nil {
			return err
		}
		if !aps { // the legacy field: false means never, and must agree (the default is always)
			if p.prepend != tokPrependNever {
				return fmt.Errorf("%s false does not match %s %q", o.at("add_prefix_space"), o.at("prepend_scheme"), scheme)
			}
			p.prepend = tokPrependNever
		}
		if p.split, err = o.boolOr("split", true); err != nil {
			return err
		}
	case "Split":
		p.kind = tokPreSplit
		if !o.has("pattern") {
			return fmt.Errorf("%s: missing", o.at("pattern"))
		}
		if p.pattern, err = tokParsePattern(o.m["pattern"], o.at("pattern")); err != nil {
			return err
		}
		if p.behave, err = tokParseBehaviour(o, true); err != nil {
			return err
		}
		if p.invert, err = o.boolReq("invert"); err != nil {
			return err
		}
	case "Punctuation":
		p.kind = tokPrePunctuation
		if p.behave, err = tokParseBehaviour(o, false); err != nil {
			return err
		}
	case "Digits":
		p.kind = tokPreDigits
		individual, err := o.boolOr("individual_digits", false)
		if err != nil {
			return err
		}
		p.behave = tokBehaveContiguous
		if individual {
			p.behave = tokBehaveIsolated
		}
	default:
		return o.unsupported(typ, "null, ByteLevel, Metaspace, Split, Punctuation, Digits or a Sequence of them")
	}
	c.steps = append(c.steps, p)
	return nil
}

// tokParseBehaviour reads "behavior" (Isolated when absent, unless required).
func tokParseBehaviour(o tokObj, required bool) (int, error) {
	if !o.has("behavior") && !required {
		return tokBehaveIsolated, nil
	}
	b, err := o.str("behavior")
	if err != nil {
		return 0, err
	}
	for i, name := range strings.Fields(tokBehaviourNames) {
		if b == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%s %q is not supported (want one of %s)", o.at("behavior"), b, tokBehaviourNames)
}

// tokCharAt returns the character at s[i] and its size: the byte's
// byte-level character if mapped, else the UTF-8 character (an invalid
// byte is U+FFFD of size 1).
func tokCharAt(s string, i int, mapped bool, bt *bytesTable) (rune, int) {
	if mapped {
		return bt.toRune[s[i]], 1
	}
	if s[i] < utf8.RuneSelf {
		return rune(s[i]), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// Character tests of tokCharSpans.
const (
	tokCharNumber = iota // Digits: Rust's char::is_numeric (category N)
	tokCharPunct         // Punctuation: tokIsPunct
	tokCharEqual         // Metaspace: the replacement character
)

// tokCharSpans appends the spans of s where every character that passes
// test (with want for tokCharEqual) is a match of its own (HF's Pattern for
// Fn(char) -> bool).
func tokCharSpans(dst []tokPart, s string, mapped bool, bt *bytesTable, test int, want rune) []tokPart {
	last := 0
	for i := 0; i < len(s); {
		var ok bool
		n := 1
		switch b := s[i]; {
		case mapped && test == tokCharNumber:
			ok = bt.number[b]
		case mapped && test == tokCharPunct:
			ok = bt.punct[b]
		case b < utf8.RuneSelf && test != tokCharEqual:
			ok = tokASCIIClasses[b] == tokClassNumber
			if test == tokCharPunct {
				ok = tokIsPunct(rune(b))
			}
		default:
			var r rune
			r, n = tokCharAt(s, i, mapped, bt)
			switch test {
			case tokCharNumber:
				ok = unicode.IsNumber(r)
			case tokCharPunct:
				ok = tokIsPunct(r)
			default:
				ok = r == want
			}
		}
		if ok {
			if last < i {
				dst = append(dst, tokPart{last, i, false})
			}
			dst = append(dst, tokPart{i, i + n, true})
			last = i + n
		}
		i += n
	}
	if last < len(s) {
		dst = append(dst, tokPart{last, len(s), false})
	}
	return dst
}

// tokIsPunct is HF's Punctuation test: ASCII punctuation (symbols like $
// and + included) or a Unicode punctuation character (category P).
func tokIsPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return '!' <= r && r <= '/' || ':' <= r && r <= '@' || '[' <= r && r <= '`' || '{' <= r && r <= '~'
	}
	return unicode.IsPunct(r)
}

// tokBehave turns the spans of a piece into the spans to keep, as
// NormalizedString::split does for behaviour b.
func tokBehave(spans []tokPart, b int) []tokPart {
	out := spans[:0]
	prevMatch := false
	switch b {
	case tokBehaveRemoved:
		for _, sp := range spans {
			if !sp.match {
				out = append(out, sp)
			}
		}
	case tokBehaveIsolated:
		out = spans
	case tokBehaveContiguous:
		for _, sp := range spans {
			if sp.match == prevMatch && len(out) > 0 {
				out[len(out)-1].end = sp.end
			} else {
				out = append(out, sp)
			}
			prevMatch = sp.match
		}
	case tokBehaveMergedWithPrevious:
		for _, sp := range spans {
			if sp.match && !prevMatch && len(out) > 0 {
				out[len(out)-1].end = sp.end
			} else {
				out = append(out, sp)
			}
			prevMatch = sp.match
		}
	case tokBehaveMergedWithNext:
		// HF folds from the end: a match joins the piece after it. The
		// result is built backwards at the end of spans (w >= i always).
		w := len(spans)
		for i := len(spans) - 1; i >= 0; i-- {
			sp := spans[i]
			if sp.match && !prevMatch && w < len(spans) {
				spans[w].start = sp.start
			} else {
				w--
				spans[w] = sp
			}
			prevMatch = sp.match
		}
		out = spans[w:]
	}
	return out
}

// apply runs step p on piece pc (mapped: the pieces stand for their
// byte-level text) and appends the resulting non-empty pieces to dst.
func (p *tokPreStep) apply(dst []tokPiece, pc tokPiece, mapped bool, bt *bytesTable, st *bpeState) []tokPiece {
	s := pc.s
	var spans []tokPart
	switch p.kind {
	case tokPreByteLevel:
		if p.addPrefixSpace && !strings.HasPrefix(s, " ") {
			s = " " + s
		}
		if !p.useRegex {
			return append(dst, tokPiece{s, pc.first})
		}
		for i := 0; i < len(s); {
			j := pretokNext(s, i)
			dst = append(dst, tokPiece{s[i:j], pc.first && i == 0})
			i = j
		}
		return dst
	case tokPreMetaspace:
		s = strings.ReplaceAll(s, " ", p.replacement)
		if !strings.HasPrefix(s, p.replacement) &&
			(p.prepend == tokPrependAlways || p.prepend == tokPrependFirst && pc.first) {
			s = p.replacement + s
		}
		if !p.split {
			return append(dst, tokPiece{s, pc.first})
		}
		r, _ := utf8.DecodeRuneInString(p.replacement)
		spans = tokCharSpans(st.spans[:0], s, false, bt, tokCharEqual, r)
		spans = tokBehave(spans, tokBehaveMergedWithNext)
	case tokPreSplit:
		spans = p.pattern.spans(st.spans[:0], s, mapped, bt, st)
		if p.invert {
			for i := range spans {
				spans[i].match = !spans[i].match
			}
		}
		spans = tokBehave(spans, p.behave)
	case tokPrePunctuation:
		spans = tokBehave(tokCharSpans(st.spans[:0], s, mapped, bt, tokCharPunct, 0), p.behave)
	case tokPreDigits:
		spans = tokBehave(tokCharSpans(st.spans[:0], s, mapped, bt, tokCharNumber, 0), p.behave)
	}
	for _, sp := range spans {
		if sp.end > sp.start {
			dst = append(dst, tokPiece{s[sp.start:sp.end], pc.first && sp.start == 0})
		}
	}
	st.spans = spans[:0]
	return dst
}
