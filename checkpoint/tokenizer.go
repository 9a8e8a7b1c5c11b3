package checkpoint

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/sinktrain/sinktrain/data/tokenizer"
	"github.com/sinktrain/sinktrain/model"
)

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
func tokenizerSideFiles(cfg model.Config, tokJSON []byte) (specialMap, tokConfig []byte, err error) {
	t, err := tokenizer.Parse(tokJSON)
	if err != nil {
		return nil, nil, err
	}
	for i, name := range cfg.SinkTokens {
		if id, ok := t.TokenID(name); !ok || int(id) != cfg.SinkIDs[i] {
			return nil, nil, fmt.Errorf("tokenizer.json: sink token %q has id %d (present %v), expected id %d from config.json", name, id, ok, cfg.SinkIDs[i])
		}
	}
	sm := map[string]any{}
	if s, ok := t.Token(int32(cfg.BOSTokenID)); ok {
		sm["bos_token"] = s
	}
	neox := cfg.Arch == "" || cfg.Arch == model.GPTNeoX
	if s, ok := t.Token(int32(cfg.EOSTokenID)); ok {
		sm["eos_token"] = s
		if neox {
			sm["unk_token"] = s // GPT-NeoX tokenizers use <|endoftext|> for all three
		}
	}
	if unk, ok := t.UnknownToken(); !neox && ok {
		sm["unk_token"] = unk
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
