package data

import (
	"sort"

	"github.com/sinktrain/sinktrain/data/shard"
)

// Tokens is the packed token stream of a split: every document (each ending
// with <|endoftext|>) of every shard, in order. Its segments view the
// memory-mapped shards in place; it stays valid until its Dataset is closed.
// A Tokens is read-only and safe for concurrent use.
type Tokens struct {
	segs   [][]int32 // one per record batch, in stream order
	starts []int     // [len(segs)+1] stream position of each segment's first token
	docs   int64     // documents (rows)
	maps   [][]byte  // the memory mappings the segments view (nil: Go memory)
}

// NewTokensFromSlice wraps ids (not copied) as a one-segment stream; for tests
// and for text tokenized in memory.
func NewTokensFromSlice(ids []int32) *Tokens {
	return ldTokens([][]int32{ids}, 0)
}

// ldTokens builds a stream from segments (empty ones dropped).
func ldTokens(segs [][]int32, docs int64) *Tokens {
	t := &Tokens{starts: []int{0}, docs: docs}
	for _, s := range segs {
		if len(s) == 0 {
			continue
		}
		t.segs = append(t.segs, s)
		t.starts = append(t.starts, t.starts[len(t.starts)-1]+len(s))
	}
	return t
}

// Len is the number of tokens in the stream.
func (t *Tokens) Len() int { return t.starts[len(t.starts)-1] }

// Docs is the number of documents (shard rows) in the stream; 0 when unknown.
func (t *Tokens) Docs() int64 { return t.docs }

// Segments returns the stream's in-place segments (do not modify them):
// concatenated they are the whole stream. Use them to scan without copying.
func (t *Tokens) Segments() [][]int32 { return t.segs }

// Window copies tokens [start, start+n) into dst (grown if its capacity is
// short), crossing shard and record-batch boundaries, and returns dst[:n].
// It panics if the range is outside [0, Len()), like a slice expression.
func (t *Tokens) Window(start, n int, dst []int32) []int32 {
	if start < 0 || n < 0 || start+n > t.Len() {
		panic("data: Tokens.Window out of range")
	}
	if cap(dst) < n {
		dst = make([]int32, n)
	}
	dst = dst[:n]
	if n == 0 {
		return dst
	}
	i := sort.SearchInts(t.starts, start+1) - 1 // segment holding start
	for done := 0; done < n; i++ {
		seg := t.segs[i][start+done-t.starts[i]:]
		done += copy(dst[done:], seg)
	}
	return dst
}

// Release tells the system that tokens [start, start+n) will not be read
// again soon: the whole pages of the memory-mapped shards holding them
// leave the process's resident memory (shard.ReleasePages; the file stays
// in the page cache, a later read faults it back). A reader streaming a
// split front to back calls it behind itself, so that its resident memory
// does not grow with the stream. Tokens in Go memory are left alone. Like
// Window it is safe for concurrent use.
func (t *Tokens) Release(start, n int) {
	if len(t.maps) == 0 || n <= 0 || start < 0 || start+n > t.Len() {
		return
	}
	i := sort.SearchInts(t.starts, start+1) - 1
	for done := 0; done < n; i++ {
		off := start + done - t.starts[i]
		k := min(len(t.segs[i])-off, n-done)
		shard.ReleasePages(t.maps, t.segs[i][off:off+k])
		done += k
	}
}

// All returns a copy of the first max tokens of the stream (all of them when
// max <= 0 or max > Len()): the sequential reader for evaluation.
func (t *Tokens) All(max int) []int32 {
	n := t.Len()
	if max > 0 && max < n {
		n = max
	}
	return t.Window(0, n, nil)
}

// Sum adds up every token id; it touches the whole stream once (a read
// throughput probe, and a cheap checksum).
func (t *Tokens) Sum() int64 {
	var s int64
	for _, seg := range t.segs {
		for _, v := range seg {
			s += int64(v)
		}
	}
	return s
}
