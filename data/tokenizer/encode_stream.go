package tokenizer

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// EncodeStream encodes a text read from an io.Reader piece by piece and
// gives exactly Encode's ids of the whole text, holding about one piece of
// text at a time (a file of any size is never held whole). It cuts the
// text only where HF's pipeline cannot join the two sides: at a line break
// ("\n" or "\r\n") that follows a non-space character and precedes an ASCII
// letter or digit, where no added token starts (see cut). That is a pre-token boundary for the
// byte-level pre-tokenizers (GPT-2's regex, and Llama-3's and Qwen2's
// Split), and neither Unicode normalization nor an added token crosses
// it. Other pipelines (no pre-tokenizer, Metaspace, prefix spaces, Replace
// normalizers, added tokens containing "\n") make CanStream false.
type EncodeStream struct {
	t        *Tokenizer
	r        io.Reader
	buf      []byte // text read and not yet encoded
	piece    int    // bytes to read before looking for a cut
	scanned  int    // e.buf[:scanned] holds no cut
	eof      bool
	atStart  bool
	maxAdded int // the longest added token's content
}

// CanStream reports whether EncodeStream can cut this tokenizer's input
// (see EncodeStream); Encode must then see the whole text.
func (t *Tokenizer) CanStream() bool {
	if !t.model.bytePath {
		return false
	}
	switch t.pre.shape {
	case tokPreGPT2:
		if bl := t.pre.steps[0]; !bl.useRegex || bl.addPrefixSpace {
			return false
		}
	case tokPreSplitBL:
	default:
		return false
	}
	for _, n := range t.norm {
		if n.kind != tokNormUnicode {
			return false
		}
	}
	for _, a := range t.added {
		if strings.ContainsAny(a.Content, "\r\n") {
			return false
		}
	}
	return true
}

// ErrCannotStream is NewEncodeStream's error for a tokenizer whose
// pipeline cannot be cut (CanStream false).
var ErrCannotStream = errors.New("this tokenizer's pipeline cannot encode a text piece by piece")

// NewEncodeStream returns a stream encoder of r that reads about piece
// bytes at a time (at least 4 KiB).
func (t *Tokenizer) NewEncodeStream(r io.Reader, piece int) (*EncodeStream, error) {
	if !t.CanStream() {
		return nil, ErrCannotStream
	}
	e := &EncodeStream{t: t, r: r, piece: max(piece, 4096), atStart: true}
	for _, a := range t.added {
		e.maxAdded = max(e.maxAdded, len(a.Content))
	}
	return e, nil
}

// Next appends the ids of the next piece of the text to dst; at the end of
// the text it returns dst and io.EOF. A read error is returned as is.
func (e *EncodeStream) Next(dst []int32) ([]int32, error) {
	for {
		if e.eof {
			if len(e.buf) == 0 {
				return dst, io.EOF
			}
			dst = e.encode(dst, len(e.buf))
			return dst, nil
		}
		if cut := e.cut(); cut > 0 {
			return e.encode(dst, cut), nil
		}
		if err := e.read(); err != nil {
			return dst, err
		}
	}
}

// read appends about one piece of text to e.buf.
func (e *EncodeStream) read() error {
	n0 := len(e.buf)
	e.buf = append(e.buf, make([]byte, e.piece)...)
	n, err := io.ReadFull(e.r, e.buf[n0:])
	e.buf = e.buf[:n0+n]
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		e.eof = true
		return nil
	}
	return err
}

// encode encodes e.buf[:n] and drops it.
func (e *EncodeStream) encode(dst []int32, n int) []int32 {
	dst = e.t.appendEncodeAt(dst, string(e.buf[:n]), e.atStart)
	e.atStart = false
	e.buf = e.buf[:copy(e.buf, e.buf[n:])]
	e.scanned = 0
	return dst
}

// cut returns the last safe cut of e.buf, or 0: p with e.buf[p] an ASCII
// letter or digit, no added token starting there, after a line break that
// follows a non-space character. The line break is "\n", or "\r\n": GPT-2's
// regex makes "\r" and "\n" two pre-tokens there (a cut between them is
// safe, one after both is not), Llama-3's and Qwen2's one (a cut after
// both is safe).
func (e *EncodeStream) cut() int {
	b := e.buf
	defer func() { e.scanned = max(0, len(b)-e.maxAdded-2) }()
	gpt2 := e.t.pre.shape == tokPreGPT2
	for p := len(b) - 1; p >= max(2, e.scanned); p-- {
		at, brk := p, p-1 // the cut, and where the line break starts
		switch {
		case b[p-1] != '\n' || !isASCIIAlnum(b[p]):
			if !gpt2 || b[p-1] != '\r' || b[p] != '\n' || p+1 >= len(b) || !isASCIIAlnum(b[p+1]) {
				continue
			}
		case p >= 3 && b[p-2] == '\r':
			if gpt2 {
				continue
			}
			brk = p - 2
		}
		r, _ := utf8.DecodeLastRune(b[:brk])
		if r == utf8.RuneError || unicode.IsSpace(r) || e.addedAt(b[at:]) {
			continue
		}
		return at
	}
	return 0
}

// addedAt reports whether an added token's content starts s (or could,
// when s is shorter than it).
func (e *EncodeStream) addedAt(s []byte) bool {
	for _, a := range e.t.added {
		c := a.Content
		if c == "" {
			continue
		}
		if len(s) >= len(c) && bytes.HasPrefix(s, []byte(c)) || len(s) < len(c) && strings.HasPrefix(c, string(s)) {
			return true
		}
	}
	return false
}

func isASCIIAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
