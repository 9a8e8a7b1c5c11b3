package train

import (
	"math"
	"testing"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.9g, want %.9g", what, got, want)
	}
}

// TestAdamW checks two updates against torch.optim.AdamW's formulas
// evaluated by hand (lr 0.1, betas 0.9/0.999, eps 1e-8, wd 0.1).
func TestAdamW(t *testing.T) {
	decayed := &param{w: []float32{1, -2}, grad: make([]float32, 2), m: make([]float32, 2), v: make([]float32, 2), decay: true}
	plain := &param{w: []float32{1}, grad: make([]float32, 1), m: make([]float32, 1), v: make([]float32, 1)}
	o := &AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1, params: []*param{decayed, plain}}
	copy(decayed.grad, []float32{0.5, -0.1})
	plain.grad[0] = 0.5
	o.Step(0.1)
	near(t, "w[0] after 1", float64(decayed.w[0]), 0.890000002, 1e-6)
	near(t, "w[1] after 1", float64(decayed.w[1]), -1.88000001, 1e-6)
	near(t, "no-decay w after 1", float64(plain.w[0]), 0.9, 1e-6)
	copy(decayed.grad, []float32{-0.5, 0.3})
	o.Step(0.1)
	near(t, "w[0] after 2", float64(decayed.w[0]), 0.8863631597694736, 1e-6)
	near(t, "w[1] after 2", float64(decayed.w[1]), -1.9106189910200655, 1e-6)
	if o.T != 2 {
		t.Errorf("T = %d, want 2", o.T)
	}
}

func TestClip(t *testing.T) {
	p := &param{grad: []float32{3, 0}}
	q := &param{grad: []float32{4}}
	o := &AdamW{params: []*param{p, q}}
	if n := o.Clip(10); n != 5 || p.grad[0] != 3 {
		t.Fatalf("clip above the norm changed grads or norm %v != 5", n)
	}
	if n := o.Clip(1); n != 5 {
		t.Fatalf("norm = %v, want 5", n)
	}
	// The scale is pending (applied by Step, seen by GradNorm).
	near(t, "g0", float64(p.grad[0]*o.pendingScale()), 0.6, 1e-6)
	near(t, "g2", float64(q.grad[0]*o.pendingScale()), 0.8, 1e-6)
	near(t, "norm after", o.GradNorm(), 1, 1e-6)
}

// TestClipThenStep checks that Step applies the pending clip scale exactly
// as if the gradients had been scaled in place, with 1 and 3 parts.
func TestClipThenStep(t *testing.T) {
	for _, parts := range []int{1, 3} {
		mk := func(g []float32) (*AdamW, *param) {
			p := &param{w: []float32{1, -2, 0.5, 3, 0.25}, grad: g, m: make([]float32, 5), v: make([]float32, 5), decay: true}
			return &AdamW{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1, Parts: parts, params: []*param{p}}, p
		}
		clipped, a := mk([]float32{3, 0, -4, 1, 2})
		if n := clipped.Clip(1); math.Abs(n-math.Sqrt(30)) > 1e-6 {
			t.Fatalf("parts %d: norm %v, want sqrt(30)", parts, n)
		}
		c := float32(1 / (math.Sqrt(30) + 1e-6))
		manual, b := mk([]float32{3 * c, 0, -4 * c, 1 * c, 2 * c})
		clipped.Step(0.01)
		manual.Step(0.01)
		for i := range a.w {
			if a.w[i] != b.w[i] || a.m[i] != b.m[i] || a.v[i] != b.v[i] {
				t.Fatalf("parts %d: element %d: clip+step w=%v m=%v v=%v, manual w=%v m=%v v=%v",
					parts, i, a.w[i], a.m[i], a.v[i], b.w[i], b.m[i], b.v[i])
			}
		}
		if s := clipped.pendingScale(); s != 1 {
			t.Fatalf("parts %d: scale %v left pending after Step", parts, s)
		}
	}
}

func TestSchedule(t *testing.T) {
	c := Defaults()
	c.LR, c.MinLR, c.Warmup = 1e-3, 1e-4, 10
	cases := []struct {
		decay string
		step  int
		want  float64
	}{
		{"cosine", 0, 1e-4}, {"cosine", 4, 5e-4}, {"cosine", 9, 1e-3}, {"cosine", 10, 1e-3},
		{"cosine", 60, 5.5e-4}, {"cosine", 35, 1e-4 + 0.5*(1+math.Cos(math.Pi/4))*9e-4},
		{"cosine", 110, 1e-4}, {"cosine", 200, 1e-4},
		{"linear", 60, 5.5e-4}, {"linear", 85, 3.25e-4}, {"constant", 100, 1e-3},
	}
	for _, tc := range cases {
		c.Decay = tc.decay
		near(t, tc.decay+" lr", c.LRAt(tc.step, 110), tc.want, 1e-12)
	}
}
