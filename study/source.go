package study

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
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
		b, err := os.ReadFile(s.Text)
		if err != nil {
			return nil, nop, input.File("Text", "text file", s.Text, err)
		}
		text, err := data.DecodeText(b) // refuses binary data, as prepare does
		if err != nil {
			return nil, nop, input.New("Text", "text file", s.Text, err)
		}
		tok, err := infer.LoadTokenizer(dir, m)
		if err != nil {
			return nil, nop, err
		}
		start, end := infer.StreamAffixes(tok, m)
		ids := tok.Encode(text)
		ids = ids[:s.limit(len(ids))]
		if len(ids) < 2 {
			return nil, nop, input.Errorf("Text", "text file", s.Text, "%d token(s) after tokenization, expected at least 2", len(ids))
		}
		ids = append(ids, end...)
		return withSinks{prefix: start, s: infer.Tokens(ids), n: len(ids)}, nop, nil
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
	return withSinks{prefix: start, s: toks, n: n}, func() { d.Close() }, nil
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
func checkIDs(s infer.Stream, n, vocab int) error {
	var buf []int32
	for b0 := 0; b0 < n; b0 += 1 << 16 {
		buf = s.Window(b0, min(1<<16, n-b0), buf)
		for i, id := range buf {
			if id < 0 || int(id) >= vocab {
				return fmt.Errorf("token %d at index %d is outside the model's vocabulary [0, %d)", id, b0+i, vocab)
			}
		}
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

// withSinks is prefix followed by the first n tokens of s (the fed stream of
// a text or dataset source: the model's sinks, then the text).
type withSinks struct {
	prefix []int32
	s      infer.Stream
	n      int
}

func (w withSinks) Len() int { return len(w.prefix) + w.n }

func (w withSinks) Window(start, n int, dst []int32) []int32 {
	dst = dst[:0]
	for ; n > 0 && start < len(w.prefix); start, n = start+1, n-1 {
		dst = append(dst, w.prefix[start])
	}
	if n == 0 {
		return dst
	}
	head := len(dst)
	dst = slices.Grow(dst, n)
	w.s.Window(start-len(w.prefix), n, dst[head:head]) // fills in place: capacity suffices
	return dst[:head+n]
}
