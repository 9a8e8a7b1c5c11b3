package data

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"unicode/utf8"
)

// A text is decoded in two passes, so that a file of any size is read as
// DecodeText would read it without being held whole: textScan reads every
// byte once to decide what the bytes are (binary or text, UTF-8 or a
// single-byte encoding, where a Ctrl-Z end mark starts), then textDecoder
// turns them into normalised UTF-8 block by block. DecodeText runs both on
// a slice, TextFile on a file.

// textScan is the first pass: feed every byte in order, then finish.
type textScan struct {
	n       int64  // bytes fed
	head    []byte // the first 3 bytes (a byte-order mark?)
	ctl     int64  // control bytes (not tab, LF, VT, FF, CR)
	tail    int64  // start of the Ctrl-Z end mark: a 0x1a followed only by 0x1a and whitespace (-1: none)
	tailCtl int64  // control bytes (0x1a) from tail on
	partial []byte // an unfinished UTF-8 sequence ending the bytes fed
	invalid bool   // not valid UTF-8
	undef   int64  // first byte undefined in Windows-1252 (-1: none)
	undefB  byte
	err     error // a NUL byte
}

func newTextScan() *textScan { return &textScan{tail: -1, undef: -1} }

var bom = []byte("\xef\xbb\xbf")

func (s *textScan) feed(b []byte) {
	if s.err != nil {
		return
	}
	if len(s.head) < len(bom) {
		s.head = append(s.head, b[:min(len(b), len(bom)-len(s.head))]...)
	}
	for i, c := range b {
		off := s.n + int64(i)
		switch {
		case c == 0x1a:
			if s.tail < 0 {
				s.tail = off
			}
			s.ctl++
			s.tailCtl++
		case c == '\r' || c == '\n' || c == '\t' || c == ' ':
		default:
			s.tail, s.tailCtl = -1, 0
			if c < 0x20 && c != '\v' && c != '\f' {
				if c == 0 {
					s.err = fmt.Errorf("not text: control byte 0x00 at offset %d (binary?)", off)
					return
				}
				s.ctl++
			}
		}
		if c >= 0x80 && c < 0xa0 && s.undef < 0 && crpCP1252[c-0x80] == 0 {
			s.undef, s.undefB = off, c
		}
	}
	s.n += int64(len(b))
	if !s.invalid {
		s.checkUTF8(b)
	}
}

// checkUTF8 checks the next bytes for valid UTF-8, carrying a sequence
// that a block boundary cuts.
func (s *textScan) checkUTF8(b []byte) {
	if len(s.partial) > 0 {
		q := append(s.partial, b[:min(len(b), utf8.UTFMax-len(s.partial))]...)
		if !utf8.FullRune(q) {
			s.partial = q
			return
		}
		r, size := utf8.DecodeRune(q)
		if r == utf8.RuneError && size == 1 {
			s.invalid = true
			return
		}
		b, s.partial = b[size-len(s.partial):], s.partial[:0]
	}
	cut := len(b)
	for k := 1; k <= utf8.UTFMax && k <= len(b); k++ {
		if utf8.RuneStart(b[len(b)-k]) {
			if !utf8.FullRune(b[len(b)-k:]) {
				cut = len(b) - k
			}
			break
		}
	}
	s.invalid = !utf8.Valid(b[:cut])
	s.partial = append(s.partial[:0], b[cut:]...)
}

// finish ends the scan: it returns the decoder of the bytes, or the reason
// they are not text.
func (s *textScan) finish() (*textDecoder, error) {
	if s.err != nil {
		return nil, s.err
	}
	if len(s.partial) > 0 {
		s.invalid = true
	}
	d := &textDecoder{end: s.n, single: s.invalid}
	if bytes.Equal(s.head, bom) {
		d.skip = int64(len(bom))
	}
	if s.tail >= d.skip {
		d.end = s.tail
		s.ctl -= s.tailCtl
	}
	if s.ctl > (d.end-d.skip)/1000 {
		return nil, fmt.Errorf("not text: %d control bytes in %d bytes (binary?)", s.ctl, d.end-d.skip)
	}
	if d.single && s.undef >= 0 && s.undef < d.end {
		return nil, fmt.Errorf("not UTF-8, Latin-1 or Windows-1252 text: byte 0x%02x at offset %d", s.undefB, s.undef-d.skip)
	}
	return d, nil
}

// textDecoder is the second pass: the bytes from skip (after a byte-order
// mark) up to end become UTF-8, single bytes read as Latin-1 or
// Windows-1252 when the text is not UTF-8, CRLF and a lone CR as LF.
type textDecoder struct {
	skip   int64 // a byte-order mark's bytes
	end    int64 // a Ctrl-Z end mark and what follows are dropped
	single bool  // Latin-1 / Windows-1252
	read   int64 // bytes seen
	cr     bool  // the previous byte was CR
}

// decode appends the text of the next block of bytes to dst.
func (d *textDecoder) decode(dst, b []byte) []byte {
	if rest := d.end - d.read; int64(len(b)) > rest {
		b = b[:max(rest, 0)]
	}
	if d.read < d.skip {
		n := min(int64(len(b)), d.skip-d.read)
		b, d.read = b[n:], d.read+n
	}
	d.read += int64(len(b))
	for _, c := range b {
		if d.cr {
			d.cr = false
			if c == '\n' {
				continue
			}
		}
		switch {
		case c == '\r':
			dst, d.cr = append(dst, '\n'), true
		case d.single && c >= 0x80:
			r := rune(c)
			if c < 0xa0 {
				r = crpCP1252[c-0x80]
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// TextFile is a text file read the way DecodeText reads its bytes, one
// block at a time: OpenTextFile checks the whole file first (a file that
// is not text is refused before anything is decoded), and every Open reads
// it again from the start.
type TextFile struct {
	path string
	dec  textDecoder
}

// textBlock is how much of a text file is read at a time.
const textBlock = 1 << 20

// OpenTextFile scans path and returns the file as text, or why it is not
// text: an *fs.PathError whose Err is in DecodeText's words.
func OpenTextFile(path string) (*TextFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := newTextScan()
	buf := make([]byte, textBlock)
	for {
		n, err := io.ReadFull(f, buf)
		s.feed(buf[:n])
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err // an *fs.PathError
		}
	}
	d, err := s.finish()
	if err != nil {
		return nil, &fs.PathError{Op: "decode", Path: path, Err: err}
	}
	return &TextFile{path: path, dec: *d}, nil
}

// Open returns a reader of the file's decoded text, from the start.
func (t *TextFile) Open() (io.ReadCloser, error) {
	f, err := os.Open(t.path)
	if err != nil {
		return nil, err
	}
	d := t.dec
	return &textReader{f: f, d: &d, buf: make([]byte, textBlock)}, nil
}

type textReader struct {
	f   *os.File
	d   *textDecoder
	buf []byte
	out []byte // decoded, not yet read
	eof bool
}

func (r *textReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.eof {
			return 0, io.EOF
		}
		n, err := r.f.Read(r.buf)
		r.out = r.d.decode(r.out[:0], r.buf[:n])
		if err == io.EOF {
			r.eof = true
		} else if err != nil {
			return 0, err // an *fs.PathError
		}
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

func (r *textReader) Close() error { return r.f.Close() }
