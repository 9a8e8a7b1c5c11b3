package infer

import (
	"runtime"

	"github.com/sinktrain/sinktrain/internal/kernels"
)

// ranger is work split into index ranges: run handles [lo, hi) on worker
// wk (0 is the calling goroutine). The engine's rangers are structs held by
// the Session or scorer, so handing one to a helper allocates nothing.
type ranger interface{ run(wk, lo, hi int) }

// job is one range of a split, sent to a helper.
type job struct {
	r      ranger
	lo, hi int
	spin   bool // short job: poll for the next one before blocking
}

// spinPolls is how many times a helper that finished a short job, or the
// caller waiting for its helpers, polls its channel before it blocks
// (≈ 50–100 µs). A decode step of a small model hands out about five
// splits per layer with a few microseconds of single-threaded work between
// them; blocking and waking a goroutine for each costs about as much as the
// work itself. After a long job (spinWork) nobody polls: waking costs
// little next to the job, and a goroutine polling while the other one is in
// a long BLAS call keeps the Go runtime from parking that call's processor
// (it hands it to a new thread instead), which slowed the decode of a
// Pythia-160M-shaped model by 15% on 2 cores.
const spinPolls = 20000

// spinWork is the per-goroutine work (values read: weights, keys) below
// which a job counts as short: 256K float32 values, 1 MiB, ≈ 20–50 µs.
const spinWork = 1 << 18

// team is the goroutines a Session or scorer splits its matrix products,
// rows and attention heads over: size−1 helpers, each taking jobs from its
// own channel, plus the calling goroutine. Splitting allocates nothing (the
// per-call goroutines and closures it replaces left ≈ 15–35 bytes of
// garbage per scored token, which a 4M-token stream paid for in peak RSS).
// The helpers stop when the owner is collected (stopTeamWhenCollected).
type team struct {
	size int
	jobs []chan job    // one per helper, buffered (a send never waits)
	done chan struct{} // one value per finished job

	// pool splits a decoding step's matrix-vector products and attention
	// over size threads in C (kernels.Pool), started on first use; nil in
	// the pure-Go build. A product handed to it costs no goroutine wake-up:
	// the caller spins on its helpers inside one C call, and they spin for
	// the next product. On 2 cores a SmolLM-135M-shaped decode waited
	// longer for its helpers' wake-ups than it multiplied.
	pool      *kernels.Pool
	poolTried bool
}

// gemvPool returns the team's pool (nil for one goroutine or the pure-Go
// build), starting it on first use.
func (t *team) gemvPool() *kernels.Pool {
	if !t.poolTried && t.size > 1 {
		t.poolTried = true
		t.pool = kernels.NewPool(t.size)
	}
	return t.pool
}

// newTeam starts size−1 helpers (none for size ≤ 1).
func newTeam(size int) *team {
	t := &team{size: max(1, size)}
	if t.size == 1 {
		return t
	}
	t.jobs = make([]chan job, t.size-1)
	t.done = make(chan struct{}, t.size)
	for i := range t.jobs {
		t.jobs[i] = make(chan job, 1)
		go helper(i+1, t.jobs[i], t.done)
	}
	return t
}

// helper runs the jobs of one channel, as worker wk, until it is closed.
func helper(wk int, jobs <-chan job, done chan<- struct{}) {
	spin := false
	for {
		j, ok := poll(jobs, spin)
		if !ok {
			return
		}
		j.r.run(wk, j.lo, j.hi)
		spin = j.spin
		j = job{} // hold no reference to the owner while idle
		done <- struct{}{}
	}
}

// poll receives from c, polling spinPolls times first if spin is set.
func poll[T any](c <-chan T, spin bool) (T, bool) {
	for i := 0; spin && i < spinPolls; i++ {
		select {
		case v, ok := <-c:
			return v, ok
		default:
		}
	}
	v, ok := <-c
	return v, ok
}

// stop ends the helpers.
func (t *team) stop() {
	for _, c := range t.jobs {
		close(c)
	}
	if t.pool != nil {
		t.pool.Close()
	}
}

// stopTeamWhenCollected stops t's helpers once owner (the Session or
// scorer holding t) is unreachable.
func stopTeamWhenCollected[T any](owner *T, t *team) {
	if t.size > 1 {
		runtime.AddCleanup(owner, (*team).stop, t)
	}
}

// split divides [0, n) into up to size contiguous ranges with boundaries
// at multiples of align (except n), runs r on each (the first on the
// calling goroutine, the i-th on helper i as worker i) and returns when all
// are done. work is the values
// the whole split reads (for the choice between polling and blocking).
func (t *team) split(n, align, work int, r ranger) {
	per := (n + t.size - 1) / t.size
	per = (per + align - 1) / align * align
	if t.size <= 1 || per >= n {
		r.run(0, 0, n)
		return
	}
	spin := work/t.size < spinWork
	sent := 0
	for lo := per; lo < n; lo += per {
		t.jobs[sent] <- job{r: r, lo: lo, hi: min(n, lo+per), spin: spin}
		sent++
	}
	r.run(0, 0, per)
	for range sent {
		poll(t.done, spin)
	}
}
