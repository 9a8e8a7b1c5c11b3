package tokenizer

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/sinktrain/sinktrain/internal/input"
)

// Tokenizer is a BPE tokenizer compatible with Hugging Face tokenizers'
// tokenizer.json: byte-level BPE (GPT-2, GPT-NeoX, Llama-3, Qwen2, Falcon)
// and SentencePiece-style BPE with byte fallback (Llama-2, Mistral),
// with their normalizers, pre-tokenizers, decoders, post-processors and
// added tokens. Encode and Decode are safe for concurrent use;
// AddSpecialTokens is not safe concurrently with them.
type Tokenizer struct {
	model bpeModel
	bytes *bytesTable

	merges [][2]string // model merges in rank order (a pair listed twice: its last entry, as HF keeps)
	added  []AddedToken

	addedID   map[string]int32 // added token content → id
	addedTok  map[int32]string // added token id → the text its decoder sees (normalized if normalized)
	rawMatch  tokMatcher       // added tokens with normalized=false, matched on the raw text
	normMatch tokMatcher       // added tokens with normalized=true, matched after normalization

	norm []tokNormStep // the normalizer, flattened
	pre  tokPreChain   // the pre-tokenizer, flattened
	post tokPost       // the post-processor: ids around a single sequence
	dec  tokDecoder    // the decoder, flattened

	idTok []string // [VocabSize] token text of every id ("" for a hole)
	idOK  []bool   // [VocabSize] whether the id has a token
	dec1  []byte   // byte-level decoders only: raw bytes of every token, concatenated
	decAt []uint32 // [VocabSize+1] offsets of each id's bytes in dec1

	raw tokRawFields // parts of the file kept verbatim for saving

	states      sync.Pool   // *bpeState, one per concurrently encoding goroutine
	noWordCache atomic.Bool // SetWordCache(false)
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
	return t.appendEncodeAt(dst, text, true)
}

// appendEncodeAt is AppendEncode of a text that starts the encoded input
// (atStart) or continues it (EncodeStream's later pieces).
func (t *Tokenizer) appendEncodeAt(dst []int32, text string, atStart bool) []int32 {
	cache := !t.noWordCache.Load()
	st, _ := t.states.Get().(*bpeState)
	if st == nil {
		st = newBPEState(cache)
	} else {
		st.setCache(cache)
	}
	dst = t.appendSplit(dst, text, 0, atStart, st)
	t.states.Put(st)
	return dst
}

// SetWordCache turns the word cache on (the default) or off. With it on,
// each encoding goroutine remembers the ids of up to 32,768 pre-tokens
// (words), so a repeated word is looked up instead of merged again; the ids
// are the same either way. Safe for concurrent use.
func (t *Tokenizer) SetWordCache(on bool) { t.noWordCache.Store(!on) }

// EncodeSpecial returns the ids of text with the post-processor's special
// tokens around them, as HF tokenizers' encode(text,
// add_special_tokens=True) does (e.g. Llama's BOS first).
func (t *Tokenizer) EncodeSpecial(text string) []int32 {
	return t.AppendEncodeSpecial(make([]int32, 0, len(text)/3+len(t.post.prefix)+len(t.post.suffix)+1), text)
}

// AppendEncodeSpecial appends the ids EncodeSpecial gives to dst.
func (t *Tokenizer) AppendEncodeSpecial(dst []int32, text string) []int32 {
	dst = append(dst, t.post.prefix...)
	dst = t.AppendEncode(dst, text)
	return append(dst, t.post.suffix...)
}

// SpecialPrefix returns the ids the post-processor puts before a single
// sequence (Llama: [BOS]; none for GPT-2 style files).
func (t *Tokenizer) SpecialPrefix() []int32 { return append([]int32(nil), t.post.prefix...) }

// SpecialSuffix returns the ids the post-processor puts after a single
// sequence.
func (t *Tokenizer) SpecialSuffix() []int32 { return append([]int32(nil), t.post.suffix...) }

// BOS returns the id the post-processor puts before a single sequence when
// that is exactly one id (Llama's <s>, Llama-3's <|begin_of_text|>).
func (t *Tokenizer) BOS() (int32, bool) {
	if len(t.post.prefix) != 1 {
		return 0, false
	}
	return t.post.prefix[0], true
}

// appendSplit encodes s at one stage of HF's pipeline: stage 0 splits out
// the non-normalized added tokens, stage 1 normalizes and splits out the
// normalized ones, stage 2 pre-tokenizes and runs BPE. atStart reports
// whether s starts the encoded text (Metaspace's prepend_scheme "first").
func (t *Tokenizer) appendSplit(dst []int32, s string, stage int, atStart bool, st *bpeState) []int32 {
	if s == "" {
		return dst
	}
	m := &t.rawMatch
	if stage == 1 {
		s = tokNormalize(t.norm, s, st)
		if s == "" {
			return dst
		}
		m = &t.normMatch
	}
	if stage == 2 {
		return t.appendSegment(dst, s, atStart, st)
	}
	if m.empty() {
		return t.appendSplit(dst, s, stage+1, atStart, st)
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
		dst = t.appendSplit(dst, s[pos:start], stage+1, atStart && pos == 0, st)
		dst = append(dst, tok.ID)
		pos = stop
	}
	return t.appendSplit(dst, s[pos:], stage+1, atStart && pos == 0, st)
}

