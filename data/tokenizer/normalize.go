package tokenizer

import (
	"encoding/json"
	"fmt"

	"golang.org/x/text/unicode/norm"
)

// tokNormStep is one normalizer of tokenizer.json's "normalizer" (a
// Sequence is flattened into its steps).
type tokNormStep struct {
	kind    int       // tokNorm*
	form    norm.Form // tokNormUnicode
	text    string    // tokNormPrepend: the prefix; tokNormReplace: the content
	pattern *tokRegex // tokNormReplace
}

const (
	tokNormUnicode = iota // NFC, NFD, NFKC, NFKD
	tokNormPrepend        // Prepend: the prefix before a non-empty text
	tokNormReplace        // Replace: every match of a pattern by a content
)

// tokNormalize applies the steps to s, as Hugging Face's normalizers do.
func tokNormalize(steps []tokNormStep, s string, st *bpeState) string {
	for i := range steps {
		n := &steps[i]
		switch n.kind {
		case tokNormUnicode:
			s = n.form.String(s)
		case tokNormPrepend:
			if s != "" {
				s = n.text + s
			}
		case tokNormReplace:
			s = n.pattern.replaceAll(s, n.text, st)
		}
	}
	return s
}

// tokParseNormalizer reads a normalizer: null, NFC, NFD, NFKC, NFKD,
// Prepend, Replace or a Sequence of them.
func tokParseNormalizer(m json.RawMessage, path string) ([]tokNormStep, error) {
	if tokIsNull(m) {
		return nil, nil
	}
	o, err := tokParseObj(m, path)
	if err != nil {
		return nil, err
	}
	typ, err := o.typ()
	if err != nil {
		return nil, err
	}
	forms := map[string]norm.Form{"NFC": norm.NFC, "NFD": norm.NFD, "NFKC": norm.NFKC, "NFKD": norm.NFKD}
	if f, ok := forms[typ]; ok {
		return []tokNormStep{{kind: tokNormUnicode, form: f}}, nil
	}
	switch typ {
	case "Prepend":
		p, err := o.str("prepend")
		return []tokNormStep{{kind: tokNormPrepend, text: p}}, err
	case "Replace":
		if !o.has("pattern") {
			return nil, fmt.Errorf("%s: missing", o.at("pattern"))
		}
		pat, err := tokParsePattern(o.m["pattern"], o.at("pattern"))
		if err != nil {
			return nil, err
		}
		content, err := o.str("content")
		return []tokNormStep{{kind: tokNormReplace, text: content, pattern: pat}}, err
	case "Sequence":
		list, err := o.list("normalizers")
		if err != nil {
			return nil, err
		}
		var steps []tokNormStep
		for i, n := range list {
			s, err := tokParseNormalizer(n, fmt.Sprintf("%s[%d]", o.at("normalizers"), i))
			if err != nil {
				return nil, err
			}
			steps = append(steps, s...)
		}
		return steps, nil
	}
	return nil, o.unsupported(typ, "null, NFC, NFD, NFKC, NFKD, Prepend, Replace or a Sequence of them")
}
