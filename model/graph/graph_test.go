package graph_test

import (
	"math"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/autograd"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/model/graph"
	"github.com/sinktrain/sinktrain/sinktoken"
)

func tinyConfig(att sinktoken.Attention) model.Config {
	return model.Config{VocabSize: 11, HiddenSize: 8, NumLayers: 2, NumHeads: 2, IntermediateSize: 16,
		RotaryPct: 0.5, RotaryBase: 10000, MaxPositionEmbeddings: 64, LayerNormEps: 1e-5,
		ParallelResidual: true, HiddenAct: "gelu", Attention: att}
}

// synthetic ids: token = index mod V.
func tinyIDs(n, V int) []int32 {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(i % V)
	}
	return ids
}

func TestNewGraphRejectsBadInput(t *testing.T) {
	cfg := tinyConfig(sinktoken.Softmax)
	w := model.Init(cfg, 1)
	bad := cfg
	bad.NumHeads = 3
	if _, err := graph.New(bad, w, 1, 4); err == nil || !strings.Contains(err.Error(), "num_attention_heads") {
		t.Errorf("bad config: err = %v, want a num_attention_heads error", err)
	}
	missing := model.Init(cfg, 1)
	delete(missing, model.EmbedOut)
	if _, err := graph.New(cfg, missing, 1, 4); err == nil || !strings.Contains(err.Error(), model.EmbedOut) {
		t.Errorf("missing tensor: err = %v, want one naming %s", err, model.EmbedOut)
	}
	shaped := model.Init(cfg, 1)
	shaped[model.FinalNormB] = model.NewTensor(3)
	if _, err := graph.New(cfg, shaped, 1, 4); err == nil || !strings.Contains(err.Error(), model.FinalNormB) {
		t.Errorf("mis-shaped tensor: err = %v, want one naming %s", err, model.FinalNormB)
	}
	if _, err := graph.New(cfg, w, 0, 4); err == nil {
		t.Error("batch 0 accepted")
	}
	g, err := graph.New(cfg, w, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.Step([]int32{1, 2, 3}, []int32{1, 2, 3}); err == nil {
		t.Error("wrong number of ids accepted")
	}
	if _, _, err := g.Step([]int32{1, 2, 3, 99}, []int32{1, 2, 3, 4}); err == nil || !strings.Contains(err.Error(), "99") {
		t.Errorf("out-of-range id: err = %v", err)
	}
}

// TestSinkVariants: a sink logit of −30 makes sink_logit equal softmax, and
// a zero sink logit makes it equal softmax1; both gradients agree too.
func TestSinkVariants(t *testing.T) {
	const B, T = 2, 5
	step := func(att sinktoken.Attention, sink float32) (float64, []float32) {
		cfg := tinyConfig(att)
		w := model.Init(tinyConfig(sinktoken.SinkLogit), 3)
		if att != sinktoken.SinkLogit {
			for l := 0; l < cfg.NumLayers; l++ {
				delete(w, model.LayerPrefix(l)+model.SinkLogit)
			}
		} else {
			for l := 0; l < cfg.NumLayers; l++ {
				for i := range w[model.LayerPrefix(l)+model.SinkLogit].Data {
					w[model.LayerPrefix(l)+model.SinkLogit].Data[i] = sink
				}
			}
		}
		g, err := graph.New(cfg, w, B, T)
		if err != nil {
			t.Fatal(err)
		}
		ids := tinyIDs(B*T, cfg.VocabSize)
		loss, _, err := g.Step(ids, ids)
		if err != nil {
			t.Fatal(err)
		}
		return loss, append([]float32(nil), g.Grad(model.LayerPrefix(0)+model.QKVW)...)
	}
	near := func(what string, a, b float64) {
		if math.Abs(a-b) > 1e-5*math.Max(1, math.Abs(b)) {
			t.Errorf("%s: %v vs %v", what, a, b)
		}
	}
	ls, gs := step(sinktoken.Softmax, 0)
	l1, g1 := step(sinktoken.Softmax1, 0)
	lb, gb := step(sinktoken.SinkLogit, -30)
	lz, gz := step(sinktoken.SinkLogit, 0)
	near("loss softmax vs sink_logit(-30)", lb, ls)
	near("loss softmax1 vs sink_logit(0)", lz, l1)
	if ls == l1 {
		t.Error("softmax1 gives the same loss as softmax")
	}
	for i := range gs {
		near("grad softmax vs sink_logit(-30)", float64(gb[i]), float64(gs[i]))
		near("grad softmax1 vs sink_logit(0)", float64(gz[i]), float64(g1[i]))
	}
}

// TestSinkLogitGradient compares the sink logits' gradient with a central
// finite difference of the (float32) loss.
func TestSinkLogitGradient(t *testing.T) {
	const B, T = 2, 6
	cfg := tinyConfig(sinktoken.SinkLogit)
	w := model.Init(cfg, 5)
	name := model.LayerPrefix(1) + model.SinkLogit
	g, err := graph.New(cfg, w, B, T)
	if err != nil {
		t.Fatal(err)
	}
	ids := tinyIDs(B*T, cfg.VocabSize)
	if _, _, err := g.Step(ids, ids); err != nil {
		t.Fatal(err)
	}
	grad := append([]float32(nil), g.Grad(name)...)
	const eps = 1e-2
	for h := range grad {
		v := w[name].Data[h]
		w[name].Data[h] = v + eps
		lp, _, _ := g.Step(ids, ids)
		w[name].Data[h] = v - eps
		lm, _, _ := g.Step(ids, ids)
		w[name].Data[h] = v
		fd := (lp - lm) / (2 * eps)
		if math.Abs(fd-float64(grad[h])) > 2e-3*math.Max(1e-2, math.Abs(fd)) {
			t.Errorf("head %d: gradient %v, finite difference %v", h, grad[h], fd)
		}
	}
}

// TestStepRepeatable: a second Step on the same inputs gives the same loss
// and gradients (buffers are reused, not accumulated).
func TestStepRepeatable(t *testing.T) {
	cfg := tinyConfig(sinktoken.Softmax)
	cfg.ParallelResidual = false
	g, err := graph.New(cfg, model.Init(cfg, 2), 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	ids := tinyIDs(8, cfg.VocabSize)
	l1, _, err := g.Step(ids, ids)
	if err != nil {
		t.Fatal(err)
	}
	g1 := append([]float32(nil), g.Grad(model.EmbedIn)...)
	l2, _, _ := g.Step(ids, ids)
	if l1 != l2 {
		t.Fatalf("loss %v then %v", l1, l2)
	}
	for i, v := range g.Grad(model.EmbedIn) {
		if v != g1[i] {
			t.Fatalf("grad[%d] %v then %v", i, g1[i], v)
		}
	}
}

// TestThreadsSameResult: a graph whose ops split their work over goroutines
// (WithThreads) computes the loss and every gradient of the single-threaded
// graph, bit for bit: products are split by rows or columns of the result
// (each part a whole sum over the inner dimension), attention by head or kv
// group, GELU by elements. The sizes are above the smallest product split.
// gonum's pure-Go sgemm (the purego build) blocks its inner sums by the
// size of the call: there the results agree within 1e-5 relative.
func TestThreadsSameResult(t *testing.T) {
	tol := 0.0
	if autograd.BLASName() == "gonum" {
		tol = 1e-5
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= tol*(1e-3+math.Abs(b)) }
	neox := tinyConfig(sinktoken.SinkLogit)
	neox.VocabSize, neox.HiddenSize, neox.NumHeads, neox.IntermediateSize = 512, 64, 4, 256
	neox.SinkTokens, neox.SinkIDs = []string{sinktoken.TokenName(0)}, []int{1}
	llama := model.NewLlama(512, 64, 2, 4, 2, 176, false)
	for _, cfg := range []model.Config{neox, llama} {
		const B, T = 3, 100
		ids := tinyIDs(B*T, cfg.VocabSize)
		for i := range ids {
			ids[i] = int32((i*i + 7*i) % cfg.VocabSize)
		}
		w := model.Init(cfg, 5)
		var loss []float64
		var grads []map[string][]float32
		for _, threads := range []int{1, 3, 8} {
			g, err := graph.New(cfg, w, B, T, graph.WithThreads(threads))
			if err != nil {
				t.Fatal(err)
			}
			l, _, err := g.Step(ids, ids)
			if err != nil {
				t.Fatal(err)
			}
			loss = append(loss, l)
			gr := map[string][]float32{}
			for _, s := range cfg.ParamSpecs() {
				gr[s.Name] = append([]float32(nil), g.Grad(s.Name)...)
			}
			grads = append(grads, gr)
		}
		for i := 1; i < len(loss); i++ {
			if !near(loss[i], loss[0]) {
				t.Errorf("%s: loss %v with threads, %v without", cfg.Arch, loss[i], loss[0])
			}
			for name, want := range grads[0] {
				for j, v := range grads[i][name] {
					if !near(float64(v), float64(want[j])) {
						t.Errorf("%s: %s[%d] = %v with threads (run %d), %v without", cfg.Arch, name, j, v, i, want[j])
						break
					}
				}
			}
		}
	}
}
