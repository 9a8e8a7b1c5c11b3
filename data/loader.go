package data

import (
	"fmt"
	"math/bits"
)

// Loader samples training windows of BlockSize tokens at random offsets of a
// token stream. Sampling is a pure function of (seed, step, row): row r of
// step s starts at [Loader.Offset](s, r), so a batch split across workers
// (worker w taking rows [lo, hi)) gets exactly the rows of the whole batch,
// and a run resumed from [Loader.State] continues with identical batches.
//
// Windows are BlockSize tokens long; a model that predicts each next token
// inside the window (Hugging Face's shifted labels) scores BlockSize-1
// targets. Ask for BlockSize+1 to get BlockSize inputs plus their targets.
type Loader struct {
	toks      *Tokens
	blockSize int
	seed      uint64
	step      int64
}

// LoaderState is the loader's position, saved in checkpoints.
type LoaderState struct {
	Seed      uint64 `json:"seed"`
	Step      int64  `json:"step"` // the next batch Next returns
	BlockSize int    `json:"block_size"`
	Tokens    int64  `json:"tokens,omitempty"` // stream length, checked on Restore when set
}

// NewLoader returns a loader at step 0. It needs a stream of at least
// blockSize+1 tokens.
func NewLoader(t *Tokens, blockSize int, seed uint64) (*Loader, error) {
	if blockSize < 1 {
		return nil, fmt.Errorf("loader block size %d, want ≥ 1", blockSize)
	}
	if t == nil || t.Len() < blockSize+1 {
		n := 0
		if t != nil {
			n = t.Len()
		}
		return nil, fmt.Errorf("loader needs at least block_size+1 = %d tokens, the split has %d", blockSize+1, n)
	}
	return &Loader{toks: t, blockSize: blockSize, seed: seed}, nil
}

// BlockSize is the window length.
func (l *Loader) BlockSize() int { return l.blockSize }

// Step is the step the next call to Next returns.
func (l *Loader) Step() int64 { return l.step }

// Offset is the stream position where row row of step step starts.
func (l *Loader) Offset(step int64, row int) int {
	h := ldMix(ldMix(ldMix(l.seed)^uint64(step)) ^ uint64(row))
	span := uint64(l.toks.Len() - l.blockSize + 1) // number of valid offsets
	hi, _ := bits.Mul64(h, span)                   // uniform in [0, span) (Lemire)
	return int(hi)
}

// Rows copies rows [first, first+len(dst)) of step step into dst, reusing
// each dst[i]'s capacity; it does not move the loader. Workers that split a
// batch call it with their own row range.
func (l *Loader) Rows(step int64, first int, dst [][]int32) [][]int32 {
	for i := range dst {
		dst[i] = l.toks.Window(l.Offset(step, first+i), l.blockSize, dst[i])
	}
	return dst
}

// Next returns batch windows for the current step (rows 0…batch-1) and
// advances the step.
func (l *Loader) Next(batch int) [][]int32 {
	out := l.Rows(l.step, 0, make([][]int32, batch))
	l.step++
	return out
}

// Skip advances the step by n without reading (e.g. after a worker read its
// rows with Rows).
func (l *Loader) Skip(n int64) { l.step += n }

// State returns the loader's position.
func (l *Loader) State() LoaderState {
	return LoaderState{Seed: l.seed, Step: l.step, BlockSize: l.blockSize, Tokens: int64(l.toks.Len())}
}

// Restore moves the loader to a saved position. The block size (and the stream
// length, when saved) must match.
func (l *Loader) Restore(s LoaderState) error {
	if s.BlockSize != l.blockSize {
		return fmt.Errorf("loader state has block_size %d, the loader %d", s.BlockSize, l.blockSize)
	}
	if s.Tokens != 0 && s.Tokens != int64(l.toks.Len()) {
		return fmt.Errorf("loader state is for a stream of %d tokens, this split has %d (different data?)", s.Tokens, l.toks.Len())
	}
	if s.Step < 0 {
		return fmt.Errorf("loader state step %d is negative", s.Step)
	}
	l.seed, l.step = s.Seed, s.Step
	return nil
}

// ldMix is splitmix64's finalizer: a bijective 64-bit mix.
func ldMix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
