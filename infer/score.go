package infer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"time"

	"github.com/sinktrain/sinktrain/internal/input"
	"github.com/sinktrain/sinktrain/internal/kernels"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// Stream is a token stream that Score reads front to back, any number of
// times: a text file tokenized as it is read, a dataset's shards, a slice.
type Stream interface {
	// Len returns the number of tokens.
	Len() int
	// Open returns a reader from the first token. Readers are
	// independent: several may read one Stream at once.
	Open() (TokenReader, error)
}

// TokenReader reads a Stream front to back.
type TokenReader interface {
	// Read fills dst with the next tokens and returns how many; at the end
	// of the stream it returns 0 and io.EOF.
	Read(dst []int32) (int, error)
	Close() error
}

// Tokens is a Stream over an in-memory slice.
type Tokens []int32

// Len returns the number of tokens.
func (t Tokens) Len() int { return len(t) }

// Open returns a reader of the slice.
func (t Tokens) Open() (TokenReader, error) { return &SliceReader{Rest: t}, nil }

// SliceReader is a TokenReader over a slice.
type SliceReader struct{ Rest []int32 }

// Read copies the next tokens of Rest into dst.
func (r *SliceReader) Read(dst []int32) (int, error) {
	if len(r.Rest) == 0 {
		return 0, io.EOF
	}
	n := copy(dst, r.Rest)
	r.Rest = r.Rest[n:]
	return n, nil
}

// Close does nothing.
func (r *SliceReader) Close() error { return nil }

