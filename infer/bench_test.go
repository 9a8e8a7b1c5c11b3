package infer

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/internal/gemm"
	"github.com/sinktrain/sinktrain/internal/kernels"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// referenceConfig is DESIGN.md §10's model: d=256, 4 layers, 4 heads,
// ffn 1024, V=4096, rotary 0.25, parallel residual.
func referenceConfig() model.Config {
	return model.Config{
		VocabSize: 4096, HiddenSize: 256, NumLayers: 4, NumHeads: 4, IntermediateSize: 1024,
		RotaryPct: 0.25, RotaryBase: 10000, MaxPositionEmbeddings: 2048, LayerNormEps: 1e-5,
		ParallelResidual: true, HiddenAct: "gelu", Attention: sinktoken.Softmax,
	}
}

// synthStream is a token stream computed on the fly (no memory per token).
type synthStream struct{ n, vocab int }

func (s synthStream) Len() int { return s.n }

func (s synthStream) Open() (TokenReader, error) { return &synthReader{s: s}, nil }

// synthReader reads a synthStream.
type synthReader struct {
	s   synthStream
	pos int
}

func (r *synthReader) Read(dst []int32) (int, error) {
	n := min(len(dst), r.s.n-r.pos)
	if n == 0 {
		return 0, io.EOF
	}
	r.s.Window(r.pos, n, dst[:0])
	r.pos += n
	return n, nil
}

func (r *synthReader) Close() error { return nil }

func (s synthStream) Window(start, n int, dst []int32) []int32 {
	dst = dst[:0]
	for i := start; i < start+n; i++ {
		dst = append(dst, int32((int64(i)*7+int64(i)*int64(i)*3+5)%int64(s.vocab)))
	}
	return dst
}

