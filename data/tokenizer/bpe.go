package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// bpeNoMerge is the packed merge value of a pair that has no merge.
const bpeNoMerge = ^uint64(0)

// bpeScanMax is the longest word (in symbols) merged by the quadratic scan;
// longer words use the heap so that a megabyte without spaces stays fast.
const bpeScanMax = 64

// bpeCacheMax bounds the per-encoder word cache (entries); when full it is
// cleared and refilled by the words that follow.
const bpeCacheMax = 1 << 15

// bpeCacheWordMax is the length from which words are not cached, which
// bounds the cache's memory (HF stops at 256 bytes; longer words repeat in
// code and markup): a SentencePiece text without pre-tokenizer is one word.
const bpeCacheWordMax = 1024

// bpeModel is the BPE model of a tokenizer: the symbols of the characters
// and the merge ranks, all in ids. A word is either raw bytes whose
// byte-level characters are the symbols (the byte path, for byte-level
// tokenizers: byteID) or text whose characters are looked up in the vocab,
// with byte fallback and unknown-token rules (the character path, as HF's
// BPE::merge_word).
type bpeModel struct {
	byteID       [256]int32        // id of each byte's symbol, -1 if not in the vocab
	merges       map[uint64]uint64 // pair key a<<32|b → rank<<32 | id of the merged token
	vocab        map[string]int32  // token text → id (model tokens only)
	unk          int32             // id used for a character without a symbol, -1 to drop it
	fuseUnk      bool              // consecutive unknown characters give one unk id
	ignoreMerges bool              // a word that is itself in the vocab is one token
	bytePath     bool              // words come as raw bytes of byte-level text (see above)
	byteFallback bool              // an unknown character becomes its bytes' <0xNN> tokens
	fallback     [256]int32        // id of each byte's <0xNN> token, -1 if not in the vocab
	prefix       string            // continuing_subword_prefix: before every character but the first
	suffix       string            // end_of_word_suffix: after the last character
	bytes        *bytesTable
}