// appendSegment pre-tokenizes s (a part of the normalized text between
// added tokens) and appends the BPE ids of every pre-token.
func (t *Tokenizer) appendSegment(dst []int32, s string, atStart bool, st *bpeState) []int32 {
	m := &t.model
	switch t.pre.shape {
	case tokPreNone:
		return m.appendPiece(dst, s, false, st)
	case tokPreGPT2:
		if !m.bytePath {
			break
		}
		bl := &t.pre.steps[0]
		if bl.addPrefixSpace && s[0] != ' ' {
			s = " " + s
		}
		if !bl.useRegex {
			return m.appendWord(dst, s, st)
		}
		for i := 0; i < len(s); {
			j := pretokNext(s, i)
			dst = m.appendWord(dst, s[i:j], st)
			i = j
		}
		return dst
	case tokPreSplitBL:
		if !m.bytePath {
			break
		}
		maxNum := 3
		if t.pre.steps[0].pattern.fast == tokFastQwen2 {
			maxNum = 1
		}
		for i := 0; i < len(s); {
			j := pretokNextLlama3(s, i, maxNum)
			dst = m.appendWord(dst, s[i:j], st)
			i = j
		}
		return dst
	}
	cur := append(st.pieces[:0], tokPiece{s, atStart})
	next := st.pieces2[:0]
	mapped := false
	for i := range t.pre.steps {
		p := &t.pre.steps[i]
		next = next[:0]
		for _, pc := range cur {
			next = p.apply(next, pc, mapped, t.bytes, st)
		}
		mapped = mapped || p.kind == tokPreByteLevel
		cur, next = next, cur
	}
	for _, pc := range cur {
		dst = m.appendPiece(dst, pc.s, mapped, st)
	}
	st.pieces, st.pieces2 = cur[:0], next[:0]
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

// Decode returns the text of ids as HF tokenizers' decode(ids,
// skip_special_tokens=False) does: the tokens (added tokens as their
// content) through the decoder, or joined by spaces with no decoder. Ids
// without a token are skipped. Where HF's decoders would put U+FFFD for
// bytes that are not valid UTF-8 (ids that split a character, byte-fallback
// tokens of a broken sequence), Decode gives the raw bytes, so decoding
// the ids of a text gives its exact bytes back; infer's streaming holds
// back an incomplete trailing character.
func (t *Tokenizer) Decode(ids []int32) string {
	if t.dec.byteLevel {
		return string(t.AppendDecode(nil, ids))
	}
	tokens := make([]string, 0, len(ids))
	for _, id := range ids {
		if uint(id) < uint(len(t.idOK)) && t.idOK[id] {
			tokens = append(tokens, t.decodeToken(id))
		}
	}
	return t.dec.decode(tokens, t.bytes)
}

// AppendDecode appends the text of ids (Decode) to dst.
func (t *Tokenizer) AppendDecode(dst []byte, ids []int32) []byte {
	if !t.dec.byteLevel {
		return append(dst, t.Decode(ids)...)
	}
	for _, id := range ids {
		if uint(id) < uint(len(t.idOK)) {
			dst = append(dst, t.dec1[t.decAt[id]:t.decAt[id+1]]...)
		}
	}
	return dst
}

// decodeToken is the text the decoder sees for id: an added token's
// content (normalized, if it is matched after normalization, as HF 0.23
// does), else the model token.
func (t *Tokenizer) decodeToken(id int32) string {
	if s, ok := t.addedTok[id]; ok {
		return s
	}
	return t.idTok[id]
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

// UnknownToken returns the model's unk_token (what a character without a
// symbol becomes), when it has one.
func (t *Tokenizer) UnknownToken() (string, bool) {
	if t.model.unk < 0 {
		return "", false
	}
	return t.Token(t.model.unk)
}

// Token returns the text of id (byte-level text for model tokens).
func (t *Tokenizer) Token(id int32) (string, bool) {
	if uint(id) >= uint(len(t.idOK)) || !t.idOK[id] {
		return "", false
	}
	return t.idTok[id], true
}

// AddedTokens returns a copy of the added tokens, by id as HF orders them
// (tokens added with AddSpecialTokens last).
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
	t.addedTok = make(map[int32]string, len(t.added))
	var st bpeState // scratch for regex normalizers; no word cache needed
	var raw, normed []tokPattern
	for i, a := range t.added {
		t.idTok[a.ID], t.idOK[a.ID] = a.Content, true
		t.addedID[a.Content] = a.ID
		t.addedTok[a.ID] = a.Content
		if a.Normalized {
			p := tokNormalize(t.norm, a.Content, &st)
			t.addedTok[a.ID] = p
			normed = append(normed, tokPattern{p, int32(i)})
		} else {
			raw = append(raw, tokPattern{a.Content, int32(i)})
		}
	}
	t.rawMatch = newTokMatcher(raw)
	t.normMatch = newTokMatcher(normed)
	t.dec1, t.decAt = t.dec1[:0], nil
	if !t.dec.byteLevel {
		return
	}
	t.decAt = make([]uint32, n+1)
	for id := range n {
		if t.idOK[id] {
			t.dec1 = t.bytes.appendRaw(t.dec1, t.decodeToken(int32(id)))
		}
		t.decAt[id+1] = uint32(len(t.dec1))
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
