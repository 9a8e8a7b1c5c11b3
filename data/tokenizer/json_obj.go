package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// tokObj is one JSON object of tokenizer.json (a normalizer, pre-tokenizer,
// decoder, post-processor or part of one), read field by field so that an
// error names the field as a path from the top of the file
// ("pre_tokenizer.pretokenizers[1].behavior"). Fields it is not asked
// about are ignored, as Hugging Face tokenizers ignores them.
type tokObj struct {
	path string
	m    map[string]json.RawMessage
}

// tokParseObj reads raw, which must be a JSON object, found at path.
func tokParseObj(raw json.RawMessage, path string) (tokObj, error) {
	o := tokObj{path: path}
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) && json.Unmarshal(raw, &o.m) == nil {
		return o, nil
	}
	return o, fmt.Errorf("%s: want a JSON object", path)
}

// at is the path of one of o's fields.
func (o tokObj) at(key string) string { return o.path + "." + key }

// has reports whether o has key with a value other than null.
func (o tokObj) has(key string) bool { return !tokIsNull(o.m[key]) }

// typ returns o's "type", which must be a string.
func (o tokObj) typ() (string, error) {
	if !o.has("type") {
		return "", fmt.Errorf("%s: missing", o.at("type"))
	}
	return o.str("type")
}

// str returns the string field key, which must be present.
func (o tokObj) str(key string) (string, error) {
	var s string
	if !o.has(key) || json.Unmarshal(o.m[key], &s) != nil {
		return "", fmt.Errorf("%s: want a string", o.at(key))
	}
	return s, nil
}

// strOr returns the string field key, or def when it is absent or null.
func (o tokObj) strOr(key, def string) (string, error) {
	if !o.has(key) {
		return def, nil
	}
	return o.str(key)
}

// boolOr returns the boolean field key, or def when it is absent or null.
func (o tokObj) boolOr(key string, def bool) (bool, error) {
	if !o.has(key) {
		return def, nil
	}
	var b bool
	if json.Unmarshal(o.m[key], &b) != nil {
		return false, fmt.Errorf("%s: want true or false", o.at(key))
	}
	return b, nil
}

// boolReq returns the boolean field key, which must be present.
func (o tokObj) boolReq(key string) (bool, error) {
	if !o.has(key) {
		return false, fmt.Errorf("%s: missing (want true or false)", o.at(key))
	}
	return o.boolOr(key, false)
}

// uint returns the non-negative integer field key, which must be present.
func (o tokObj) uint(key string) (int, error) {
	var n int
	if !o.has(key) || json.Unmarshal(o.m[key], &n) != nil || n < 0 || n > tokMaxID {
		return 0, fmt.Errorf("%s: want an integer in [0, %d]", o.at(key), tokMaxID)
	}
	return n, nil
}

// list returns the elements of the list field key, which must be present.
func (o tokObj) list(key string) ([]json.RawMessage, error) {
	var l []json.RawMessage
	if !o.has(key) || json.Unmarshal(o.m[key], &l) != nil {
		return nil, fmt.Errorf("%s: want a list", o.at(key))
	}
	return l, nil
}

// char returns the field key, which must be a string of one character.
func (o tokObj) char(key string) (string, error) {
	s, err := o.str(key)
	if err != nil || len([]rune(s)) != 1 {
		return "", fmt.Errorf("%s: want a string of one character", o.at(key))
	}
	return s, nil
}

// unsupported is the error for a type that is not implemented.
func (o tokObj) unsupported(typ, want string) error {
	return fmt.Errorf("%s %q is not supported (want %s)", o.at("type"), typ, want)
}
