package model

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/sinktrain/sinktrain/internal/input"
)

// object is one JSON object of a config.json (the top level, or a nested
// one like MPT's attn_config), read field by field so that every error names
// the field as the file spells it.
type object struct {
	prefix string // "attn_config." for a nested object, "" at the top
	m      map[string]json.RawMessage
}

func parseObject(b []byte, prefix string) (object, error) {
	o := object{prefix: prefix}
	if err := json.Unmarshal(b, &o.m); err != nil {
		if prefix != "" {
			return o, fmt.Errorf("%s: %w", prefix[:len(prefix)-1], input.JSON(err))
		}
		return o, input.JSON(err)
	}
	if o.m == nil {
		return o, fmt.Errorf("%sexpected a JSON object", prefix)
	}
	return o, nil
}

// has reports whether name is present and not null.
func (o object) has(name string) bool {
	raw, ok := o.m[name]
	return ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// get decodes name into dst when present and not null (dst keeps its
// default otherwise).
func (o object) get(name string, dst any) error {
	if !o.has(name) {
		return nil
	}
	if err := json.Unmarshal(o.m[name], dst); err != nil {
		return fmt.Errorf("%s%s = %s, expected %s", o.prefix, name, short(o.m[name]), kind(dst))
	}
	return nil
}

// require is get for a field that must be present.
func (o object) require(name string, dst any) error {
	if !o.has(name) {
		return fmt.Errorf("required field %s%s is missing", o.prefix, name)
	}
	return o.get(name, dst)
}

// getAny reads the first present of names (a field and its aliases).
func (o object) getAny(dst any, names ...string) error {
	for _, n := range names {
		if o.has(n) {
			return o.get(n, dst)
		}
	}
	return nil
}

// requireAny is getAny for a field that must be present under one name.
func (o object) requireAny(dst any, names ...string) error {
	for _, n := range names {
		if o.has(n) {
			return o.get(n, dst)
		}
	}
	return fmt.Errorf("required field %s%s is missing", o.prefix, names[0])
}

// sub returns the nested object name (ok false when absent or null).
func (o object) sub(name string) (object, bool, error) {
	if !o.has(name) {
		return object{}, false, nil
	}
	s, err := parseObject(o.m[name], o.prefix+name+".")
	return s, err == nil, err
}

// tokenID reads a token id field that may be an integer, a list of integers
// (the first is the id, all go to list when list is non-nil) or null (-1).
func (o object) tokenID(name string, dst *int, list *[]int) error {
	raw, ok := o.m[name]
	if !ok {
		return nil
	}
	if !o.has(name) {
		*dst = -1
		return nil
	}
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		*dst = one
		return nil
	}
	var many []int
	if err := json.Unmarshal(raw, &many); err != nil || len(many) == 0 {
		return fmt.Errorf("%s%s = %s, expected a token id or a non-empty list of ids", o.prefix, name, short(raw))
	}
	*dst = many[0]
	if list != nil {
		*list = many
	}
	return nil
}

// refuseTrue refuses a boolean field that is present and true.
func (o object) refuseTrue(name, why string) error {
	var v bool
	if err := o.get(name, &v); err != nil {
		return err
	}
	if v {
		return fmt.Errorf("%s%s = true is not supported (%s), expected false", o.prefix, name, why)
	}
	return nil
}

func short(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

func kind(dst any) string {
	switch dst.(type) {
	case *int:
		return "an integer"
	case *float64:
		return "a number"
	case *bool:
		return "true or false"
	case *string:
		return "a string"
	case *[]string:
		return "a list of strings"
	case *[]int:
		return "a list of integers"
	}
	return "a JSON value of the documented type"
}
