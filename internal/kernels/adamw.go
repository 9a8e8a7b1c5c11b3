package kernels

import (
	"fmt"
	"math"
)

// AdamWCoeffs are the per-step constants of one AdamW update (see AdamW).
type AdamWCoeffs struct {
	Scale        float32 // gradient scale (the global-norm clip), 1 for none
	Beta1, Beta2 float32
	Shrink       float32 // decoupled weight decay factor 1 − lr·wd (1: no decay)
	StepSize     float32 // lr / (1 − β1^t)
	InvSqrtBC2   float32 // 1 / sqrt(1 − β2^t)
	Eps          float32
}

// AdamW applies one in-place AdamW update (PyTorch's torch.optim.AdamW) to
// weights w with gradients g and moments m, v:
//
//	g' = Scale·g;  m = β1·m + (1−β1)·g';  v = β2·v + (1−β2)·g'²
//	w  = Shrink·w − StepSize·m / (sqrt(v)·InvSqrtBC2 + Eps)
//
// in one pass. It reports whether every updated weight is finite.
func AdamW(w, g, m, v []float32, c AdamWCoeffs) (bool, error) {
	if len(g) != len(w) || len(m) != len(w) || len(v) != len(w) {
		return false, fmt.Errorf("AdamW: lengths w %d, g %d, m %d, v %d, expected equal", len(w), len(g), len(m), len(v))
	}
	if len(w) == 0 {
		return true, nil
	}
	return adamW32(w, g, m, v, c), nil
}

// adamWGo is the pure-Go AdamW.
func adamWGo(w, g, m, v []float32, c AdamWCoeffs) bool {
	ob1, ob2 := 1-c.Beta1, 1-c.Beta2
	var check float32 // accumulates w−w: 0 unless some w is NaN or ±Inf
	for i, gi := range g {
		gi *= c.Scale
		mi := c.Beta1*m[i] + ob1*gi
		vi := c.Beta2*v[i] + ob2*gi*gi
		m[i], v[i] = mi, vi
		wi := w[i]*c.Shrink - c.StepSize*mi/(float32(math.Sqrt(float64(vi)))*c.InvSqrtBC2+c.Eps)
		w[i] = wi
		check += wi - wi
	}
	return check == 0
}
