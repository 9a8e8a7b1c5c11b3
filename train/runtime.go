package train

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/sinktrain/sinktrain/internal/input"
)

// Runtime holds the settings of one training process that are not part of
// the run: they decide how the work is spread over this machine's cores,
// not what is computed, so they are never stored in a checkpoint's training
// config. A resume reproduces the run bit for bit with the same worker
// count (the count is recorded in trainer_state.json, and a resume with
// another count says so); any count gives the same result within float
// rounding.
type Runtime struct {
	// Workers is the number of graphs run in parallel, each on its share
	// of the batch rows; 0 is one per core (GOMAXPROCS). At most batch are
	// used.
	Workers int
	// BLASThreads is the number of threads of each worker's products; 0 is
	// GOMAXPROCS / Workers (at least 1). One worker runs OpenBLAS with that
	// many threads; several run OpenBLAS one thread per call and split
	// their products, attention, GELU and cross-entropy over that many
	// goroutines themselves (graph.WithThreads): OpenBLAS's pool serves one
	// caller at a time. (The name is kept from when it was OpenBLAS's.)
	BLASThreads int
}

// runtimeKeys are the key=value overrides (--set) that set a Runtime
// field instead of a Config key.
var runtimeKeys = []string{"workers", "blas_threads"}

// set applies key=value when key is a runtime key and reports whether it was.
func (r *Runtime) set(key, value string) (bool, error) {
	var dst *int
	switch key {
	case "workers":
		dst = &r.Workers
	case "blas_threads":
		dst = &r.BLASThreads
	default:
		return false, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil {
		return true, fmt.Errorf("runtime key %s: %q is not an integer", key, value)
	}
	*dst = n
	return true, nil
}

// splitRuntime applies the runtime keys among key=value overrides to r and
// returns the others (Config keys) in order.
func splitRuntime(r *Runtime, sets []string) ([]string, error) {
	var rest []string
	for _, kv := range sets {
		k, v, _ := strings.Cut(kv, "=")
		ok, err := r.set(strings.TrimSpace(k), v)
		if err != nil {
			return nil, input.Usagef("Set", "override", strconv.Quote(kv), "%w", err)
		}
		if !ok {
			rest = append(rest, kv)
		}
	}
	return rest, nil
}

// resolve checks r and fills its defaults from GOMAXPROCS for a batch of
// the given size.
func (r Runtime) resolve(batch int) (Runtime, error) {
	if r.Workers < 0 {
		return r, input.Usagef("Workers", "workers", strconv.Itoa(r.Workers), "expected ≥ 0 (0: one per core)")
	}
	if r.BLASThreads < 0 {
		return r, input.Usagef("BLASThreads", "BLAS threads", strconv.Itoa(r.BLASThreads), "expected ≥ 0 (0: automatic)")
	}
	if r.Workers == 0 {
		r.Workers = runtime.GOMAXPROCS(0)
	}
	r.Workers = max(1, min(r.Workers, batch))
	if r.BLASThreads == 0 {
		r.BLASThreads = blasThreads(runtime.GOMAXPROCS(0), r.Workers)
	}
	return r, nil
}

// blasThreads is the threads of each of workers graphs on cores cores:
// the cores shared out. Graphs are the better parallelism, so there are as
// many as the batch allows (Workers = 0); the threads use the cores left
// over (16 cores and batch 8: 8 graphs × 2 threads). Measured on a 16-core
// Xeon (reference config, batch 8) when the threads were OpenBLAS's: 8
// graphs × 1 trained at 15,069 tok/s, 8 × 2 at 6,522, 4 × 4 at 9,425 and
// 2 × 8 at 9,469 — several callers queue on OpenBLAS's one pool, which is
// why several graphs now split their products themselves.
func blasThreads(cores, workers int) int {
	return max(1, cores/max(1, workers))
}