// BenchmarkDecode: time per generated token with a full cache (ns/op is
// per token). StreamingLLM's K+W decodes one token against K+W cached keys;
// recompute:W re-encodes W tokens (one prefill) per token.
func BenchmarkDecode(b *testing.B) {
	m := randomModel(b, referenceConfig(), 1)
	toks := synthStream{n: 4096, vocab: 4096}.Window(0, 4096, nil)
	for _, spec := range []string{"4+252", "4+1020", "recompute:256", "recompute:1024"} {
		b.Run(spec, func(b *testing.B) {
			cs, err := ParseCacheSpec(spec)
			if err != nil {
				b.Fatal(err)
			}
			s := m.NewSession(cs, 0)
			if cs.Kind == Recompute {
				win := toks[:cs.Window]
				for b.Loop() {
					s.Reset()
					if _, err := s.Prefill(win); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			if _, err := s.Prefill(toks[:cs.Slots()+8]); err != nil { // full ring
				b.Fatal(err)
			}
			benchSteps(b, s, toks)
		})
	}
}

// BenchmarkDecodePosition: per-token time of 4+252 at stream position 1K
// and 100K; it must not depend on the position. Each session really streams
// every token before the timed steps (no jump of the position counter): a
// full K+W cache takes them one at a time, so 100K costs about 100 s of one
// core, and a 1M session (17 minutes) is left out; scripts/rss-stream.sh
// streams 1M tokens through the tiny model. The timed loop steps both
// sessions in turn (which goes first alternating), so that a shared
// machine's load falls on both alike; each op is one step of each, reported
// as ms/token@POS and their ratio.
func BenchmarkDecodePosition(b *testing.B) {
	m := randomModel(b, referenceConfig(), 1)
	positions := []int{1_000, 100_000}
	sessions := make([]*Session, len(positions))
	next := make([][]int32, len(positions))
	for i, pos := range positions {
		s := m.NewSession(CacheSpec{Kind: SinkWindow, Sinks: 4, Window: 252}, 0)
		src := synthStream{n: pos + 4096, vocab: 4096}
		var toks []int32
		for at := 0; at < pos; at += 4096 {
			toks = src.Window(at, min(4096, pos-at), toks)
			if _, err := s.Prefill(toks); err != nil {
				b.Fatal(err)
			}
		}
		if got := s.Cache().Seen(); got != pos {
			b.Fatalf("streamed %d tokens, want %d", got, pos)
		}
		sessions[i], next[i] = s, src.Window(pos, 4096, nil)
	}
	spent := make([]time.Duration, len(positions))
	n := 0
	for b.Loop() {
		for j := range sessions {
			i := (j + n) % len(sessions) // who goes first alternates too
			t0 := time.Now()
			if _, err := sessions[i].Step(next[i][n%len(next[i])]); err != nil {
				b.Fatal(err)
			}
			spent[i] += time.Since(t0)
		}
		n++
	}
	for i, pos := range positions {
		b.ReportMetric(spent[i].Seconds()*1e3/float64(n), fmt.Sprintf("ms/token@%d", pos))
	}
	b.ReportMetric(float64(spent[1])/float64(spent[0]), "ratio")
}

// benchSteps times decoding steps of s, feeding toks in a cycle.
func benchSteps(b *testing.B, s *Session, toks []int32) {
	i := 0
	for b.Loop() {
		if _, err := s.Step(toks[i%len(toks)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// smolLMConfig is SmolLM-135M's shape (llama, d=576, 30 layers, 9 heads, 3
// kv heads, ffn 1536, vocab 49152, tied).
func smolLMConfig() model.Config {
	c := model.NewLlama(49152, 576, 30, 9, 3, 1536, true)
	c.LayerNormEps = 1e-5
	return c
}

// BenchmarkSmolLM: decode ms/token under 4+1020 (ns/op is per token, a
// full ring) and prefill tok/s of 1024 tokens, for a randomly initialised
// SmolLM-135M-shaped model; scripts/bench/hf_decode.py times transformers
// on the same shapes and cache size.
func BenchmarkSmolLM(b *testing.B) {
	m := randomModel(b, smolLMConfig(), 1)
	toks := synthStream{n: 2048, vocab: 49152}.Window(0, 2048, nil)
	b.Run("decode/4+1020", func(b *testing.B) {
		s := m.NewSession(CacheSpec{Kind: SinkWindow, Sinks: 4, Window: 1020}, 0)
		if _, err := s.Prefill(toks[:1024+8]); err != nil { // full ring
			b.Fatal(err)
		}
		benchSteps(b, s, toks)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/token")
	})
	mb, err := NewModelAs(smolLMConfig(), model.Init(smolLMConfig(), 1), checkpoint.BF16)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode-bf16/4+1020", func(b *testing.B) { // bfloat16 weights: half the bytes per token
		s := mb.NewSession(CacheSpec{Kind: SinkWindow, Sinks: 4, Window: 1020}, 0)
		if _, err := s.Prefill(toks[:1024+8]); err != nil { // full ring
			b.Fatal(err)
		}
		benchSteps(b, s, toks)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/token")
	})
	for _, c := range []struct {
		name string
		m    *Model
	}{{"prefill/1024", m}, {"prefill-bf16/1024", mb}} {
		b.Run(c.name, func(b *testing.B) {
			s := c.m.NewSession(CacheSpec{Kind: SinkWindow, Sinks: 4, Window: 1020}, 0)
			for b.Loop() {
				s.Reset()
				if _, err := s.Prefill(toks[:1024]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(1024*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}

// pythia160Config is Pythia-160M's shape: d=768, 12 layers, 12 heads, ffn
// 3072, vocab 50304, rotary 0.25, parallel residual.
func pythia160Config() model.Config {
	c := referenceConfig()
	c.VocabSize, c.HiddenSize, c.NumLayers, c.NumHeads, c.IntermediateSize = 50304, 768, 12, 12, 3072
	return c
}

// BenchmarkScore: streaming-perplexity tok/s of the reference (d=256) and a
// Pythia-160M-shaped model (random weights) under 4+252 and 4+1020,
// chunked (Score over a stream several times the cache, chunk
// DefaultScoreChunk) and token by token (one Session.Step and its
// cross-entropy per token with a full cache: what ExactSteps does once
// the cache is full). ns/op is per token; tok/s is reported.
func BenchmarkScore(b *testing.B) {
	for _, mc := range []struct {
		name string
		cfg  model.Config
		n    int // chunked stream length
	}{{"ref", referenceConfig(), 16384}, {"pythia160m", pythia160Config(), 4096}} {
		m := randomModel(b, mc.cfg, 1)
		V := mc.cfg.VocabSize
		for _, spec := range []CacheSpec{{Kind: SinkWindow, Sinks: 4, Window: 252}, {Kind: SinkWindow, Sinks: 4, Window: 1020}} {
			b.Run(mc.name+"/"+spec.String()+"/chunked", func(b *testing.B) {
				s := synthStream{n: mc.n, vocab: V}
				fed := 0
				for b.Loop() {
					r, err := Score(b.Context(), m, spec, s, ScoreOptions{Chunk: DefaultScoreChunk})
					if err != nil {
						b.Fatal(err)
					}
					fed += r.Fed
				}
				b.ReportMetric(float64(fed)/b.Elapsed().Seconds(), "tok/s")
				b.ReportMetric(0, "ns/op")
			})
			b.Run(mc.name+"/"+spec.String()+"/steps", func(b *testing.B) {
				toks := synthStream{n: spec.Slots() + 256, vocab: V}.Window(0, spec.Slots()+256, nil)
				sess := m.NewSession(spec, 0)
				if _, err := sess.Prefill(toks[:spec.Slots()+8]); err != nil { // full ring
					b.Fatal(err)
				}
				i := 0
				for b.Loop() {
					l, err := sess.Step(toks[i%len(toks)])
					if err != nil {
						b.Fatal(err)
					}
					kernels.CrossEntropy(l, int(toks[(i+1)%len(toks)]), nil, 0)
					i++
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
			})
		}
	}
}

// BenchmarkGemv: GB/s of the decoding step's float32 matrix-vector product,
// internal/kernels' Gemv (what the engine uses) against OpenBLAS's sgemv
// (internal/gemm), one goroutine, on the weight shapes of SmolLM-135M's MLP
// (1536×576), the reference model's qkv (768×256) and Pythia-160M's MLP
// (3072×768): 128 matrices in turn (beyond the caches, as a decoding step
// reads a model's layers) and one, read again and again.
func BenchmarkGemv(b *testing.B) {
	for _, s := range []struct{ rows, cols int }{{1536, 576}, {768, 256}, {3072, 768}} {
		for _, n := range []int{128, 1} {
			for _, impl := range []string{"kernels", "openblas"} {
				b.Run(fmt.Sprintf("%dx%d/%d/%s", s.rows, s.cols, n, impl), func(b *testing.B) {
					size := s.rows * s.cols
					w := kernels.Alloc32(n * size)
					for i := range w {
						w[i] = float32(i%7) / 7
					}
					x, y := make([]float32, s.cols), make([]float32, s.rows)
					i := 0
					for b.Loop() {
						m := w[i%n*size : (i%n+1)*size]
						if impl == "kernels" {
							kernels.Gemv(m, x, y, s.rows, s.cols, 0)
						} else {
							gemm.Sgemv(false, s.rows, s.cols, 1, m, s.cols, x, 0, y)
						}
						i++
					}
					b.ReportMetric(4*float64(size)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
				})
			}
		}
	}
}

// BenchmarkGemmPanels: GF/s of a prefill pass's product (512 rows, one
// goroutine) on Pythia-160M's shapes (qkv 2304×768, MLP up 3072×768, MLP
// down 768×3072): bfloat16 panels (kernels.GemmPanels: AVX512-BF16 where
// the CPU has it; the inputs rounded to bfloat16 first, as the engine
// does) against OpenBLAS's sgemm over the same weights in float32.
func BenchmarkGemmPanels(b *testing.B) {
	const T = 512
	for _, s := range []struct{ rows, cols int }{{2304, 768}, {3072, 768}, {768, 3072}} {
		for _, impl := range []string{"panels", "sgemm"} {
			b.Run(fmt.Sprintf("%dx%d/%s", s.rows, s.cols, impl), func(b *testing.B) {
				w := make([]float32, s.rows*s.cols)
				for i := range w {
					w[i] = float32(i%64)/64 - 0.5
				}
				x, y := make([]float32, T*s.cols), make([]float32, T*s.rows)
				for i := range x {
					x[i] = float32(i%7)/7 - 0.5
				}
				p := kernels.PackPanels(w, s.rows, s.cols)
				xh := make([]kernels.BF16, len(x))
				for b.Loop() {
					if impl == "panels" {
						kernels.RoundBF16(x, xh)
						kernels.GemmPanels(xh, s.cols, T, p, 0, s.rows, nil, y, s.rows, 0)
					} else {
						gemm.Sgemm(false, true, T, s.rows, s.cols, 1, x, s.cols, w, s.cols, 0, y, s.rows)
					}
				}
				b.ReportMetric(2*float64(T*s.rows*s.cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GF/s")
			})
		}
	}
}
