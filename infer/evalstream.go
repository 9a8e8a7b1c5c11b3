package infer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/sinktrain/sinktrain/data"
	"github.com/sinktrain/sinktrain/internal/fsutil"
)

// EvalOptions configures EvalStream (sinktrain eval stream).
type EvalOptions struct {
	Model string // run/checkpoint directory or plain HF GPT-NeoX folder
	// Exactly one source: Text (tokenized with the model folder's
	// tokenizer.json, sinks prepended), IDs (whitespace-separated ids, fed
	// verbatim) or Data (a prepared dataset / .arrow file: its val split, or
	// train when there is none; sinks prepended).
	Text, IDs, Data string
	Caches          []string // cache specs (ParseCacheSpec), evaluated one after another
	// MaxTokens keeps the first N tokens of the source (text/data tokens
	// before the sinks are prepended; ids as given); 0 keeps all.
	MaxTokens int
	// NLLOut writes index,token_id,nll per scored target. With several
	// caches, one file per spec: "nll.csv" becomes "nll.4+252.csv",
	// "nll.dense.csv", "nll.recompute-256.csv".
	NLLOut   string
	JSON     bool      // one JSON object per spec instead of a table
	Out      io.Writer // results (nil: os.Stdout)
	Progress io.Writer // progress bar or log lines (nil: none)
}

// EvalStream evaluates streaming perplexity of a model under each cache
// spec (DESIGN.md §6) and prints one result per spec.
func EvalStream(ctx context.Context, o *EvalOptions) error {
	specs, err := o.validate()
	if err != nil {
		return err
	}
	m, err := LoadModel(o.Model)
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	stream, closeStream, err := o.Stream(m)
	if err != nil {
		return err
	}
	defer closeStream()
	out := o.Out
	if out == nil {
		out = os.Stdout
	}
	var results []Result
	for _, spec := range specs {
		r, err := o.evalOne(ctx, m, spec, stream, len(specs) > 1)
		if err != nil {
			return fmt.Errorf("eval stream --cache %s: %w", spec, err)
		}
		if o.JSON {
			b, _ := json.Marshal(r)
			fmt.Fprintf(out, "%s\n", b)
		}
		results = append(results, r)
	}
	if !o.JSON {
		return writeTable(out, results)
	}
	return nil
}

func (o *EvalOptions) validate() ([]CacheSpec, error) {
	if o.Model == "" {
		return nil, fmt.Errorf("--model is required")
	}
	n := 0
	for _, s := range []string{o.Text, o.IDs, o.Data} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("exactly one of --text, --ids and --data is required, got %d", n)
	}
	if len(o.Caches) == 0 {
		return nil, fmt.Errorf("--cache is required (e.g. --cache 4+252 --cache dense)")
	}
	if o.MaxTokens < 0 {
		return nil, fmt.Errorf("--max-tokens %d, expected ≥ 0", o.MaxTokens)
	}
	var specs []CacheSpec
	for _, c := range o.Caches {
		s, err := ParseCacheSpec(c)
		if err != nil {
			return nil, fmt.Errorf("--cache: %w", err)
		}
		specs = append(specs, s)
	}
	return specs, nil
}

