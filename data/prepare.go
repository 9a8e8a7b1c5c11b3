package data

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"iter"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"

	"github.com/sinktrain/sinktrain/data/shard"
	"github.com/sinktrain/sinktrain/data/tokenizer"
	"github.com/sinktrain/sinktrain/internal/fsutil"
	"github.com/sinktrain/sinktrain/internal/input"
)

// EOSToken ends every document in a shard.
const EOSToken = "<|endoftext|>"

// PrepareOptions configures [Prepare]. Start from [DefaultPrepareOptions].
type PrepareOptions struct {
	Inputs      []string  // files, directories, globs; none: the embedded corpus
	Out         string    // dataset directory to create (must not exist, or be empty)
	Tokenizer   string    // tokenizer.json to use; "": train one on the train split
	VocabSize   int       // size of a trained tokenizer (0: 4096)
	ValFraction float64   // fraction of documents held out as "val" (0: none)
	Sinks       int       // <|sink_0|>…<|sink_{k-1}|> reserved in a trained tokenizer
	ShardTokens int64     // tokens per shard before a new one starts (0: 64Mi)
	Workers     int       // encoding goroutines (0: GOMAXPROCS)
	Progress    io.Writer // progress bar (terminal) or log lines; nil: quiet
}

// Defaults of [PrepareOptions].
const (
	DefaultVocabSize   = 4096
	DefaultValFraction = 0.05
	DefaultSinks       = 4
	DefaultShardTokens = 64 << 20
	// MaxVocabSize bounds a trained tokenizer (2^20 ids; the largest
	// vocabularies in use are about 256K), so that a mistyped size is
	// refused instead of exhausting memory.
	MaxVocabSize = 1 << 20
	// MaxSinks bounds the sink tokens reserved (sinktoken.MaxSinks).
	MaxSinks = 1024
)

// DefaultPrepareOptions returns the defaults: vocabulary 4096, 5% of the
// documents for validation, 4 sink tokens reserved (so that models with 0, 1
// or 4 sinks share one tokenizer), 64Mi-token shards.
func DefaultPrepareOptions() PrepareOptions {
	return PrepareOptions{VocabSize: DefaultVocabSize, ValFraction: DefaultValFraction,
		Sinks: DefaultSinks, ShardTokens: DefaultShardTokens}
}

// ppBatchDocs is how many documents are encoded between ordered writes.
const ppBatchDocs = 256

// Prepare builds a dataset directory: it reads the inputs (UTF-8, Latin-1 or
// Windows-1252 text, one document per file or per .jsonl line), holds out a
// deterministic ValFraction of the documents (the ones with the smallest
// FNV-64 hashes of their text, at least one when there are two or more),
// trains a byte-level BPE tokenizer on the train documents (or loads
// o.Tokenizer), encodes every document followed by <|endoftext|> on all
// cores, and writes tokenizer.json, train-NNNNN.arrow, val-NNNNN.arrow and
// manifest.json. Everything is written into a temporary directory next to
// o.Out and renamed at the end, so a failure leaves nothing in o.Out.
func Prepare(ctx context.Context, o *PrepareOptions) error {
	if o.Out == "" {
		return input.Errorf("Out", "output directory", "", "none given")
	}
	if o.ValFraction < 0 || o.ValFraction >= 1 || math.IsNaN(o.ValFraction) {
		return input.Usagef("ValFraction", "validation fraction", fmt.Sprint(o.ValFraction), "expected a value in [0, 1)")
	}
	if o.Sinks < 0 || o.Sinks > MaxSinks {
		return input.Usagef("Sinks", "sink tokens to reserve", strconv.Itoa(o.Sinks), "expected 0…%d", MaxSinks)
	}
	if lo := 256 + 1 + o.Sinks; o.Tokenizer == "" && o.VocabSize != 0 && (o.VocabSize < lo || o.VocabSize > MaxVocabSize) {
		return input.Usagef("VocabSize", "vocab size", strconv.Itoa(o.VocabSize),
			"expected %d…%d (the 256 bytes, <|endoftext|> and %d sink tokens, up to the limit 2^20)", lo, MaxVocabSize, o.Sinks)
	}
	if o.ShardTokens < 0 {
		return input.Usagef("ShardTokens", "tokens per shard", strconv.FormatInt(o.ShardTokens, 10), "expected ≥ 1 (0: %d)", DefaultShardTokens)
	}
	if err := ppCheckOut(o.Out); err != nil {
		return err
	}
	docs, err := ppReadInputs(o.Inputs)
	if err != nil {
		return err
	}
	train, val := ppSplit(docs, o.ValFraction)
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "prepare: %d documents (%d train, %d val)\n", len(docs), len(train), len(val))
	}

	parent := filepath.Dir(filepath.Clean(o.Out))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return input.New("Out", "output directory", o.Out, fsutil.Cause(err))
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(o.Out)+".prepare-*")
	if err != nil {
		return input.New("Out", "output directory", o.Out, fsutil.Cause(err))
	}
	defer os.RemoveAll(tmp) // after the rename it no longer exists
	m := &Manifest{Format: ManifestFormat, Version: ManifestVersion, Sources: o.Inputs}
	if len(o.Inputs) == 0 {
		m.Sources = []string{"embedded"}
	}
	tok, err := ppTokenizer(o, train, tmp, &m.Tokenizer)
	if err != nil {
		return err
	}
	for _, sp := range []struct {
		name string
		docs []Document
	}{{SplitTrain, train}, {SplitVal, val}} {
		shards, err := ppEncode(ctx, o, tok, m.Tokenizer.EOSID, sp.name, sp.docs, tmp)
		if err != nil {
			return err
		}
		m.Shards = append(m.Shards, shards...)
	}
	if err := m.Write(tmp); err != nil {
		return err
	}
	if err := ppCommit(tmp, o.Out); err != nil {
		return err
	}
	if o.Progress != nil {
		n := map[string]int64{}
		for _, s := range m.Shards {
			n[s.Split] += s.Tokens
		}
		fmt.Fprintf(o.Progress, "prepare: wrote %s: %d train tokens, %d val tokens, vocab %d\n", o.Out, n[SplitTrain], n[SplitVal], m.Tokenizer.VocabSize)
	}
	return nil
}

