package input

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestJSON(t *testing.T) {
	type rope struct {
		Theta *float64 `json:"rope_theta"`
	}
	type hfConfig struct {
		Hidden *int     `json:"hidden_size"`
		Arch   []string `json:"architectures"`
		Rope   *rope    `json:"rope_parameters"`
	}
	for _, c := range []struct{ in, want string }{
		{`{"hidden_size": "two"}`, "field hidden_size: a JSON string is not an integer"},
		{`{"hidden_size": 1.5}`, "field hidden_size: a JSON number 1.5 is not an integer"},
		{`{"architectures": "x"}`, "field architectures: a JSON string is not a list"},
		{`{"rope_parameters": {"rope_theta": true}}`, "field rope_parameters.rope_theta: a JSON bool is not a number"},
		{`[1]`, "a JSON array is not an object"},
		{`{"hidden_size": 6`, "unexpected end of JSON input (truncated file?)"},
		{`{"hidden_size": x}`, "invalid JSON at byte 17: invalid character 'x' looking for beginning of value"},
	} {
		var h hfConfig
		err := JSON(json.Unmarshal([]byte(c.in), &h))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.in, err, c.want)
		}
		if strings.Contains(err.Error(), "hfConfig") || strings.Contains(err.Error(), "Go ") {
			t.Errorf("%s: %v names a Go type", c.in, err)
		}
	}
	other := errors.New("other")
	if JSON(other) != other || JSON(nil) != nil {
		t.Error("JSON changed an error that is not from encoding/json")
	}
}
