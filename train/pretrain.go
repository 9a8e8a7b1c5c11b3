package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

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
// check, when non-nil, sees (and may change) the config after --config and
// --set and before it is validated.
func (o *Options) resolve(base Config, check func(*Config) error) (Config, Runtime, *resumePoint, error) {
	rt := o.Runtime
	sets, err := splitRuntime(&rt, o.Set)
	if err != nil {
		return Config{}, rt, nil, err
	}
	cfg, rp, err := o.resolveConfig(base, sets, check)
	if err != nil {
		return Config{}, rt, nil, err
	}
	rt, err = rt.resolve(cfg.Batch)
	return cfg, rt, rp, err
}

// resolveConfig finds the resume point, checks the run directory of a
// fresh run and builds the config.
func (o *Options) resolveConfig(base Config, sets []string, check func(*Config) error) (Config, *resumePoint, error) {
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
	} else if err := o.checkOut(); err != nil {
		return Config{}, nil, err
	}
	cfg, err := apply(base, o.Config, sets)
	if err != nil {
		return Config{}, nil, err
	}
	if check != nil {
		if err := check(&cfg); err != nil {
			return Config{}, nil, err
		}
	}
	return cfg, rp, cfg.Validate()
}

// dataPath returns the dataset to train on: --data; on resume without it,
// the run's recorded dataset; else OUT/data, the embedded text (prepared
// there when missing: embedded true).
func (o *Options) dataPath(rp *resumePoint) (path string, embedded bool, err error) {
	switch {
	case o.Data != "":
		return o.Data, false, nil
	case rp != nil && rp.state.Data != nil:
		return rp.state.Data.resolve(o.Out), false, nil
	}
	path = filepath.Join(o.Out, "data")
	if rp != nil {
		if _, err := os.Stat(filepath.Join(path, data.ManifestName)); err != nil {
			return "", false, fmt.Errorf("%s records no dataset (it was written by an older sinktrain) and %s holds none: give the dataset it was trained on", rp.dir, path)
		}
	}
	return path, true, nil
}

// openData opens the run's dataset (dataPath), preparing the embedded text
// into OUT/data first when it is missing (tokenizer: a new BPE of
// vocab_size, or tokenizerPath when set) — after checking that a model of
// cfg with that vocabulary fits in memory.
func (o *Options) openData(ctx context.Context, cfg Config, rt Runtime, rp *resumePoint, tokenizerPath string) (*data.Dataset, error) {
	path, embedded, err := o.dataPath(rp)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(path, data.ManifestName)); embedded && err != nil {
		if tokenizerPath == "" {
			if err := checkMemory(cfg, cfg.VocabSize, rt.Workers); err != nil {
				return nil, err
			}
		}
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
	ds, err := data.OpenDataset(path)
	if err != nil {
		if o.Data == "" && rp != nil {
			return nil, fmt.Errorf("the dataset %s recorded by %s: %w", path, rp.dir, err)
		}
		return nil, input.File("Data", "dataset", path, err)
	}
	return ds, nil
}

