package study

import (
	"runtime"

	"github.com/sinktrain/sinktrain/infer"
)

// Engine are the streaming engine's settings of eval stream and compare;
// none of them changes a number beyond float rounding (ExactSteps and the
// chunk size give the same NLLs, bfloat16 rounds the weights).
type Engine struct {
	// Chunk is the number of tokens one chunked forward scores (0:
	// infer.DefaultScoreChunk; negative is refused).
	Chunk int
	// ExactSteps feeds one token at a time (the reference path).
	ExactSteps bool
	// DType stores the weights as float32 ("" too) or bfloat16.
	DType string
}

// load loads a model folder with the engine's weight storage.
func (e Engine) load(dir string) (*infer.Model, error) {
	d, err := infer.ParseDType(e.DType)
	if err != nil {
		return nil, err
	}
	return infer.LoadModelAs(dir, d)
}

// score returns Score's options for passes that share the machine with
// jobs−1 others.
func (e Engine) score(jobs int) infer.ScoreOptions {
	c := e.Chunk
	if c == 0 {
		c = infer.DefaultScoreChunk
	}
	return infer.ScoreOptions{Chunk: c, ExactSteps: e.ExactSteps, Threads: max(1, runtime.GOMAXPROCS(0)/max(1, jobs))}
}