// readFull fills dst from r; a stream that ends first is an error.
func readFull(r TokenReader, dst []int32) error {
	for len(dst) > 0 {
		n, err := r.Read(dst)
		dst = dst[n:]
		if len(dst) == 0 {
			return nil
		}
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("the token stream ended %d tokens before its stated length", len(dst))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ScoreFunc receives each scored target: its index in the fed stream, its
// token id and its natural-log NLL.
type ScoreFunc func(index int, tok int32, nll float64) error

// DefaultScoreChunk is the chunk size of eval stream and compare: tokens
// scored per chunked forward.
const DefaultScoreChunk = 512

// ScoreOptions configure Score.
type ScoreOptions struct {
	OnNLL ScoreFunc // receives each scored target (nil: none)
	// OnProgress receives the number of stream tokens fed so far, after
	// every chunk and at the end (nil: none).
	OnProgress func(fed int)
	// Chunk is the number of tokens one chunked forward scores (≥ 1; a
	// chunk longer than the stream is cut to it). ExactSteps checks it too,
	// so both paths refuse the same inputs.
	Chunk int
	// ExactSteps feeds one token at a time through a Session (recompute:W:
	// one fresh prefill of each window), the reference the chunked path
	// equals.
	ExactSteps bool
	// Threads is the number of goroutines (0: GOMAXPROCS).
	Threads int
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

// CheckScore refuses what Score would refuse before reading the stream: a
// stream of fewer than 2 tokens (no target), a cache spec that cannot keep
// the model's sinks, a chunk size below 1 or one whose buffers would not
// fit in the machine's memory.
func CheckScore(m *Model, spec CacheSpec, n int, o ScoreOptions) error {
	if n < 2 {
		return fmt.Errorf("stream of %d tokens, expected at least 2 (one input, one target)", n)
	}
	if err := spec.CheckSinks(len(m.Config.SinkIDs)); err != nil {
		return err
	}
	if o.Chunk < 1 {
		return input.Usagef("Chunk", "chunk size", strconv.Itoa(o.Chunk), "expected ≥ 1 token")
	}
	need, have := scoreBytes(m, spec, o.Chunk, max(n, o.Chunk+1), threads(o)), memoryBytes() // the chunk asked for, even if the stream is shorter
	if need > have {
		return input.Errorf("Chunk", "chunk size", strconv.Itoa(o.Chunk),
			"needs about %.1f GB of buffers for this model and cache, more than this machine's %.1f GB of memory", need/1e9, have/1e9)
	}
	return nil
}

func threads(o ScoreOptions) int {
	if o.Threads > 0 {
		return o.Threads
	}
	return runtime.GOMAXPROCS(0)
}

// Score feeds the stream to the model under spec and scores every target
// token t[i+1] from the logits after t[i], exactly as a token-by-token
// streaming evaluation does: each target sees the cache state of its own
// step. By default it runs chunks of o.Chunk tokens layer by layer (see
// chunk.go); o.ExactSteps feeds one token at a time. Targets that are sink
// ids are never scored. Memory does not depend on the stream length for K+W
// and recompute:W. The context is checked after every chunk (every
// ScoreBlock tokens with ExactSteps).
func Score(ctx context.Context, m *Model, spec CacheSpec, s Stream, o ScoreOptions) (Scores, error) {
	N := s.Len()
	if err := CheckScore(m, spec, N, o); err != nil {
		return Scores{}, err
	}
	r, err := s.Open()
	if err != nil {
		return Scores{}, err
	}
	defer r.Close()
	p := pass{ctx: ctx, m: m, spec: spec, N: N, o: o, tw: tokenWindow{r: r}, sinks: m.SinkIDs(), start: time.Now()}
	k := len(p.sinks)
	if spec.Kind == Recompute {
		if err := p.tw.fill(min(k, N)); err != nil {
			return Scores{}, err
		}
		p.head = append([]int32(nil), p.tw.slice(0, min(k, N))...)
	}
	if o.ExactSteps {
		err = p.steps()
	} else {
		err = p.chunks()
	}
	if err != nil {
		return Scores{}, err
	}
	if p.count == 0 {
		return Scores{}, fmt.Errorf("every target of the %d-token stream is a sink id, nothing to score", N)
	}
	return Scores{Targets: p.count, NLL: p.sum / float64(p.count), Fed: N - 1, Elapsed: time.Since(p.start)}, nil
}

// ScoreBlock is how many tokens the token-by-token path feeds between
// context checks and progress reports.
const ScoreBlock = DefaultChunk

// pass is the state of one Score call.
type pass struct {
	ctx   context.Context
	m     *Model
	spec  CacheSpec
	N     int
	o     ScoreOptions
	tw    tokenWindow
	sinks []int32
	head  []int32 // recompute: the first k stream tokens (the sinks)
	sum   float64
	count int
	start time.Time
}

// score records target index (a stream position ≥ 1) with its NLL.
func (p *pass) score(index int, target int32, nll float64) error {
	if sinktoken.IsSink(target, p.sinks) {
		return nil
	}
	p.sum += nll
	p.count++
	if p.o.OnNLL != nil {
		return p.o.OnNLL(index, target, nll)
	}
	return nil
}

// progress checks the context and reports fed tokens.
func (p *pass) progress(fed int) error {
	if p.o.OnProgress != nil {
		p.o.OnProgress(fed)
	}
	return p.ctx.Err()
}

// keepFrom is the first stream position a recompute pass must still hold
// for inputs from position i on.
func (p *pass) keepFrom(i int) int {
	_, lo := p.spec.RecomputeWindow(len(p.sinks), i+1)
	return lo
}

// chunks is the chunked path.
func (p *pass) chunks() error {
	sc := newScorer(p.m, p.spec, p.o.Chunk, p.N, threads(p.o))
	C := max(1, min(p.o.Chunk, p.N-1))
	if err := p.ctx.Err(); err != nil {
		return err
	}
	for t0 := 0; t0 < p.N-1; {
		var n int
		if p.spec.Kind == Recompute {
			if err := p.tw.fill(min(p.N, t0+C+1)); err != nil {
				return err
			}
			var rows int
			n, rows = sc.planWindows(t0, min(C, p.N-1-t0), &p.tw, p.head, len(p.sinks))
			sc.forward(rows)
		} else {
			n = min(C, p.N-1-t0)
			if err := p.tw.fill(t0 + n + 1); err != nil {
				return err
			}
			sc.planStream(t0, p.tw.slice(t0, t0+n))
			sc.out = sc.out[:0]
			for r := range n {
				sc.out = append(sc.out, outRow{row: r, index: t0 + r + 1, target: p.tw.at(t0 + r + 1)})
			}
			sc.forward(n)
			sc.advance(t0 + n)
		}
		for k, o := range sc.out {
			if err := p.score(o.index, o.target, sc.nll[k]); err != nil {
				return err
			}
		}
		t0 += n
		if p.spec.Kind == Recompute {
			p.tw.drop(p.keepFrom(t0))
		} else {
			p.tw.drop(t0)
		}
		if err := p.progress(t0); err != nil {
			return err
		}
	}
	return nil
}

// steps is the token-by-token reference path.
func (p *pass) steps() error {
	hint := 0
	if p.spec.Kind == Dense {
		hint = p.N
	}
	sess := p.m.newSession(p.spec, hint, threads(p.o))
	var win []int32
	V := p.m.Config.VocabSize
	for i := 0; i < p.N-1; i++ {
		if err := p.tw.fill(i + 2); err != nil {
			return err
		}
		var logits []float32
		var err error
		if p.spec.Kind == Recompute {
			keep, lo := p.spec.RecomputeWindow(len(p.sinks), i+1)
			win = append(append(win[:0], p.head[:keep]...), p.tw.slice(lo, i+1)...)
			sess.Reset()
			logits, err = sess.Prefill(win)
			p.tw.drop(p.keepFrom(i + 1))
		} else {
			logits, err = sess.Step(p.tw.at(i))
			p.tw.drop(i + 1)
		}
		if err != nil {
			return err
		}
		target := p.tw.at(i + 1)
		if err := p.score(i+1, target, kernels.CrossEntropy(logits[:V], int(target), nil, 0)); err != nil {
			return err
		}
		if (i+1)%ScoreBlock == 0 || i+2 == p.N {
			if err := p.progress(i + 1); err != nil {
				return err
			}
		}
	}
	return nil
}
