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

	"golang.org/x/text/unicode/norm"

	"github.com/sinktrain/sinktrain/internal/fsutil"
	"github.com/sinktrain/sinktrain/internal/input"
)

// tokMaxID bounds token ids read from a file (the id tables are dense).
const tokMaxID = 1 << 24

// tokRawFields are the parts of tokenizer.json that do not change how we
// encode (or that we check and keep as written) and are saved verbatim.
type tokRawFields struct {
	truncation    json.RawMessage
	padding       json.RawMessage
	normalizer    json.RawMessage
	postProcessor json.RawMessage
	decoder       json.RawMessage
	unkToken      json.RawMessage
	fuseUnk       bool
}

// tokFile is tokenizer.json's top level.
type tokFile struct {
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
	Dropout                 *float64        `json:"dropout"`
	UnkToken                json.RawMessage `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	FuseUnk                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
}

// tokComponent is a normalizer, pre-tokenizer or decoder object.
type tokComponent struct {
	Type           string            `json:"type"`
	AddPrefixSpace *bool             `json:"add_prefix_space"`
	TrimOffsets    *bool             `json:"trim_offsets"`
	UseRegex       *bool             `json:"use_regex"`
	Normalizers    []json.RawMessage `json:"normalizers"`
	Pretokenizers  []json.RawMessage `json:"pretokenizers"`
}

// LoadTokenizer reads a Hugging Face tokenizer.json.
func Load(path string) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err // names the file
	}
	return parseTokenizer(b, path)
}

// ParseTokenizer parses the contents of a Hugging Face tokenizer.json.
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
	if tokIsNull(f.Model) {
		return nil, tokErr(name, "model: missing")
	}
	var fm tokFileModel
	if err := json.Unmarshal(f.Model, &fm); err != nil {
		return nil, tokErr(name, "model: %v", err)
	}
	if err := tokCheckModel(&fm); err != nil {
		return nil, tokErr(name, "%v", err)
	}
	t := &Tokenizer{bytes: newBytesTable()}
	t.raw = tokRawFields{
		truncation:    tokCompact(f.Truncation),
		padding:       tokCompact(f.Padding),
		normalizer:    tokCompact(f.Normalizer),
		postProcessor: tokCompact(f.PostProcessor),
		decoder:       tokCompact(f.Decoder),
		unkToken:      tokCompact(fm.UnkToken),
		fuseUnk:       fm.FuseUnk,
	}
	var err error
	if t.normalizer, err = tokParseNormalizer(f.Normalizer, "normalizer"); err != nil {
		return nil, tokErr(name, "%v", err)
	}
	if err := t.parsePreTokenizer(f.PreTokenizer); err != nil {
		return nil, tokErr(name, "%v", err)
	}
	if err := tokCheckDecoder(f.Decoder); err != nil {
		return nil, tokErr(name, "%v", err)
	}
	vocab, err := tokParseVocab(fm.Vocab)
	if err != nil {
		return nil, tokErr(name, "model.vocab: %v", err)
	}
	merges, err := tokParseMerges(fm.Merges)
	if err != nil {
		return nil, tokErr(name, "model.merges: %v", err)
	}
	unk := ""
	if !tokIsNull(fm.UnkToken) {
		if err := json.Unmarshal(fm.UnkToken, &unk); err != nil {
			return nil, tokErr(name, "model.unk_token: want a string or null")
		}
	}
	added := make([]AddedToken, len(f.AddedTokens))
	for i, m := range f.AddedTokens {
		added[i] = AddedToken{Normalized: true} // HF's defaults for absent fields
		if err := json.Unmarshal(m, &added[i]); err != nil {
			return nil, tokErr(name, "added_tokens[%d]: %v", i, err)
		}
		if id := added[i].ID; id < 0 || id >= tokMaxID {
			return nil, tokErr(name, "added_tokens[%d]: id %d out of range [0, %d)", i, id, tokMaxID)
		}
	}
	if err := t.build(vocab, merges, added, unk, fm.FuseUnk, fm.IgnoreMerges); err != nil {
		return nil, tokErr(name, "%v", err)
	}
	return t, nil
}

// tokCheckModel rejects models other than plain byte-level BPE.
func tokCheckModel(fm *tokFileModel) error {
	if fm.Type != nil && *fm.Type != "BPE" {
		return fmt.Errorf("model.type %q is not supported (only byte-level \"BPE\")", *fm.Type)
	}
	if fm.Type == nil && tokIsNull(fm.Merges) {
		return fmt.Errorf("model.type: missing (only byte-level \"BPE\" is supported)")
	}
	if tokIsNull(fm.Vocab) {
		return fmt.Errorf("model.vocab: missing")
	}
	if tokIsNull(fm.Merges) {
		return fmt.Errorf("model.merges: missing")
	}
	if fm.Dropout != nil && *fm.Dropout != 0 {
		return fmt.Errorf("model.dropout %v is not supported (want null)", *fm.Dropout)
	}
	if fm.ContinuingSubwordPrefix != nil && *fm.ContinuingSubwordPrefix != "" {
		return fmt.Errorf("model.continuing_subword_prefix %q is not supported (want null)", *fm.ContinuingSubwordPrefix)
	}
	if fm.EndOfWordSuffix != nil && *fm.EndOfWordSuffix != "" {
		return fmt.Errorf("model.end_of_word_suffix %q is not supported (want null)", *fm.EndOfWordSuffix)
	}
	if fm.ByteFallback {
		return fmt.Errorf("model.byte_fallback true is not supported (byte-level BPE needs none)")
	}
	return nil
}

// tokParseNormalizer accepts null, the Unicode normal forms and Sequences
// of them.
func tokParseNormalizer(m json.RawMessage, field string) ([]norm.Form, error) {
	if tokIsNull(m) {
		return nil, nil
	}
	var c tokComponent
	if err := json.Unmarshal(m, &c); err != nil {
		return nil, fmt.Errorf("%s: %v", field, input.JSON(err))
	}
	switch c.Type {
	case "NFC":
		return []norm.Form{norm.NFC}, nil
	case "NFD":
		return []norm.Form{norm.NFD}, nil
	case "NFKC":
		return []norm.Form{norm.NFKC}, nil
	case "NFKD":
		return []norm.Form{norm.NFKD}, nil
	case "Sequence":
		var forms []norm.Form
		for i, n := range c.Normalizers {
			f, err := tokParseNormalizer(n, fmt.Sprintf("%s.normalizers[%d]", field, i))
			if err != nil {
				return nil, err
			}
			forms = append(forms, f...)
		}
		return forms, nil
	}
	return nil, fmt.Errorf("%s.type %q is not supported (want null, NFC, NFD, NFKC, NFKD or a Sequence of them)", field, c.Type)
}

// parsePreTokenizer accepts ByteLevel, alone or as the only member of a
// Sequence.
func (t *Tokenizer) parsePreTokenizer(m json.RawMessage) error {
	const field = "pre_tokenizer"
	if tokIsNull(m) {
		return fmt.Errorf("%s: null is not supported (want ByteLevel)", field)
	}
	var c tokComponent
	if err := json.Unmarshal(m, &c); err != nil {
		return fmt.Errorf("%s: %v", field, input.JSON(err))
	}
	if c.Type == "Sequence" && len(c.Pretokenizers) == 1 {
		if err := json.Unmarshal(c.Pretokenizers[0], &c); err != nil {
			return fmt.Errorf("%s.pretokenizers[0]: %v", field, input.JSON(err))
		}
	}
	if c.Type != "ByteLevel" {
		return fmt.Errorf("%s.type %q is not supported (want ByteLevel)", field, c.Type)
	}
	flag := func(p *bool) bool { return p == nil || *p } // HF's ByteLevel defaults are all true
	t.addPrefixSpace, t.trimOffsets, t.useRegex = flag(c.AddPrefixSpace), flag(c.TrimOffsets), flag(c.UseRegex)
	return nil
}

// tokCheckDecoder accepts a ByteLevel decoder or none.
func tokCheckDecoder(m json.RawMessage) error {
	if tokIsNull(m) {
		return nil
	}
	var c tokComponent
	if err := json.Unmarshal(m, &c); err != nil {
		return fmt.Errorf("decoder: %v", input.JSON(err))
	}
	if c.Type != "ByteLevel" {
		return fmt.Errorf("decoder.type %q is not supported (want ByteLevel or null)", c.Type)
	}
	return nil
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

// tokParseMerges reads merges in either form HF writes: ["a b", …] or
// [["a", "b"], …].
func tokParseMerges(m json.RawMessage) ([][2]string, error) {
	var pairs [][2]string
	if json.Unmarshal(m, &pairs) == nil {
		return pairs, nil
	}
	var lines []string
	if err := json.Unmarshal(m, &lines); err != nil {
		return nil, fmt.Errorf("want a list of \"a b\" strings or [\"a\", \"b\"] pairs")
	}
	pairs = make([][2]string, len(lines))
	for i, l := range lines {
		a, b, ok := strings.Cut(l, " ")
		if !ok || strings.Contains(b, " ") {
			return nil, fmt.Errorf("[%d] %q: want two tokens separated by one space", i, l)
		}
		pairs[i] = [2]string{a, b}
	}
	return pairs, nil
}

// build sets up the model from its vocab and merges and indexes the
// added tokens.
func (t *Tokenizer) build(vocab map[string]int32, merges [][2]string, added []AddedToken, unk string, fuseUnk, ignoreMerges bool) error {
	t.merges, t.added = merges, added
	t.model = bpeModel{
		vocab:        vocab,
		merges:       make(map[uint64]uint64, len(merges)),
		unk:          -1,
		fuseUnk:      fuseUnk,
		ignoreMerges: ignoreMerges,
		bytes:        t.bytes,
	}
	if id, ok := vocab[unk]; ok && unk != "" {
		t.model.unk = id
	}
	for b := range 256 {
		t.model.byteID[b] = -1
		if id, ok := vocab[string(t.bytes.toRune[b])]; ok {
			t.model.byteID[b] = id
		}
	}
	for i, p := range merges {
		a, okA := vocab[p[0]]
		b, okB := vocab[p[1]]
		ab, okAB := vocab[p[0]+p[1]]
		switch {
		case !okA:
			return fmt.Errorf("model.merges[%d]: %q is not in the vocab", i, p[0])
		case !okB:
			return fmt.Errorf("model.merges[%d]: %q is not in the vocab", i, p[1])
		case !okAB:
			return fmt.Errorf("model.merges[%d]: %q is not in the vocab", i, p[0]+p[1])
		}
		t.model.merges[bpePair(a, b)] = uint64(i)<<32 | uint64(uint32(ab))
	}
	t.index()
	return nil
}

// MarshalJSON writes the tokenizer in Hugging Face's tokenizer.json format.
func (t *Tokenizer) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b) // writes "<|endoftext|>" as is, as HF does
	enc.SetEscapeHTML(false)
	str := func(s string) { _ = enc.Encode(s) } // a string always encodes
	b.WriteString(`{"version":"1.0","truncation":`)
	b.Write(t.raw.truncation)
	b.WriteString(`,"padding":`)
	b.Write(t.raw.padding)
	b.WriteString(`,"added_tokens":[`)
	for i, a := range t.added {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := enc.Encode(a); err != nil {
			return nil, fmt.Errorf("marshal tokenizer: %w", err)
		}
	}
	b.WriteString(`],"normalizer":`)
	b.Write(t.raw.normalizer)
	fmt.Fprintf(&b, `,"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":%t,"trim_offsets":%t,"use_regex":%t}`,
		t.addPrefixSpace, t.trimOffsets, t.useRegex)
	b.WriteString(`,"post_processor":`)
	b.Write(t.raw.postProcessor)
	b.WriteString(`,"decoder":`)
	b.Write(t.raw.decoder)
	b.WriteString(`,"model":{"type":"BPE","dropout":null,"unk_token":`)
	b.Write(t.raw.unkToken)
	fmt.Fprintf(&b, `,"continuing_subword_prefix":null,"end_of_word_suffix":null,"fuse_unk":%t,"byte_fallback":false,"ignore_merges":%t,"vocab":{`,
		t.raw.fuseUnk, t.model.ignoreMerges)
	toks := make([]string, 0, len(t.model.vocab))
	for tok := range t.model.vocab {
		toks = append(toks, tok)
	}
	slices.SortFunc(toks, func(x, y string) int { return cmp.Compare(t.model.vocab[x], t.model.vocab[y]) })
	for i, tok := range toks {
		if i > 0 {
			b.WriteByte(',')
		}
		str(tok)
		fmt.Fprintf(&b, ":%d", t.model.vocab[tok])
	}
	b.WriteString(`},"merges":[`)
	for i, p := range t.merges {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		str(p[0])
		b.WriteByte(',')
		str(p[1])
		b.WriteByte(']')
	}
	b.WriteString(`]}}`)
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("marshal tokenizer: %w", err)
	}
	return out.Bytes(), nil
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
