package infer

import (
	"context"
	"fmt"
	"math"
	"slices"
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

// withSinks is prefix followed by the first n tokens of s (the fed stream of
// --text and --data: the model's sinks, then the text).
type withSinks struct {
	prefix []int32
	s      Stream
	n      int
}

func (w withSinks) Len() int { return len(w.prefix) + w.n }

func (w withSinks) Window(start, n int, dst []int32) []int32 {
	dst = dst[:0]
	for ; n > 0 && start < len(w.prefix); start, n = start+1, n-1 {
		dst = append(dst, w.prefix[start])
	}
	if n == 0 {
		return dst
	}
	head := len(dst)
	dst = slices.Grow(dst, n)
	w.s.Window(start-len(w.prefix), n, dst[head:head]) // fills in place: capacity suffices
	return dst[:head+n]
}

// ScoreFunc receives each scored target: its index in the fed stream, its
// token id and its natural-log NLL.
type ScoreFunc func(index int, tok int32, nll float64) error

// Result is one cache spec's streaming evaluation (the --json object).
type Result struct {
	Cache     string  `json:"cache"`
	Tokens    int     `json:"tokens"` // scored targets
	NLL       float64 `json:"nll"`    // mean natural-log NLL
	PPL       float64 `json:"ppl"`    // exp(NLL)
	TokS      float64 `json:"tok_s"`  // fed tokens per second
	PeakRSSMB float64 `json:"peak_rss_mb"`
}

// scoreBlock is how many stream tokens are read (and, for dense, prefilled)
// at once.
const scoreBlock = DefaultChunk

// Score feeds the stream to the model under spec and scores every target
// token t[i+1] from the logits after t[i], exactly as a token-by-token
// streaming evaluation does: each target sees the cache state of its own
// step. Targets that are sink ids are never scored. onNLL (may be nil)
// receives each scored target; onProgress (may be nil) the number of
// tokens fed so far, every scoreBlock tokens. Memory does not depend on the
// stream length for K+W and recompute:W.
func Score(ctx context.Context, m *Model, spec CacheSpec, s Stream, onNLL ScoreFunc, onProgress func(fed int)) (Result, error) {
	N := s.Len()
	if N < 2 {
		return Result{}, fmt.Errorf("infer: stream of %d tokens, expected at least 2 (one input, one target)", N)
	}
	V := m.Config.VocabSize
	sinks := m.SinkIDs()
	hint := 0
	if spec.Kind == Dense {
		hint = N
	}
	sess := m.NewSession(spec, hint)
	var (
		blk    []int32                         // [≤ scoreBlock+1] stream tokens from b0
		win    []int32                         // [≤ W] recompute window
		logits = make([]float32, scoreBlock*V) // [scoreBlock, V]
		sum    float64
		count  int
		start  = time.Now()
	)
	for b0 := 0; b0 < N-1; b0 += scoreBlock {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		n := min(scoreBlock, N-1-b0) // inputs b0..b0+n-1, targets b0+1..b0+n
		blk = s.Window(b0, n+1, blk)
		if spec.Kind == Recompute {
			for i := range n {
				lo := max(0, b0+i+1-spec.Window)
				win = s.Window(lo, b0+i+1-lo, win)
				sess.Reset()
				l, err := sess.Prefill(win)
				if err != nil {
					return Result{}, err
				}
				copy(logits[i*V:(i+1)*V], l)
			}
		} else if err := sess.PrefillAll(blk[:n], logits); err != nil {
			return Result{}, err
		}
		for i := range n {
			target := blk[i+1]
			if sinktoken.IsSink(target, sinks) {
				continue
			}
			nll := kernels.CrossEntropy(logits[i*V:(i+1)*V], int(target), nil, 0)
			sum += nll
			count++
			if onNLL != nil {
				if err := onNLL(b0+i+1, target, nll); err != nil {
					return Result{}, err
				}
			}
		}
		if onProgress != nil {
			onProgress(b0 + n)
		}
	}
	if count == 0 {
		return Result{}, fmt.Errorf("infer: every target of the %d-token stream is a sink id, nothing to score", N)
	}
	mean := sum / float64(count)
	return Result{
		Cache: spec.String(), Tokens: count, NLL: mean, PPL: math.Exp(mean),
		TokS: float64(N-1) / time.Since(start).Seconds(), PeakRSSMB: PeakRSSMB(),
	}, nil
}
