package study

import "github.com/sinktrain/sinktrain/infer"

// inspLoadTokens reads the analysed stream exactly as eval stream builds
// it (ids verbatim, text tokenized with the model's tokenizer and its sinks
// prepended) and returns its first o.Tokens tokens.
func inspLoadTokens(o *InspectOptions, m *infer.Model) ([]int32, error) {
	src := Source{Text: o.Text, IDs: o.IDs, MaxTokens: o.Tokens}
	s, closeStream, err := src.Open(o.Model, m)
	if err != nil {
		return nil, err
	}
	defer closeStream()
	return readPrefix(s, min(s.Len(), o.Tokens))
}
