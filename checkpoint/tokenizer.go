package checkpoint

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/sinktrain/sinktrain/model"
)

// tokenizerJSON is the part of an HF tokenizer.json that checkpoint edits:
// the added tokens and the model's vocabulary. Every other field is kept
// verbatim through fields.
type tokenizerJSON struct {
	fields  map[string]json.RawMessage
	added   []json.RawMessage // added_tokens entries, verbatim
	byName  map[string]int    // content -> id over added tokens and model.vocab
	byID    map[int]string
	special map[string]bool // added tokens marked special
	maxID   int             // highest id seen, -1 when none
	unk     string          // model.unk_token, "" when none
}

type addedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// parseTokenizerJSON reads the added tokens and (for BPE/WordPiece/
// WordLevel models) the vocabulary of a tokenizer.json.
func parseTokenizerJSON(b []byte) (*tokenizerJSON, error) {
	t := &tokenizerJSON{byName: map[string]int{}, byID: map[int]string{}, special: map[string]bool{}, maxID: -1}
	if err := json.Unmarshal(b, &t.fields); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	if t.fields == nil {
		return nil, fmt.Errorf("tokenizer.json: expected a JSON object")
	}
	note := func(name string, id int) {
		if _, ok := t.byName[name]; !ok {
			t.byName[name] = id
		}
		if _, ok := t.byID[id]; !ok {
			t.byID[id] = name
		}
		t.maxID = max(t.maxID, id)
	}
	if a, ok := t.fields["added_tokens"]; ok && string(a) != "null" {
		if err := json.Unmarshal(a, &t.added); err != nil {
			return nil, fmt.Errorf("tokenizer.json: added_tokens: %w", err)
		}
		for i, raw := range t.added {
			var at addedToken
			if err := json.Unmarshal(raw, &at); err != nil {
				return nil, fmt.Errorf("tokenizer.json: added_tokens[%d]: %w", i, err)
			}
			if at.ID < 0 {
				return nil, fmt.Errorf("tokenizer.json: added_tokens[%d] has id %d, expected >= 0", i, at.ID)
			}
			note(at.Content, at.ID)
			t.special[at.Content] = t.special[at.Content] || at.Special
		}
	}
	var m struct {
		Vocab    json.RawMessage `json:"vocab"`
		UnkToken *string         `json:"unk_token"`
	}
	if mb, ok := t.fields["model"]; ok {
		if err := json.Unmarshal(mb, &m); err != nil {
			return nil, fmt.Errorf("tokenizer.json: model: %w", err)
		}
	}
	if m.UnkToken != nil {
		t.unk = *m.UnkToken
	}
	var vocab map[string]int
	if len(m.Vocab) > 0 && m.Vocab[0] == '{' {
		if err := json.Unmarshal(m.Vocab, &vocab); err != nil {
			return nil, fmt.Errorf("tokenizer.json: model.vocab: %w", err)
		}
	}
	for name, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("tokenizer.json: model.vocab[%q] = %d, expected >= 0", name, id)
		}
		note(name, id)
	}
	return t, nil
}

// addSpecial makes name a special added token with the given id (a no-op
// when it already is one).
func (t *tokenizerJSON) addSpecial(name string, id int) error {
	if t.special[name] {
		return nil
	}
	b, err := json.Marshal(addedToken{ID: id, Content: name, Special: true})
	if err != nil {
		return err
	}
	t.added = append(t.added, b)
	t.special[name] = true
	t.byName[name], t.byID[id] = id, name
	t.maxID = max(t.maxID, id)
	return nil
}

// marshal re-encodes the tokenizer with the edited added_tokens.
func (t *tokenizerJSON) marshal() ([]byte, error) {
	a, err := json.Marshal(t.added)
	if err != nil {
		return nil, err
	}
	t.fields["added_tokens"] = a
	b, err := marshalIndent(t.fields)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	return b, nil
}

// marshalIndent encodes v as indented JSON ending in a newline, without
// encoding/json's HTML escaping (so "<|sink_0|>" stays readable).
func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// tokenizerSideFiles returns special_tokens_map.json and
// tokenizer_config.json for a tokenizer.json: bos/eos from the config's
// ids, the sinks as additional special tokens, and the fast tokenizer
// class, so that transformers' AutoTokenizer loads the folder with the
// sinks as special tokens.
func tokenizerSideFiles(cfg model.Config, tok []byte) (specialMap, tokConfig []byte, err error) {
	t, err := parseTokenizerJSON(tok)
	if err != nil {
		return nil, nil, err
	}
	for i, name := range cfg.SinkTokens {
		if id, ok := t.byName[name]; !ok || id != cfg.SinkIDs[i] {
			return nil, nil, fmt.Errorf("tokenizer.json: sink token %q has id %d (present %v), expected id %d from config.json", name, id, ok, cfg.SinkIDs[i])
		}
	}
	sm := map[string]any{}
	if s, ok := t.byID[cfg.BOSTokenID]; ok {
		sm["bos_token"] = s
	}
	neox := cfg.Arch == "" || cfg.Arch == model.GPTNeoX
	if s, ok := t.byID[cfg.EOSTokenID]; ok {
		sm["eos_token"] = s
		if neox {
			sm["unk_token"] = s // GPT-NeoX tokenizers use <|endoftext|> for all three
		}
	}
	if !neox && t.unk != "" {
		sm["unk_token"] = t.unk
	}
	if len(cfg.SinkTokens) > 0 {
		sm["additional_special_tokens"] = cfg.SinkTokens
	}
	tc := map[string]any{
		"tokenizer_class":              "PreTrainedTokenizerFast",
		"model_max_length":             cfg.MaxPositionEmbeddings,
		"clean_up_tokenization_spaces": false,
	}
	if neox {
		// Other families leave BOS/EOS to tokenizer.json's post-processor.
		tc["add_bos_token"], tc["add_eos_token"] = false, false
	}
	for k, v := range sm {
		tc[k] = v
	}
	if specialMap, err = marshalIndent(sm); err != nil {
		return nil, nil, err
	}
	if tokConfig, err = marshalIndent(tc); err != nil {
		return nil, nil, err
	}
	return specialMap, tokConfig, nil
}
