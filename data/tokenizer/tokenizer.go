package tokenizer

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/sinktrain/sinktrain/internal/input"
	"golang.org/x/text/unicode/norm"
)

// Tokenizer is a byte-level BPE tokenizer, compatible with Hugging Face
// tokenizers' tokenizer.json for GPT-2 / GPT-NeoX style models (ByteLevel
// pre-tokenizer and decoder, BPE model, added tokens, optional Unicode
// normalizer). Encode and Decode are safe for concurrent use;
// AddSpecialTokens is not safe concurrently with them.
type Tokenizer struct {
	model bpeModel
	bytes *bytesTable

	merges [][2]string // model merges in rank order, as written in the file
	added  []AddedToken

	addedID   map[string]int32 // added token content → id
	rawMatch  tokMatcher       // added tokens with normalized=false, matched on the raw text
	normMatch tokMatcher       // added tokens with normalized=true, matched after normalization

	normalizer     []norm.Form // applied in order; empty for none
	addPrefixSpace bool
	trimOffsets    bool
	useRegex       bool

	idTok []string // [VocabSize] token text of every id ("" for a hole)
	idOK  []bool   // [VocabSize] whether the id has a token
	dec   []byte   // raw bytes of every token, concatenated
	decAt []uint32 // [VocabSize+1] offsets of each id's bytes in dec

	raw tokRawFields // parts of the file kept verbatim for saving

	states sync.Pool // *bpeState, one per concurrently encoding goroutine
}

// AddedToken is an entry of tokenizer.json's added_tokens: a string matched
// in the raw text before pre-tokenization and encoded as one id.
type AddedToken struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"` // match only where not inside a word
	LStrip     bool   `json:"lstrip"`      // the match swallows whitespace on its left
	RStrip     bool   `json:"rstrip"`      // the match swallows whitespace on its right
	Normalized bool   `json:"normalized"`  // matched in the normalized text
	Special    bool   `json:"special"`
}

// Encode returns the ids of text. Added (special) tokens that occur in text
// are matched, as HF tokenizers' encode(text, add_special_tokens=False)
// does; the post-processor is not applied.
func (t *Tokenizer) Encode(text string) []int32 {
	return t.AppendEncode(make([]int32, 0, len(text)/3+1), text)
}

// AppendEncode appends the ids of text to dst and returns the extended
// slice. It allocates only to grow dst and to remember new words in its
// cache.
func (t *Tokenizer) AppendEncode(dst []int32, text string) []int32 {
	st, _ := t.states.Get().(*bpeState)
	if st == nil {
		st = newBPEState()
	}
	dst = t.appendSplit(dst, text, 0, st)
	t.states.Put(st)
	return dst
}

// appendSplit encodes s at one stage of HF's pipeline: stage 0 splits out
// the non-normalized added tokens, stage 1 normalizes and splits out the
// normalized ones, stage 2 pre-tokenizes and runs BPE.
func (t *Tokenizer) appendSplit(dst []int32, s string, stage int, st *bpeState) []int32 {
	if s == "" {
		return dst
	}
	m := &t.rawMatch
	if stage == 1 {
		for _, f := range t.normalizer {
			s = f.String(s)
		}
		m = &t.normMatch
	}
	if stage == 2 {
		return t.appendWords(dst, s, st)
	}
	if m.empty() {
		return t.appendSplit(dst, s, stage+1, st)
	}
	pos := 0 // HF's start_offset: s[:pos] is encoded
	for scan := 0; scan < len(s); {
		start, stop, a := m.find(s, scan)
		if a < 0 {
			break
		}
		scan = stop
		if start < pos {
			continue // inside whitespace that an rstrip token already took
		}
		tok := &t.added[a]
		if tok.SingleWord && (tokEndsWithWord(s[:start]) || tokStartsWithWord(s[stop:])) {
			continue
		}
		if tok.LStrip {
			start = max(len(strings.TrimRightFunc(s[:start], unicode.IsSpace)), pos)
		}
		if tok.RStrip {
			stop = len(s) - len(strings.TrimLeftFunc(s[stop:], unicode.IsSpace))
		}
		dst = t.appendSplit(dst, s[pos:start], stage+1, st)
		dst = append(dst, tok.ID)
		pos = stop
	}
	return t.appendSplit(dst, s[pos:], stage+1, st)
}

