package checkpoint

import (
	"fmt"
	"slices"

	"github.com/sinktrain/sinktrain/data/tokenizer"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// AddSinks gives m k more sink tokens, named sinktoken.TokenName(i) for i
// continuing after the model's existing sinks, and returns the edited
// tokenizer.json (nil when tokJSON is nil).
//
// Ids: a sink the tokenizer already has (as an added token or in its
// vocabulary) keeps its id; the others take the tokenizer's first unused
// ids (without a tokenizer, the ids after the vocabulary). The vocabulary
// grows only as far as needed: a Pythia tokenizer of 50277 tokens puts its
// sinks in the model's padding rows (vocab 50304), a model whose tokenizer
// fills the vocabulary grows by k. Every sink's row of the token embedding
// and of an untied LM head (embed_out, lm_head), and every new row, is set
// to the mean row of the old matrix; a tied head is the embedding and
// follows it.
// config vocab_size and the sink lists are updated; tokenizer.json gets
// added_tokens entries with special: true, edited through data/tokenizer
// (Parse, AddSpecialTokens, MarshalJSON: the file comes back in that
// package's canonical form).
func AddSinks(m *Model, tokJSON []byte, k int) ([]byte, error) {
	if err := CheckAddSinks(k); err != nil {
		return nil, err
	}
	if k == 0 {
		return tokJSON, nil
	}
	cfg := m.Config
	if n := len(cfg.SinkIDs) + k; n > sinktoken.MaxSinks {
		return nil, fmt.Errorf("the model has %d sinks; %d more would make %d, above the limit of %d sinks per model", len(cfg.SinkIDs), k, n, sinktoken.MaxSinks)
	}
	if err := m.Weights.Check(cfg); err != nil {
		return nil, err
	}
	first := len(cfg.SinkIDs)
	names := make([]string, k)
	for i := range names {
		names[i] = sinktoken.TokenName(first + i)
		if slices.Contains(cfg.SinkTokens, names[i]) {
			return nil, fmt.Errorf("%s is already a sink of this model", names[i])
		}
	}
	ids := make([]int, k)
	var tok *tokenizer.Tokenizer
	if tokJSON == nil {
		for i := range ids {
			ids[i] = cfg.VocabSize + i
		}
	} else {
		var err error
		if tok, err = tokenizer.Parse(tokJSON); err != nil {
			return nil, err
		}
		for id := cfg.VocabSize; id < tok.VocabSize(); id++ {
			if name, ok := tok.Token(int32(id)); ok && !slices.Contains(names, name) {
				return nil, fmt.Errorf("tokenizer.json has token %q with id %d, but the model's vocab_size is %d: tokenizer and model do not match", name, id, cfg.VocabSize)
			}
		}
		// A sink the tokenizer has keeps its id; the others take its first
		// unused ids.
		for i, id := range tok.AddSpecialTokens(names...) {
			ids[i] = int(id)
		}
	}
	for i, id := range ids {
		if slices.Contains(cfg.SinkIDs, id) || slices.Contains(ids[:i], id) {
			return nil, fmt.Errorf("%s would get id %d, which is already a sink", names[i], id)
		}
	}
	newV := max(cfg.VocabSize, slices.Max(ids)+1)
	for _, r := range []model.Role{model.TokenEmbd, model.Output} {
		if name := cfg.TensorName(r, -1); name != "" { // no Output when tied
			m.Weights[name] = growRows(m.Weights[name], newV, ids)
		}
	}
	cfg.VocabSize = newV
	cfg.SinkTokens = append(slices.Clone(cfg.SinkTokens), names...)
	cfg.SinkIDs = append(slices.Clone(cfg.SinkIDs), ids...)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m.Config = cfg
	if m.Sinktrain != nil {
		m.Sinktrain.SinkTokens, m.Sinktrain.SinkIDs = cfg.SinkTokens, cfg.SinkIDs
	}
	if tok == nil {
		return nil, nil
	}
	return tok.MarshalJSON()
}

// growRows returns t ([V, D]) grown to [newV, D], with the new rows and
// the rows in reset set to the mean of t's rows.
func growRows(t *model.Tensor, newV int, reset []int) *model.Tensor {
	v, d := t.Shape[0], t.Shape[1]
	mean := make([]float64, d) // [D]
	for r := 0; r < v; r++ {
		for j, x := range t.Data[r*d : (r+1)*d] {
			mean[j] += float64(x)
		}
	}
	row := make([]float32, d)
	for j := range row {
		row[j] = float32(mean[j] / float64(v))
	}
	out := model.NewTensor(newV, d)
	copy(out.Data, t.Data)
	for r := v; r < newV; r++ {
		copy(out.Data[r*d:], row)
	}
	for _, r := range reset {
		copy(out.Data[r*d:], row)
	}
	return out
}
