package tokenizer

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/sinktrain/sinktrain/internal/fsutil"
	"github.com/sinktrain/sinktrain/internal/input"
)

// tokMaxID bounds token ids read from a file (the id tables are dense).
const tokMaxID = 1 << 24

// tokRawFields are the parts of tokenizer.json kept as written (compacted)
// and saved verbatim: the components are parsed from them, so a file
// Hugging Face wrote is saved byte for byte as it was.
type tokRawFields struct {
	version       json.RawMessage
	truncation    json.RawMessage // kept, not applied: Encode never truncates or pads
	padding       json.RawMessage
	normalizer    json.RawMessage
	preTokenizer  json.RawMessage
	postProcessor json.RawMessage
	decoder       json.RawMessage
	dropout       json.RawMessage // null or 0
	unkToken      json.RawMessage
	prefix        json.RawMessage // continuing_subword_prefix: null or a string ("" is kept as "")
	suffix        json.RawMessage // end_of_word_suffix
	mergeLines    bool            // merges were written as "a b" strings (older files), not pairs
}

// tokFile is tokenizer.json's top level.
type tokFile struct {
	Version       json.RawMessage   `json:"version"`
	Truncation    json.RawMessage   `json:"truncation"`
	Padding       json.RawMessage   `json:"padding"`
	AddedTokens   []json.RawMessage `json:"added_tokens"`
	Normalizer    json.RawMessage   `json:"normalizer"`
	PreTokenizer  json.RawMessage   `json:"pre_tokenizer"`
	PostProcessor json.RawMessage   `json:"post_processor"`
	Decoder       json.RawMessage   `json:"decoder"`
	Model         json.RawMessage   `json:"model"`
}

