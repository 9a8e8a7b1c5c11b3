package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// DecodeStream decodes ids one at a time as HF tokenizers' DecodeStream
// does: each id is decoded with the ids before it as context, so decoders
// that treat the first token apart (Llama's Strip and Metaspace drop its
// space) and characters split over several ids (byte-level and
// byte-fallback tokens) come out as in the full decode. Not safe for
// concurrent use; one per stream.
type DecodeStream struct {
	t           *Tokenizer
	ids         []int32 // the context: ids already written and ids not yet complete
	prefix      string  // the decode of ids[:prefixIndex]
	prefixIndex int
}

// NewDecodeStream starts decoding a stream of ids.
func (t *Tokenizer) NewDecodeStream() *DecodeStream { return &DecodeStream{t: t} }

// Next adds id to the stream and returns the text it completes: "" while
// the decoded text ends inside a character (or with U+FFFD, as HF waits).
func (d *DecodeStream) Next(id int32) string {
	if d.prefix == "" && len(d.ids) > 0 {
		if p := d.t.Decode(d.ids); !tokIncomplete(p) {
			d.prefix, d.prefixIndex = p, len(d.ids)
		}
	}
	d.ids = append(d.ids, id)
	s := d.t.Decode(d.ids)
	if len(s) <= len(d.prefix) || tokIncomplete(s) {
		return ""
	}
	if !strings.HasPrefix(s, d.prefix) {
		// HF fails the stream here; start again from this id.
		d.ids, d.prefix, d.prefixIndex = append(d.ids[:0], id), "", 0
		return d.t.Decode(d.ids)
	}
	text := s[len(d.prefix):]
	newIndex := len(d.ids) - d.prefixIndex
	d.ids = append(d.ids[:0], d.ids[d.prefixIndex:]...)
	d.prefix, d.prefixIndex = d.t.Decode(d.ids), newIndex
	return text
}

// Flush returns the text of the ids Next is still holding back (the bytes
// of an incomplete character at the end of a turn); they stay as context for
// the ids that follow, so the stream's whole output is the full decode.
func (d *DecodeStream) Flush() string {
	s := d.t.Decode(d.ids)
	if len(s) <= len(d.prefix) || !strings.HasPrefix(s, d.prefix) {
		return ""
	}
	text := s[len(d.prefix):]
	d.prefix, d.prefixIndex = s, len(d.ids)
	return text
}

// tokIncomplete reports whether s ends inside a UTF-8 character or with
// U+FFFD.
func tokIncomplete(s string) bool {
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
