package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/data"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// The GPU recipe in scripts/scale must take the same config and build the same
// samples as this trainer. These tests run its torch-free parts with python3
// (CI has it; a missing python3 fails them).

const scaleDir = "../scripts/scale"

// scaleRuntimeKeys are keys of the stored config that describe the machine,
// not the run; the recipe accepts and ignores them (and never stores them).
var scaleRuntimeKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range runtimeKeys {
		m[k] = true
	}
	return m
}()

// scalePython runs python3 with args and returns stdout; a non-zero exit is
// returned as an error carrying stderr.
func scalePython(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed to check scripts/scale (install python3): %v", err)
	}
	cmd := exec.Command(py, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Run(); err != nil {
		return so.Bytes(), fmt.Errorf("python3 %s: %v: %s", strings.Join(args, " "), err, se.String())
	}
	return so.Bytes(), nil
}

// compareScaleConfig checks that the recipe's resolved config (py) equals
// ours (goCfg) key by key.
func compareScaleConfig(t *testing.T, what string, goCfg Config, py []byte) {
	t.Helper()
	var g, p map[string]any
	if err := json.Unmarshal(goCfg.JSON(), &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(py, &p); err != nil {
		t.Fatalf("%s: the recipe printed no JSON object: %v\n%s", what, err, py)
	}
	for k, v := range g {
		if scaleRuntimeKeys[k] {
			if _, ok := p[k]; ok {
				t.Errorf("%s: the recipe stores the runtime key %s", what, k)
			}
			continue
		}
		pv, ok := p[k]
		if !ok {
			t.Errorf("%s: key %s = %v here, missing in the recipe", what, k, v)
		} else if !reflect.DeepEqual(v, pv) {
			t.Errorf("%s: key %s = %v here, %v in the recipe", what, k, v, pv)
		}
	}
	for k, v := range p {
		if _, ok := g[k]; !ok {
			t.Errorf("%s: the recipe has key %s = %v, train.Config does not", what, k, v)
		}
	}
}

// TestScaleDefaults: the recipe's defaults and key set are train.Defaults().
func TestScaleDefaults(t *testing.T) {
	out, err := scalePython(t, filepath.Join(scaleDir, "pretrain.py"), "--print-defaults")
	if err != nil {
		t.Fatal(err)
	}
	compareScaleConfig(t, "defaults", Defaults(), out)
}

// TestScalePresets: every preset, and --set overrides of every value type,
// resolve to the same config on both sides.
func TestScalePresets(t *testing.T) {
	sets := [][]string{nil, {"sinks=2", "attention=sink_logit", "betas=0.8,0.99", "max_tokens=1e6", "seed=18446744073709551615",
		"parallel_residual=F", "lr=3e-4", "min_lr=0", "decay=linear", "grad_accum=2", "batch=1_000", "workers=3"}}
	for _, p := range Presets() {
		for _, s := range sets {
			what := fmt.Sprintf("preset %s %v", p, s)
			var rt Runtime // runtime keys (workers=3) are not part of the Config
			rest, err := splitRuntime(&rt, s)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			goCfg, err := Resolve(Defaults(), p, rest)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			args := []string{filepath.Join(scaleDir, "pretrain.py"), "--print-config", "--config", p}
			for _, kv := range s {
				args = append(args, "--set", kv)
			}
			out, err := scalePython(t, args...)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			compareScaleConfig(t, what, goCfg, out)
		}
	}
}

// TestScaleConfigErrors: what we refuse, the recipe refuses, in one line.
func TestScaleConfigErrors(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.json")
	if err := os.WriteFile(unknown, []byte(`{"hiden_size": 64}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		preset string
		sets   []string
		want   string // in the recipe's message
	}{
		{"", []string{"bacth=3"}, `unknown config key 'bacth'`},
		{unknown, nil, `unknown config key 'hiden_size'`},
		{"", []string{"attention=relu"}, `attention 'relu' is not supported`},
		{"", []string{"batch=1.5"}, `is not an integer`},
		{"", []string{"betas=0.9"}, `2 comma-separated numbers`},
		{"", []string{"decay=step"}, `decay`},
		{"", []string{"lr=0"}, `lr = 0`},
		{"", []string{"num_heads=3"}, `not divisible`},
		{"", []string{"max_steps=0"}, `both 0`},
		{"", []string{"block_size=2048", "sinks=1"}, `exceeds max_position_embeddings`},
		{"nosuch", nil, `no such preset`},
		{"", []string{"arch=mamba"}, `config key arch = 'mamba', expected gpt_neox or llama`},
		{"", []string{"arch=llama", "num_kv_heads=3"}, `config key num_kv_heads = 3 does not divide num_heads = 4`},
		{"", []string{"num_kv_heads=2"}, `num_kv_heads = 2 needs arch = llama`},
		{"", []string{"tie_embeddings=true"}, `tie_embeddings = true needs arch = llama`},
	}
	for _, tc := range cases {
		if _, err := Resolve(Defaults(), tc.preset, tc.sets); err == nil {
			t.Errorf("%s %v: accepted here", tc.preset, tc.sets)
		}
		args := []string{filepath.Join(scaleDir, "pretrain.py"), "--print-config", "--config", tc.preset}
		for _, kv := range tc.sets {
			args = append(args, "--set", kv)
		}
		_, err := scalePython(t, args...)
		if err == nil {
			t.Errorf("%s %v: accepted by the recipe", tc.preset, tc.sets)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) || strings.Count(strings.TrimSpace(msg[strings.Index(msg, ": ")+2:]), "\n") > 0 {
			t.Errorf("%s %v: recipe said %q, want one line with %q", tc.preset, tc.sets, msg, tc.want)
		}
	}
}

// TestScaleSampling: for a token=index stream the recipe's offsets, samples and
// labels equal the loader's and sinktoken's, across seeds, far steps, and
// streams split into segments (record batches) of odd sizes.
func TestScaleSampling(t *testing.T) {
	const n, block, rows = 100003, 64, 5
	steps := []int64{0, 1, 2, 7, 1000003, 1 << 40}
	for _, tc := range []struct {
		seed  uint64
		sinks []int32
	}{{1337, nil}, {0, []int32{7}}, {18446744073709551557, []int32{5, 6, 9, 100}}} {
		ids := make([]int32, n)
		for i := range ids {
			ids[i] = int32(i)
		}
		l, err := data.NewLoader(data.NewTokensFromSlice(ids), block, tc.seed)
		if err != nil {
			t.Fatal(err)
		}
		var want struct {
			Offsets         [][]int64
			Samples, Labels [][]int32
		}
		for _, s := range steps {
			var offs []int64
			win := l.Rows(s, 0, make([][]int32, rows))
			for r := range rows {
				offs = append(offs, int64(l.Offset(s, r)))
				smp := sinktoken.Sample(nil, tc.sinks, win[r])
				want.Samples = append(want.Samples, smp)
				want.Labels = append(want.Labels, sinktoken.Labels(nil, smp, tc.sinks))
			}
			want.Offsets = append(want.Offsets, offs)
		}
		var st, sk []string
		for _, s := range steps {
			st = append(st, fmt.Sprint(s))
		}
		for _, s := range tc.sinks {
			sk = append(sk, fmt.Sprint(s))
		}
		out, err := scalePython(t, filepath.Join(scaleDir, "sinkscale", "sampling.py"), "--tokens", fmt.Sprint(n),
			"--block", fmt.Sprint(block), "--seed", fmt.Sprint(tc.seed), "--steps", strings.Join(st, ","),
			"--rows", fmt.Sprint(rows), "--sinks", strings.Join(sk, ","), "--segments", "1,63,64,65,4999,50000")
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Offsets         [][]int64
			Samples, Labels [][]int32
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Offsets, want.Offsets) {
			t.Errorf("seed %d: offsets %v, the loader's %v", tc.seed, got.Offsets, want.Offsets)
		}
		if !reflect.DeepEqual(got.Samples, want.Samples) || !reflect.DeepEqual(got.Labels, want.Labels) {
			t.Errorf("seed %d: samples or labels differ from sinktoken's", tc.seed)
		}
	}
}

// TestScaleRowSplit: the recipe splits a batch between processes as the
// trainer splits it between workers (newTrainer).
func TestScaleRowSplit(t *testing.T) {
	for _, c := range [][2]int{{32, 1}, {32, 3}, {10, 4}, {7, 7}} {
		batch, world := c[0], c[1]
		var want []string
		first := 0
		for i := range world {
			rows := batch / world
			if i < batch%world {
				rows++
			}
			want = append(want, fmt.Sprintf("%d-%d", first, first+rows))
			first += rows
		}
		code := fmt.Sprintf("import sys; sys.path.insert(0, %q); from sinkscale.sampling import chunk_rows; "+
			"print(' '.join('%%d-%%d' %% chunk_rows(%d, r, %d) for r in range(%d)))", scaleDir, batch, world, world)
		out, err := scalePython(t, "-c", code)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Fields(string(out)); !slices.Equal(got, want) {
			t.Errorf("batch %d over %d: recipe %v, trainer %v", batch, world, got, want)
		}
	}
}

// TestScaleScriptsCompile: every Python file of scripts/scale byte-compiles.
func TestScaleScriptsCompile(t *testing.T) {
	var files []string
	err := filepath.WalkDir(scaleDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".py") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) < 5 {
		t.Fatalf("python files of %s: %v %v", scaleDir, files, err)
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed to check scripts/scale: %v", err)
	}
	cmd := exec.Command(py, append([]string{"-m", "py_compile"}, files...)...)
	cmd.Env = append(os.Environ(), "PYTHONPYCACHEPREFIX="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("py_compile: %v\n%s", err, out)
	}
}

// TestScaleParamSpecs: the recipe's parameter list (names, shapes, weight
// decay) is model.Config.ParamSpecs for GPT-NeoX and for Llama (GQA, tied,
// sink logits), the names transformers gives them.
func TestScaleParamSpecs(t *testing.T) {
	const vocab = 97
	cases := []struct {
		sets []string
		mc   model.Config
	}{
		{[]string{"sinks=2", "attention=sink_logit", "intermediate_size=0"}, func() model.Config {
			c, _ := Resolve(Defaults(), "tiny", []string{"sinks=2", "attention=sink_logit", "intermediate_size=0"})
			return c.Model(vocab, []int{1, 2})
		}()},
		{[]string{"arch=llama", "num_kv_heads=1", "tie_embeddings=true", "attention=sink_logit"}, func() model.Config {
			m := model.NewLlama(vocab, 64, 2, 2, 1, 256, true)
			m.Attention = sinktoken.SinkLogit
			return m
		}()},
		{[]string{"arch=llama", "num_heads=4", "hidden_size=64"}, model.NewLlama(vocab, 64, 2, 4, 0, 256, false)},
	}
	for _, tc := range cases[1:] {
		// The trainer's model of the same keys (Config.Model) is the
		// LlamaConfig these cases spell out.
		c, err := Resolve(Defaults(), "tiny", tc.sets)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Model(vocab, nil).ParamSpecs(); !reflect.DeepEqual(got, tc.mc.ParamSpecs()) {
			t.Errorf("%v: the trainer's tensors %v differ from LlamaConfig's %v", tc.sets, got, tc.mc.ParamSpecs())
		}
	}
	for _, tc := range cases {
		var sets []string
		for _, s := range tc.sets {
			sets = append(sets, fmt.Sprintf("%q", s))
		}
		code := fmt.Sprintf("import sys, json; sys.path.insert(0, %q); from sinkscale import config as C, runfiles as R; "+
			"c = C.resolve(C.defaults(), 'tiny', [%s]); print(json.dumps(R.param_specs(c, %d)))", scaleDir, strings.Join(sets, ", "), vocab)
		out, err := scalePython(t, "-c", code)
		if err != nil {
			t.Fatal(err)
		}
		var got [][]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, s := range tc.mc.ParamSpecs() {
			want[s.Name] = fmt.Sprint(s.Shape, s.Decay)
		}
		have := map[string]string{}
		for _, g := range got {
			var shape []int
			for _, d := range g[1].([]any) {
				shape = append(shape, int(d.(float64)))
			}
			have[g[0].(string)] = fmt.Sprint(shape, g[2].(bool))
		}
		if !reflect.DeepEqual(have, want) {
			for n, w := range want {
				if have[n] != w {
					t.Errorf("%v: %s: recipe %q, model %q", tc.sets, n, have[n], w)
				}
			}
			for n, h := range have {
				if _, ok := want[n]; !ok {
					t.Errorf("%v: the recipe has %s %s, the model not", tc.sets, n, h)
				}
			}
		}
	}
}
