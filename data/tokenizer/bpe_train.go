package tokenizer

import (
	"encoding/json"
	"fmt"
	"iter"
	"strings"
)

// TrainBPE learns a byte-level BPE tokenizer from docs, as Hugging Face's
// BpeTrainer does with a ByteLevel pre-tokenizer: the special tokens take
// ids 0.. in order (e.g. "<|endoftext|>", "<|sink_0|>", …), the 256 byte
// symbols follow in order of their byte-level rune, then one id per merge
// until vocabSize ids exist (or no pair is left). Each step merges the most
// frequent adjacent pair, ties going to the smallest (left id, right id).
// Special tokens in docs are cut out and not learned.
//
// Pair counts are kept incrementally: a pair → count map, a pair → words
// index and a max-heap with lazy updates, so a merge touches only the words
// that contain its pair.
func TrainBPE(docs iter.Seq[string], vocabSize int, special []string) (*Tokenizer, error) {
	k := len(special)
	if vocabSize < k+256 {
		return nil, fmt.Errorf("train tokenizer: vocab size %d is below the %d special tokens + 256 bytes", vocabSize, k)
	}
	added := make([]AddedToken, k)
	pats := make([]tokPattern, k)
	for i, s := range special {
		if s == "" {
			return nil, fmt.Errorf("train tokenizer: special token %d is empty", i)
		}
		for _, a := range added[:i] {
			if a.Content == s {
				return nil, fmt.Errorf("train tokenizer: special token %q appears twice", s)
			}
		}
		added[i] = AddedToken{ID: int32(i), Content: s, Special: true}
		pats[i] = tokPattern{s, int32(i)}
	}
	bt := newBytesTable()
	tr := &bpeTrainer{
		pairCount: make(map[uint64]int64),
		where:     make(map[uint64][]int32),
		touched:   make(map[uint64]struct{}),
	}
	// Ids: specials, then the bytes in rune order.
	tokens := append([]string(nil), special...)
	var byteID [256]int32
	for _, b := range bt.sorted {
		byteID[b] = int32(len(tokens))
		tokens = append(tokens, string(bt.toRune[b]))
	}
	tr.countWords(docs, newTokMatcher(pats), &byteID)
	merges := make([][2]string, 0, vocabSize-len(tokens))
	for len(tokens) < vocabSize {
		pair, ok := tr.best()
		if !ok {
			break
		}
		a, b := int32(pair>>32), int32(uint32(pair))
		ab := int32(len(tokens))
		tokens = append(tokens, tokens[a]+tokens[b])
		merges = append(merges, [2]string{tokens[a], tokens[b]})
		tr.merge(pair, a, b, ab)
	}
	vocab := make(map[string]int32, len(tokens))
	for id, s := range tokens {
		vocab[s] = int32(id)
	}
	t := &Tokenizer{bytes: bt}
	dec, _ := json.Marshal(map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true})
	null := json.RawMessage("null")
	t.raw = tokRawFields{
		version: json.RawMessage(`"1.0"`), truncation: null, padding: null, normalizer: null,
		preTokenizer:  json.RawMessage(`{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}`),
		postProcessor: null, decoder: dec, dropout: null, unkToken: null, prefix: null, suffix: null,
	}
	if err := t.parseComponents(); err != nil {
		return nil, fmt.Errorf("train tokenizer: %w", err)
	}
	if err := t.build(vocab, merges, added, tokModelOptions{}); err != nil {
		return nil, fmt.Errorf("train tokenizer: %w", err)
	}
	return t, nil
}

// bpeTrainWord is one distinct pre-token of the corpus.
type bpeTrainWord struct {
	syms  []int32 // current symbols
	count int64   // occurrences in the corpus
}

// bpeTrainer holds the incremental pair statistics.
type bpeTrainer struct {
	words     []bpeTrainWord
	pairCount map[uint64]int64   // pair → occurrences weighted by word count (> 0 only)
	where     map[uint64][]int32 // pair → words that contain it (may hold stale entries)
	heap      bpeHeap[bpeCount]  // (count, pair), lazily updated
	touched   map[uint64]struct{}
	seen      []uint32 // per word: the last merge step that visited it
	step      uint32
}