// bpePair packs a pair of ids into a map key ordered like (a, b).
func bpePair(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// merge returns the packed merge (rank<<32 | new id) of the pair (a, b).
func (m *bpeModel) merge(a, b int32) uint64 {
	if v, ok := m.merges[bpePair(a, b)]; ok {
		return v
	}
	return bpeNoMerge
}

// bpeState is the scratch space and word cache of one encoding goroutine.
type bpeState struct {
	syms  []int32             // [n] symbols of the word being merged
	ranks []uint64            // [n-1] packed merge of each adjacent pair
	next  []int32             // [n] heap merge: next live symbol, -1 at the end
	prev  []int32             // [n] heap merge: previous live symbol, -1 at the start
	heap  bpeHeap[bpeRankPos] // heap merge entries
	buf   []byte              // byte-level text of a word (ignore_merges), a prefixed character
	cache map[string]uint64   // word → ids in arena; nil when the word cache is off
	arena []int32             // cached ids; cache values are offset<<32 | length into it

	pieces, pieces2 []tokPiece // pre-tokenizer pieces, before and after a step
	spans           []tokPart  // the spans of one piece
	runes           []rune     // a piece's characters, for regexp2
	offs            []int      // [len(runes)+1] byte offset of each character
}

// newBPEState returns scratch space, with a word cache when cache is set.
func newBPEState(cache bool) *bpeState {
	st := &bpeState{}
	st.setCache(cache)
	return st
}

// setCache turns the word cache on (keeping its entries) or off.
func (st *bpeState) setCache(on bool) {
	switch {
	case on && st.cache == nil:
		st.cache = make(map[string]uint64, 1024)
	case !on:
		st.cache, st.arena = nil, nil
	}
}

// appendPiece appends the ids of one pre-token: raw bytes standing for
// their byte-level text if mapped, else text.
func (m *bpeModel) appendPiece(dst []int32, w string, mapped bool, st *bpeState) []int32 {
	if mapped && m.bytePath {
		return m.appendWord(dst, w, st)
	}
	if mapped {
		w = m.bytes.text(w)
	}
	if ids, ok := st.cached(w); ok {
		return append(dst, ids...)
	}
	syms := m.charIDs(w, st)
	st.remember(w, syms)
	return append(dst, syms...)
}

// appendWord appends the ids of one pre-token w (raw bytes) to dst on the
// byte path.
func (m *bpeModel) appendWord(dst []int32, w string, st *bpeState) []int32 {
	if len(w) == 1 {
		if id := m.byteID[w[0]]; id >= 0 {
			return append(dst, id)
		}
	}
	if ids, ok := st.cached(w); ok {
		return append(dst, ids...)
	}
	syms := m.wordIDs(w, st)
	st.remember(w, syms)
	return append(dst, syms...)
}

// cached returns the ids of a word seen before (never with the cache off).
func (st *bpeState) cached(w string) ([]int32, bool) {
	v, ok := st.cache[w]
	if !ok {
		return nil, false
	}
	return st.arena[v>>32 : v>>32+v&0xFFFFFFFF], true
}

// remember caches the ids of a short word (with the cache on).
func (st *bpeState) remember(w string, ids []int32) {
	if st.cache == nil || len(w) >= bpeCacheWordMax {
		return
	}
	if len(st.cache) >= bpeCacheMax {
		clear(st.cache)
		st.arena = st.arena[:0]
	}
	st.cache[strings.Clone(w)] = uint64(len(st.arena))<<32 | uint64(len(ids))
	st.arena = append(st.arena, ids...)
}

// charIDs merges the symbols of the characters of text w, as HF's
// BPE::merge_word: each character (with the subword prefix unless first,
// the word suffix if last) is a vocab token, else its bytes' <0xNN> tokens
// with byte fallback, else the unknown token (consecutive ones fused with
// fuse_unk; a pending unknown token is placed before the next known
// character, after any byte-fallback tokens, as HF does), else nothing.
// The result lives in st.syms.
func (m *bpeModel) charIDs(w string, st *bpeState) []int32 {
	if m.ignoreMerges {
		if id, ok := m.vocab[w]; ok {
			st.syms = append(st.syms[:0], id)
			return st.syms
		}
	}
	syms := st.syms[:0]
	unkPending := false
	for i := 0; i < len(w); {
		_, n := utf8.DecodeRuneInString(w[i:])
		key := w[i : i+n]
		if (i > 0 && m.prefix != "") || (i+n == len(w) && m.suffix != "") {
			b := st.buf[:0]
			if i > 0 {
				b = append(b, m.prefix...)
			}
			b = append(b, key...)
			if i+n == len(w) {
				b = append(b, m.suffix...)
			}
			st.buf = b
			key = string(b)
		}
		i += n
		if id, ok := m.vocab[key]; ok {
			if unkPending {
				syms = append(syms, m.unk)
				unkPending = false
			}
			syms = append(syms, id)
			continue
		}
		if m.byteFallback && m.fallbackAll(key) {
			for k := 0; k < len(key); k++ {
				syms = append(syms, m.fallback[key[k]])
			}
			continue
		}
		if m.unk >= 0 {
			if unkPending && !m.fuseUnk {
				syms = append(syms, m.unk)
			}
			unkPending = true
		}
	}
	if unkPending {
		syms = append(syms, m.unk)
	}
	if len(syms) > bpeScanMax {
		syms = m.mergeHeap(syms, st)
	} else {
		syms = m.mergeScan(syms, st)
	}
	st.syms = syms
	return syms
}

// fallbackAll reports whether every byte of s has a <0xNN> token.
func (m *bpeModel) fallbackAll(s string) bool {
	for k := 0; k < len(s); k++ {
		if m.fallback[s[k]] < 0 {
			return false
		}
	}
	return true
}

// wordIDs merges the byte symbols of w; the result lives in st.syms.
func (m *bpeModel) wordIDs(w string, st *bpeState) []int32 {
	if m.ignoreMerges {
		st.buf = m.bytes.appendText(st.buf[:0], w)
		if id, ok := m.vocab[string(st.buf)]; ok {
			st.syms = append(st.syms[:0], id)
			return st.syms
		}
	}
	syms := st.syms[:0]
	unkRun := false
	for i := 0; i < len(w); i++ {
		id := m.byteID[w[i]]
		if id < 0 {
			if m.unk < 0 || (m.fuseUnk && unkRun) {
				continue
			}
			id, unkRun = m.unk, true
		} else {
			unkRun = false
		}
		syms = append(syms, id)
	}
	if len(syms) > bpeScanMax {
		syms = m.mergeHeap(syms, st)
	} else {
		syms = m.mergeScan(syms, st)
	}
	st.syms = syms
	return syms
}

// mergeScan applies merges lowest rank first, leftmost first, by scanning
// the ranks of adjacent pairs (fast for short words).
func (m *bpeModel) mergeScan(syms []int32, st *bpeState) []int32 {
	if len(syms) < 2 {
		return syms
	}
	ranks := st.ranks[:0]
	for i := 0; i+1 < len(syms); i++ {
		ranks = append(ranks, m.merge(syms[i], syms[i+1]))
	}
	for {
		best, bi := bpeNoMerge, -1
		for i, r := range ranks {
			if r < best {
				best, bi = r, i
			}
		}
		if bi < 0 {
			break
		}
		syms[bi] = int32(uint32(best))
		syms = append(syms[:bi+1], syms[bi+2:]...)
		ranks = append(ranks[:bi], ranks[bi+1:]...)
		if bi > 0 {
			ranks[bi-1] = m.merge(syms[bi-1], syms[bi])
		}
		if bi < len(ranks) {
			ranks[bi] = m.merge(syms[bi], syms[bi+1])
		}
	}
	st.ranks = ranks
	return syms
}

// mergeHeap gives the same result as mergeScan in O(n log n): a linked list
// of live symbols and a min-heap of (rank, position) entries, checked when
// popped against the current pair.
func (m *bpeModel) mergeHeap(syms []int32, st *bpeState) []int32 {
	n := len(syms)
	next, prev := st.next[:0], st.prev[:0]
	for i := range n {
		next = append(next, int32(i+1))
		prev = append(prev, int32(i-1))
	}
	next[n-1] = -1
	h := st.heap[:0]
	push := func(i int32) {
		if j := next[i]; j >= 0 {
			if v := m.merge(syms[i], syms[j]); v != bpeNoMerge {
				h.push(bpeRankPos(v&^0xFFFFFFFF | uint64(i)))
			}
		}
	}
	for i := range n - 1 {
		push(int32(i))
	}
	for len(h) > 0 {
		top := h.pop()
		i := int32(uint32(top))
		j := next[i]
		if syms[i] < 0 || j < 0 {
			continue
		}
		v := m.merge(syms[i], syms[j])
		if v == bpeNoMerge || v>>32 != uint64(top>>32) {
			continue // stale: the pair at i changed since this entry was pushed
		}
		syms[i] = int32(uint32(v))
		syms[j] = -1
		next[i] = next[j]
		if k := next[j]; k >= 0 {
			prev[k] = i
		}
		if p := prev[i]; p >= 0 {
			push(p)
		}
		push(i)
	}
	out := syms[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	st.next, st.prev, st.heap = next, prev, h
	return out
}

// bpeRankPos is a heap entry of the long-word merge: rank<<32 | position.
type bpeRankPos uint64

func (x bpeRankPos) before(y bpeRankPos) bool { return x < y }

// bpeHeap is a binary heap with the first entry (by before) on top.
type bpeHeap[T interface{ before(T) bool }] []T

func (h *bpeHeap[T]) push(v T) {
	s := append(*h, v)
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s[i].before(s[p]) {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
	*h = s
}

func (h *bpeHeap[T]) pop() T {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s[l].before(s[m]) {
			m = l
		}
		if r < len(s) && s[r].before(s[m]) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