// ppCheckOut refuses an existing non-empty output directory.
func ppCheckOut(out string) error {
	ents, err := os.ReadDir(out)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return input.File("Out", "output directory", out, err)
	case len(ents) > 0:
		return input.Errorf("Out", "output directory", out, "exists and is not empty (remove it or choose another)")
	}
	return nil
}

func ppReadInputs(inputs []string) ([]Document, error) {
	if len(inputs) == 0 {
		return EmbeddedCorpus()
	}
	files, err := ExpandInputs(inputs)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, input.Errorf("Inputs", "inputs", fmt.Sprint(inputs), "no .txt, .text, .md or .jsonl files (empty corpus)")
	}
	docs, err := ReadDocuments(files)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, input.Errorf("Inputs", "inputs", fmt.Sprint(inputs), "no text (empty corpus)")
	}
	return docs, nil
}

// ppSplit holds out round(frac·n) documents (at least 1 when frac > 0 and
// n ≥ 2, at most n−1): those whose text has the smallest FNV-64 hash. Both
// splits keep the input order.
func ppSplit(docs []Document, frac float64) (train, val []Document) {
	n := len(docs)
	k := int(math.Round(frac * float64(n)))
	if frac > 0 && k == 0 && n >= 2 {
		k = 1
	}
	k = min(k, n-1)
	type hd struct {
		h uint64
		i int
	}
	hs := make([]hd, n)
	for i, d := range docs {
		f := fnv.New64a()
		io.WriteString(f, d.Text)
		hs[i] = hd{f.Sum64(), i}
	}
	sort.Slice(hs, func(a, b int) bool {
		if hs[a].h != hs[b].h {
			return hs[a].h < hs[b].h
		}
		return hs[a].i < hs[b].i
	})
	isVal := make([]bool, n)
	for _, x := range hs[:max(k, 0)] {
		isVal[x.i] = true
	}
	for i, d := range docs {
		if isVal[i] {
			val = append(val, d)
		} else {
			train = append(train, d)
		}
	}
	return train, val
}

