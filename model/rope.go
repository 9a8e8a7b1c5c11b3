package model

import (
	"fmt"
	"math"
)

// RopeScaling is config.json's rope_scaling (transformers 4.x) or the
// scaling keys of rope_parameters (5.x). Type "" means none.
type RopeScaling struct {
	Type   string  // "", "linear" or "llama3"
	Factor float64 // linear: positions divided by Factor; llama3: low frequencies divided by Factor
	// llama3 only: wavelengths longer than OriginalMaxPositionEmbeddings /
	// LowFreqFactor are scaled, shorter than … / HighFreqFactor kept, and
	// those between interpolated.
	LowFreqFactor, HighFreqFactor float64
	OriginalMaxPositionEmbeddings int
}

// parseRope reads RoPE theta, scaling and (when partial is set, GPT-NeoX)
// the rotated fraction from the classic fields thetaNames / rotary_pct /
// rope_scaling and from transformers 5's rope_parameters (which wins).
func parseRope(o object, c *Config, partial bool, thetaNames ...string) error {
	if err := o.getAny(&c.RotaryBase, thetaNames...); err != nil {
		return err
	}
	if partial {
		if err := o.get("rotary_pct", &c.RotaryPct); err != nil {
			return err
		}
	}
	if rs, ok, err := o.sub("rope_scaling"); err != nil {
		return err
	} else if ok {
		if err := parseScaling(rs, c); err != nil {
			return err
		}
	}
	rp, ok, err := o.sub("rope_parameters")
	if err != nil || !ok {
		return err
	}
	if err := rp.get("rope_theta", &c.RotaryBase); err != nil {
		return err
	}
	if rp.has("partial_rotary_factor") {
		var f float64
		if err := rp.get("partial_rotary_factor", &f); err != nil {
			return err
		}
		if !partial && f != 1 {
			return fmt.Errorf("rope_parameters.partial_rotary_factor = %v is not supported for model_type %q, expected 1 (full rotary)", f, string(c.Arch))
		}
		c.RotaryPct = f
	}
	return parseScaling(rp, c)
}

// parseScaling reads rope_type (or the older type) and its parameters.
func parseScaling(o object, c *Config) error {
	var typ string
	if err := o.getAny(&typ, "rope_type", "type"); err != nil {
		return err
	}
	key := "rope_type"
	if !o.has(key) {
		key = "type"
	}
	switch typ {
	case "", "default":
		c.RopeScaling = RopeScaling{}
		return nil
	case "linear", "llama3":
	default:
		return fmt.Errorf("%s%s %q is not supported, expected \"default\", \"linear\" or \"llama3\"", o.prefix, key, typ)
	}
	rs := RopeScaling{Type: typ}
	if err := o.require("factor", &rs.Factor); err != nil {
		return err
	}
	if typ == "llama3" {
		if err := o.require("low_freq_factor", &rs.LowFreqFactor); err != nil {
			return err
		}
		if err := o.require("high_freq_factor", &rs.HighFreqFactor); err != nil {
			return err
		}
		if err := o.require("original_max_position_embeddings", &rs.OriginalMaxPositionEmbeddings); err != nil {
			return err
		}
	}
	c.RopeScaling = rs
	return nil
}

// validateRope checks the RoPE fields (named as family s spells them).
func (c Config) validateRope(s *archSpec) error {
	if !(c.RotaryPct > 0 && c.RotaryPct <= 1) || math.IsNaN(c.RotaryPct) {
		return fmt.Errorf("rotary_pct (partial_rotary_factor) = %v, expected a value in (0, 1]", c.RotaryPct)
	}
	if r := c.RotaryDims(); r < 2 || r%2 != 0 {
		return fmt.Errorf("rotary dims int(head_dim %d * rotary_pct %v) = %d, expected an even number >= 2", c.HeadDim(), c.RotaryPct, r)
	}
	if !(c.RotaryBase > 0) {
		return fmt.Errorf("%s = %v, expected > 0", s.field("rotary_emb_base (rope_theta)"), c.RotaryBase)
	}
	rs := c.RopeScaling
	switch rs.Type {
	case "":
		return nil
	case "linear", "llama3":
	default:
		return fmt.Errorf("rope_scaling.rope_type %q is not supported, expected \"default\", \"linear\" or \"llama3\"", rs.Type)
	}
	if !(rs.Factor > 0) {
		return fmt.Errorf("rope_scaling.factor = %v, expected > 0", rs.Factor)
	}
	if rs.Type == "llama3" {
		if !(rs.LowFreqFactor > 0) || !(rs.HighFreqFactor > rs.LowFreqFactor) {
			return fmt.Errorf("rope_scaling low_freq_factor %v, high_freq_factor %v, expected 0 < low < high", rs.LowFreqFactor, rs.HighFreqFactor)
		}
		if rs.OriginalMaxPositionEmbeddings <= 0 {
			return fmt.Errorf("rope_scaling.original_max_position_embeddings = %d, expected > 0", rs.OriginalMaxPositionEmbeddings)
		}
	}
	return nil
}

// InvFreq returns RoPE's inverse frequencies [rot/2] exactly as transformers
// computes them, in float32: base^(−2i/rot) (ROPE_INIT_FUNCTIONS "default"),
// divided by factor ("linear"), or Llama 3's wavelength-dependent blend
// ("llama3"). The model was trained with these float32 values; the angles
// p·inv_freq are left to the caller (in float64, so that a stream position
// of millions keeps its precision).
func (c Config) InvFreq() []float64 {
	rot := c.RotaryDims()
	inv := make([]float32, rot/2)
	for i := range inv {
		e := float32(2*i) / float32(rot)
		inv[i] = float32(1 / float64(float32(math.Pow(c.RotaryBase, float64(e)))))
	}
	rs := c.RopeScaling
	switch rs.Type {
	case "linear":
		f := float32(rs.Factor)
		for i := range inv {
			inv[i] /= f
		}
	case "llama3":
		factor, low, high := float32(rs.Factor), float32(rs.LowFreqFactor), float32(rs.HighFreqFactor)
		old := float32(rs.OriginalMaxPositionEmbeddings)
		lowWave, highWave := float32(float64(rs.OriginalMaxPositionEmbeddings)/rs.LowFreqFactor), float32(float64(rs.OriginalMaxPositionEmbeddings)/rs.HighFreqFactor)
		for i, f := range inv {
			wave := float32(2*math.Pi) / f
			scaled := f
			if wave > lowWave {
				scaled = f / factor
			}
			if !(wave < highWave) && !(wave > lowWave) {
				smooth := (old/wave - low) / (high - low)
				scaled = (1-smooth)*scaled/factor + smooth*scaled
			}
			inv[i] = scaled
		}
	}
	out := make([]float64, len(inv))
	for i, f := range inv {
		out[i] = float64(f)
	}
	return out
}
