package train

import "testing"

// TestBLASThreads: the cores are shared out among the workers (16 cores,
// batch 8: 8 graphs × 2 threads), at least one thread each; one worker
// gets them all.
func TestBLASThreads(t *testing.T) {
	for _, c := range []struct{ cores, workers, want int }{
		{2, 2, 1}, {2, 1, 2}, {16, 16, 1}, {16, 8, 2}, {16, 7, 2}, {16, 4, 4}, {16, 3, 5}, {16, 1, 16}, {1, 4, 1}, {4, 0, 4}, {2, 8, 1},
	} {
		if got := blasThreads(c.cores, c.workers); got != c.want {
			t.Errorf("blasThreads(%d cores, %d workers) = %d, want %d", c.cores, c.workers, got, c.want)
		}
	}
}
