package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPresetsValidate(t *testing.T) {
	for _, p := range []string{"tiny", "small", "reference"} {
		if _, err := Resolve(Defaults(), p, nil); err != nil {
			t.Errorf("preset %s: %v", p, err)
		}
	}
	c, _ := Resolve(Defaults(), "reference", nil)
	if c.HiddenSize != 256 || c.NumLayers != 4 || c.NumHeads != 4 || c.Model(4096, nil).IntermediateSize != 1024 ||
		c.BlockSize != 256 || c.Batch != 32 || c.LR != 1e-3 || c.Betas != [2]float64{0.9, 0.95} || c.Warmup != 100 {
		t.Errorf("reference preset = %+v", c)
	}
}

func TestPrecedence(t *testing.T) {
	c, err := Resolve(Defaults(), "tiny", []string{"batch=3", "betas=0.8,0.99", "parallel_residual=false", "max_tokens=1e6", "attention=softmax1", "seed=7"})
	if err != nil {
		t.Fatal(err)
	}
	if c.HiddenSize != 64 || c.Batch != 3 || c.Betas != [2]float64{0.8, 0.99} || c.ParallelResidual ||
		c.MaxTokens != 1000000 || c.Attention != "softmax1" || c.Seed != 7 || c.GradAccum != 1 {
		t.Errorf("got %+v", c)
	}
	// max_tokens wins over max_steps.
	if got, want := c.Steps(), (1000000+3*64-1)/(3*64); got != want {
		t.Errorf("Steps() = %d, want %d", got, want)
	}
	// A preset given as a path.
	p := filepath.Join(t.TempDir(), "my.json")
	os.WriteFile(p, []byte(`{"batch": 5, "lr": 0.01}`), 0o644)
	c, err = Resolve(Defaults(), p, []string{"lr=0.02"})
	if err != nil || c.Batch != 5 || c.LR != 0.02 || c.HiddenSize != 256 {
		t.Errorf("path preset: %+v %v", c, err)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	cases := []struct {
		preset string
		sets   []string
		want   string
	}{
		{"", []string{"bacth=3"}, `unknown config key "bacth"`},
		{"", []string{"batch=three"}, `config key batch: "three" is not an integer`},
		{"", []string{"batch=1.5"}, `is not an integer`},
		{"", []string{"parallel_residual=maybe"}, `is not a boolean`},
		{"", []string{"betas=0.9"}, `is not 2 comma-separated numbers`},
		{"", []string{"batch"}, `expected key=value`},
		{"", []string{"batch=0"}, `batch = 0, expected a positive integer`},
		{"", []string{"block_size=-4"}, `block_size = -4, expected a positive integer`},
		{"", []string{"hidden_size=0"}, `hidden_size = 0, expected a positive integer`},
		{"", []string{"sinks=-1"}, `sinks = -1, expected >= 0`},
		{"", []string{"attention=linear"}, `attention "linear" is not supported`},
		{"", []string{"decay=step"}, `decay = "step"`},
		{"", []string{"hidden_size=250"}, `not divisible`},
		{"", []string{"max_steps=0"}, `both 0`},
		{"", []string{"lr=0"}, `lr = 0, expected > 0`},
		{"", []string{"min_lr=1"}, `min_lr = 1, expected in`},
		{"nonesuch", nil, `no such preset`},
		{write("bad1.json", `{"bach": 3}`), nil, `unknown config key "bach"`},
		{write("bad2.json", `{"batch": "3"}`), nil, `key batch: "3" is not an integer`},
		{write("bad3.json", `{"betas": 0.9}`), nil, `key betas: 0.9 is not a list of 2 numbers`},
		{write("bad4.json", `{"batch": -1}`), nil, `batch = -1`},
	}
	for _, tc := range cases {
		_, err := Resolve(Defaults(), tc.preset, tc.sets)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s %v: error %v, want one line containing %q", tc.preset, tc.sets, err, tc.want)
		}
	}
}
