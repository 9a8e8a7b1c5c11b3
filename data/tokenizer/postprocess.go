package tokenizer

import (
	"encoding/json"
	"fmt"
)

// tokPost is what the post-processor does to the ids of a single sequence
// with add_special_tokens=True: ids before and after them. (Without special
// tokens every supported post-processor leaves the ids as they are; pair
// templates are read and checked but never applied.)
type tokPost struct {
	prefix, suffix []int32
}

// tokParsePostProcessor reads the post-processor: null, TemplateProcessing,
// BertProcessing, RobertaProcessing, ByteLevel (no change to ids) or a
// Sequence of them in which at most one adds ids.
func tokParsePostProcessor(m json.RawMessage) (tokPost, error) {
	var p tokPost
	if tokIsNull(m) {
		return p, nil
	}
	adds, err := p.parse(m, "post_processor")
	if adds > 1 {
		return p, fmt.Errorf("post_processor: a Sequence with more than one processor that adds tokens is not supported")
	}
	return p, err
}

// parse reads the processor at path into p and returns how many
// processors in it add tokens.
func (p *tokPost) parse(m json.RawMessage, path string) (int, error) {
	o, err := tokParseObj(m, path)
	if err != nil {
		return 0, err
	}
	typ, err := o.typ()
	if err != nil {
		return 0, err
	}
	switch typ {
	case "ByteLevel":
		return 0, nil
	case "Sequence":
		list, err := o.list("processors")
		if err != nil {
			return 0, err
		}
		adds := 0
		for i, x := range list {
			n, err := p.parse(x, fmt.Sprintf("%s[%d]", o.at("processors"), i))
			if err != nil {
				return 0, err
			}
			adds += n
		}
		return adds, nil
	case "BertProcessing", "RobertaProcessing":
		cls, err := tokParseIDPair(o, "cls")
		if err != nil {
			return 0, err
		}
		sep, err := tokParseIDPair(o, "sep")
		if err != nil {
			return 0, err
		}
		p.prefix, p.suffix = []int32{cls}, []int32{sep}
		return 1, nil
	case "TemplateProcessing":
		return 1, p.parseTemplate(o)
	}
	return 0, o.unsupported(typ, "null, TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel or a Sequence of them")
}

// tokParseIDPair reads a ["token", id] field of Bert/RobertaProcessing.
func tokParseIDPair(o tokObj, key string) (int32, error) {
	var pair struct {
		Token string
		ID    int64
	}
	var raw []json.RawMessage
	if !o.has(key) || json.Unmarshal(o.m[key], &raw) != nil || len(raw) != 2 ||
		json.Unmarshal(raw[0], &pair.Token) != nil || json.Unmarshal(raw[1], &pair.ID) != nil ||
		pair.ID < 0 || pair.ID >= tokMaxID {
		return 0, fmt.Errorf("%s: want [\"token\", id] with 0 <= id < %d", o.at(key), tokMaxID)
	}
	return int32(pair.ID), nil
}

// tokTemplatePiece is an entry of a template: {"Sequence": {"id": "A",
// "type_id": 0}} or {"SpecialToken": {"id": "<s>", "type_id": 0}}.
type tokTemplatePiece struct {
	Sequence *struct {
		ID     string `json:"id"`
		TypeID uint32 `json:"type_id"`
	} `json:"Sequence"`
	SpecialToken *struct {
		ID     string `json:"id"`
		TypeID uint32 `json:"type_id"`
	} `json:"SpecialToken"`
}

// parseTemplate reads TemplateProcessing: single must hold sequence A
// exactly once and only special tokens besides; every special token used
// must be in special_tokens.
func (p *tokPost) parseTemplate(o tokObj) error {
	var specials map[string]struct {
		ID  string  `json:"id"`
		IDs []int64 `json:"ids"`
	}
	if !o.has("special_tokens") || json.Unmarshal(o.m["special_tokens"], &specials) != nil {
		return fmt.Errorf("%s: want an object of {\"id\", \"ids\", \"tokens\"}", o.at("special_tokens"))
	}
	for _, key := range []string{"single", "pair"} {
		var pieces []tokTemplatePiece
		if !o.has(key) || json.Unmarshal(o.m[key], &pieces) != nil {
			return fmt.Errorf("%s: want a list of {\"Sequence\": ...} and {\"SpecialToken\": ...}", o.at(key))
		}
		seen := 0
		var before, after []int32
		for i, pc := range pieces {
			at := fmt.Sprintf("%s[%d]", o.at(key), i)
			switch {
			case pc.Sequence != nil && pc.SpecialToken == nil:
				if id := pc.Sequence.ID; id != "A" && id != "B" {
					return fmt.Errorf("%s.Sequence.id %q: want A or B", at, id)
				}
				if key == "single" && pc.Sequence.ID != "A" {
					return fmt.Errorf("%s.Sequence.id %q: a single template can only use A", at, pc.Sequence.ID)
				}
				seen++
			case pc.SpecialToken != nil && pc.Sequence == nil:
				sp, ok := specials[pc.SpecialToken.ID]
				if !ok {
					return fmt.Errorf("%s.SpecialToken.id %q is not in %s", at, pc.SpecialToken.ID, o.at("special_tokens"))
				}
				for _, id := range sp.IDs {
					if id < 0 || id >= tokMaxID {
						return fmt.Errorf("%s[%q].ids: id %d out of range [0, %d)", o.at("special_tokens"), pc.SpecialToken.ID, id, tokMaxID)
					}
					if seen == 0 {
						before = append(before, int32(id))
					} else {
						after = append(after, int32(id))
					}
				}
			default:
				return fmt.Errorf("%s: want {\"Sequence\": ...} or {\"SpecialToken\": ...}", at)
			}
		}
		if key == "single" {
			if seen != 1 {
				return fmt.Errorf("%s: want sequence A exactly once, found %d sequences", o.at(key), seen)
			}
			p.prefix, p.suffix = before, after
		}
	}
	return nil
}