// Stream builds the fed token stream from the options' source.
func (o *EvalOptions) Stream(m *Model) (Stream, func(), error) {
	nop := func() {}
	limit := func(n int) int {
		if o.MaxTokens > 0 {
			return min(n, o.MaxTokens)
		}
		return n
	}
	switch {
	case o.IDs != "":
		f, err := os.Open(o.IDs)
		if err != nil {
			return nil, nop, fmt.Errorf("--ids: %w", err)
		}
		defer f.Close()
		ids, err := ReadIDs(f, m.Config.VocabSize)
		if err != nil {
			return nil, nop, fmt.Errorf("--ids %s: %w", o.IDs, err)
		}
		ids = ids[:limit(len(ids))]
		if len(ids) < 2 {
			return nil, nop, fmt.Errorf("--ids %s: %d token(s), expected at least 2", o.IDs, len(ids))
		}
		return Tokens(ids), nop, nil
	case o.Text != "":
		b, err := os.ReadFile(o.Text)
		if err != nil {
			return nil, nop, fmt.Errorf("--text: %w", err)
		}
		tok, err := loadModelTokenizer(o.Model, m)
		if err != nil {
			return nil, nop, err
		}
		pre, suf, err := specialIDs(filepath.Join(o.Model, "tokenizer.json"))
		if err != nil {
			return nil, nop, err
		}
		ids := tok.Encode(string(b))
		ids = ids[:limit(len(ids))]
		if len(ids) < 2 {
			return nil, nop, fmt.Errorf("--text %s: %d token(s) after tokenization, expected at least 2", o.Text, len(ids))
		}
		// As HF's encode(add_special_tokens=True): the post-processor's BOS
		// (Llama, Mistral) after the sinks, so it is one of the first K.
		ids = append(ids, suf...)
		return withSinks{prefix: append(m.SinkIDs(), pre...), s: Tokens(ids), n: len(ids)}, nop, nil
	}
	d, err := data.OpenDataset(o.Data)
	if err != nil {
		return nil, nop, fmt.Errorf("--data: %w", err)
	}
	split := "val"
	if !d.HasSplit(split) {
		split = "train"
	}
	toks, err := d.Split(split)
	if err != nil {
		d.Close()
		return nil, nop, fmt.Errorf("--data %s: %w", o.Data, err)
	}
	n := limit(toks.Len())
	if n < 2 {
		d.Close()
		return nil, nop, fmt.Errorf("--data %s: split %s has %d token(s), expected at least 2", o.Data, split, n)
	}
	if err := checkIDs(toks, n, m.Config.VocabSize); err != nil {
		d.Close()
		return nil, nop, fmt.Errorf("--data %s: split %s: %w", o.Data, split, err)
	}
	pre, _, err := specialIDs(filepath.Join(o.Model, "tokenizer.json"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		d.Close()
		return nil, nop, err
	}
	return withSinks{prefix: append(m.SinkIDs(), pre...), s: toks, n: n}, func() { d.Close() }, nil
}

// checkIDs verifies that the first n tokens of s are inside the vocabulary.
func checkIDs(s Stream, n, vocab int) error {
	var buf []int32
	for b0 := 0; b0 < n; b0 += 1 << 16 {
		buf = s.Window(b0, min(1<<16, n-b0), buf)
		for i, id := range buf {
			if id < 0 || int(id) >= vocab {
				return fmt.Errorf("token %d at index %d is outside the model's vocabulary [0, %d)", id, b0+i, vocab)
			}
		}
	}
	return nil
}

// evalOne scores the stream under one spec, streaming NLLs to the CSV.
func (o *EvalOptions) evalOne(ctx context.Context, m *Model, spec CacheSpec, s Stream, several bool) (Result, error) {
	p := NewProgress(o.Progress, "eval "+spec.String(), s.Len()-1)
	defer p.Finish()
	if o.NLLOut == "" {
		return Score(ctx, m, spec, s, nil, p.SetDone)
	}
	path := o.NLLOut
	if several {
		path = NLLPath(o.NLLOut, spec)
	}
	var r Result
	err := fsutil.WriteFileAtomic(path, func(w *bufio.Writer) error {
		w.WriteString("index,token_id,nll\n")
		var line []byte
		var err error
		r, err = Score(ctx, m, spec, s, func(i int, tok int32, nll float64) error {
			line = strconv.AppendInt(line[:0], int64(i), 10)
			line = append(line, ',')
			line = strconv.AppendInt(line, int64(tok), 10)
			line = append(line, ',')
			line = strconv.AppendFloat(line, nll, 'g', 8, 64)
			line = append(line, '\n')
			_, err := w.Write(line)
			return err
		}, p.SetDone)
		return err
	})
	return r, err
}

// NLLPath names the --nll-out file of one spec when several are evaluated:
// the spec (":" written as "-") goes before the extension.
func NLLPath(base string, spec CacheSpec) string {
	ext := filepath.Ext(base)
	return strings.TrimSuffix(base, ext) + "." + strings.ReplaceAll(spec.String(), ":", "-") + ext
}

// writeTable prints the results as an aligned table.
func writeTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "cache\ttokens\tnll\tppl\ttok/s\tpeak RSS MB\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%.4f\t%.3f\t%.0f\t%.1f\t\n", r.Cache, r.Tokens, r.NLL, r.PPL, r.TokS, r.PeakRSSMB)
	}
	return tw.Flush()
}

// ReadIDs reads whitespace-separated decimal token ids and checks each is in
// [0, vocab). Errors name the id's position (0-based) and the bad text.
func ReadIDs(r io.Reader, vocab int) ([]int32, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	sc.Split(bufio.ScanWords)
	var ids []int32
	for sc.Scan() {
		w := sc.Text()
		v, err := strconv.ParseInt(w, 10, 32)
		if err != nil {
			if len(w) > 40 {
				w = w[:40] + "…"
			}
			return nil, fmt.Errorf("token %d: %q is not an integer id", len(ids), w)
		}
		if v < 0 || v >= int64(vocab) {
			return nil, fmt.Errorf("token %d: id %d is outside the model's vocabulary [0, %d)", len(ids), v, vocab)
		}
		ids = append(ids, int32(v))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("token %d: %w", len(ids), err)
	}
	return ids, nil
}
