package infer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// StreamAffixes returns what a text stream of model m (loaded from folder
// dir) starts and ends with, as HF's encode(text, add_special_tokens=True)
// after the model's sinks: start = the sinks, then the BOS the folder's
// tokenizer.json post-processor adds (Llama, Mistral: <s>; Llama-3:
// <|begin_of_text|>), so that it is one of the first K stream tokens, the
// one StreamingLLM keeps for Llama-2; end = what the post-processor puts
// after a sequence (usually nothing). A folder without tokenizer.json adds
// only the sinks.
func StreamAffixes(dir string, m *Model) (start, end []int32, err error) {
	pre, suf, err := specialIDs(filepath.Join(dir, "tokenizer.json"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	return append(m.SinkIDs(), pre...), suf, nil
}

// specialIDs returns the ids tokenizer.json's post-processor puts before
// and after a single sequence, as HF's encode(text,
// add_special_tokens=True) does: Llama's and Mistral's TemplateProcessing
// "<s> $A" gives prefix [1], Llama-3's [<|begin_of_text|>]; a ByteLevel or
// absent post-processor (GPT-NeoX, Qwen2, Falcon) gives none. A Sequence
// of processors is searched for its TemplateProcessing.
//
// data/tokenizer gets the same from its post-processor support (the
// tokenizer families work); this reader stands in until that is on main.
func specialIDs(path string) (prefix, suffix []int32, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var f struct {
		PostProcessor json.RawMessage `json:"post_processor"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	prefix, suffix, err = templateIDs(f.PostProcessor)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: post_processor: %w", path, err)
	}
	return prefix, suffix, nil
}

// templateIDs reads one post-processor object.
func templateIDs(raw json.RawMessage) (prefix, suffix []int32, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil, nil
	}
	var p struct {
		Type       string            `json:"type"`
		Processors []json.RawMessage `json:"processors"`
		Single     []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID string `json:"id"`
			} `json:"Sequence"`
		} `json:"single"`
		SpecialTokens map[string]struct {
			IDs []int32 `json:"ids"`
		} `json:"special_tokens"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, nil, err
	}
	switch p.Type {
	case "ByteLevel":
		return nil, nil, nil
	case "Sequence":
		for _, q := range p.Processors {
			pre, suf, err := templateIDs(q)
			if err != nil || pre != nil || suf != nil {
				return pre, suf, err
			}
		}
		return nil, nil, nil
	case "TemplateProcessing":
	default:
		return nil, nil, fmt.Errorf("type %q is not supported, expected TemplateProcessing, ByteLevel or a Sequence of them", p.Type)
	}
	seen := false
	for _, piece := range p.Single {
		switch {
		case piece.Sequence != nil:
			seen = true
		case piece.SpecialToken != nil:
			st, ok := p.SpecialTokens[piece.SpecialToken.ID]
			if !ok {
				return nil, nil, fmt.Errorf("single names special token %q, which special_tokens does not list", piece.SpecialToken.ID)
			}
			if seen {
				suffix = append(suffix, st.IDs...)
			} else {
				prefix = append(prefix, st.IDs...)
			}
		}
	}
	return prefix, suffix, nil
}
