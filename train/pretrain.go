package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/data"
	"github.com/sinktrain/sinktrain/data/tokenizer"
	"github.com/sinktrain/sinktrain/internal/input"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/model/graph"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// Options are the flags of `sinktrain pretrain` (and the shared flags of
// finetune).
type Options struct {
	Config string    // preset name (tiny, small, reference, laptop-study, or a Llama twin: tiny-llama, …) or JSON file; "" = defaults only
	Set    []string  // key=value overrides, applied after the preset
	Data   string    // prepared dataset dir, .arrow file or HF datasets folder; "" = the embedded text, prepared into OUT/data
	Out    string    // run directory
	Resume bool      // continue from the newest checkpoint in Out
	Log    io.Writer // progress and messages (nil = os.Stderr)
	// Runtime spreads the run over this machine (not stored in the run);
	// the runtime keys of Set (workers, blas_threads) override it.
	Runtime Runtime

	onStep func(step int, loss float64) // test hook: every step's loss
}

// FinetuneOptions are the flags of `sinktrain finetune`.
type FinetuneOptions struct {
	Options
	From     string // checkpoint, run directory or Hugging Face GPT-NeoX or Llama folder
	AddSinks int    // grow the vocabulary by this many sink tokens (rows = mean embedding)
}

// embeddedSinks is how many sink tokens the embedded corpus reserves, so that
// vanilla and sink runs share one tokenizer.
const embeddedSinks = 4

func (o *Options) logWriter() io.Writer {
	if o.Log == nil {
		return os.Stderr
	}
	return o.Log
}

// resolve finds the resume point (with Resume) and builds the config on
// top of base (or of the resumed run's config) and the runtime settings;
// first, when non-nil, sees the config before it is validated.
func (o *Options) resolve(base Config, first func(Config) error) (Config, Runtime, *resumePoint, error) {
	rt := o.Runtime
	sets, err := splitRuntime(&rt, o.Set)
	if err != nil {
		return Config{}, rt, nil, err
	}
	cfg, rp, err := o.resolveConfig(base, sets, first)
	if err != nil {
		return Config{}, rt, nil, err
	}
	rt, err = rt.resolve(cfg.Batch)
	return cfg, rt, rp, err
}

// resolveConfig finds the resume point and builds the config.
func (o *Options) resolveConfig(base Config, sets []string, first func(Config) error) (Config, *resumePoint, error) {
	if o.Out == "" {
		return Config{}, nil, input.Errorf("Out", "run directory", "", "none given")
	}
	var rp *resumePoint
	if o.Resume {
		var err error
		if rp, err = findResume(o.Out); err != nil {
			return Config{}, nil, err
		}
		if rp == nil {
			return Config{}, nil, input.Errorf("Resume", "resume", "", "no checkpoint-* directory in %s", o.Out)
		}
		base = rp.state.Config
	} else if dir, _, err := checkpoint.LatestCheckpoint(o.Out); err != nil || dir != "" {
		if err != nil {
			return Config{}, nil, err
		}
		return Config{}, nil, input.Errorf("Out", "run directory", o.Out, "already holds %s: resume it, or choose another run directory", filepath.Base(dir))
	}
	cfg, err := apply(base, o.Config, sets)
	if err != nil {
		return Config{}, nil, err
	}
	if first != nil {
		if err := first(cfg); err != nil {
			return Config{}, nil, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, nil, err
	}
	if rp != nil {
		if err := rp.checkConfig(cfg); err != nil {
			return Config{}, nil, err
		}
	}
	return cfg, rp, nil
}

// openData opens --data, or prepares the embedded text into OUT/data
// (tokenizer: a new BPE of vocab_size, or tokenizerPath when set).
func (o *Options) openData(ctx context.Context, cfg Config, tokenizerPath string) (*data.Dataset, error) {
	path := o.Data
	if path == "" {
		path = filepath.Join(o.Out, "data")
		if _, err := os.Stat(filepath.Join(path, "manifest.json")); err != nil {
			fmt.Fprintf(o.logWriter(), "preparing the embedded text into %s\n", path)
			if err := os.MkdirAll(o.Out, 0o755); err != nil {
				return nil, input.File("Out", "run directory", o.Out, err)
			}
			po := &data.PrepareOptions{Out: path, VocabSize: cfg.VocabSize, Sinks: max(cfg.Sinks, embeddedSinks),
				Tokenizer: tokenizerPath, ValFraction: data.DefaultValFraction, Progress: o.logWriter()}
			if err := data.Prepare(ctx, po); err != nil {
				return nil, fmt.Errorf("prepare the embedded text into %s: %v", path, err) // not the flags of prepare
			}
		}
	}
	ds, err := data.OpenDataset(path)
	if err != nil {
		return nil, input.File("Data", "dataset", path, err)
	}
	return ds, nil
}

// sources returns the training loader and the val stream (nil without a val split).
func sources(ds *data.Dataset, cfg Config, vocab int) (source, windows, error) {
	tr, err := ds.Split("train")
	if err != nil {
		return nil, nil, err
	}
	if err := checkIDs(ds, "train", tr, vocab); err != nil {
		return nil, nil, err
	}
	l, err := data.NewLoader(tr, cfg.BlockSize, cfg.Seed)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", ds.Path(), err)
	}
	va, err := ds.Split("val")
	if errors.Is(err, data.ErrNoSplit) {
		return &loaderSource{l: l}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if err := checkIDs(ds, "val", va, vocab); err != nil {
		return nil, nil, err
	}
	return &loaderSource{l: l}, va, nil
}

// checkIDs refuses a split holding a token id outside [0, vocab) (a
// dataset tokenized with another tokenizer), before any step runs.
func checkIDs(ds *data.Dataset, split string, t *data.Tokens, vocab int) error {
	pos := 0
	for _, seg := range t.Segments() {
		for i, id := range seg {
			if id < 0 || int(id) >= vocab {
				return input.Errorf("Data", "dataset", ds.Path(), "%s split: token id %d at position %d is outside the vocabulary [0, %d) (tokenized with another tokenizer?)",
					split, id, pos+i, vocab)
			}
		}
		pos += len(seg)
	}
	return nil
}

// loaderSource adapts data.Loader, reusing its row buffers.
type loaderSource struct {
	l    *data.Loader
	rows [][]int32
}

func (s *loaderSource) Next(batch int) [][]int32 {
	if len(s.rows) != batch {
		s.rows = make([][]int32, batch)
	}
	s.rows = s.l.Rows(s.l.Step(), 0, s.rows)
	s.l.Skip(1)
	return s.rows
}

func (s *loaderSource) SaveState() (json.RawMessage, error) { return json.Marshal(s.l.State()) }

func (s *loaderSource) RestoreState(b json.RawMessage) error {
	var st data.LoaderState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("loader state: %w", err)
	}
	return s.l.Restore(st)
}

