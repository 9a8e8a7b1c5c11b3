package infer

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/sinktrain/sinktrain/data/tokenizer"
	"github.com/sinktrain/sinktrain/model"
)

// TestStreamAffixes: a stream starts with the model's sinks, then the BOS
// the tokenizer family's post-processor adds (HF add_special_tokens=True):
// Llama-2 and Mistral <s> (1), Llama-3 <|begin_of_text|> (600), none for
// Qwen2 and Falcon; no tokenizer, only the sinks.
func TestStreamAffixes(t *testing.T) {
	cfg := model.NewLlama(700, 16, 1, 2, 1, 32, true)
	cfg.SinkTokens, cfg.SinkIDs = []string{"<|sink_0|>", "<|sink_1|>"}, []int{650, 651}
	m, err := NewModel(cfg, model.Init(cfg, 1))
	if err != nil {
		t.Fatal(err)
	}
	for fam, bos := range map[string][]int32{"llama2": {1}, "mistral": {1}, "llama3": {600}, "qwen2": nil, "falcon": nil} {
		tok, err := tokenizer.Load(filepath.Join(fixtures, "tokenizers", fam, "tokenizer.json"))
		if err != nil {
			t.Fatal(err)
		}
		start, end := StreamAffixes(tok, m)
		if want := append([]int32{650, 651}, bos...); !slices.Equal(start, want) || end != nil {
			t.Errorf("%s: start %v end %v, want %v and nothing", fam, start, end, want)
		}
	}
	if start, end := StreamAffixes(nil, m); !slices.Equal(start, []int32{650, 651}) || end != nil {
		t.Errorf("no tokenizer: start %v end %v", start, end)
	}
}
