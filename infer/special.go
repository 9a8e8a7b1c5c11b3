package infer

import "github.com/sinktrain/sinktrain/data/tokenizer"

// StreamAffixes returns what a text stream of model m starts and ends with,
// as HF's encode(text, add_special_tokens=True) after the model's sinks:
// start = the sinks, then what tok's post-processor puts before a sequence
// (Llama, Mistral: <s>; Llama-3: <|begin_of_text|>), so that the BOS is one
// of the first K stream tokens, the token StreamingLLM keeps for Llama-2;
// end = what it puts after one (usually nothing). A nil tok (a folder
// without tokenizer.json) adds only the sinks.
func StreamAffixes(tok *tokenizer.Tokenizer, m *Model) (start, end []int32) {
	start = m.SinkIDs()
	if tok == nil {
		return start, nil
	}
	return append(start, tok.SpecialPrefix()...), tok.SpecialSuffix()
}