// ppTokenizer trains or loads the tokenizer, writes dir/tokenizer.json and
// fills info.
func ppTokenizer(o *PrepareOptions, train []Document, dir string, info *TokenizerInfo) (*tokenizer.Tokenizer, error) {
	path := filepath.Join(dir, "tokenizer.json")
	var tok *tokenizer.Tokenizer
	if o.Tokenizer != "" {
		b, err := os.ReadFile(o.Tokenizer)
		if err != nil {
			return nil, input.File("Tokenizer", "tokenizer", o.Tokenizer, err)
		}
		if tok, err = tokenizer.Load(o.Tokenizer); err != nil {
			return nil, err
		}
		err = fsutil.WriteFileAtomic(path, func(w *bufio.Writer) error { _, err := w.Write(b); return err })
		if err != nil {
			return nil, err
		}
	} else {
		vocab := o.VocabSize
		if vocab == 0 {
			vocab = DefaultVocabSize
		}
		special := []string{EOSToken}
		for i := 0; i < o.Sinks; i++ {
			special = append(special, ppSinkName(i))
		}
		p := ppStart(o.Progress, "train tokenizer", int64(vocab), false)
		var err error
		tok, err = tokenizer.TrainBPE(ppTexts(train), vocab, special)
		if err != nil {
			return nil, err
		}
		p.Add(int64(vocab))
		p.finish(fmt.Sprintf(", vocab %d", tok.VocabSize()))
		if err := tok.Save(path); err != nil {
			return nil, err
		}
	}
	eos, ok := tok.TokenID(EOSToken)
	if !ok {
		return nil, fmt.Errorf("tokenizer %s has no %s token", ppName(o.Tokenizer, path), EOSToken)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	*info = TokenizerInfo{File: "tokenizer.json", SHA256: hex.EncodeToString(sum[:]), VocabSize: tok.VocabSize(), EOSID: eos}
	for i := 0; i < o.Sinks; i++ {
		if id, ok := tok.TokenID(ppSinkName(i)); ok {
			info.SinkIDs = append(info.SinkIDs, id)
		}
	}
	if len(info.SinkIDs) < o.Sinks && o.Progress != nil {
		fmt.Fprintf(o.Progress, "prepare: tokenizer %s reserves %d of %d sink tokens; add them when converting (convert --add-sinks)\n", o.Tokenizer, len(info.SinkIDs), o.Sinks)
	}
	return tok, nil
}

func ppName(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ppSinkName is sinktoken.TokenName (data may not import sinktoken).
func ppSinkName(i int) string { return fmt.Sprintf("<|sink_%d|>", i) }

func ppTexts(docs []Document) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, d := range docs {
			if !yield(d.Text) {
				return
			}
		}
	}
}

// ppEncode encodes docs in parallel (in batches, written in order) into
// shards split-00000.arrow, … of at most o.ShardTokens tokens each (a longer
// document gets a shard of its own).
func ppEncode(ctx context.Context, o *PrepareOptions, tok *tokenizer.Tokenizer, eos int32, split string, docs []Document, dir string) ([]ShardInfo, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	capTokens := o.ShardTokens
	if capTokens <= 0 {
		capTokens = DefaultShardTokens
	}
	var total int64
	for _, d := range docs {
		total += int64(len(d.Text))
	}
	p := ppStart(o.Progress, "encode "+split, total, true)
	var shards []ShardInfo
	var sw *shard.Writer
	closeShard := func() error {
		if sw == nil {
			return nil
		}
		info, err := sw.Close()
		sw = nil
		shards = append(shards, ShardEntry(info, split))
		return err
	}
	ids := make([][]int32, ppBatchDocs)
	for lo := 0; lo < len(docs); lo += ppBatchDocs {
		if err := ctx.Err(); err != nil {
			closeShard()
			return nil, err
		}
		batch := docs[lo:min(lo+ppBatchDocs, len(docs))]
		ppParallel(len(batch), workers, func(i int) {
			ids[i] = append(tok.AppendEncode(ids[i][:0], batch[i].Text), eos)
		})
		for i, d := range batch {
			if sw != nil && sw.Tokens() > 0 && sw.Tokens()+int64(len(ids[i])) > capTokens {
				if err := closeShard(); err != nil {
					return nil, err
				}
			}
			if sw == nil {
				var err error
				if sw, err = shard.Create(filepath.Join(dir, ldShardName(split, len(shards)))); err != nil {
					return nil, err
				}
			}
			if err := sw.Append(ids[i]); err != nil {
				closeShard()
				return nil, err
			}
			p.Add(int64(len(d.Text)))
		}
	}
	if err := closeShard(); err != nil {
		return nil, err
	}
	var n int64
	for _, s := range shards {
		n += s.Tokens
	}
	p.finish(fmt.Sprintf(", %d documents, %d tokens, %d shard(s)", len(docs), n, len(shards)))
	return shards, nil
}

// ppParallel runs f(0…n-1) on workers goroutines.
func ppParallel(n, workers int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// ppCommit renames the finished temporary directory to out (replacing an
// empty out directory) and syncs the parent directory.
func ppCommit(tmp, out string) error {
	if err := fsutil.SyncDir(tmp); err != nil {
		return err
	}
	if err := ppCheckOut(out); err != nil {
		return err
	}
	fail := func(err error) error { return input.New("Out", "output directory", out, fsutil.Cause(err)) }
	if _, err := os.Stat(out); err == nil {
		if err := os.Remove(out); err != nil { // empty: checked above
			return fail(err)
		}
	}
	if err := os.Rename(tmp, out); err != nil {
		return fail(err)
	}
	if err := os.Chmod(out, 0o755); err != nil {
		return fail(err)
	}
	return fsutil.SyncDir(filepath.Dir(filepath.Clean(out)))
}