// appendWords pre-tokenizes s (ByteLevel) and appends the BPE ids of every
// pre-token.
func (t *Tokenizer) appendWords(dst []int32, s string, st *bpeState) []int32 {
	if t.addPrefixSpace && s[0] != ' ' {
		s = " " + s
	}
	if !t.useRegex {
		return t.model.appendWord(dst, s, st)
	}
	for i := 0; i < len(s); {
		j := pretokNext(s, i)
		dst = t.model.appendWord(dst, s[i:j], st)
		i = j
	}
	return dst
}

// tokIsWordRune reports whether r matches the regex \w (letters, marks,
// decimal digits, connector punctuation, joiners).
func tokIsWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r) ||
		unicode.Is(unicode.Pc, r) || r == 0x200C || r == 0x200D
}

func tokEndsWithWord(s string) bool {
	r, n := utf8.DecodeLastRuneInString(s)
	return n > 0 && tokIsWordRune(r)
}

func tokStartsWithWord(s string) bool {
	r, n := utf8.DecodeRuneInString(s)
	return n > 0 && tokIsWordRune(r)
}

// Decode returns the text of ids: every token's raw bytes, as HF's
// ByteLevel decoder gives them, special tokens included. Ids without a
// token are skipped. The result is the exact original bytes, so it may be
// invalid UTF-8 when ids split a character (HF would show U+FFFD); use
// AppendDecode to stream.
func (t *Tokenizer) Decode(ids []int32) string {
	n := 0
	for _, id := range ids {
		if uint(id) < uint(len(t.idOK)) {
			n += int(t.decAt[id+1] - t.decAt[id])
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, id := range ids {
		if uint(id) < uint(len(t.idOK)) {
			b.Write(t.dec[t.decAt[id]:t.decAt[id+1]])
		}
	}
	return b.String()
}

// AppendDecode appends the raw bytes of ids to dst.
func (t *Tokenizer) AppendDecode(dst []byte, ids []int32) []byte {
	for _, id := range ids {
		if uint(id) < uint(len(t.idOK)) {
			dst = append(dst, t.dec[t.decAt[id]:t.decAt[id+1]]...)
		}
	}
	return dst
}

// VocabSize is the number of ids, added tokens included: the largest id + 1.
func (t *Tokenizer) VocabSize() int { return len(t.idOK) }

// TokenID returns the id of a token given as its text (byte-level text for
// model tokens, e.g. "Ġthe"; the content for added tokens).
func (t *Tokenizer) TokenID(tok string) (int32, bool) {
	if id, ok := t.addedID[tok]; ok {
		return id, true
	}
	id, ok := t.model.vocab[tok]
	return id, ok
}

// Token returns the text of id (byte-level text for model tokens).
func (t *Tokenizer) Token(id int32) (string, bool) {
	if uint(id) >= uint(len(t.idOK)) || !t.idOK[id] {
		return "", false
	}
	return t.idTok[id], true
}

// AddedTokens returns a copy of the added tokens in file order.
func (t *Tokenizer) AddedTokens() []AddedToken {
	return append([]AddedToken(nil), t.added...)
}

// AddSpecialTokens adds special tokens (matched in raw text, not normalized)
// and returns their ids. A token that already is an added token keeps its
// id; one that is a model token becomes an added token with that id; a new
// one gets the next id (VocabSize()).
func (t *Tokenizer) AddSpecialTokens(tokens ...string) []int32 {
	ids := make([]int32, len(tokens))
	for i, s := range tokens {
		if id, ok := t.addedID[s]; ok {
			ids[i] = id
			continue
		}
		id, ok := t.model.vocab[s]
		if !ok {
			id = int32(t.VocabSize())
		}
		t.added = append(t.added, AddedToken{ID: id, Content: s, Special: true})
		ids[i] = id
		t.index() // grows the id tables so that the next new id is right
	}
	return ids
}

// index rebuilds everything derived from the model vocab and the added
// tokens: the id tables, the decoder bytes and the added-token matchers.
func (t *Tokenizer) index() {
	n := 0
	for _, id := range t.model.vocab {
		n = max(n, int(id)+1)
	}
	for _, a := range t.added {
		n = max(n, int(a.ID)+1)
	}
	t.idTok = make([]string, n)
	t.idOK = make([]bool, n)
	for s, id := range t.model.vocab {
		t.idTok[id], t.idOK[id] = s, true
	}
	t.addedID = make(map[string]int32, len(t.added))
	var raw, normed []tokPattern
	for i, a := range t.added {
		t.idTok[a.ID], t.idOK[a.ID] = a.Content, true
		t.addedID[a.Content] = a.ID
		if a.Normalized {
			p := a.Content
			for _, f := range t.normalizer {
				p = f.String(p)
			}
			normed = append(normed, tokPattern{p, int32(i)})
		} else {
			raw = append(raw, tokPattern{a.Content, int32(i)})
		}
	}
	t.rawMatch = newTokMatcher(raw)
	t.normMatch = newTokMatcher(normed)
	t.dec = t.dec[:0]
	t.decAt = make([]uint32, n+1)
	for id := range n {
		if t.idOK[id] {
			t.dec = t.bytes.appendRaw(t.dec, t.idTok[id])
		}
		t.decAt[id+1] = uint32(len(t.dec))
	}
}

// tokPattern is one added token to match: its text and its index in added.
type tokPattern struct {
	text  string
	added int32
}

// tokMatcher finds added tokens the way HF's Aho-Corasick automaton with
// MatchKind::LeftmostLongest does: the leftmost match, the longest there.
type tokMatcher struct {
	byFirst map[byte][]tokPattern // patterns by first byte, longest first
	first   [256]bool             // bytes that start a pattern
	only    int                   // the one first byte if all patterns share it, else -1
}

func newTokMatcher(pats []tokPattern) tokMatcher {
	m := tokMatcher{byFirst: make(map[byte][]tokPattern), only: -1}
	for _, p := range pats {
		if p.text == "" {
			continue // HF ignores empty added tokens
		}
		b := p.text[0]
		m.first[b] = true
		m.byFirst[b] = append(m.byFirst[b], p)
	}
	for b, ps := range m.byFirst {
		if len(m.byFirst) == 1 {
			m.only = int(b)
		}
		// Longest first (stable, so among equal texts the earlier entry wins).
		slices.SortStableFunc(ps, func(x, y tokPattern) int { return len(y.text) - len(x.text) })
	}
	return m
}

func (m *tokMatcher) empty() bool { return len(m.byFirst) == 0 }

// find returns the leftmost-longest match at or after from, or added = -1.
func (m *tokMatcher) find(s string, from int) (start, stop int, added int32) {
	for i := from; i < len(s); i++ {
		if m.only >= 0 {
			k := strings.IndexByte(s[i:], byte(m.only))
			if k < 0 {
				break
			}
			i += k
		} else if !m.first[s[i]] {
			continue
		}
		for _, p := range m.byFirst[s[i]] {
			if strings.HasPrefix(s[i:], p.text) {
				return i, i + len(p.text), p.added
			}
		}
	}
	return 0, 0, -1
}

// tokErr formats a one-line error about a tokenizer file (encoding/json
// errors among args worded in the file's terms, input.JSON).
func tokErr(name, format string, args ...any) error {
	for i, a := range args {
		if e, ok := a.(error); ok {
			args[i] = input.JSON(e)
		}
	}
	return fmt.Errorf("tokenizer %s: %s", name, fmt.Sprintf(format, args...))
}
