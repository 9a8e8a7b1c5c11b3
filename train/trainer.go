package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/sinktrain/sinktrain/autograd"
	"github.com/sinktrain/sinktrain/internal/kernels"

	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// stepGraph is what the trainer needs from a graph.Graph of fixed (batch, length).
type stepGraph interface {
	// Step runs forward and backward on ids/labels [batch·length] and returns
	// the mean loss over the n scored targets.
	Step(ids, labels []int32) (loss float64, n int, err error)
	// Grad returns the gradient of the last Step's mean loss for a parameter.
	Grad(name string) []float32
	// Forward runs the forward pass only; Logits then holds [batch·length, V].
	Forward(ids []int32) error
	Logits() []float32
}

// newGraphFunc builds a graph whose parameters share storage with w.
// threads is the goroutines each of its ops may use (graph.WithThreads).
type newGraphFunc func(cfg model.Config, w model.Weights, batch, length, threads int) (stepGraph, error)

// source yields training rows of block_size text tokens; row r of call s
// depends only on (seed, s, r). Its state goes into checkpoints.
type source interface {
	Next(batch int) [][]int32
	SaveState() (json.RawMessage, error)
	RestoreState(json.RawMessage) error
}

// windows is a packed token stream (the val split).
type windows interface {
	Len() int
	Window(start, n int, dst []int32) []int32
}

// worker owns one graph and its share of the batch rows.
type worker struct {
	g      stepGraph
	rows   int     // rows of the batch it runs
	first  int     // index of its first row in the batch
	ids    []int32 // [rows·T]
	labels []int32 // [rows·T]
	loss   float64 // mean loss of the last Step
	n      int     // scored targets of the last Step
	nll    float64 // eval: summed NLL
	err    error
}

// trainer runs the optimisation loop over prepared pieces.
type trainer struct {
	cfg     Config
	mcfg    model.Config
	w       model.Weights
	opt     *AdamW
	workers []*worker
	src     source
	val     windows
	sinks   []int32 // sink ids prepended to every row
	length  int     // k + block_size
	steps   int     // total optimizer steps of the run
	step    int     // completed steps
	tokens  int64   // text tokens consumed
	run     *runDir
	log     *logger
	onStep  func(step int, loss float64) // test hook
}

// newTrainer builds one graph per worker (each on its share of the batch).
// rt must be resolved (Runtime.resolve).
func newTrainer(cfg Config, rt Runtime, mcfg model.Config, w model.Weights, ng newGraphFunc) (*trainer, error) {
	// The weights become the graphs' parameter tensors: back them with
	// transparent huge pages, like the activations and the optimizer state.
	for _, t := range w {
		d := kernels.Alloc32(len(t.Data))
		copy(d, t.Data)
		t.Data = d
	}
	opt, err := NewAdamW(mcfg, w, cfg.Betas[0], cfg.Betas[1], cfg.Eps, cfg.WeightDecay)
	if err != nil {
		return nil, err
	}
	t := &trainer{cfg: cfg, mcfg: mcfg, w: w, opt: opt, length: len(mcfg.SinkIDs) + cfg.BlockSize, steps: cfg.Steps()}
	for _, id := range mcfg.SinkIDs {
		t.sinks = append(t.sinks, int32(id))
	}
	nw := max(1, min(rt.Workers, cfg.Batch))
	// One worker gets OpenBLAS's own rt.BLASThreads threads; several call
	// it at once, one thread per call, and split their products themselves
	// (OpenBLAS's pool serves one caller at a time).
	blasThreads, graphThreads := rt.BLASThreads, 1
	if nw > 1 {
		blasThreads, graphThreads = 1, rt.BLASThreads
	}
	autograd.SetBLASThreads(blasThreads)
	t.opt.Parts = nw
	first := 0
	for i := range nw {
		rows := cfg.Batch / nw
		if i < cfg.Batch%nw {
			rows++
		}
		g, err := ng(mcfg, w, rows, t.length, graphThreads)
		if err != nil {
			return nil, fmt.Errorf("build graph for worker %d (%d×%d): %w", i, rows, t.length, err)
		}
		t.workers = append(t.workers, &worker{g: g, rows: rows, first: first,
			ids: make([]int32, rows*t.length), labels: make([]int32, rows*t.length)})
		first += rows
	}
	return t, nil
}

