package study

import "github.com/sinktrain/sinktrain/infer"

// inspLoadTokens reads the analysed stream exactly as eval stream builds
// it (--ids verbatim, --text tokenized with the model's tokenizer and its
// sinks prepended) and returns its first o.Tokens tokens and a source label.
func inspLoadTokens(o *InspectOptions, m *infer.Model) ([]int32, string, error) {
	eo := &infer.EvalOptions{Model: o.Model, Text: o.Text, IDs: o.IDs, MaxTokens: o.Tokens}
	s, closeStream, err := eo.Stream(m)
	if err != nil {
		return nil, "", err
	}
	defer closeStream()
	src := o.Text + o.IDs
	return s.Window(0, min(s.Len(), o.Tokens), nil), src, nil
}
