package tokenizer

import "unicode"

// The GPT-2 byte-level alphabet: every byte b maps to one printable rune so
// that a BPE vocabulary can be written as text. Printable Latin-1 bytes
// ('!'..'~', '¡'..'¬', '®'..'ÿ') map to themselves; the remaining 68 bytes
// map, in byte order, to U+0100, U+0101, … (so ' ' becomes 'Ġ' and '\n'
// becomes 'Ċ').

// bytesMaxRune bounds the runes of the alphabet: all are below U+0144.
const bytesMaxRune = 0x144

// bytesTable holds the alphabet in both directions.
type bytesTable struct {
	toRune [256]rune           // byte → rune
	toByte [bytesMaxRune]int16 // rune → byte, -1 where the rune is not in the alphabet
	sorted [256]byte           // bytes in increasing order of their rune (HF's trainer id order)
	number [256]bool           // whether the byte's rune is numeric (Digits after ByteLevel)
	punct  [256]bool           // whether the byte's rune is punctuation (Punctuation after ByteLevel)
}

// bytesPrintable reports whether b is one of the bytes that map to themselves.
func bytesPrintable(b int) bool {
	return ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || (0xAE <= b && b <= 0xFF)
}

// newBytesTable builds the alphabet. It is cheap (a few hundred steps) and
// built once per Tokenizer, so the package keeps no mutable globals.
func newBytesTable() *bytesTable {
	t := &bytesTable{}
	for i := range t.toByte {
		t.toByte[i] = -1
	}
	n := 0
	for b := range 256 {
		r := rune(b)
		if !bytesPrintable(b) {
			r = rune(256 + n)
			n++
		}
		t.toRune[b] = r
		t.toByte[r] = int16(b)
		t.number[b], t.punct[b] = unicode.IsNumber(r), tokIsPunct(r)
	}
	k := 0
	for r := range rune(bytesMaxRune) {
		if b := t.toByte[r]; b >= 0 {
			t.sorted[k] = byte(b)
			k++
		}
	}
	return t
}

// runeByte returns the byte that r stands for, or -1.
func (t *bytesTable) runeByte(r rune) int {
	if r < 0 || r >= bytesMaxRune {
		return -1
	}
	return int(t.toByte[r])
}

// appendText appends the byte-level text of raw bytes s to dst.
func (t *bytesTable) appendText(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		r := t.toRune[s[i]]
		if r < 0x80 {
			dst = append(dst, byte(r))
		} else {
			dst = append(dst, byte(0xC0|r>>6), byte(0x80|r&0x3F))
		}
	}
	return dst
}

// text returns the byte-level text of raw bytes s.
func (t *bytesTable) text(s string) string {
	return string(t.appendText(make([]byte, 0, 2*len(s)), s))
}

// appendRaw appends the raw bytes a token's text stands for, as HF's
// ByteLevel decoder does: every rune mapped back to its byte, or, if any
// rune of the token is outside the alphabet, the token's UTF-8 bytes as is.
func (t *bytesTable) appendRaw(dst []byte, tok string) []byte {
	n := len(dst)
	for _, r := range tok {
		b := t.runeByte(r)
		if b < 0 {
			return append(dst[:n], tok...)
		}
		dst = append(dst, byte(b))
	}
	return dst
}