// parallel runs f for every worker concurrently and returns the first error.
func (t *trainer) parallel(f func(i int, wk *worker) error) error {
	var wg sync.WaitGroup
	for i, wk := range t.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					wk.err = fmt.Errorf("graph panicked (non-finite weights?): %v", r)
				}
			}()
			wk.err = f(i, wk)
		}()
	}
	wg.Wait()
	for i, wk := range t.workers {
		if wk.err != nil {
			return fmt.Errorf("worker %d: %w", i, wk.err)
		}
	}
	return nil
}

// fill writes sample rows (sinks + block) and their labels into the worker's buffers.
func (t *trainer) fill(wk *worker, rows [][]int32) {
	for r := range wk.rows {
		dst := wk.ids[r*t.length : (r+1)*t.length]
		sinktoken.Sample(dst[:0], t.sinks, rows[wk.first+r])
		sinktoken.Labels(wk.labels[r*t.length : (r+1)*t.length][:0], dst, t.sinks)
	}
}

// trainStep runs one optimizer step (grad_accum micro-batches over all
// workers) and returns the mean loss over every scored target. Gradients are
// combined as Σ n_w·g_w / Σ n_w in a fixed order, so any worker count gives
// the gradient of the whole batch's mean loss.
func (t *trainer) trainStep() (float64, error) {
	var lossSum float64
	total := 0
	parts := len(t.workers)
	for micro := range t.cfg.GradAccum {
		rows := t.src.Next(t.cfg.Batch)
		if len(rows) != t.cfg.Batch {
			return 0, fmt.Errorf("loader gave %d rows, expected %d", len(rows), t.cfg.Batch)
		}
		err := t.parallel(func(_ int, wk *worker) error {
			t.fill(wk, rows)
			var err error
			wk.loss, wk.n, err = wk.g.Step(wk.ids, wk.labels)
			return err
		})
		if err != nil {
			return 0, err
		}
		n := 0
		for _, wk := range t.workers {
			if wk.n > 0 {
				lossSum += wk.loss * float64(wk.n)
				n += wk.n
			}
		}
		total += n
		// grad (+)= Σ_w a·n_w·g_w, each worker goroutine taking the same slice
		// of every parameter. With one micro-step the mean's 1/N is folded in
		// here (a = 1/N); with several it is applied after the last.
		a := float32(1)
		if t.cfg.GradAccum == 1 && n > 0 {
			a = float32(1 / float64(n))
		}
		_ = t.parallel(func(part int, _ *worker) error {
			for _, p := range t.opt.params {
				lo, hi := chunk(len(p.grad), part, parts)
				g := p.grad[lo:hi]
				if micro == 0 {
					clear(g)
				}
				for _, wk := range t.workers {
					if wk.n > 0 {
						axpy(g, a*float32(wk.n), wk.g.Grad(p.spec.Name)[lo:hi])
					}
				}
			}
			return nil
		})
	}
	if total == 0 {
		return 0, errors.New("a step had no scored targets (block_size too small?)")
	}
	if t.cfg.GradAccum > 1 {
		inv := float32(1 / float64(total))
		_ = t.parallel(func(part int, _ *worker) error {
			for _, p := range t.opt.params {
				lo, hi := chunk(len(p.grad), part, parts)
				for k := range p.grad[lo:hi] {
					p.grad[lo+k] *= inv
				}
			}
			return nil
		})
	}
	return lossSum / float64(total), nil
}

// axpy computes y += a·x.
func axpy(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] += a * v
	}
}

// evalLoss returns the mean next-token loss on a fixed, evenly spaced set of
// eval_tokens/block_size windows of the val split (sinks prepended).
func (t *trainer) evalLoss() (float64, error) {
	if t.val == nil || t.val.Len() < t.cfg.BlockSize {
		return math.NaN(), nil
	}
	nwin := max(1, t.cfg.EvalTokens/t.cfg.BlockSize)
	span := t.val.Len() - t.cfg.BlockSize
	starts := make([]int, nwin)
	for i := range starts {
		if nwin > 1 {
			starts[i] = int(int64(i) * int64(span) / int64(nwin-1))
		}
	}
	var nll float64
	var n int
	buf := make([][]int32, t.cfg.Batch)
	for from := 0; from < nwin; from += t.cfg.Batch {
		for r := range buf {
			if from+r < nwin {
				buf[r] = t.val.Window(starts[from+r], t.cfg.BlockSize, buf[r][:0])
			} else {
				buf[r] = nil // padding row: nothing scored
			}
		}
		err := t.parallel(func(_ int, wk *worker) error {
			t.fill(wk, padRows(buf, t.cfg.BlockSize))
			for r := range wk.rows {
				if buf[wk.first+r] == nil {
					lab := wk.labels[r*t.length : (r+1)*t.length]
					for i := range lab {
						lab[i] = sinktoken.IgnoreIndex
					}
				}
			}
			if err := wk.g.Forward(wk.ids); err != nil {
				return err
			}
			wk.nll, wk.n = crossEntropy(wk.g.Logits(), wk.labels, wk.rows, t.length)
			return nil
		})
		if err != nil {
			return 0, err
		}
		for _, wk := range t.workers {
			nll += wk.nll
			n += wk.n
		}
	}
	if n == 0 {
		return math.NaN(), nil
	}
	return nll / float64(n), nil
}

