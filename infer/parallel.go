package infer

import "sync"

// parallel splits [0, n) into up to workers contiguous ranges and runs fn on
// each, one range on the calling goroutine, and returns when all are done.
func parallel(workers, n int, fn func(lo, hi int)) {
	workers = min(workers, n)
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for lo := per; lo < n; lo += per {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, min(n, lo+per))
	}
	fn(0, min(n, per))
	wg.Wait()
}
