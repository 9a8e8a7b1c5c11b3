package study

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sinktrain/sinktrain/data"
	"github.com/sinktrain/sinktrain/data/tokenizer"
	"github.com/sinktrain/sinktrain/infer"
	"github.com/sinktrain/sinktrain/internal/input"
)

// Source is the token stream of an evaluation: exactly one of a text file,
// an ids file or a dataset, as DESIGN.md §6 describes for eval stream,
// compare and inspect.
type Source struct {
	// Text is a text file, tokenized with the model folder's
	// tokenizer.json; the model's sinks and then the tokenizer's BOS are
	// prepended (infer.StreamAffixes).
	Text string
	// IDs is a file of whitespace-separated token ids, fed verbatim.
	IDs string
	// Data is a prepared dataset directory or .arrow file: its val split,
	// or train when there is none; the model's sinks and the tokenizer's
	// BOS are prepended.
	Data string
	// MaxTokens keeps the first N tokens of the source (text and data
	// tokens before the sinks are prepended, ids as given); 0 keeps all,
	// and 1 is refused (one token has no next token to score).
	MaxTokens int
	// AllowDifferentTokenizers lets Data be streamed although its manifest
	// names another tokenizer than the model folder's tokenizer.json (its
	// ids would mean other tokens: the perplexity would be meaningless).
	AllowDifferentTokenizers bool
}

// Name returns the source's file or directory.
func (s Source) Name() string { return s.Text + s.IDs + s.Data }

// check verifies that exactly one source is set and MaxTokens ≥ 0.
func (s Source) check() error {
	n := 0
	for _, p := range []string{s.Text, s.IDs, s.Data} {
		if p != "" {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("expected exactly one token source (a text file, an ids file or a dataset), got %d", n)
	}
	if s.MaxTokens < 0 || s.MaxTokens == 1 {
		return input.Usagef("MaxTokens", "max tokens", strconv.Itoa(s.MaxTokens), "expected 0 (all) or at least 2 (a token and the next one it predicts)")
	}
	return nil
}

// limit returns n capped at MaxTokens.
func (s Source) limit(n int) int {
	if s.MaxTokens > 0 {
		return min(n, s.MaxTokens)
	}
	return n
}

// Open builds the fed stream of model m, loaded from folder dir, and a
// function that releases it.
func (s Source) Open(dir string, m *infer.Model) (infer.Stream, func(), error) {
	nop := func() {}
	if err := s.check(); err != nil {
		return nil, nop, err
	}
	switch {
	case s.IDs != "":
		bad := func(err error) (infer.Stream, func(), error) {
			return nil, nop, input.New("IDs", "ids file", s.IDs, err)
		}
		f, err := os.Open(s.IDs)
		if err != nil {
			return nil, nop, input.File("IDs", "ids file", s.IDs, err)
		}
		defer f.Close()
		ids, err := ReadIDs(f, m.Config.VocabSize)
		if err != nil {
			return bad(err)
		}
		ids = ids[:s.limit(len(ids))]
		if len(ids) < 2 {
			return bad(fmt.Errorf("%d token(s), expected at least 2", len(ids)))
		}
		return infer.Tokens(ids), nop, nil
	case s.Text != "":
		return s.openText(dir, m)
	}
	bad := func(err error) (infer.Stream, func(), error) {
		return nil, nop, input.New("Data", "dataset", s.Data, err)
	}
	d, err := data.OpenDataset(s.Data)
	if err != nil {
		return nil, nop, input.File("Data", "dataset", s.Data, err)
	}
	split := data.SplitVal
	if !d.HasSplit(split) {
		split = data.SplitTrain
	}
	toks, err := d.Split(split)
	if err != nil {
		d.Close()
		return nil, nop, err
	}
	n := s.limit(toks.Len())
	if n < 2 {
		d.Close()
		return bad(fmt.Errorf("split %s has %d token(s), expected at least 2", split, n))
	}
	if err := checkIDs(toks, n, m.Config.VocabSize); err != nil {
		d.Close()
		return bad(fmt.Errorf("split %s: %w", split, err))
	}
	var tok *tokenizer.Tokenizer // for the BOS and the check below: a model folder may have none
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err == nil {
		if tok, err = infer.LoadTokenizer(dir, m); err != nil {
			d.Close()
			return nil, nop, err
		}
	}
	if !s.AllowDifferentTokenizers {
		if err := sameTokenizer(d, tok, filepath.Join(dir, "tokenizer.json"), m.Config.VocabSize); err != nil {
			d.Close()
			return nil, nop, input.New("Data", "dataset", s.Data, err).(*input.Error).Overridable("AllowDifferentTokenizers", "allow different tokenizers")
		}
	}
	start, _ := infer.StreamAffixes(tok, m)
	return affixed{prefix: start, s: windowStream{toks}, n: n}, func() { d.Close() }, nil
}

// openText opens a text source: the model's tokenizer encodes the file as
// it is read (tokenizer.EncodeStream), once here to count its tokens and
// once per pass, so the text is never held whole; a tokenizer whose
// pipeline cannot be cut (tokenizer.CanStream) encodes the whole file once
// and the stream holds its ids.
func (s Source) openText(dir string, m *infer.Model) (infer.Stream, func(), error) {
	nop := func() {}
	tok, err := infer.LoadTokenizer(dir, m)
	if err != nil {
		return nil, nop, err
	}
	start, end := infer.StreamAffixes(tok, m)
	few := func(n int) error {
		return input.Errorf("Text", "text file", s.Text, "%d token(s) after tokenization, expected at least 2", n)
	}
	tf, err := data.OpenTextFile(s.Text) // refuses binary data, as prepare does
	if err != nil {
		return nil, nop, input.File("Text", "text file", s.Text, err)
	}
	if !tok.CanStream() {
		b, err := os.ReadFile(s.Text)
		if err != nil {
			return nil, nop, input.File("Text", "text file", s.Text, err)
		}
		text, err := data.DecodeText(b)
		if err != nil {
			return nil, nop, input.New("Text", "text file", s.Text, err)
		}
		ids := tok.Encode(text)
		ids = ids[:s.limit(len(ids))]
		if len(ids) < 2 {
			return nil, nop, few(len(ids))
		}
		return affixed{prefix: start, s: infer.Tokens(ids), n: len(ids), suffix: end}, nop, nil
	}
	ts := textStream{path: s.Text, text: tf, tok: tok}
	r, err := ts.Open()
	if err != nil {
		return nil, nop, err
	}
	defer r.Close()
	n := 0
	buf := make([]int32, 1<<16)
	for s.MaxTokens == 0 || n < s.MaxTokens {
		k, err := r.Read(buf)
		n += k
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nop, err
		}
	}
	n = s.limit(n)
	if n < 2 {
		return nil, nop, few(n)
	}
	return affixed{prefix: start, s: ts, n: n, suffix: end}, nop, nil
}

