package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
)

// tokDecStep is one decoder of tokenizer.json's "decoder" (a Sequence is
// flattened into its steps). Each takes the list of token strings and
// returns a new one, as HF's decode_chain does; the results are joined.
type tokDecStep struct {
	kind int // tokDec*

	pattern *tokRegex // Replace
	content string    // Replace: the replacement; Strip: the character stripped

	start, stop int // Strip: how many content characters to strip at each end

	replacement string // Metaspace
	prepend     int    // Metaspace: the prepend scheme (tokPrepend*)
}

// Decoder kinds.
const (
	tokDecByteLevel    = iota // byte-level characters back to bytes, all tokens joined
	tokDecReplace             // a pattern replaced in every token
	tokDecByteFallback        // runs of <0xNN> tokens to the bytes they stand for
	tokDecFuse                // all tokens joined into one
	tokDecStrip               // characters stripped at the ends of every token
	tokDecMetaspace           // the replacement character back to a space (dropped in the first token)
)

// tokDecoder is the whole decoder.
type tokDecoder struct {
	steps     []tokDecStep
	none      bool // no decoder: tokens are joined by spaces
	byteLevel bool // ByteLevel alone: per-token bytes, decoded from a table
}

// tokParseDecoder reads the decoder: null, ByteLevel, Replace, ByteFallback,
// Fuse, Strip, Metaspace or a Sequence of them.
func tokParseDecoder(m json.RawMessage) (tokDecoder, error) {
	var d tokDecoder
	if tokIsNull(m) {
		d.none = true
		return d, nil
	}
	if err := d.parse(m, "decoder"); err != nil {
		return d, err
	}
	d.byteLevel = len(d.steps) == 1 && d.steps[0].kind == tokDecByteLevel
	return d, nil
}

func (d *tokDecoder) parse(m json.RawMessage, path string) error {
	o, err := tokParseObj(m, path)
	if err != nil {
		return err
	}
	typ, err := o.typ()
	if err != nil {
		return err
	}
	var p tokDecStep
	switch typ {
	case "Sequence":
		list, err := o.list("decoders")
		if err != nil {
			return err
		}
		for i, x := range list {
			if err := d.parse(x, fmt.Sprintf("%s[%d]", o.at("decoders"), i)); err != nil {
				return err
			}
		}
		return nil
	case "ByteLevel":
		p.kind = tokDecByteLevel
	case "ByteFallback":
		p.kind = tokDecByteFallback
	case "Fuse":
		p.kind = tokDecFuse
	case "Replace":
		p.kind = tokDecReplace
		if !o.has("pattern") {
			return fmt.Errorf("%s: missing", o.at("pattern"))
		}
		if p.pattern, err = tokParsePattern(o.m["pattern"], o.at("pattern")); err != nil {
			return err
		}
		if p.content, err = o.str("content"); err != nil {
			return err
		}
	case "Strip":
		p.kind = tokDecStrip
		if p.content, err = o.char("content"); err != nil {
			return err
		}
		if p.start, err = o.uint("start"); err != nil {
			return err
		}
		if p.stop, err = o.uint("stop"); err != nil {
			return err
		}
	case "Metaspace":
		// The pre-tokenizer's parser reads the same fields.
		var c tokPreChain
		if err := c.parse(m, path); err != nil {
			return err
		}
		p.kind = tokDecMetaspace
		p.replacement, p.prepend = c.steps[0].replacement, c.steps[0].prepend
	default:
		return o.unsupported(typ, "null, ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace or a Sequence of them")
	}
	d.steps = append(d.steps, p)
	return nil
}

// decode runs the decoder on the token strings and joins the result.
func (d *tokDecoder) decode(tokens []string, bt *bytesTable) string {
	if d.none {
		return strings.Join(tokens, " ")
	}
	for i := range d.steps {
		tokens = d.steps[i].run(tokens, bt)
	}
	return strings.Join(tokens, "")
}

// run is one decoder's decode_chain.
func (p *tokDecStep) run(tokens []string, bt *bytesTable) []string {
	switch p.kind {
	case tokDecByteLevel:
		var b []byte
		for _, t := range tokens {
			b = bt.appendRaw(b, t)
		}
		return []string{string(b)}
	case tokDecFuse:
		return []string{strings.Join(tokens, "")}
	case tokDecReplace:
		var st bpeState // scratch for a regex pattern; no word cache needed
		for i, t := range tokens {
			tokens[i] = p.pattern.replaceAll(t, p.content, &st)
		}
	case tokDecStrip:
		for i, t := range tokens {
			tokens[i] = tokStripChars(t, p.content, p.start, p.stop)
		}
	case tokDecMetaspace:
		for i, t := range tokens {
			with := " "
			if i == 0 && p.prepend != tokPrependNever {
				with = ""
			}
			tokens[i] = strings.ReplaceAll(t, p.replacement, with)
		}
	case tokDecByteFallback:
		out := tokens[:0]
		var run []byte
		for _, t := range tokens {
			if b, ok := tokFallbackByte(t); ok {
				run = append(run, b)
				continue
			}
			if len(run) > 0 {
				out = append(out, string(run)) // HF: one U+FFFD per byte if invalid; we keep the bytes
				run = run[:0]
			}
			out = append(out, t)
		}
		if len(run) > 0 {
			out = append(out, string(run))
		}
		return out
	}
	return tokens
}

// tokFallbackByte reads a byte-fallback token "<0xNN>" as HF does (two hex
// digits, or a '+' and one, which Rust's from_str_radix accepts).
func tokFallbackByte(t string) (byte, bool) {
	if len(t) != 6 || !strings.HasPrefix(t, "<0x") || t[5] != '>' {
		return 0, false
	}
	hex := func(c byte) int {
		switch {
		case '0' <= c && c <= '9':
			return int(c - '0')
		case 'a' <= c && c <= 'f':
			return int(c-'a') + 10
		case 'A' <= c && c <= 'F':
			return int(c-'A') + 10
		}
		return -1
	}
	hi, lo := hex(t[3]), hex(t[4])
	if t[3] == '+' && lo >= 0 {
		return byte(lo), true
	}
	if hi < 0 || lo < 0 {
		return 0, false
	}
	return byte(hi<<4 | lo), true
}

// tokStripChars removes up to start leading and stop trailing copies of
// the character c from t, as HF's Strip decoder does per token.
func tokStripChars(t, c string, start, stop int) string {
	for k := 0; k < start && strings.HasPrefix(t, c); k++ {
		t = t[len(c):]
	}
	for k := 0; k < stop && strings.HasSuffix(t, c); k++ {
		t = t[:len(t)-len(c)]
	}
	return t
}
