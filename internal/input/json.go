package input

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// JSON rewords an encoding/json decoding error in the file's terms: a
// type mismatch names the field by its JSON path and the JSON type
// expected, never a Go type ("field hidden_size: a JSON string is not an
// integer"); a syntax error gives its byte offset. Other errors (and nil)
// are returned as is.
func JSON(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fmt.Errorf("a JSON %s is not %s", te.Value, jsonKind(te.Type))
		}
		return fmt.Errorf("field %s: a JSON %s is not %s", te.Field, te.Value, jsonKind(te.Type))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		if se.Error() == "unexpected end of JSON input" {
			return errors.New("unexpected end of JSON input (truncated file?)")
		}
		return fmt.Errorf("invalid JSON at byte %d: %s", se.Offset, se)
	}
	return err
}

// jsonKind names the JSON type a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "the expected type"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "the expected type"
}