// sinkIDs looks up <|sink_0|> … <|sink_{k-1}|> in the tokenizer.
func sinkIDs(tok tokenIDs, k int, path string) ([]int, error) {
	ids := make([]int, 0, k)
	for i := range k {
		id, ok := tok.TokenID(sinktoken.TokenName(i))
		if !ok {
			return nil, fmt.Errorf("tokenizer %s has no %s token, expected %d sink tokens (prepare the data with %d sinks reserved)", path, sinktoken.TokenName(i), k, k)
		}
		ids = append(ids, int(id))
	}
	return ids, nil
}

// tokenIDs is the part of tokenizer.Tokenizer the trainer uses.
type tokenIDs interface {
	TokenID(tok string) (int32, bool)
	VocabSize() int
}

// Pretrain trains a model from scratch (or resumes one with Resume) as
// configured, writing checkpoints and the final model into Out.
func Pretrain(ctx context.Context, opts Options) error {
	cfg, rt, rp, err := opts.resolve(Defaults(), nil)
	if err != nil {
		return err
	}
	ds, err := opts.openData(ctx, cfg, "")
	if err != nil {
		return err
	}
	defer ds.Close()
	tokPath := ds.TokenizerPath()
	if tokPath == "" {
		return input.Errorf("Data", "dataset", ds.Path(), "has no tokenizer.json next to it, expected a prepared dataset (sinktrain prepare)")
	}
	tokJSON, err := os.ReadFile(tokPath)
	if err != nil {
		return err
	}
	tok, err := loadTokenizer(tokPath)
	if err != nil {
		return err
	}
	sinks, err := sinkIDs(tok, cfg.Sinks, tokPath)
	if err != nil {
		return err
	}
	mcfg := cfg.Model(tok.VocabSize(), sinks)
	if id, ok := tok.TokenID("<|endoftext|>"); ok {
		mcfg.BOSTokenID, mcfg.EOSTokenID = int(id), int(id)
	}
	src, val, err := sources(ds, cfg, mcfg.VocabSize)
	if err != nil {
		return err
	}
	j := &job{cfg: cfg, rt: rt, mcfg: mcfg, newGraph: newModelGraph, src: src, val: val, tokenizer: tokJSON,
		out: opts.Out, resume: rp, log: opts.logWriter(), onStep: opts.onStep,
		weights: func() (model.Weights, error) { return model.Init(mcfg, cfg.Seed), nil }}
	return j.run(ctx)
}