// padRows replaces nil rows by zero rows of length n.
func padRows(rows [][]int32, n int) [][]int32 {
	out := make([][]int32, len(rows))
	for i, r := range rows {
		if r == nil {
			r = make([]int32, n)
		}
		out[i] = r
	}
	return out
}

// crossEntropy sums −log softmax(logits[t])[labels[t+1]] over the scored
// targets of rows×length positions (logits [rows·length, V]).
func crossEntropy(logits []float32, labels []int32, rows, length int) (float64, int) {
	V := len(logits) / (rows * length)
	var nll float64
	n := 0
	for r := range rows {
		for p := 0; p+1 < length; p++ {
			y := labels[r*length+p+1]
			if y == sinktoken.IgnoreIndex {
				continue
			}
			nll += kernels.CrossEntropy(logits[(r*length+p)*V:(r*length+p+1)*V], int(y), nil, 0)
			n++
		}
	}
	return nll, n
}

// loop trains from t.step to t.steps, logging, evaluating and checkpointing.
// A cancelled ctx finishes the current step, writes a checkpoint and returns
// errInterrupted.
func (t *trainer) loop(ctx context.Context) error {
	t.log.start(t.step, t.steps, t.cfg.TokensPerStep())
	defer t.log.finish()
	last := time.Now()
	lastTokens := t.tokens
	for t.step < t.steps {
		lr := t.cfg.LRAt(t.step, t.steps)
		loss, err := t.trainStep()
		if err != nil {
			return fmt.Errorf("step %d: %w; stopped, %s", t.step+1, err, t.run.lastGood())
		}
		norm := t.opt.Clip(t.cfg.GradClip)
		if bad(loss) || bad(norm) {
			return fmt.Errorf("loss %v (gradient norm %v) at step %d; stopped, %s", loss, norm, t.step+1, t.run.lastGood())
		}
		if !t.opt.Step(lr) {
			return fmt.Errorf("weights became non-finite at step %d (loss %v, gradient norm %v); stopped, %s", t.step+1, loss, norm, t.run.lastGood())
		}
		t.step++
		t.tokens += t.cfg.TokensPerStep()
		if t.onStep != nil {
			t.onStep(t.step, loss)
		}
		done := t.step == t.steps
		rec := metric{Step: t.step, Tokens: t.tokens, Loss: loss, LR: lr, GradNorm: norm}
		evalNow := done || (t.cfg.EvalInterval > 0 && t.step%t.cfg.EvalInterval == 0)
		if evalNow {
			v, err := t.evalLoss()
			if err != nil {
				return fmt.Errorf("eval at step %d: %w", t.step, err)
			}
			if !math.IsNaN(v) {
				rec.ValLoss = &v
			}
		}
		if evalNow || done || t.step%t.cfg.LogInterval == 0 {
			el := time.Since(last).Seconds()
			if el > 0 {
				rec.TokS = float64(t.tokens-lastTokens) / el
			}
			last, lastTokens = time.Now(), t.tokens
			if err := t.log.metric(rec); err != nil {
				return err
			}
		}
		t.log.progress(t.step, loss, lr)
		stop := ctx.Err() != nil
		if done || stop || (t.cfg.CheckpointInterval > 0 && t.step%t.cfg.CheckpointInterval == 0) {
			if err := t.checkpoint(); err != nil {
				return err
			}
		}
		if stop && !done {
			return errInterrupted
		}
	}
	return nil
}

// errInterrupted reports a run stopped by its context after a checkpoint.
var errInterrupted = errors.New("interrupted")

func bad(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }

// metric is one metrics.jsonl line.
type metric struct {
	Step     int      `json:"step"`
	Tokens   int64    `json:"tokens"`
	Loss     float64  `json:"loss"`
	LR       float64  `json:"lr"`
	TokS     float64  `json:"tok_s"`
	GradNorm float64  `json:"grad_norm"`
	ValLoss  *float64 `json:"val_loss,omitempty"`
}
