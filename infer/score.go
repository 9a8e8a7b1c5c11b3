package infer

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/sinktrain/sinktrain/internal/kernels"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// Stream is a token stream read by position; *data.Tokens implements it.
type Stream interface {
	Len() int
	// Window returns the n tokens from start, reusing dst's memory.
	Window(start, n int, dst []int32) []int32
}

// Tokens is a Stream over an in-memory slice.
type Tokens []int32

// Len returns the number of tokens.
func (t Tokens) Len() int { return len(t) }

// Window returns t[start:start+n] copied into dst.
func (t Tokens) Window(start, n int, dst []int32) []int32 {
	return append(dst[:0], t[start:start+n]...)
}

// ScoreFunc receives each scored target: its index in the fed stream, its
// token id and its natural-log NLL.
type ScoreFunc func(index int, tok int32, nll float64) error

// ScoreOptions are the optional callbacks of Score.
type ScoreOptions struct {
	OnNLL ScoreFunc // receives each scored target (nil: none)
	// OnProgress receives the number of stream tokens fed so far, every
	// ScoreBlock tokens and at the end (nil: none).
	OnProgress func(fed int)
}

// Scores summarises one Score pass.
type Scores struct {
	Targets int           // scored targets
	NLL     float64       // mean natural-log NLL over them
	Fed     int           // stream tokens fed (the stream's length − 1)
	Elapsed time.Duration // wall time of the pass
}

// PPL returns the perplexity exp(NLL).
func (s Scores) PPL() float64 { return math.Exp(s.NLL) }

// TokensPerSecond returns fed tokens per second of wall time.
func (s Scores) TokensPerSecond() float64 { return float64(s.Fed) / s.Elapsed.Seconds() }

// ScoreBlock is how many stream tokens Score reads (and, for dense,
// prefills) at once.
const ScoreBlock = DefaultChunk

// Score feeds the stream to the model under spec and scores every target
// token t[i+1] from the logits after t[i], exactly as a token-by-token
// streaming evaluation does: each target sees the cache state of its own
// step. Targets that are sink ids are never scored. Memory does not depend
// on the stream length for K+W and recompute:W. The context is checked
// every ScoreBlock tokens.
func Score(ctx context.Context, m *Model, spec CacheSpec, s Stream, o ScoreOptions) (Scores, error) {
	N := s.Len()
	if N < 2 {
		return Scores{}, fmt.Errorf("stream of %d tokens, expected at least 2 (one input, one target)", N)
	}
	V := m.Config.VocabSize
	sinks := m.SinkIDs()
	if err := spec.CheckSinks(len(sinks)); err != nil {
		return Scores{}, err
	}
	hint := 0
	if spec.Kind == Dense {
		hint = N
	}
	sess := m.NewSession(spec, hint)
	var (
		blk    []int32                         // [≤ ScoreBlock+1] stream tokens from b0
		win    []int32                         // [≤ W] recompute window: head + tail
		head   []int32                         // [k] the first stream tokens (the sinks) kept by recompute
		tail   []int32                         // [≤ W] the last tokens
		logits = make([]float32, ScoreBlock*V) // [ScoreBlock, V]
		sum    float64
		count  int
		start  = time.Now()
	)
	for b0 := 0; b0 < N-1; b0 += ScoreBlock {
		if err := ctx.Err(); err != nil {
			return Scores{}, err
		}
		n := min(ScoreBlock, N-1-b0) // inputs b0..b0+n-1, targets b0+1..b0+n
		blk = s.Window(b0, n+1, blk)
		if spec.Kind == Recompute {
			for i := range n {
				end := b0 + i + 1
				keep, lo := spec.RecomputeWindow(len(sinks), end)
				head = s.Window(0, keep, head)
				win = append(win[:0], head...)
				win = append(win, s.Window(lo, end-lo, tail)...)
				sess.Reset()
				l, err := sess.Prefill(win)
				if err != nil {
					return Scores{}, err
				}
				copy(logits[i*V:(i+1)*V], l)
			}
		} else if err := sess.PrefillAll(blk[:n], logits); err != nil {
			return Scores{}, err
		}
		for i := range n {
			target := blk[i+1]
			if sinktoken.IsSink(target, sinks) {
				continue
			}
			nll := kernels.CrossEntropy(logits[i*V:(i+1)*V], int(target), nil, 0)
			sum += nll
			count++
			if o.OnNLL != nil {
				if err := o.OnNLL(b0+i+1, target, nll); err != nil {
					return Scores{}, err
				}
			}
		}
		if o.OnProgress != nil {
			o.OnProgress(b0 + n)
		}
	}
	if count == 0 {
		return Scores{}, fmt.Errorf("every target of the %d-token stream is a sink id, nothing to score", N)
	}
	return Scores{Targets: count, NLL: sum / float64(count), Fed: N - 1, Elapsed: time.Since(start)}, nil
}