// tokFileModel is tokenizer.json's "model".
type tokFileModel struct {
	Type                    *string         `json:"type"`
	Dropout                 json.RawMessage `json:"dropout"`
	UnkToken                json.RawMessage `json:"unk_token"`
	ContinuingSubwordPrefix json.RawMessage `json:"continuing_subword_prefix"`
	EndOfWordSuffix         json.RawMessage `json:"end_of_word_suffix"`
	FuseUnk                 *bool           `json:"fuse_unk"`
	ByteFallback            *bool           `json:"byte_fallback"`
	IgnoreMerges            *bool           `json:"ignore_merges"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
}

// tokModelOptions are the BPE options of the model besides vocab and merges.
type tokModelOptions struct {
	unk                             string // "" for none
	prefix, suffix                  string
	fuseUnk, byteFallback, noMerges bool
}

// Load reads a Hugging Face tokenizer.json.
func Load(path string) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err // names the file
	}
	return parseTokenizer(b, path)
}

// Parse parses the contents of a Hugging Face tokenizer.json.
func Parse(b []byte) (*Tokenizer, error) {
	return parseTokenizer(b, "tokenizer.json")
}

func tokIsNull(m json.RawMessage) bool {
	m = bytes.TrimSpace(m)
	return len(m) == 0 || string(m) == "null"
}

// tokCompact returns m without insignificant space, or "null".
func tokCompact(m json.RawMessage) json.RawMessage {
	if tokIsNull(m) {
		return json.RawMessage("null")
	}
	var buf bytes.Buffer
	if json.Compact(&buf, m) != nil {
		return json.RawMessage("null")
	}
	return buf.Bytes()
}

func parseTokenizer(b []byte, name string) (*Tokenizer, error) {
	var f tokFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, tokErr(name, "invalid JSON: %v", err)
	}
	if !tokIsNull(f.Version) {
		var v string
		if json.Unmarshal(f.Version, &v) != nil || v != "1.0" {
			return nil, tokErr(name, "version %s is not supported (want \"1.0\")", tokCompact(f.Version))
		}
	}
	if tokIsNull(f.Model) {
		return nil, tokErr(name, "model: missing")
	}
	var fm tokFileModel
	if err := json.Unmarshal(f.Model, &fm); err != nil {
		return nil, tokErr(name, "model: %v", err)
	}
	opts, err := tokCheckModel(&fm)
	if err != nil {
		return nil, tokErr(name, "%v", err)
	}
	t := &Tokenizer{bytes: newBytesTable()}
	t.raw = tokRawFields{
		version:       tokCompact(f.Version),
		truncation:    tokCompact(f.Truncation),
		padding:       tokCompact(f.Padding),
		normalizer:    tokCompact(f.Normalizer),
		preTokenizer:  tokCompact(f.PreTokenizer),
		postProcessor: tokCompact(f.PostProcessor),
		decoder:       tokCompact(f.Decoder),
		dropout:       tokCompact(fm.Dropout),
		unkToken:      tokCompact(fm.UnkToken),
		prefix:        tokCompact(fm.ContinuingSubwordPrefix),
		suffix:        tokCompact(fm.EndOfWordSuffix),
	}
	if tokIsNull(f.Version) {
		t.raw.version = json.RawMessage(`"1.0"`)
	}
	if err := t.parseComponents(); err != nil {
		return nil, tokErr(name, "%v", err)
	}
	vocab, err := tokParseVocab(fm.Vocab)
	if err != nil {
		return nil, tokErr(name, "model.vocab: %v", err)
	}
	merges, lines, err := tokParseMerges(fm.Merges)
	if err != nil {
		return nil, tokErr(name, "model.merges: %v", err)
	}
	t.raw.mergeLines = lines
	added, err := tokParseAdded(f.AddedTokens, vocab)
	if err != nil {
		return nil, tokErr(name, "%v", err)
	}
	if err := t.build(vocab, merges, added, opts); err != nil {
		return nil, tokErr(name, "%v", err)
	}
	return t, nil
}

// parseComponents reads the normalizer, pre-tokenizer, post-processor and
// decoder from their raw JSON.
func (t *Tokenizer) parseComponents() error {
	var err error
	if t.norm, err = tokParseNormalizer(t.raw.normalizer, "normalizer"); err != nil {
		return err
	}
	if t.pre, err = tokParsePreTokenizer(t.raw.preTokenizer); err != nil {
		return err
	}
	if t.post, err = tokParsePostProcessor(t.raw.postProcessor); err != nil {
		return err
	}
	t.dec, err = tokParseDecoder(t.raw.decoder)
	return err
}

// tokCheckModel checks the model's options: BPE only, no dropout.
func tokCheckModel(fm *tokFileModel) (tokModelOptions, error) {
	var o tokModelOptions
	if fm.Type != nil && *fm.Type != "BPE" {
		return o, fmt.Errorf("model.type %q is not supported (only \"BPE\")", *fm.Type)
	}
	if fm.Type == nil && tokIsNull(fm.Merges) {
		return o, fmt.Errorf("model.type: missing (only \"BPE\" is supported)")
	}
	if tokIsNull(fm.Vocab) {
		return o, fmt.Errorf("model.vocab: missing")
	}
	if tokIsNull(fm.Merges) {
		return o, fmt.Errorf("model.merges: missing")
	}
	if !tokIsNull(fm.Dropout) {
		var d float64
		if json.Unmarshal(fm.Dropout, &d) != nil || d != 0 {
			return o, fmt.Errorf("model.dropout %s is not supported (want null or 0)", tokCompact(fm.Dropout))
		}
	}
	if !tokIsNull(fm.UnkToken) && json.Unmarshal(fm.UnkToken, &o.unk) != nil {
		return o, fmt.Errorf("model.unk_token: want a string or null")
	}
	if !tokIsNull(fm.ContinuingSubwordPrefix) && json.Unmarshal(fm.ContinuingSubwordPrefix, &o.prefix) != nil {
		return o, fmt.Errorf("model.continuing_subword_prefix: want a string or null")
	}
	if !tokIsNull(fm.EndOfWordSuffix) && json.Unmarshal(fm.EndOfWordSuffix, &o.suffix) != nil {
		return o, fmt.Errorf("model.end_of_word_suffix: want a string or null")
	}
	flag := func(p *bool) bool { return p != nil && *p }
	o.fuseUnk, o.byteFallback, o.noMerges = flag(fm.FuseUnk), flag(fm.ByteFallback), flag(fm.IgnoreMerges)
	return o, nil
}

// tokParseAdded reads added_tokens and gives them ids as HF's
// AddedVocabulary::add_tokens does when it loads a file: a content already
// in the model vocab takes that id (HF only warns when the file says
// otherwise), a new one the next free id from the model's vocab size;
// an empty content is dropped, and a content listed twice keeps its first
// id and its last flags. The result is sorted by id, as HF saves it.
func tokParseAdded(list []json.RawMessage, vocab map[string]int32) ([]AddedToken, error) {
	next := int32(len(vocab))
	byID := map[int32]int{} // id → index in added
	var added []AddedToken
	ids := map[string]int32{}
	for i, m := range list {
		a := AddedToken{Normalized: true} // HF's defaults for absent fields
		if err := json.Unmarshal(m, &a); err != nil {
			return nil, fmt.Errorf("added_tokens[%d]: %v", i, input.JSON(err))
		}
		if a.ID < 0 || a.ID >= tokMaxID {
			return nil, fmt.Errorf("added_tokens[%d]: id %d out of range [0, %d)", i, a.ID, tokMaxID)
		}
		if a.Content == "" {
			continue
		}
		id, ok := ids[a.Content]
		if !ok {
			if id, ok = vocab[a.Content]; !ok {
				id = next
				next++
			}
			if id >= tokMaxID {
				return nil, fmt.Errorf("added_tokens[%d]: id %d out of range [0, %d)", i, id, tokMaxID)
			}
			ids[a.Content] = id
		}
		a.ID = id
		if k, ok := byID[id]; ok {
			added[k] = a
			continue
		}
		byID[id] = len(added)
		added = append(added, a)
	}
	slices.SortStableFunc(added, func(x, y AddedToken) int { return cmp.Compare(x.ID, y.ID) })
	return added, nil
}

// tokParseVocab reads the vocab object in file order.
func tokParseVocab(m json.RawMessage) (map[string]int32, error) {
	dec := json.NewDecoder(bytes.NewReader(m))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("want an object of token: id")
	}
	vocab := make(map[string]int32)
	byID := make(map[int32]string)
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := k.(string)
		v, err := dec.Token()
		if err != nil {
			return nil, err
		}
		num, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%q: want an integer id", key)
		}
		id, err := strconv.ParseInt(string(num), 10, 32)
		if err != nil || id < 0 || id >= tokMaxID {
			return nil, fmt.Errorf("%q: id %s out of range [0, %d)", key, num, tokMaxID)
		}
		if other, dup := byID[int32(id)]; dup {
			return nil, fmt.Errorf("id %d is used by both %q and %q", id, other, key)
		}
		if _, dup := vocab[key]; dup {
			return nil, fmt.Errorf("%q appears twice", key)
		}
		vocab[key], byID[int32(id)] = int32(id), key
	}
	return vocab, nil
}

// tokParseMerges reads merges in either form HF writes: [["a", "b"], …]
// or, in older files, ["a b", …] (lines true).
func tokParseMerges(m json.RawMessage) (pairs [][2]string, lines bool, err error) {
	if json.Unmarshal(m, &pairs) == nil {
		return pairs, false, nil
	}
	var ls []string
	if err := json.Unmarshal(m, &ls); err != nil {
		return nil, false, fmt.Errorf("want a list of \"a b\" strings or [\"a\", \"b\"] pairs")
	}
	pairs = make([][2]string, len(ls))
	for i, l := range ls {
		a, b, ok := strings.Cut(l, " ")
		if !ok || strings.Contains(b, " ") {
			return nil, false, fmt.Errorf("[%d] %q: want two tokens separated by one space", i, l)
		}
		pairs[i] = [2]string{a, b}
	}
	return pairs, len(ls) > 0, nil
}

// build sets up the model from its vocab, merges and options and indexes
// the added tokens.
func (t *Tokenizer) build(vocab map[string]int32, merges [][2]string, added []AddedToken, o tokModelOptions) error {
	t.added = added
	t.model = bpeModel{
		vocab:        vocab,
		merges:       make(map[uint64]uint64, len(merges)),
		unk:          -1,
		fuseUnk:      o.fuseUnk,
		ignoreMerges: o.noMerges,
		byteFallback: o.byteFallback,
		prefix:       o.prefix,
		suffix:       o.suffix,
		bytePath:     t.pre.mapped && o.prefix == "" && o.suffix == "" && !o.byteFallback,
		bytes:        t.bytes,
	}
	if o.unk != "" {
		id, ok := vocab[o.unk]
		if !ok {
			return fmt.Errorf("model.unk_token %q is not in model.vocab", o.unk)
		}
		t.model.unk = id
	}
	for b := range 256 {
		t.model.byteID[b] = -1
		if id, ok := vocab[string(t.bytes.toRune[b])]; ok {
			t.model.byteID[b] = id
		}
		t.model.fallback[b] = -1
		if id, ok := vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
			t.model.fallback[b] = id
		}
	}
	last := make(map[uint64]int, len(merges)) // pair → index of its last merge (HF keeps that one)
	for i, p := range merges {
		a, okA := vocab[p[0]]
		b, okB := vocab[p[1]]
		if !okA {
			return fmt.Errorf("model.merges[%d]: %q is not in the vocab", i, p[0])
		}
		if !okB {
			return fmt.Errorf("model.merges[%d]: %q is not in the vocab", i, p[1])
		}
		if len(p[1]) < len(o.prefix) {
			return fmt.Errorf("model.merges[%d]: %q is shorter than continuing_subword_prefix %q", i, p[1], o.prefix)
		}
		merged := p[0] + p[1][len(o.prefix):]
		ab, okAB := vocab[merged]
		if !okAB {
			return fmt.Errorf("model.merges[%d]: %q is not in the vocab", i, merged)
		}
		t.model.merges[bpePair(a, b)] = uint64(i)<<32 | uint64(uint32(ab))
		last[bpePair(a, b)] = i
	}
	t.merges = t.merges[:0]
	for i, p := range merges {
		if last[bpePair(vocab[p[0]], vocab[p[1]])] == i {
			t.merges = append(t.merges, p)
		}
	}
	t.index()
	return nil
}

// MarshalJSON writes the tokenizer in Hugging Face's tokenizer.json format,
// as HF's save does: components as they were read, added tokens by id,
// vocab by id, merges in rank order (as pairs, or as "a b" lines if the
// file had them so), so that a file HF wrote comes back byte for byte.
func (t *Tokenizer) MarshalJSON() ([]byte, error) {
	b := []byte(`{"version":`)
	b = append(b, t.raw.version...)
	b = append(b, `,"truncation":`...)
	b = append(b, t.raw.truncation...)
	b = append(b, `,"padding":`...)
	b = append(b, t.raw.padding...)
	b = append(b, `,"added_tokens":[`...)
	added := slices.Clone(t.added)
	slices.SortStableFunc(added, func(x, y AddedToken) int { return cmp.Compare(x.ID, y.ID) })
	for i, a := range added {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"id":%d,"content":`, a.ID)
		b = tokAppendJSONString(b, a.Content)
		b = fmt.Appendf(b, `,"single_word":%t,"lstrip":%t,"rstrip":%t,"normalized":%t,"special":%t}`,
			a.SingleWord, a.LStrip, a.RStrip, a.Normalized, a.Special)
	}
	b = append(b, `],"normalizer":`...)
	b = append(b, t.raw.normalizer...)
	b = append(b, `,"pre_tokenizer":`...)
	b = append(b, t.raw.preTokenizer...)
	b = append(b, `,"post_processor":`...)
	b = append(b, t.raw.postProcessor...)
	b = append(b, `,"decoder":`...)
	b = append(b, t.raw.decoder...)
	b = append(b, `,"model":{"type":"BPE","dropout":`...)
	b = append(b, t.raw.dropout...)
	b = append(b, `,"unk_token":`...)
	b = append(b, t.raw.unkToken...)
	b = append(b, `,"continuing_subword_prefix":`...)
	b = append(b, t.raw.prefix...)
	b = append(b, `,"end_of_word_suffix":`...)
	b = append(b, t.raw.suffix...)
	b = fmt.Appendf(b, `,"fuse_unk":%t,"byte_fallback":%t,"ignore_merges":%t,"vocab":{`,
		t.model.fuseUnk, t.model.byteFallback, t.model.ignoreMerges)
	toks := make([]string, 0, len(t.model.vocab))
	for tok := range t.model.vocab {
		toks = append(toks, tok)
	}
	slices.SortFunc(toks, func(x, y string) int { return cmp.Compare(t.model.vocab[x], t.model.vocab[y]) })
	for i, tok := range toks {
		if i > 0 {
			b = append(b, ',')
		}
		b = tokAppendJSONString(b, tok)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(t.model.vocab[tok]), 10)
	}
	b = append(b, `},"merges":[`...)
	for i, p := range t.merges {
		if i > 0 {
			b = append(b, ',')
		}
		if t.raw.mergeLines { // kept in the file's older form
			b = tokAppendJSONString(b, p[0]+" "+p[1])
			continue
		}
		b = append(b, '[')
		b = tokAppendJSONString(b, p[0])
		b = append(b, ',')
		b = tokAppendJSONString(b, p[1])
		b = append(b, ']')
	}
	b = append(b, `]}}`...)
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, fmt.Errorf("marshal tokenizer: %w", err)
	}
	return out.Bytes(), nil
}

// tokAppendJSONString appends s as a JSON string escaped as serde_json
// (which HF uses) escapes it: quote, backslash and control characters
// only.
func tokAppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	s = strings.ToValidUTF8(s, "\uFFFD")
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			} else {
				b = append(b, c)
			}
		}
	}
	return append(b, '"')
}

// Save writes the tokenizer to path as tokenizer.json, atomically.
func (t *Tokenizer) Save(path string) error {
	b, err := t.MarshalJSON()
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, func(w *bufio.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
