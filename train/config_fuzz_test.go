package train

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzTrainConfig applies arbitrary JSON as a config file (--config FILE):
// no panic, one-line errors, and a config that validates has a positive
// step size and step count and survives JSON -> ApplyJSON unchanged.
func FuzzTrainConfig(f *testing.F) {
	for _, p := range Presets() {
		c := Defaults()
		if err := c.ApplyPreset(p); err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(c.JSON()))
	}
	f.Add([]byte(`{"hidden_size": 64, "betas": [0.9, 0.95], "attention": "softmax1", "max_tokens": 1e6}`))
	f.Add([]byte(`{"block_size": 4611686018427387904, "sinks": 4611686018427387904}`))
	f.Add([]byte(`{"unknown": 1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := Defaults()
		if err := c.ApplyJSON("fuzz.json", b); err != nil {
			oneLine(t, err)
			return
		}
		checkConfig(t, c)
	})
}

// FuzzConfigSet applies one arbitrary --set key=value override.
func FuzzConfigSet(f *testing.F) {
	for _, s := range []string{"lr=3e-4", "betas=0.9,0.95", "parallel_residual=false", "max_steps=1_000",
		"batch=1e3", "attention=sink_logit", "seed=18446744073709551615", "block_size=-1", "sinks=9e18", "x=1", "="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := Defaults()
		if err := c.SetAll([]string{s}); err != nil {
			oneLine(t, err)
			return
		}
		checkConfig(t, c)
	})
}

func oneLine(t *testing.T, err error) {
	t.Helper()
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("multi-line error %q", err)
	}
}

// checkConfig validates c and checks what the trainer relies on.
func checkConfig(t *testing.T, c Config) {
	t.Helper()
	if err := c.Validate(); err != nil {
		oneLine(t, err)
		return
	}
	if c.TokensPerStep() <= 0 || c.Steps() <= 0 {
		t.Fatalf("valid config with %d tokens per step, %d steps: %+v", c.TokensPerStep(), c.Steps(), c)
	}
	if c.Sinks+c.BlockSize > c.MaxPositions || c.Sinks+c.BlockSize <= 0 {
		t.Fatalf("valid config with sinks %d + block_size %d beyond max_position_embeddings %d", c.Sinks, c.BlockSize, c.MaxPositions)
	}
	back := Defaults()
	if err := back.ApplyJSON("round trip", c.JSON()); err != nil {
		t.Fatalf("re-apply %s: %v", c.JSON(), err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("config changed in a JSON round trip:\n%+v\n%+v", c, back)
	}
}
