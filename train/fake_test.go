package train

import (
	"encoding/json"
	"math"
	"runtime"

	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// bigramGraph is a stand-in graph for fast loop tests: logits[p] =
// embed_out · embed_in[ids[p]]; only the two embeddings get gradients.
type bigramGraph struct {
	cfg           model.Config
	w             model.Weights
	batch, length int
	logits        []float32            // [B·T, V]
	grads         map[string][]float32 // per parameter
}

func newBigram(cfg model.Config, w model.Weights, batch, length, _ int) (stepGraph, error) {
	g := &bigramGraph{cfg: cfg, w: w, batch: batch, length: length,
		logits: make([]float32, batch*length*cfg.VocabSize), grads: map[string][]float32{}}
	for _, s := range cfg.ParamSpecs() {
		g.grads[s.Name] = make([]float32, s.Size())
	}
	return g, nil
}

func (g *bigramGraph) Forward(ids []int32) error {
	V, D := g.cfg.VocabSize, g.cfg.HiddenSize
	ein, eout := g.w[model.EmbedIn].Data, g.w[model.EmbedOut].Data
	for p, id := range ids {
		h := ein[int(id)*D : (int(id)+1)*D]
		for v := range V {
			var s float32
			for d, x := range h {
				s += x * eout[v*D+d]
			}
			g.logits[p*V+v] = s
		}
	}
	return nil
}

func (g *bigramGraph) Logits() []float32 { return g.logits }

func (g *bigramGraph) Grad(name string) []float32 { return g.grads[name] }

func (g *bigramGraph) Step(ids, labels []int32) (float64, int, error) {
	g.Forward(ids)
	for _, gr := range g.grads {
		clear(gr)
	}
	nll, n := crossEntropy(g.logits, labels, g.batch, g.length)
	if n == 0 {
		return math.NaN(), 0, nil
	}
	V, D := g.cfg.VocabSize, g.cfg.HiddenSize
	ein, eout := g.w[model.EmbedIn].Data, g.w[model.EmbedOut].Data
	gin, gout := g.grads[model.EmbedIn], g.grads[model.EmbedOut]
	pr := make([]float64, V)
	for r := range g.batch {
		for p := 0; p+1 < g.length; p++ {
			y := labels[r*g.length+p+1]
			if y == sinktoken.IgnoreIndex {
				continue
			}
			row := g.logits[(r*g.length+p)*V : (r*g.length+p+1)*V]
			mx := math.Inf(-1)
			for _, v := range row {
				mx = math.Max(mx, float64(v))
			}
			var s float64
			for v, x := range row {
				pr[v] = math.Exp(float64(x) - mx)
				s += pr[v]
			}
			id := int(ids[r*g.length+p])
			h := ein[id*D : (id+1)*D]
			for v := range V {
				d := pr[v] / s
				if v == int(y) {
					d--
				}
				dl := float32(d / float64(n))
				for k := range D {
					gout[v*D+k] += dl * h[k]
					gin[id*D+k] += dl * eout[v*D+k]
				}
			}
		}
	}
	return nll / float64(n), n, nil
}

// sliceSource serves windows of a synthetic stream, deterministic in (step, row).
type sliceSource struct {
	toks  []int32
	block int
	step  int64
	seed  uint64
}

func (s *sliceSource) Next(batch int) [][]int32 {
	out := make([][]int32, batch)
	for r := range out {
		off := int((uint64(s.step)*7919 + uint64(r)*104729 + s.seed*31) % uint64(len(s.toks)-s.block))
		out[r] = s.toks[off : off+s.block]
	}
	s.step++
	return out
}

func (s *sliceSource) SaveState() (json.RawMessage, error) { return json.Marshal(s.step) }

func (s *sliceSource) RestoreState(b json.RawMessage) error { return json.Unmarshal(b, &s.step) }

func (s *sliceSource) Len() int { return len(s.toks) }

func (s *sliceSource) Window(start, n int, dst []int32) []int32 {
	return append(dst[:0], s.toks[start:start+n]...)
}

// patternStream is a learnable synthetic stream over vocab ids [k, V).
func patternStream(n, k, V int) []int32 {
	out := make([]int32, n)
	x := uint64(12345)
	for i := range out {
		x = x*6364136223846793005 + 1442695040888963407
		if i%3 != 0 {
			out[i] = int32(k + (int(out[i-1])*7+3)%(V-k))
		} else {
			out[i] = int32(k + int(x>>33)%(V-k))
		}
	}
	return out
}

func runtimeCPUs() int { return runtime.NumCPU() }