// withModel returns cfg with the model keys taken from a model config.
func withModel(cfg Config, m model.Config) Config {
	cfg.Arch = string(m.Arch)
	if m.Arch == "" {
		cfg.Arch = string(model.GPTNeoX)
	}
	cfg.HiddenSize, cfg.NumLayers, cfg.NumHeads, cfg.NumKVHeads = m.HiddenSize, m.NumLayers, m.NumHeads, m.NumKVHeads
	cfg.IntermediateSize, cfg.RotaryPct, cfg.RotaryBase = m.IntermediateSize, m.RotaryPct, m.RotaryBase
	cfg.ParallelResidual, cfg.LayerNormEps, cfg.MaxPositions = m.ParallelResidual, m.LayerNormEps, m.MaxPositionEmbeddings
	cfg.TieEmbeddings = m.TieWordEmbeddings
	cfg.Sinks, cfg.Attention = len(m.SinkIDs), string(m.Attention)
	if cfg.Attention == "" {
		cfg.Attention = string(sinktoken.Softmax)
	}
	return cfg
}

// finetunable refuses a model whose family the arch key cannot name.
func finetunable(from string, m model.Config) error {
	switch m.Arch {
	case "", model.GPTNeoX, model.Llama:
		return nil
	}
	return fmt.Errorf("%s: model_type %q cannot be finetuned, expected a gpt_neox or llama model", from, string(m.Arch))
}

// archMismatch words a finetune whose arch key differs from the model's.
func archMismatch(from string, cfg Config, m model.Config) error {
	want := withModel(cfg, m).Arch
	if cfg.Arch == want {
		return nil
	}
	return fmt.Errorf("config key arch = %q does not match %s, a model of model_type %q: expected arch = %s (finetuning keeps the architecture; pretrain a %s model instead)",
		cfg.Arch, from, want, want, cfg.Arch)
}

// Finetune continues training a checkpoint or Hugging Face GPT-NeoX or
// Llama folder (a tied Llama head stays tied), optionally adding AddSinks
// sink tokens first. The architecture is the model's: an arch key that
// differs is an error.
func Finetune(ctx context.Context, opts FinetuneOptions) error {
	if opts.From == "" {
		return input.Errorf("From", "model", "", "none given, expected a checkpoint, run directory or Hugging Face GPT-NeoX folder")
	}
	if opts.AddSinks < 0 {
		return input.Errorf("AddSinks", "sink tokens to add", strconv.Itoa(opts.AddSinks), "expected ≥ 0")
	}
	m, err := checkpoint.Load(opts.From)
	if err != nil {
		return err
	}
	if m.TokenizerPath == "" {
		return fmt.Errorf("%s has no tokenizer.json", opts.From)
	}
	tokJSON, err := os.ReadFile(m.TokenizerPath)
	if err != nil {
		return err
	}
	if tokJSON, err = checkpoint.AddSinks(m, tokJSON, opts.AddSinks); err != nil {
		return err
	}
	if err := finetunable(opts.From, m.Config); err != nil {
		return err
	}
	cfg, rt, rp, err := opts.resolve(withModel(Defaults(), m.Config), func(c Config) error { return archMismatch(opts.From, c, m.Config) })
	if err != nil {
		return err
	}
	if d := modelMismatch(cfg, withModel(cfg, m.Config)); d != "" {
		return fmt.Errorf("the configured model does not match %s: %s", opts.From, d)
	}
	ds, err := opts.openData(ctx, cfg, m.TokenizerPath)
	if err != nil {
		return err
	}
	defer ds.Close()
	if p := ds.TokenizerPath(); p != "" {
		dt, err := loadTokenizer(p)
		if err != nil {
			return err
		}
		if dt.VocabSize() > m.Config.VocabSize {
			return fmt.Errorf("the data's tokenizer %s has %d ids, the model only %d", p, dt.VocabSize(), m.Config.VocabSize)
		}
	}
	src, val, err := sources(ds, cfg, m.Config.VocabSize)
	if err != nil {
		return err
	}
	mcfg := m.Config
	j := &job{cfg: cfg, rt: rt, mcfg: mcfg, newGraph: newModelGraph, src: src, val: val, tokenizer: tokJSON,
		out: opts.Out, resume: rp, log: opts.logWriter(), onStep: opts.onStep,
		weights: func() (model.Weights, error) { return m.Weights, nil }}
	return j.run(ctx)
}

func loadTokenizer(path string) (tokenIDs, error) {
	t, err := tokenizer.Load(path)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// newModelGraph builds the real training graph.
func newModelGraph(cfg model.Config, w model.Weights, batch, length int) (stepGraph, error) {
	return graph.New(cfg, w, batch, length)
}