// settle finishes the config once the vocabulary of the trained model is
// known: vocab_size becomes it (what is stored is what was trained), a
// resumed run's config and dataset are checked against the checkpoint's
// (checkResume), and the run must fit in memory. It returns the dataset's
// record and the notes the run logs.
func (o *Options) settle(cfg Config, rt Runtime, rp *resumePoint, ds *data.Dataset, vocab int) (Config, DataRecord, []string, error) {
	var notes []string
	if cfg.VocabSize != vocab && rp == nil {
		notes = append(notes, fmt.Sprintf("vocab_size is %d, the vocabulary of %s (the config's %d applies only when the embedded text is prepared)", vocab, ds.Path(), cfg.VocabSize))
	}
	cfg.VocabSize = vocab
	tr, err := ds.Split(data.SplitTrain)
	if err != nil {
		return cfg, DataRecord{}, nil, err
	}
	rec, err := recordData(ds, o.Out, tr.Len())
	if err != nil {
		return cfg, rec, nil, err
	}
	if rp != nil {
		if st := rp.state.Data; st != nil { // first: another dataset explains any other difference
			if d := st.mismatch(rec); d != "" {
				if o.Data != "" {
					return cfg, rec, nil, input.Errorf("Data", "dataset", o.Data, "is not the dataset the run in %s was trained on (%s): resume without it to train on %s, or start a new run", o.Out, d, st.resolve(o.Out))
				}
				return cfg, rec, nil, fmt.Errorf("the dataset %s, which the run in %s was trained on, has changed (%s): restore it, or start a new run", ds.Path(), o.Out, d)
			}
			rec.Path = st.Path // as recorded, also when given again by another path
		}
		changed, err := o.checkResume(cfg, rp)
		if err != nil {
			return cfg, rec, nil, err
		}
		for _, c := range changed {
			notes = append(notes, "resumed with "+c)
		}
	}
	if w := cfg.Warmup; w >= cfg.Steps() {
		notes = append(notes, fmt.Sprintf("warmup %d ≥ the run's %d steps: the learning rate never reaches lr", w, cfg.Steps()))
	}
	return cfg, rec, notes, checkMemory(cfg, vocab, rt.Workers)
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
// configured, writing checkpoints and the final model into Out. A fresh
// run that fails before its first checkpoint leaves nothing in Out.
func Pretrain(ctx context.Context, opts Options) error {
	cfg, rt, rp, err := opts.resolve(Defaults(), nil)
	if err != nil {
		return err
	}
	if rp != nil {
		return opts.pretrain(ctx, cfg, rt, rp)
	}
	return newFreshRun(opts.Out).undo(opts.pretrain(ctx, cfg, rt, nil))
}

func (o *Options) pretrain(ctx context.Context, cfg Config, rt Runtime, rp *resumePoint) error {
	ds, err := o.openData(ctx, cfg, rt, rp, "")
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
	cfg, rec, notes, err := o.settle(cfg, rt, rp, ds, tok.VocabSize())
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
		out: o.Out, resume: rp, data: &rec, notes: notes, log: o.logWriter(), onStep: o.onStep,
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

// warmupUnset marks a finetune's warmup that neither --config nor --set
// gave (no one types it).
const warmupUnset = math.MinInt32

// Finetune continues training a checkpoint or Hugging Face GPT-NeoX or
// Llama folder (a tied Llama head stays tied), optionally adding AddSinks
// sink tokens first. The architecture is the model's: an arch key that
// differs is an error. It starts from the source's training config
// (config.json's sinktrain.train; defaults for a Hugging Face folder) with
// the source's model, then --config and --set; its warmup, unless set, is
// the source's but at most a tenth of the steps, so that a short finetune
// leaves warmup.
func Finetune(ctx context.Context, opts FinetuneOptions) error {
	if opts.From == "" {
		return input.Errorf("From", "model", "", "none given, expected a checkpoint, run directory or Hugging Face GPT-NeoX folder")
	}
	if err := checkpoint.CheckAddSinks(opts.AddSinks); err != nil {
		return err
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
	base, err := sourceConfig(m)
	if err != nil {
		return err
	}
	if err := finetunable(opts.From, m.Config); err != nil {
		return err
	}
	warm := base.Warmup
	base.Warmup = warmupUnset
	cfg, rt, rp, err := opts.resolve(base, func(c *Config) error {
		if c.Warmup == warmupUnset { // not set by --config or --set (a resume's base is the run's config)
			c.Warmup = max(0, min(warm, c.Steps()/10))
		}
		return archMismatch(opts.From, *c, m.Config)
	})
	if err != nil {
		return err
	}
	if d := modelMismatch(cfg, withModel(cfg, m.Config)); d != "" {
		return fmt.Errorf("the configured model does not match %s: %s", opts.From, d)
	}
	if rp != nil {
		return opts.finetune(ctx, m, tokJSON, cfg, rt, rp)
	}
	return newFreshRun(opts.Out).undo(opts.finetune(ctx, m, tokJSON, cfg, rt, nil))
}

// sourceConfig is the training config a finetune of m starts from: the
// defaults, then the config m was trained with (when it records one),
// then m's model keys and vocabulary.
func sourceConfig(m *checkpoint.Model) (Config, error) {
	c := Defaults()
	if m.Sinktrain != nil && len(m.Sinktrain.Train) > 0 {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(m.Sinktrain.Train, &keys); err != nil {
			return c, fmt.Errorf("%s: sinktrain.train: %w", filepath.Join(m.Dir, checkpoint.ConfigFile), input.JSON(err))
		}
		for _, k := range runtimeKeys { // stored by older versions
			delete(keys, k)
		}
		b, _ := json.Marshal(keys)
		if err := c.ApplyJSON(filepath.Join(m.Dir, checkpoint.ConfigFile)+" sinktrain.train", b); err != nil {
			return c, err
		}
	}
	c = withModel(c, m.Config)
	c.VocabSize = m.Config.VocabSize
	return c, nil
}

func (o *FinetuneOptions) finetune(ctx context.Context, m *checkpoint.Model, tokJSON []byte, cfg Config, rt Runtime, rp *resumePoint) error {
	ds, err := o.openData(ctx, cfg, rt, rp, m.TokenizerPath)
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
	cfg, rec, notes, err := o.settle(cfg, rt, rp, ds, m.Config.VocabSize)
	if err != nil {
		return err
	}
	src, val, err := sources(ds, cfg, m.Config.VocabSize)
	if err != nil {
		return err
	}
	j := &job{cfg: cfg, rt: rt, mcfg: m.Config, newGraph: newModelGraph, src: src, val: val, tokenizer: tokJSON,
		out: o.Out, resume: rp, data: &rec, notes: notes, log: o.logWriter(), onStep: o.onStep,
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
func newModelGraph(cfg model.Config, w model.Weights, batch, length, threads int) (stepGraph, error) {
	return graph.New(cfg, w, batch, length, graph.WithThreads(threads))
}
