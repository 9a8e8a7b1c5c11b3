package infer

import (
	"fmt"
	"path/filepath"

	"github.com/sinktrain/sinktrain/data/tokenizer"
)

// textTokenizer is what infer needs from tokenizer.Tokenizer.
type textTokenizer interface {
	Encode(string) []int32
	Decode([]int32) string
	TokenID(string) (int32, bool)
}

// loadModelTokenizer is LoadTokenizer for the commands of this package.
func loadModelTokenizer(dir string, m *Model) (textTokenizer, error) {
	tok, err := LoadTokenizer(dir, m)
	if err != nil {
		return nil, fmt.Errorf("--model %s: %w", dir, err)
	}
	return tok, nil
}

// LoadTokenizer loads the model folder's tokenizer.json and checks it
// against the model: its ids fit the vocabulary and the sink tokens have the
// config's sink ids.
func LoadTokenizer(dir string, m *Model) (*tokenizer.Tokenizer, error) {
	path := filepath.Join(dir, "tokenizer.json")
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