// countWords pre-tokenizes docs (special tokens cut out), counts distinct
// words and sets up the pair statistics.
func (tr *bpeTrainer) countWords(docs iter.Seq[string], specials tokMatcher, byteID *[256]int32) {
	counts := make(map[string]int64)
	addWords := func(s string) {
		for i := 0; i < len(s); {
			j := pretokNext(s, i)
			w := s[i:j]
			if c, ok := counts[w]; ok {
				counts[w] = c + 1
			} else {
				counts[strings.Clone(w)] = 1
			}
			i = j
		}
	}
	for doc := range docs {
		pos := 0
		for !specials.empty() {
			start, stop, a := specials.find(doc, pos)
			if a < 0 {
				break
			}
			addWords(doc[pos:start])
			pos = stop
		}
		addWords(doc[pos:])
	}
	tr.words = make([]bpeTrainWord, 0, len(counts))
	for w, c := range counts {
		syms := make([]int32, len(w))
		for i := range len(w) {
			syms[i] = byteID[w[i]]
		}
		wi := int32(len(tr.words))
		tr.words = append(tr.words, bpeTrainWord{syms, c})
		for i := 0; i+1 < len(syms); i++ {
			tr.add(bpePair(syms[i], syms[i+1]), c, wi)
		}
	}
	tr.seen = make([]uint32, len(tr.words))
	for p, c := range tr.pairCount {
		tr.heap.push(bpeCount{c, p})
	}
	clear(tr.touched)
}

// add changes the count of pair p by d occurrences, found in word wi.
func (tr *bpeTrainer) add(p uint64, d int64, wi int32) {
	c := tr.pairCount[p] + d
	if c == 0 {
		delete(tr.pairCount, p)
	} else {
		tr.pairCount[p] = c
	}
	if d > 0 {
		if ws := tr.where[p]; len(ws) == 0 || ws[len(ws)-1] != wi {
			tr.where[p] = append(ws, wi)
		}
		tr.touched[p] = struct{}{}
	}
}

// best pops the most frequent pair (ties: the smallest pair).
func (tr *bpeTrainer) best() (uint64, bool) {
	for len(tr.heap) > 0 {
		top := tr.heap.pop()
		cur := tr.pairCount[top.pair]
		if cur <= 0 {
			continue
		}
		if cur != top.count {
			tr.heap.push(bpeCount{cur, top.pair})
			continue
		}
		return top.pair, true
	}
	return 0, false
}

// merge replaces pair (a, b) by ab in every word that holds it and updates
// the counts of the neighbouring pairs.
func (tr *bpeTrainer) merge(pair uint64, a, b, ab int32) {
	tr.step++
	for _, wi := range tr.where[pair] {
		if tr.seen[wi] == tr.step {
			continue
		}
		tr.seen[wi] = tr.step
		w := &tr.words[wi]
		s, n := w.syms, w.count
		j := 0
		for i := 0; i < len(s); {
			if i+1 < len(s) && s[i] == a && s[i+1] == b {
				if j > 0 {
					tr.add(bpePair(s[j-1], a), -n, wi)
					tr.add(bpePair(s[j-1], ab), n, wi)
				}
				if i+2 < len(s) {
					tr.add(bpePair(b, s[i+2]), -n, wi)
					tr.add(bpePair(ab, s[i+2]), n, wi)
				}
				s[j] = ab
				i += 2
			} else {
				s[j] = s[i]
				i++
			}
			j++
		}
		w.syms = s[:j]
	}
	delete(tr.where, pair)
	delete(tr.pairCount, pair)
	for p := range tr.touched {
		if c := tr.pairCount[p]; c > 0 {
			tr.heap.push(bpeCount{c, p})
		}
	}
	clear(tr.touched)
}

// bpeCount is a heap entry: a pair and its count when pushed.
type bpeCount struct {
	count int64
	pair  uint64
}

// before orders entries: higher count first, then the smaller pair.
func (x bpeCount) before(y bpeCount) bool {
	return x.count > y.count || x.count == y.count && x.pair < y.pair
}
