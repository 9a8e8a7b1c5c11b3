package infer

import (
	"fmt"
	"path/filepath"

	"github.com/sinktrain/sinktrain/data/tokenizer"
)

// LoadTokenizer loads the tokenizer.json of model folder dir and checks it
// against m: its ids fit the vocabulary and the sink tokens have the
// config's sink ids.
func LoadTokenizer(dir string, m *Model) (*tokenizer.Tokenizer, error) {
	return LoadTokenizerFile(filepath.Join(dir, "tokenizer.json"), m)
}

// LoadTokenizerFile is LoadTokenizer for a tokenizer.json at path (one
// given for a model folder that has none).
func LoadTokenizerFile(path string, m *Model) (*tokenizer.Tokenizer, error) {
	tok, err := tokenizer.Load(path)
	if err != nil {
		return nil, err
	}
	if n := tok.VocabSize(); n > m.Config.VocabSize {
		return nil, fmt.Errorf("%s: %d token ids but the model's vocab_size is %d, expected at most that", path, n, m.Config.VocabSize)
	}
	for i, name := range m.Config.SinkTokens {
		if id, ok := tok.TokenID(name); !ok || int(id) != m.Config.SinkIDs[i] {
			return nil, fmt.Errorf("%s: sink token %s has id %d (found %v), expected %d as config.json's sink_ids says", path, name, id, ok, m.Config.SinkIDs[i])
		}
	}
	return tok, nil
}