// textStream is a text file encoded as it is read (the length is not
// known: affixed bounds it).
type textStream struct {
	path string
	text *data.TextFile
	tok  *tokenizer.Tokenizer
}

func (t textStream) Len() int { return 0 }

// Open opens the file and encodes it piece by piece.
func (t textStream) Open() (infer.TokenReader, error) {
	f, err := t.text.Open()
	if err != nil {
		return nil, input.File("Text", "text file", t.path, err)
	}
	es, err := t.tok.NewEncodeStream(f, 1<<20)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &textReader{f: f, es: es, path: t.path}, nil
}

// textReader reads a textStream: ids of one encoded piece at a time.
type textReader struct {
	f    io.ReadCloser
	es   *tokenizer.EncodeStream
	path string
	ids  []int32 // encoded, not yet read
	eof  bool
}

func (r *textReader) Read(dst []int32) (int, error) {
	for len(r.ids) == 0 {
		if r.eof {
			return 0, io.EOF
		}
		var err error
		r.ids, err = r.es.Next(r.ids[:0])
		if errors.Is(err, io.EOF) {
			r.eof = true
		} else if err != nil {
			return 0, input.File("Text", "text file", r.path, err)
		}
	}
	n := copy(dst, r.ids)
	r.ids = r.ids[:copy(r.ids, r.ids[n:])]
	return n, nil
}

func (r *textReader) Close() error { return r.f.Close() }

// windowStream reads a dataset split front to back.
type windowStream struct{ t *data.Tokens }

func (w windowStream) Len() int { return w.t.Len() }

func (w windowStream) Open() (infer.TokenReader, error) { return &windowReader{t: w.t}, nil }

type windowReader struct {
	t        *data.Tokens
	pos      int
	released int // tokens before this were released (data.Tokens.Release)
}

// releaseEvery is how many tokens a windowReader reads between releases
// of what it has read (1M tokens: 4 MB of a shard's pages).
const releaseEvery = 1 << 20

func (r *windowReader) Read(dst []int32) (int, error) {
	n := min(len(dst), r.t.Len()-r.pos)
	if n == 0 {
		return 0, io.EOF
	}
	r.t.Window(r.pos, n, dst[:0])
	r.pos += n
	if r.pos-r.released >= releaseEvery { // keep the resident memory flat on a long stream
		r.t.Release(r.released, r.pos-r.released)
		r.released = r.pos
	}
	return n, nil
}

func (r *windowReader) Close() error { return nil }

