package infer

import "sync"

// parallel splits [0, n) into up to workers contiguous ranges and runs fn on
// each, one range on the calling goroutine, and returns when all are done.
func parallel(workers, n int, fn func(lo, hi int)) {
	parallelIdx(workers, n, 1, func(_, lo, hi int) { fn(lo, hi) })
}

// parallelIdx is parallel with range boundaries at multiples of align
// (except n) and fn told its worker index wk (0 on the calling goroutine).
func parallelIdx(workers, n, align int, fn func(wk, lo, hi int)) {
	per := (n + workers - 1) / workers
	per = (per + align - 1) / align * align
	if workers <= 1 || per >= n {
		fn(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	wk := 1
	for lo := per; lo < n; lo += per {
		wg.Add(1)
		go func(wk, lo, hi int) {
			defer wg.Done()
			fn(wk, lo, hi)
		}(wk, lo, min(n, lo+per))
		wk++
	}
	fn(0, 0, per)
	wg.Wait()
}
