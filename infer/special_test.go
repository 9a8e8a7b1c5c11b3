package infer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSpecialIDs: for every tokenizer family fixture, the post-processor's
// ids are what HF adds with add_special_tokens=True (encodings.json:
// ids_special = prefix + ids + suffix for every text).
func TestSpecialIDs(t *testing.T) {
	for fam, wantPrefix := range map[string][]int32{"llama2": {1}, "mistral": {1}, "llama3": {600}, "qwen2": nil, "falcon": nil} {
		dir := filepath.Join(fixtures, "tokenizers", fam)
		pre, suf, err := specialIDs(filepath.Join(dir, "tokenizer.json"))
		if err != nil {
			t.Fatalf("%s: %v", fam, err)
		}
		if !slices.Equal(pre, wantPrefix) || suf != nil {
			t.Errorf("%s: prefix %v suffix %v, want %v and none", fam, pre, suf, wantPrefix)
		}
		b, err := os.ReadFile(filepath.Join(dir, "encodings.json"))
		if err != nil {
			t.Fatal(err)
		}
		var encs []struct {
			Text       string  `json:"text"`
			IDs        []int32 `json:"ids"`
			IDsSpecial []int32 `json:"ids_special"`
		}
		if err := json.Unmarshal(b, &encs); err != nil {
			t.Fatal(err)
		}
		for _, e := range encs {
			if want := append(append(slices.Clone(pre), e.IDs...), suf...); !slices.Equal(e.IDsSpecial, want) {
				t.Errorf("%s %q: HF's special encoding %v, prefix+ids+suffix %v", fam, e.Text, e.IDsSpecial, want)
			}
		}
	}
	// A post-processor this reader does not know is refused by name.
	p := filepath.Join(t.TempDir(), "tokenizer.json")
	must(t, os.WriteFile(p, []byte(`{"post_processor":{"type":"RobertaProcessing"}}`), 0o644))
	if _, _, err := specialIDs(p); err == nil || !strings.Contains(err.Error(), `post_processor: type "RobertaProcessing" is not supported`) {
		t.Errorf("RobertaProcessing: %v", err)
	}
}