// readPrefix returns the first n tokens of s.
func readPrefix(s infer.Stream, n int) ([]int32, error) {
	r, err := s.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := make([]int32, n)
	for done := 0; done < n; {
		k, err := r.Read(out[done:])
		done += k
		if errors.Is(err, io.EOF) {
			return out[:done], nil
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sameTokenizer refuses a dataset tokenized with another tokenizer than the
// model's tok (read from tokPath; nil when the model folder has none): the
// files are the same (sha256), or every id of the data's tokenizer names
// the same token in the model's and the model's has only special added
// tokens beyond them (sinks added by finetune or convert). A
// model without a tokenizer is only checked against the manifest's
// vocabulary size; a dataset without a tokenizer is not checked.
func sameTokenizer(d *data.Dataset, tok *tokenizer.Tokenizer, tokPath string, vocab int) error {
	const allow = "its ids would mean other tokens"
	if m := d.Manifest(); m != nil && tok == nil && m.Tokenizer.VocabSize > vocab {
		return fmt.Errorf("was tokenized with a vocabulary of %d ids, the model has %d: %s", m.Tokenizer.VocabSize, vocab, allow)
	}
	dp := d.TokenizerPath()
	if dp == "" || tok == nil {
		return nil
	}
	a, errA := cmpFileSHA256(dp)
	b, errB := cmpFileSHA256(tokPath)
	if errA == nil && errB == nil && a == b {
		return nil
	}
	dt, err := tokenizer.Load(dp)
	if err != nil {
		return err
	}
	if dt.VocabSize() > tok.VocabSize() {
		return fmt.Errorf("was tokenized with %s (%d ids), not the model's %s (%d ids): %s", dp, dt.VocabSize(), tokPath, tok.VocabSize(), allow)
	}
	for id := range int32(dt.VocabSize()) {
		x, okX := dt.Token(id)
		y, okY := tok.Token(id)
		if okX != okY || x != y {
			return fmt.Errorf("was tokenized with %s, not the model's %s: id %d is %q there and %q here, %s", dp, tokPath, id, x, y, allow)
		}
	}
	special := map[int32]bool{}
	for _, a := range tok.AddedTokens() {
		special[a.ID] = a.Special
	}
	for id := int32(dt.VocabSize()); id < int32(tok.VocabSize()); id++ {
		if y, ok := tok.Token(id); ok && !special[id] {
			return fmt.Errorf("was tokenized with %s (%d ids), not the model's %s, which has more tokens (id %d is %q), %s", dp, dt.VocabSize(), tokPath, id, y, allow)
		}
	}
	return nil
}

// checkIDs verifies that the first n tokens of s are inside the vocabulary.
func checkIDs(s *data.Tokens, n, vocab int) error {
	var buf []int32
	for b0 := 0; b0 < n; b0 += 1 << 16 {
		buf = s.Window(b0, min(1<<16, n-b0), buf)
		for i, id := range buf {
			if id < 0 || int(id) >= vocab {
				return fmt.Errorf("token %d at index %d is outside the model's vocabulary [0, %d)", id, b0+i, vocab)
			}
		}
		s.Release(b0, len(buf)) // a check of a long stream leaves nothing resident
	}
	return nil
}

// ReadIDs reads whitespace-separated decimal token ids and checks each is in
// [0, vocab). Errors name the id's position (0-based) and the bad text.
func ReadIDs(r io.Reader, vocab int) ([]int32, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	sc.Split(bufio.ScanWords)
	var ids []int32
	for sc.Scan() {
		w := sc.Text()
		v, err := strconv.ParseInt(w, 10, 32)
		if err != nil {
			if len(w) > 40 {
				w = w[:40] + "…"
			}
			return nil, fmt.Errorf("token %d: %q is not an integer id", len(ids), w)
		}
		if v < 0 || v >= int64(vocab) {
			return nil, fmt.Errorf("token %d: id %d is outside the model's vocabulary [0, %d)", len(ids), v, vocab)
		}
		ids = append(ids, int32(v))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("token %d: %w", len(ids), err)
	}
	return ids, nil
}

// affixed is prefix, the first n tokens of s, then suffix: the fed stream
// of a text or dataset source (the model's sinks and BOS, the text, the
// tokenizer's suffix).
type affixed struct {
	prefix []int32
	s      infer.Stream
	n      int
	suffix []int32
}

func (a affixed) Len() int { return len(a.prefix) + a.n + len(a.suffix) }

func (a affixed) Open() (infer.TokenReader, error) {
	r, err := a.s.Open()
	if err != nil {
		return nil, err
	}
	return &affixReader{a: a, r: r}, nil
}

// affixReader reads an affixed stream; pos counts the tokens given.
type affixReader struct {
	a   affixed
	r   infer.TokenReader
	pos int
}

func (r *affixReader) Read(dst []int32) (int, error) {
	a, p := r.a, len(r.a.prefix)
	switch {
	case r.pos < p:
		n := copy(dst, a.prefix[r.pos:])
		r.pos += n
		return n, nil
	case r.pos < p+a.n:
		want := min(len(dst), p+a.n-r.pos)
		n, err := r.r.Read(dst[:want])
		r.pos += n
		if n == 0 && errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("the token stream ended after %d of its %d tokens", r.pos-p, a.n)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return n, err
		}
		return n, nil
	case r.pos < a.Len():
		n := copy(dst, a.suffix[r.pos-p-a.n:])
		r.pos += n
		return n, nil
	}
	return 0, io.EOF
}

func (r *affixReader) Close() error { return r.r.Close() }
