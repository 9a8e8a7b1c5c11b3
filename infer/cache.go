package infer

import (
	"fmt"

	"github.com/sinktrain/sinktrain/internal/kernels"
)

// Cache holds the keys and values of every layer under one policy.
//
// Slots: token t (stream position) lives in slot t when t < K (the sinks) and
// in slot K + (t−K) mod W otherwise, so the window is a ring buffer: a new
// token overwrites the slot of the token W steps older, nothing is copied and
// nothing is allocated per token. A dense cache uses slot t and grows by
// doubling. Keys are stored rotated (see the package doc): window keys by
// their stream position, sink keys by their slot.
type Cache struct {
	spec        CacheSpec
	layers      int         // L
	heads       int         // H
	headDim     int         // hd
	capacity    int         // slots allocated per head (K+W, or grown for dense)
	keys        [][]float32 // per layer [H, capacity, hd]
	values      [][]float32 // per layer [H, capacity, hd]
	seen        int         // tokens appended so far (the next stream position)
	windowStart int         // stream position of the oldest window token kept by Evict
}

// NewCache allocates a cache for spec (not Recompute, which runs a dense
// cache per window) and a model with L layers, H heads of hd dims. A dense
// cache starts with room for hint tokens (grown on demand).
func NewCache(spec CacheSpec, layers, heads, headDim, hint int) *Cache {
	c := &Cache{spec: spec, layers: layers, heads: heads, headDim: headDim}
	capacity := spec.Slots()
	if spec.Kind != SinkWindow {
		c.spec = CacheSpec{Kind: Dense}
		capacity = max(hint, 16)
	}
	c.alloc(capacity)
	return c
}

func (c *Cache) alloc(capacity int) {
	old := c.capacity
	oldK, oldV := c.keys, c.values
	c.capacity = capacity
	c.keys = make([][]float32, c.layers)
	c.values = make([][]float32, c.layers)
	n := c.heads * capacity * c.headDim
	for l := range c.layers {
		c.keys[l] = kernels.Alloc32(n)
		c.values[l] = kernels.Alloc32(n)
		if oldK == nil {
			continue
		}
		for h := range c.heads {
			copy(c.keys[l][h*capacity*c.headDim:], oldK[l][h*old*c.headDim:(h+1)*old*c.headDim])
			copy(c.values[l][h*capacity*c.headDim:], oldV[l][h*old*c.headDim:(h+1)*old*c.headDim])
		}
	}
}

// Spec returns the cache's policy.
func (c *Cache) Spec() CacheSpec { return c.spec }

// Seen returns the number of tokens appended so far.
func (c *Cache) Seen() int { return c.seen }

// Reset empties the cache, keeping its memory.
func (c *Cache) Reset() { c.seen, c.windowStart = 0, 0 }

// slot returns the slot of stream position t.
func (c *Cache) slot(t int) int {
	k := c.spec.Sinks
	if c.spec.Kind == Dense || t < k {
		return t
	}
	return k + (t-k)%c.spec.Window
}

// visible returns, for a query at stream position t (already appended),
// the number of sink tokens it sees and the first window position it sees;
// the window is [lo, t].
func (c *Cache) visible(t int) (sinks, lo int) {
	if c.spec.Kind == Dense {
		return 0, 0
	}
	k := c.spec.Sinks
	if t < k {
		return t + 1, t + 1 // only sinks so far; empty window
	}
	return k, max(k, c.windowStart, t+1-c.spec.Window)
}

// queryPos returns the cache position of a query at stream position t: the
// number of keys it sees before itself.
func (c *Cache) queryPos(t int) int {
	if c.spec.Kind == Dense {
		return t
	}
	sinks, lo := c.visible(t)
	if t < c.spec.Sinks {
		return t
	}
	return sinks + t - lo
}

// free returns how many tokens can be appended before one that a later
// query must still see is overwritten (unbounded for dense).
func (c *Cache) free() int {
	if c.spec.Kind == Dense {
		return MaxCacheSlots
	}
	k := c.spec.Sinks
	if c.seen < k {
		return k - c.seen + c.spec.Window
	}
	return c.spec.Window - (c.seen - max(k, c.windowStart))
}

// reserve makes room for n more tokens (growing a dense cache).
func (c *Cache) reserve(n int) {
	if c.spec.Kind == Dense && c.seen+n > c.capacity {
		c.alloc(max(2*c.capacity, c.seen+n))
	}
}

// Evict drops the oldest window tokens so that n more tokens fit without
// evicting during their prefill (streaming-llm's evict_for_space). n is
// capped at W; the sinks are never evicted. A dense cache ignores it.
func (c *Cache) Evict(n int) {
	if c.spec.Kind == Dense || c.seen <= c.spec.Sinks {
		return
	}
	n = min(n, c.spec.Window)
	if keep := c.spec.Window - n; c.seen-max(c.spec.Sinks, c.windowStart) > keep {
		c.windowStart = c.seen - keep
	}
}

// KeyPos is one key of the cache as a query sees it.
type KeyPos struct {
	Token int // stream position of the key's token
	Pos   int // position inside the cache (the one RoPE uses)
}

// Keys appends to dst the keys a query at stream position t sees (t must be
// the last appended position or later ones may have overwritten slots), in
// cache order: sinks, then the window oldest first. Tests use it to compare
// the cache's state with grids.
func (c *Cache) Keys(dst []KeyPos, t int) []KeyPos {
	sinks, lo := c.visible(t)
	for j := range sinks {
		dst = append(dst, KeyPos{Token: j, Pos: j})
	}
	for u := lo; u <= t; u++ {
		dst = append(dst, KeyPos{Token: u, Pos: sinks + u - lo})
	}
	return dst
}

// segments returns the slot ranges [a, b) a query at stream position t
// attends to (at most three: sinks and a window split by the ring's wrap),
// written into seg; it returns the number of ranges.
func (c *Cache) segments(seg *[3][2]int, t int) int {
	if c.spec.Kind == Dense {
		seg[0] = [2]int{0, t + 1}
		return 1
	}
	sinks, lo := c.visible(t)
	n := 0
	if sinks > 0 {
		seg[n] = [2]int{0, sinks}
		n++
	}
	if lo > t {
		return n
	}
	a, b := c.slot(lo), c.slot(t)
	if a <= b {
		seg[n] = [2]int{a, b + 1}
		return n + 1
	}
	seg[n] = [2]int{a, c.spec.Sinks + c.spec.Window}
	seg[n+1] = [2]int{c.spec.Sinks, b + 1}
	return n + 2
}

// isSinkSlot reports whether slot s holds a sink (rotated by its slot).
func (c *Cache) isSinkSlot(s int) bool { return c.spec.Kind == SinkWindow && s < c.spec.Sinks }

// String describes the cache for error messages.
func (c *Cache) String() string {
	return fmt.Sprintf("cache %s (%d tokens seen)", c.spec, c.seen)
}
