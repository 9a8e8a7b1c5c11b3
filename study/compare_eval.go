package study

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/sinktrain/sinktrain/infer"
)

// cmpRollingPoints is about how many points each rolling-perplexity line has.
const cmpRollingPoints = 400

// cmpEvalModel streams one model under every cache spec of o, through the
// same Source and Score as EvalStream (so the numbers are eval stream's), recording the rolling perplexity for the plot. The specs
// run concurrently, each holding a slot of sem while it streams; results
// keep the order of o.Caches.
func cmpEvalModel(ctx context.Context, o *CompareOptions, nm NamedModel, sem chan struct{}) ([]CompareResult, error) {
	m, err := o.load(nm.Path)
	if err != nil {
		return nil, err
	}
	s, closeStream, err := o.Source.Open(nm.Path, m)
	if err != nil {
		return nil, err
	}
	defer closeStream()
	specs, err := parseSpecs(o.Caches)
	if err != nil {
		return nil, err
	}
	out := make([]CompareResult, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, spec := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			roll := newCmpRoller(cmpRollingWindow, max(1, (s.Len()-1)/cmpRollingPoints))
			p := newProgress(o.Progress, "compare "+nm.Name+" "+spec.String(), s.Len()-1)
			so := o.score(cap(sem))
			so.OnNLL, so.OnProgress = roll.add, p.setDone
			sc, err := infer.Score(ctx, m, spec, s, so)
			p.Finish()
			if err != nil {
				errs[i] = fmt.Errorf("cache %s: %w", o.Caches[i], err)
				return
			}
			roll.finish()
			r := newResult(spec, sc)
			out[i] = CompareResult{
				Model: nm.Name, Cache: o.Caches[i], Tokens: r.Tokens, NLL: r.NLL, PPL: r.PPL, TokS: r.TokS, PeakRSSMB: r.PeakRSSMB,
				RollingWindow: cmpRollingWindow, RollingIndex: roll.idx, Rolling: roll.ppl,
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// cmpRoller computes the perplexity over a trailing window of win scored
// targets, sampled every stride targets and after the last one, without
// keeping the whole NLL sequence.
type cmpRoller struct {
	win, stride int
	ring        []float64 // [win] the last win NLLs
	sum         float64
	n           int // targets seen
	lastIndex   int
	idx         []int     // stream index of the last target of each sample
	ppl         []float64 // exp(mean NLL over the window) of each sample
}

func newCmpRoller(win, stride int) *cmpRoller {
	return &cmpRoller{win: win, stride: stride, ring: make([]float64, win)}
}

// add is a ScoreFunc.
func (r *cmpRoller) add(index int, _ int32, nll float64) error {
	slot := r.n % r.win
	r.sum += nll - r.ring[slot]
	r.ring[slot] = nll
	r.n++
	r.lastIndex = index
	if r.n%r.stride == 0 {
		r.sample()
	}
	return nil
}

func (r *cmpRoller) sample() {
	r.idx = append(r.idx, r.lastIndex)
	r.ppl = append(r.ppl, math.Exp(r.sum/float64(min(r.n, r.win))))
}

// finish samples the last target if the stride skipped it.
func (r *cmpRoller) finish() {
	if r.n > 0 && r.n%r.stride != 0 {
		r.sample()
	}
}
