package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/data/shard"
	"github.com/sinktrain/sinktrain/model"
)

// fixtures is the shared reference folder, relative to this package.
const fixtures = "../../testdata/fixtures"

// badEnv holds the broken inputs of TestBadInput, built in a temp dir from
// the shared fixtures (gptneox-a: vocab 96; tokenizer: vocab 512).
type badEnv struct {
	dir string

	model     string // good gptneox-a folder, no tokenizer
	model512  string // good random model of vocab 512 with the fixture tokenizer
	trunc512  string // model512 with model.safetensors cut in half
	modelTok  string // gptneox-a + the 512-token tokenizer: vocab mismatch
	truncST   string // model.safetensors cut in half
	emptyST   string // model.safetensors of 0 bytes
	hugeHdr   string // header length beyond the file
	dtypeST   string // one weight stored as I64
	shapeCfg  string // config.json hidden_size 32, weights of 64
	nanST     string // a NaN in one weight
	pickle    string // pytorch_model.bin only
	truncCfg  string // config.json cut in half
	unknownMT string // config.json of another architecture
	gpt2MT    string // model_type "gpt2": not a family sinktrain reads
	yarn      string // llama-gqa with rope_scaling type yarn
	kvHeads   string // llama-gqa with num_key_value_heads 3 (heads 4)
	noHead    string // llama-gqa (untied) without lm_head.weight
	typeCfg   string // config.json with hidden_size a string
	truncTok  string // good model + tokenizer.json cut in half

	ids, idsOOV, idsEmpty, idsWord string
	idsOne                         string // a single token: no target
	text, emptyText                string
	tok, truncTokFile              string

	data, dataNoManifest, dataTruncArrow, dataEmptyArrow string
	arrowOOV                                             string // shard with ids ≥ its tokenizer's 512
	cfgUnknown, cfgTrunc, cfgType                        string
	truncResults                                         string                   // compare output with a cut results.json
	binText                                              string                   // random bytes with NULs, as a --text file
	dataOther                                            string                   // the text prepared with another tokenizer (vocab 300)
	run                                                  string                   // a tiny run trained on data (2 steps)
	compareDir                                           string                   // a good compare output of model512
	dirMD                                                string                   // an existing directory named like a report file
	foreign                                              func(name string) string // a directory holding a user's notes.txt

	ro string // a directory nobody may write into ("" when none can be made)
}

// stackedPrefix matches a package or command name used as a message
// prefix ("data: …", "…: train: …"), which library errors must not carry.
var stackedPrefix = regexp.MustCompile(`(^|: )(autograd|checkpoint|compare|config|convert|data|eval stream|finetune|infer|inspect|load|model|prepare|pretrain|report|resume|shard|study|tokenizer|train|weights): `)

func TestBadInput(t *testing.T) {
	if _, err := os.Stat(filepath.Join(fixtures, "gptneox-a")); err != nil {
		t.Fatalf("fixture missing (regenerate with scripts/fixtures/generate.py): %v", err)
	}
	e := newBadEnv(t)
	out := func(name string) string { return filepath.Join(e.dir, "out", name) }
	type tc struct {
		name  string
		args  []string
		want  []string // the error line names these (file, flag or field)
		out   string   // must be absent or empty afterwards
		keep  []string // …or hold exactly these entries (a directory that was not empty)
		ro    bool     // needs e.ro
		usage bool     // a usage error: exit 2 (else 1)
	}
	cases := []tc{
		// prepare
		{name: "prepare/missing input", args: []string{"prepare", "--input", e.dir + "/nope.txt", "--out", out("p1")}, want: []string{"nope.txt"}, out: out("p1")},
		{name: "prepare/empty input", args: []string{"prepare", "--input", e.emptyText, "--out", out("p2"), "--vocab-size", "300"}, want: []string{"empty.txt"}, out: out("p2")},
		{name: "prepare/truncated tokenizer", args: []string{"prepare", "--input", e.text, "--out", out("p3"), "--tokenizer", e.truncTokFile}, want: []string{"trunc-tokenizer.json"}, out: out("p3")},
		{name: "prepare/missing tokenizer", args: []string{"prepare", "--input", e.text, "--out", out("p4"), "--tokenizer", e.dir + "/none.json"}, want: []string{"none.json"}, out: out("p4")},
		{name: "prepare/read-only out", args: []string{"prepare", "--input", e.text, "--out", e.ro + "/p5", "--tokenizer", e.tok}, want: []string{"p5"}, ro: true},
		{name: "prepare/bad vocab size", args: []string{"prepare", "--input", e.text, "--out", out("p6"), "--vocab-size", "-3"}, want: []string{"--vocab-size -3", "1048576"}, out: out("p6"), usage: true},
		{name: "prepare/vocab size beyond the limit", args: []string{"prepare", "--input", e.text, "--out", out("p7"), "--vocab-size", "1000000000"}, want: []string{"--vocab-size 1000000000", "1048576"}, out: out("p7"), usage: true},

		// pretrain
		{name: "pretrain/unknown set key", args: []string{"pretrain", "--config", "tiny", "--data", e.data, "--out", out("t1"), "--set", "hidden_sise=64"}, want: []string{"hidden_sise"}, out: out("t1"), usage: true},
		{name: "pretrain/wrong set type", args: []string{"pretrain", "--config", "tiny", "--data", e.data, "--out", out("t2"), "--set", "batch=many"}, want: []string{"batch"}, out: out("t2"), usage: true},
		{name: "pretrain/non-positive size", args: []string{"pretrain", "--config", "tiny", "--data", e.data, "--out", out("t3"), "--set", "hidden_size=0"}, want: []string{"hidden_size"}, out: out("t3")},
		{name: "pretrain/unknown config key", args: []string{"pretrain", "--config", e.cfgUnknown, "--data", e.data, "--out", out("t4")}, want: []string{"unknown.json", "hiden_size"}, out: out("t4")},
		{name: "pretrain/truncated config", args: []string{"pretrain", "--config", e.cfgTrunc, "--data", e.data, "--out", out("t5")}, want: []string{"trunc.json"}, out: out("t5")},
		{name: "pretrain/wrong config type", args: []string{"pretrain", "--config", e.cfgType, "--data", e.data, "--out", out("t6")}, want: []string{"type.json", "num_layers"}, out: out("t6")},
		{name: "pretrain/missing config", args: []string{"pretrain", "--config", e.dir + "/none.json", "--data", e.data, "--out", out("t7")}, want: []string{"none.json"}, out: out("t7")},
		{name: "pretrain/no manifest", args: []string{"pretrain", "--config", "tiny", "--data", e.dataNoManifest, "--out", out("t8")}, want: []string{"nomanifest"}, out: out("t8")},
		{name: "pretrain/truncated arrow", args: []string{"pretrain", "--config", "tiny", "--data", e.dataTruncArrow, "--out", out("t9")}, want: []string{"train-00000.arrow"}, out: out("t9")},
		{name: "pretrain/empty arrow", args: []string{"pretrain", "--config", "tiny", "--data", e.dataEmptyArrow, "--out", out("t10")}, want: []string{"train-00000.arrow"}, out: out("t10")},
		{name: "pretrain/missing data", args: []string{"pretrain", "--config", "tiny", "--data", e.dir + "/nodata", "--out", out("t11")}, want: []string{"nodata"}, out: out("t11")},
		{name: "pretrain/ids beyond tokenizer", args: []string{"pretrain", "--config", "tiny", "--data", e.arrowOOV, "--out", out("t12"), "--set", "max_steps=2"}, want: []string{"oov", "token id 512"}, out: out("t12")},
		{name: "pretrain/read-only out", args: []string{"pretrain", "--config", "tiny", "--data", e.data, "--out", e.ro + "/t13"}, want: []string{"t13"}, ro: true},
		{name: "pretrain/kv heads not dividing", args: []string{"pretrain", "--config", "tiny-llama", "--data", e.data, "--out", out("t15"), "--set", "num_kv_heads=3"}, want: []string{"num_kv_heads = 3", "num_heads = 2", "expected one of 1 or 2"}, out: out("t15")},
		{name: "pretrain/unknown arch", args: []string{"pretrain", "--config", "tiny", "--data", e.data, "--out", out("t16"), "--set", "arch=gpt2"}, want: []string{`arch = "gpt2"`, "expected gpt_neox or llama"}, out: out("t16")},
		{name: "pretrain/kv heads for gpt_neox", args: []string{"pretrain", "--config", "tiny", "--data", e.data, "--out", out("t17"), "--set", "num_kv_heads=1"}, want: []string{"num_kv_heads = 1", "needs arch = llama"}, out: out("t17")},
		{name: "pretrain/resume without checkpoint", args: []string{"pretrain", "--config", "tiny", "--data", e.data, "--out", out("t14"), "--resume"}, want: []string{"t14"}, out: out("t14")},
		{name: "pretrain/batch beyond memory", args: []string{"pretrain", "--config", "tiny", "--data", e.data, "--out", out("t15"), "--set", "batch=1e9"}, want: []string{"batch 1000000000", "of memory", "are available"}, out: out("t15")},
		{name: "pretrain/hidden size beyond memory", args: []string{"pretrain", "--config", "tiny", "--out", out("t16"), "--set", "hidden_size=1e6"}, want: []string{"d=1000000", "of memory"}, out: out("t16")},
		{name: "pretrain/NaN before the first checkpoint", args: []string{"pretrain", "--config", "tiny", "--data", e.data, "--out", out("t17"), "--set", "lr=1e30", "--set", "min_lr=1e29", "--set", "grad_clip=0",
			"--set", "warmup=0", "--set", "max_steps=8", "--set", "checkpoint_interval=100"}, want: []string{"at step", "no checkpoint was written yet", "nothing of this run is left in " + out("t17")}, out: out("t17")},
		{name: "pretrain/out not a run", args: []string{"pretrain", "--config", "tiny", "--data", e.data, "--out", e.foreign("t18")}, want: []string{"--out " + e.foreign("t18"), "holds no sinktrain run (notes.txt)"}, out: e.foreign("t18"), keep: []string{"notes.txt"}},
		{name: "pretrain/resume with another dataset", args: []string{"pretrain", "--out", e.run, "--resume", "--data", e.dataOther}, want: []string{"--data " + e.dataOther, "is not the dataset the run in " + e.run + " was trained on", "manifest.json sha256"}},
		{name: "pretrain/resume with a kept key", args: []string{"pretrain", "--out", e.run, "--resume", "--set", "lr=1e-2"}, want: []string{`--set "lr=1e-2"`, "was trained with lr = 0.003"}},
		{name: "pretrain/resume with another preset", args: []string{"pretrain", "--out", e.run, "--resume", "--config", "small"}, want: []string{"--config small", "hidden_size"}},

		// finetune
		{name: "finetune/missing from", args: []string{"finetune", "--from", e.dir + "/nomodel", "--data", e.data, "--out", out("f1")}, want: []string{"nomodel"}, out: out("f1")},
		{name: "finetune/truncated safetensors", args: []string{"finetune", "--from", e.truncST, "--data", e.data, "--out", out("f2")}, want: []string{"trunc", "model.safetensors"}, out: out("f2")},
		{name: "finetune/NaN weights", args: []string{"finetune", "--from", e.nanST, "--data", e.data, "--out", out("f3")}, want: []string{"gpt_neox.embed_in.weight"}, out: out("f3")},
		{name: "finetune/wrong shape", args: []string{"finetune", "--from", e.shapeCfg, "--data", e.data, "--out", out("f4")}, want: []string{"shape"}, out: out("f4")},
		{name: "finetune/tokenizer vs vocab", args: []string{"finetune", "--from", e.modelTok, "--data", e.data, "--out", out("f5")}, want: []string{"tokenizer", "512", "96"}, out: out("f5")},
		{name: "finetune/no tokenizer", args: []string{"finetune", "--from", e.model, "--data", e.data, "--out", out("f7")}, want: []string{"tokenizer.json"}, out: out("f7")},
		{name: "finetune/gpt_neox as llama", args: []string{"finetune", "--from", e.model512, "--data", e.data, "--out", out("f8"), "--set", "arch=llama"}, want: []string{`arch = "llama"`, "good512", `model_type "gpt_neox"`, "expected arch = gpt_neox"}, out: out("f8")},
		{name: "finetune/negative sinks", args: []string{"finetune", "--from", e.model, "--data", e.data, "--out", out("f6"), "--add-sinks", "-1"}, want: []string{"add-sinks"}, out: out("f6"), usage: true},
		{name: "finetune/add-sinks beyond the limit", args: []string{"finetune", "--from", e.model512, "--data", e.data, "--out", out("f8"), "--add-sinks", "100000000"}, want: []string{"--add-sinks 100000000", "0…1024"}, out: out("f8"), usage: true},

		// convert
		{name: "convert/missing from", args: []string{"convert", "--from", e.dir + "/nomodel", "--out", out("c1")}, want: []string{"nomodel"}, out: out("c1")},
		{name: "convert/truncated safetensors", args: []string{"convert", "--from", e.truncST, "--out", out("c2")}, want: []string{"trunc", "model.safetensors"}, out: out("c2")},
		{name: "convert/empty safetensors", args: []string{"convert", "--from", e.emptyST, "--out", out("c3")}, want: []string{"empty", "model.safetensors"}, out: out("c3")},
		{name: "convert/header beyond file", args: []string{"convert", "--from", e.hugeHdr, "--out", out("c4")}, want: []string{"hugehdr", "model.safetensors"}, out: out("c4")},
		{name: "convert/wrong dtype", args: []string{"convert", "--from", e.dtypeST, "--out", out("c5")}, want: []string{"gpt_neox.embed_in.weight"}, out: out("c5")},
		{name: "convert/wrong shape", args: []string{"convert", "--from", e.shapeCfg, "--out", out("c6")}, want: []string{"shape"}, out: out("c6")},
		{name: "convert/NaN weights", args: []string{"convert", "--from", e.nanST, "--out", out("c7")}, want: []string{"gpt_neox.embed_in.weight"}, out: out("c7")},
		{name: "convert/pickle", args: []string{"convert", "--from", e.pickle, "--out", out("c8")}, want: []string{"pytorch_model.bin"}, out: out("c8")},
		{name: "convert/truncated config", args: []string{"convert", "--from", e.truncCfg, "--out", out("c9")}, want: []string{"config.json"}, out: out("c9")},
		{name: "convert/other architecture", args: []string{"convert", "--from", e.unknownMT, "--out", out("c10")}, want: []string{"config.json", "LlamaForCausalLM"}, out: out("c10")},
		{name: "convert/unknown model_type", args: []string{"convert", "--from", e.gpt2MT, "--out", out("c17")}, want: []string{"gpt2/config.json", `model_type "gpt2" is not supported, expected one of "gpt_neox", "llama"`}, out: out("c17")},
		{name: "convert/unsupported rope_scaling", args: []string{"convert", "--from", e.yarn, "--out", out("c14")}, want: []string{"yarn/config.json", `rope_scaling.type "yarn" is not supported`}, out: out("c14")},
		{name: "convert/kv heads not dividing", args: []string{"convert", "--from", e.kvHeads, "--out", out("c15")}, want: []string{"kvheads/config.json", "num_key_value_heads 3 does not divide num_attention_heads 4"}, out: out("c15")},
		{name: "convert/untied without lm_head", args: []string{"convert", "--from", e.noHead, "--out", out("c16")}, want: []string{"nohead/model.safetensors", "lm_head.weight is missing", "tie_word_embeddings is false"}, out: out("c16")},
		{name: "eval/unknown model_type", args: []string{"eval", "stream", "--model", e.gpt2MT, "--ids", e.ids, "--cache", "dense"}, want: []string{"gpt2/config.json", `model_type "gpt2"`}},
		{name: "eval/kv heads not dividing", args: []string{"eval", "stream", "--model", e.kvHeads, "--ids", e.ids, "--cache", "4+4"}, want: []string{"kvheads/config.json", "num_key_value_heads 3"}},
		{name: "generate/untied without lm_head", args: []string{"generate", "--model", e.noHead, "--cache", "dense", "--prompt", "Alice"}, want: []string{"nohead/model.safetensors", "lm_head.weight is missing"}},
		{name: "inspect/unsupported rope_scaling", args: []string{"inspect", "attention", "--model", e.yarn, "--ids", e.ids, "--out", out("i6")}, want: []string{"yarn/config.json", "yarn"}, out: out("i6")},
		{name: "convert/config field of the wrong type", args: []string{"convert", "--from", e.typeCfg, "--out", out("c13")}, want: []string{"config.json", "hidden_size", "expected an integer"}, out: out("c13")},
		{name: "convert/read-only out", args: []string{"convert", "--from", e.model, "--out", e.ro + "/c11"}, want: []string{"c11"}, ro: true},
		{name: "convert/bad dtype flag", args: []string{"convert", "--from", e.model, "--out", out("c12"), "--dtype", "int8"}, want: []string{"int8"}, out: out("c12"), usage: true},
		{name: "convert/add-sinks beyond the limit", args: []string{"convert", "--from", e.model512, "--out", out("c18"), "--add-sinks", "100000000"}, want: []string{"--add-sinks 100000000", "0…1024"}, out: out("c18"), usage: true},

		// eval stream
		{name: "eval/missing ids", args: []string{"eval", "stream", "--model", e.model, "--ids", e.dir + "/none.ids", "--cache", "dense"}, want: []string{"none.ids"}},
		{name: "eval/empty ids", args: []string{"eval", "stream", "--model", e.model, "--ids", e.idsEmpty, "--cache", "dense"}, want: []string{"empty.ids"}},
		{name: "eval/ids out of vocab", args: []string{"eval", "stream", "--model", e.model, "--ids", e.idsOOV, "--cache", "dense"}, want: []string{"oov.ids", "9999"}},
		{name: "eval/ids not a number", args: []string{"eval", "stream", "--model", e.model, "--ids", e.idsWord, "--cache", "dense"}, want: []string{"word.ids"}},
		// The chunked and the token-by-token path refuse the same inputs.
		{name: "eval/chunk 0", args: []string{"eval", "stream", "--model", e.model, "--ids", e.ids, "--cache", "4+12", "--chunk", "0"}, want: []string{"--chunk 0", "≥ 1"}, usage: true},
		{name: "eval/chunk 0 exact", args: []string{"eval", "stream", "--model", e.model, "--ids", e.ids, "--cache", "4+12", "--chunk", "0", "--exact-steps"}, want: []string{"--chunk 0", "≥ 1"}, usage: true},
		{name: "eval/chunk beyond memory", args: []string{"eval", "stream", "--model", e.model, "--ids", e.ids, "--cache", "4+12", "--chunk", "2000000000"}, want: []string{"--chunk 2000000000", "GB", "memory"}},
		{name: "eval/chunk beyond memory exact", args: []string{"eval", "stream", "--model", e.model, "--ids", e.ids, "--cache", "recompute:8", "--chunk", "2000000000", "--exact-steps"}, want: []string{"--chunk 2000000000", "GB", "memory"}},
		{name: "eval/dtype float16", args: []string{"eval", "stream", "--model", e.model, "--ids", e.ids, "--cache", "dense", "--dtype", "float16"}, want: []string{`--dtype "float16"`, "float32 or bfloat16"}, usage: true},
		{name: "eval/dtype unknown", args: []string{"eval", "stream", "--model", e.model, "--ids", e.ids, "--cache", "dense", "--dtype", "int8", "--exact-steps"}, want: []string{`--dtype "int8"`}, usage: true},
		{name: "eval/one-token stream", args: []string{"eval", "stream", "--model", e.model, "--ids", e.idsOne, "--cache", "4+12"}, want: []string{"one.ids", "expected at least 2"}},
		{name: "eval/one-token stream exact", args: []string{"eval", "stream", "--model", e.model, "--ids", e.idsOne, "--cache", "4+12", "--exact-steps"}, want: []string{"one.ids", "expected at least 2"}},
		{name: "compare/dtype float16", args: []string{"compare", "--model", "a=" + e.model, "--ids", e.ids, "--cache", "dense", "--dtype", "float16", "--out", out("cdt")}, want: []string{`--dtype "float16"`}, out: out("cdt"), usage: true},
		{name: "compare/chunk 0", args: []string{"compare", "--model", "a=" + e.model, "--ids", e.ids, "--cache", "dense", "--chunk", "0", "--out", out("cch")}, want: []string{"--chunk 0"}, out: out("cch"), usage: true},
		{name: "generate/dtype float16", args: []string{"generate", "--model", e.model512, "--cache", "4+12", "--prompt", "x", "--dtype", "float16"}, want: []string{`--dtype "float16"`}, usage: true},
		{name: "eval/bad cache spec", args: []string{"eval", "stream", "--model", e.model, "--ids", e.ids, "--cache", "4+x"}, want: []string{"4+x"}, usage: true},
		{name: "eval/tokenizer vs vocab", args: []string{"eval", "stream", "--model", e.modelTok, "--text", e.text, "--cache", "dense"}, want: []string{"tokenizer"}},
		{name: "eval/truncated tokenizer", args: []string{"eval", "stream", "--model", e.truncTok, "--text", e.text, "--cache", "dense"}, want: []string{"tokenizer.json"}},
		{name: "eval/NaN weights", args: []string{"eval", "stream", "--model", e.nanST, "--ids", e.ids, "--cache", "dense"}, want: []string{"gpt_neox.embed_in.weight"}},
		{name: "eval/truncated safetensors", args: []string{"eval", "stream", "--model", e.truncST, "--ids", e.ids, "--cache", "dense"}, want: []string{"model.safetensors"}},
		{name: "eval/nll-out read-only", args: []string{"eval", "stream", "--model", e.model, "--ids", e.ids, "--cache", "dense", "--nll-out", e.ro + "/nll.csv"}, want: []string{"nll.csv"}, ro: true},
		{name: "eval/binary text", args: []string{"eval", "stream", "--model", e.model512, "--text", e.binText, "--cache", "dense"}, want: []string{"--text " + e.binText, "not text"}},
		{name: "eval/data of another tokenizer", args: []string{"eval", "stream", "--model", e.model512, "--data", e.dataOther, "--cache", "dense"}, want: []string{"--data " + e.dataOther, "was tokenized with", "(--allow-different-tokenizers to use it anyway)"}},
		{name: "eval/max tokens 1", args: []string{"eval", "stream", "--model", e.model512, "--text", e.text, "--cache", "dense", "--max-tokens", "1"}, want: []string{"--max-tokens 1", "at least 2"}, usage: true},
		{name: "eval/cache foo", args: []string{"eval", "stream", "--model", e.model512, "--text", e.text, "--cache", "foo"}, want: []string{`--cache "foo"`}, usage: true},

		// generate
		{name: "generate/missing model", args: []string{"generate", "--model", e.dir + "/nomodel", "--cache", "dense", "--prompt", "Alice"}, want: []string{"nomodel"}},
		{name: "generate/no tokenizer", args: []string{"generate", "--model", e.model, "--cache", "dense", "--prompt", "Alice"}, want: []string{"--model " + e.model + " has no tokenizer.json", "--tokenizer FILE", "--ids FILE"}},
		{name: "generate/binary prompt", args: []string{"generate", "--model", e.model512, "--cache", "dense", "--prompt", "\x01\x02\x03\x04\x05\x06garbage"}, want: []string{"--prompt", "not text"}, usage: true},
		{name: "generate/negative temperature", args: []string{"generate", "--model", e.model512, "--cache", "dense", "--prompt", "Alice", "--temperature", "-1"}, want: []string{"--temperature -1", "≥ 0"}, usage: true},
		{name: "generate/max new tokens 0", args: []string{"generate", "--model", e.model512, "--cache", "dense", "--prompt", "Alice", "--max-new-tokens", "0"}, want: []string{"--max-new-tokens 0"}, usage: true},
		{name: "generate/bad cache spec", args: []string{"generate", "--model", e.modelTok, "--cache", "recompute:0", "--prompt", "Alice"}, want: []string{"recompute:0"}, usage: true},
		{name: "generate/tokenizer vs vocab", args: []string{"generate", "--model", e.modelTok, "--cache", "dense", "--prompt", "Alice was beginning to get very tired"}, want: []string{"tokenizer"}},
		{name: "generate/NaN weights", args: []string{"generate", "--model", e.nanST, "--cache", "dense", "--prompt", "Alice"}, want: []string{"gpt_neox.embed_in.weight"}},
		{name: "generate/chat recompute", args: []string{"generate", "--model", e.model512, "--cache", "recompute:8", "--chat"}, want: []string{"recompute:8"}},
		{name: "generate/chat missing model", args: []string{"generate", "--model", e.dir + "/nomodel", "--cache", "1+7", "--chat"}, want: []string{"nomodel"}},

		// serve (errors before listening: nothing is served, nothing written)
		{name: "serve/missing model flag", args: []string{"serve", "--cache", "1+63"}, want: []string{`"model"`}, usage: true},
		{name: "serve/missing model", args: []string{"serve", "--model", e.dir + "/nomodel", "--cache", "1+63", "--addr", "127.0.0.1:0"}, want: []string{"nomodel"}},
		{name: "serve/bad cache", args: []string{"serve", "--model", e.model512, "--cache", "4+", "--addr", "127.0.0.1:0"}, want: []string{"--cache", `"4+"`}, usage: true},
		{name: "serve/recompute cache", args: []string{"serve", "--model", e.model512, "--cache", "recompute:8", "--addr", "127.0.0.1:0"}, want: []string{"recompute:8"}},
		{name: "serve/bad addr", args: []string{"serve", "--model", e.model512, "--cache", "1+63", "--addr", "localhost"}, want: []string{"--addr", "localhost"}, usage: true},
		{name: "serve/addr port out of range", args: []string{"serve", "--model", e.model512, "--cache", "1+63", "--addr", "127.0.0.1:99999"}, want: []string{"99999"}, usage: true},
		{name: "serve/truncated weights", args: []string{"serve", "--model", e.trunc512, "--cache", "1+63", "--addr", "127.0.0.1:0"}, want: []string{"model.safetensors"}},
		{name: "serve/bad kv dtype", args: []string{"serve", "--model", e.model512, "--cache", "1+63", "--addr", "127.0.0.1:0", "--kv-dtype", "int8"}, want: []string{"int8"}, usage: true},
		{name: "serve/default above limit", args: []string{"serve", "--model", e.model512, "--cache", "1+63", "--addr", "127.0.0.1:0", "--max-tokens", "4", "--default-max-tokens", "8"}, want: []string{"above the limit 4"}, usage: true},
		{name: "serve/state is a file", args: []string{"serve", "--model", e.model512, "--cache", "1+63", "--addr", "127.0.0.1:0", "--state", e.text}, want: []string{"state directory"}},

		// compare
		{name: "compare/missing ids", args: []string{"compare", "--model", "a=" + e.model512, "--ids", e.dir + "/none.ids", "--cache", "dense", "--out", out("m1")}, want: []string{"none.ids"}, out: out("m1")},
		{name: "compare/model without name", args: []string{"compare", "--model", e.model, "--ids", e.ids, "--cache", "dense", "--out", out("m2")}, want: []string{"--model"}, out: out("m2"), usage: true},
		{name: "compare/truncated safetensors", args: []string{"compare", "--model", "a=" + e.model512, "--model", "b=" + e.trunc512, "--ids", e.ids, "--cache", "dense", "--out", out("m3")}, want: []string{"model.safetensors"}, out: out("m3")},
		{name: "compare/bad cache spec", args: []string{"compare", "--model", "a=" + e.model512, "--ids", e.ids, "--cache", "0+0", "--out", out("m4")}, want: []string{"0+0"}, out: out("m4"), usage: true},
		{name: "compare/data of another tokenizer", args: []string{"compare", "--model", "a=" + e.model512, "--data", e.dataOther, "--cache", "dense", "--out", out("m7")}, want: []string{"--data " + e.dataOther, "was tokenized with"}, out: out("m7")},
		{name: "compare budgets/missing results", args: []string{"compare", "budgets", "--results", "64M=" + e.dir + "/none.json", "--out", out("b1")}, want: []string{"--results " + e.dir + "/none.json", "no such file"}, out: out("b1")},
		{name: "compare budgets/bad tokens", args: []string{"compare", "budgets", "--results", "lots=" + e.compareDir + "/results.json", "--out", out("b2")}, want: []string{"--results", `training tokens "lots"`}, out: out("b2"), usage: true},
		{name: "compare budgets/window 1", args: []string{"compare", "budgets", "--results", "64M=" + e.compareDir + "/results.json", "--window", "1", "--out", out("b3")}, want: []string{"--window 1", "2 ≤ W"}, out: out("b3"), usage: true},
		{name: "compare budgets/not a results file", args: []string{"compare", "budgets", "--results", "64M=" + e.text, "--out", out("b4")}, want: []string{"--results " + e.text, "not a compare results.json"}, out: out("b4")},
		{name: "compare budgets/a model twice at one budget", args: []string{"compare", "budgets", "--results", "64M=" + e.compareDir + "/results.json", "--results", "64M=" + e.compareDir + "/results.json", "--window", "8", "--out", out("b5")}, want: []string{"--results", "at 64M training tokens is also in"}, out: out("b5")},
		{name: "compare budgets/out not its own", args: []string{"compare", "budgets", "--results", "64M=" + e.compareDir + "/results.json", "--out", e.foreign("b6")}, want: []string{"--out " + e.foreign("b6"), "holds no compare budgets output"}, out: e.foreign("b6"), keep: []string{"notes.txt"}},
		{name: "compare curves/missing run", args: []string{"compare", "curves", "--run", "a=" + e.dir + "/nope", "--out", out("c1.png")}, want: []string{"--run " + e.dir + "/nope/metrics.jsonl", "no such file"}, out: out("c1.png")},
		{name: "compare curves/run without name", args: []string{"compare", "curves", "--run", e.run, "--out", out("c2.png")}, want: []string{"--run", "NAME=DIR"}, out: out("c2.png"), usage: true},
		{name: "compare curves/not png", args: []string{"compare", "curves", "--run", "a=" + e.run, "--out", out("c3.txt")}, want: []string{"--out " + out("c3.txt"), ".png"}, out: out("c3.txt"), usage: true},
		{name: "compare curves/no directory", args: []string{"compare", "curves", "--run", "a=" + e.run, "--out", e.dir + "/nodir/c.png"}, want: []string{"--out " + e.dir + "/nodir/c.png", "does not exist"}, out: e.dir + "/nodir"},
		{name: "compare curves/not a metrics file", args: []string{"compare", "curves", "--run", "a=" + e.compareDir, "--out", out("c5.png")}, want: []string{"--run " + e.compareDir + "/metrics.jsonl"}, out: out("c5.png")},
		{name: "compare/out not its own", args: []string{"compare", "--model", "a=" + e.model512, "--ids", e.ids, "--cache", "dense", "--out", e.foreign("m8")}, want: []string{"--out " + e.foreign("m8"), "holds no compare output (results.json)"}, out: e.foreign("m8"), keep: []string{"notes.txt"}},
		{name: "compare/read-only out", args: []string{"compare", "--model", "a=" + e.model512, "--ids", e.ids, "--cache", "dense", "--out", e.ro + "/m5"}, want: []string{"m5"}, ro: true},
		{name: "compare/ids out of vocab", args: []string{"compare", "--model", "a=" + e.model512, "--ids", e.idsOOV, "--cache", "dense", "--out", out("m6")}, want: []string{"oov.ids", "9999"}, out: out("m6")},

		{name: "compare report/missing results", args: []string{"compare", "report", "--compare", e.dir + "/nocompare", "--out", out("r1") + "/results.md"}, want: []string{"nocompare"}, out: out("r1")},
		{name: "compare report/truncated results", args: []string{"compare", "report", "--compare", e.truncResults, "--out", out("r2") + "/results.md"}, want: []string{"results.json"}, out: out("r2")},
		{name: "compare report/out is a directory", args: []string{"compare", "report", "--compare", e.compareDir, "--out", e.dirMD}, want: []string{"--out " + e.dirMD, "is a directory"}, out: strings.TrimSuffix(e.dirMD, ".md")},
		{name: "compare report/out without .md", args: []string{"compare", "report", "--compare", e.compareDir, "--out", out("r4") + "/report"}, want: []string{"ending in .md"}, out: out("r4"), usage: true},

		// inspect attention
		{name: "inspect/missing model", args: []string{"inspect", "attention", "--model", e.dir + "/nomodel", "--ids", e.ids, "--out", out("i1")}, want: []string{"nomodel"}, out: out("i1")},
		{name: "inspect/empty ids", args: []string{"inspect", "attention", "--model", e.model, "--ids", e.idsEmpty, "--out", out("i2")}, want: []string{"empty.ids"}, out: out("i2")},
		{name: "inspect/NaN weights", args: []string{"inspect", "attention", "--model", e.nanST, "--ids", e.ids, "--out", out("i3")}, want: []string{"gpt_neox.embed_in.weight"}, out: out("i3")},
		{name: "inspect/read-only out", args: []string{"inspect", "attention", "--model", e.model, "--ids", e.ids, "--out", e.ro + "/i4"}, want: []string{"i4"}, ro: true},
		{name: "inspect/wrong dtype", args: []string{"inspect", "attention", "--model", e.dtypeST, "--ids", e.ids, "--out", out("i5")}, want: []string{"gpt_neox.embed_in.weight"}, out: out("i5")},
		{name: "inspect/binary text", args: []string{"inspect", "attention", "--model", e.model512, "--text", e.binText, "--out", out("i7")}, want: []string{"--text " + e.binText, "not text"}, out: out("i7")},
		{name: "inspect/epsilon 2", args: []string{"inspect", "attention", "--model", e.model512, "--ids", e.ids, "--out", out("i8"), "--epsilon", "2"}, want: []string{"--epsilon 2"}, out: out("i8"), usage: true},
		{name: "inspect/out not its own", args: []string{"inspect", "attention", "--model", e.model512, "--ids", e.ids, "--out", e.foreign("i9")}, want: []string{"holds no inspect output (attention.json)"}, out: e.foreign("i9"), keep: []string{"notes.txt"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.ro && e.ro == "" {
				t.Skip("no read-only directory can be made here (root without chattr)")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var stdout, stderr bytes.Buffer
			code := run(ctx, c.args, &stdout, &stderr)
			all := strings.TrimRight(stderr.String(), "\n")
			if want := map[bool]int{false: 1, true: 2}[c.usage]; code != want {
				t.Errorf("exit %d, want %d (usage %v); stderr %q", code, want, c.usage, all)
			}
			// Progress lines may come first; the error is the last line,
			// the only one starting with "sinktrain: ".
			lines := strings.Split(all, "\n")
			msg := lines[len(lines)-1]
			if !strings.HasPrefix(msg, "sinktrain: ") || strings.Count(all, "sinktrain: ") != 1 ||
				strings.Contains(all, "goroutine ") {
				t.Errorf("stderr does not end in one error line:\n%s", all)
			}
			// One prefix: no package or command names stacked in front
			// ("train: data: …"), no Go type names from encoding/json.
			if rest := strings.TrimPrefix(msg, "sinktrain: "); stackedPrefix.MatchString(rest) || strings.Contains(rest, "Go struct") || strings.Contains(rest, "Go value") {
				t.Errorf("error %q stacks prefixes or names Go types", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not name %q", msg, w)
				}
			}
			if c.out != "" {
				ents, _ := os.ReadDir(c.out)
				var names []string
				for _, en := range ents {
					names = append(names, en.Name())
				}
				if !slices.Equal(names, c.keep) {
					t.Errorf("%s holds %v afterwards, want %v", c.out, names, c.keep)
				}
			}
			if c.out != "" {
				ents, _ := os.ReadDir(filepath.Dir(c.out))
				for _, en := range ents {
					if strings.HasPrefix(en.Name(), ".") {
						t.Errorf("temporary %s left next to --out", en.Name())
					}
				}
			}
			t.Logf("exit %d: %s", code, msg)
		})
	}
}

func newBadEnv(t *testing.T) *badEnv {
	t.Helper()
	dir := t.TempDir()
	e := &badEnv{dir: dir}
	mk := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write := func(p string, b []byte) string {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cfg := read(filepath.Join(fixtures, "gptneox-a", "config.json"))
	st := read(filepath.Join(fixtures, "gptneox-a", "model.safetensors"))
	tok := read(filepath.Join(fixtures, "tokenizer", "tokenizer.json"))
	model := func(name string, cfg, st []byte) string {
		d := mk(name)
		write(filepath.Join(d, "config.json"), cfg)
		if st != nil {
			write(filepath.Join(d, "model.safetensors"), st)
		}
		return d
	}
	e.model = model("good", cfg, st)
	e.model512 = randomModel(t, filepath.Join(dir, "good512"), setJSON(t, cfg, "vocab_size", 512), tok)
	st512 := read(filepath.Join(e.model512, "model.safetensors"))
	e.trunc512 = model("trunc512", read(filepath.Join(e.model512, "config.json")), st512[:len(st512)-100])
	write(filepath.Join(e.trunc512, "tokenizer.json"), tok)
	e.modelTok = model("goodtok", cfg, st)
	write(filepath.Join(e.modelTok, "tokenizer.json"), tok)
	e.truncTok = model("trunctok", cfg, st)
	write(filepath.Join(e.truncTok, "tokenizer.json"), tok[:len(tok)/2])
	e.truncST = model("trunc", cfg, st[:len(st)/2])
	e.emptyST = model("empty", cfg, []byte{})
	huge := bytes.Clone(st)
	binary.LittleEndian.PutUint64(huge, uint64(len(st))*4)
	e.hugeHdr = model("hugehdr", cfg, huge)
	e.dtypeST = model("dtype", cfg, changeTensor(t, st, func(raw map[string]checkpoint.Raw) {
		r := raw["gpt_neox.embed_in.weight"]
		vals := make([]int64, r.NumElements())
		raw["gpt_neox.embed_in.weight"] = checkpoint.FromInt64(r.Shape, vals)
	}))
	e.nanST = model("nan", cfg, changeTensor(t, st, func(raw map[string]checkpoint.Raw) {
		r := raw["gpt_neox.embed_in.weight"]
		f, err := r.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		f[7] = float32(math.NaN())
		raw["gpt_neox.embed_in.weight"] = checkpoint.FromFloat32(r.Shape, f)
	}))
	e.shapeCfg = model("shape", setJSON(t, cfg, "hidden_size", 32), st)
	e.pickle = model("pickle", cfg, nil)
	write(filepath.Join(e.pickle, "pytorch_model.bin"), []byte("\x80\x02}q\x00."))
	e.truncCfg = model("trunccfg", cfg[:len(cfg)/2], st)
	e.unknownMT = model("llama", setJSON(t, cfg, "architectures", []string{"LlamaForCausalLM"}), st)
	e.gpt2MT = model("gpt2", setJSON(t, cfg, "model_type", "gpt2"), st)
	lcfg := read(filepath.Join(fixtures, "llama-gqa", "config.json"))
	lst := read(filepath.Join(fixtures, "llama-gqa", "model.safetensors"))
	e.yarn = model("yarn", setJSON(t, lcfg, "rope_scaling", map[string]any{"type": "yarn", "factor": 4}), lst)
	e.kvHeads = model("kvheads", setJSON(t, lcfg, "num_key_value_heads", 3), lst)
	e.noHead = model("nohead", lcfg, changeTensor(t, lst, func(raw map[string]checkpoint.Raw) { delete(raw, "lm_head.weight") }))
	e.typeCfg = model("typecfg", setJSON(t, cfg, "hidden_size", "sixty-four"), st)

	e.ids = write(filepath.Join(dir, "good.ids"), []byte("1 2 3 4 5 6 7 8 9 10\n"))
	e.idsOOV = write(filepath.Join(dir, "oov.ids"), []byte("1 2 9999 3\n"))
	e.idsEmpty = write(filepath.Join(dir, "empty.ids"), nil)
	e.idsOne = write(filepath.Join(dir, "one.ids"), []byte("5\n"))
	e.idsWord = write(filepath.Join(dir, "word.ids"), []byte("1 2 three 4\n"))
	e.text = write(filepath.Join(dir, "alice.txt"), bytes.Repeat([]byte("Alice was beginning to get very tired of sitting by her sister on the bank.\n\n"), 20))
	e.emptyText = write(filepath.Join(dir, "empty.txt"), nil)
	e.tok = write(filepath.Join(dir, "tokenizer.json"), tok)
	e.truncTokFile = write(filepath.Join(dir, "trunc-tokenizer.json"), tok[:len(tok)/3])

	e.data = filepath.Join(dir, "data")
	var so, se bytes.Buffer
	if code := run(context.Background(), []string{"prepare", "--out", e.data, "--tokenizer", e.tok, "--sinks", "0"}, &so, &se); code != 0 {
		t.Fatalf("prepare: %s", se.String())
	}
	copyData := func(name string) string {
		d := mk(name)
		ents, err := os.ReadDir(e.data)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range ents {
			write(filepath.Join(d, en.Name()), read(filepath.Join(e.data, en.Name())))
		}
		return d
	}
	e.dataNoManifest = copyData("nomanifest")
	os.Remove(filepath.Join(e.dataNoManifest, "manifest.json"))
	e.dataTruncArrow = copyData("truncarrow")
	arrow := read(filepath.Join(e.data, "train-00000.arrow"))
	write(filepath.Join(e.dataTruncArrow, "train-00000.arrow"), arrow[:len(arrow)/2])
	e.dataEmptyArrow = copyData("emptyarrow")
	write(filepath.Join(e.dataEmptyArrow, "train-00000.arrow"), nil)

	oovDir := mk("oov")
	write(filepath.Join(oovDir, "tokenizer.json"), tok)
	e.arrowOOV = oovDir // an HF datasets folder: data-*.arrow and tokenizer.json
	doc := make([]int32, 5000)
	for i := range doc {
		doc[i] = int32(i % 601) // 600 is beyond the 512-token vocabulary
	}
	if _, err := shard.Write(filepath.Join(oovDir, "data-00000-of-00001.arrow"), [][]int32{doc}); err != nil {
		t.Fatal(err)
	}

	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i*7919 + i/3)
	}
	e.binText = write(filepath.Join(dir, "garbage.txt"), garbage)
	e.dataOther = filepath.Join(dir, "dataother")
	if code := run(context.Background(), []string{"prepare", "--input", e.text, "--out", e.dataOther, "--vocab-size", "300", "--sinks", "0"}, &so, &se); code != 0 {
		t.Fatalf("prepare: %s", se.String())
	}
	e.run = filepath.Join(dir, "run")
	if code := run(context.Background(), []string{"pretrain", "--config", "tiny", "--data", e.data, "--out", e.run, "--set", "max_steps=2", "--set", "batch=2"}, &so, &se); code != 0 {
		t.Fatalf("pretrain: %s", se.String())
	}
	e.compareDir = filepath.Join(dir, "compare")
	if code := run(context.Background(), []string{"compare", "--model", "a=" + e.model512, "--ids", e.ids, "--cache", "dense", "--cache", "0+8", "--cache", "4+4", "--out", e.compareDir}, &so, &se); code != 0 {
		t.Fatalf("compare: %s", se.String())
	}
	e.dirMD = mk("out/r5.md")
	e.foreign = func(name string) string {
		d := filepath.Join(dir, "foreign", name)
		if _, err := os.Stat(d); err != nil {
			mk("foreign/" + name)
			write(filepath.Join(d, "notes.txt"), []byte("mine"))
		}
		return d
	}
	e.truncResults = mk("truncresults")
	write(filepath.Join(e.truncResults, "results.json"), []byte(`{"models": [{"name": "a", "ppl`))

	e.cfgUnknown = write(filepath.Join(dir, "unknown.json"), []byte(`{"hiden_size": 64}`))
	e.cfgTrunc = write(filepath.Join(dir, "trunc.json"), []byte(`{"hidden_size": 6`))
	e.cfgType = write(filepath.Join(dir, "type.json"), []byte(`{"num_layers": "two"}`))
	mk("out")
	e.ro = readOnlyDir(t, dir)
	return e
}

// randomModel saves a freshly initialised model of the HF config cfg with
// the tokenizer tok into dir.
func randomModel(t *testing.T, dir string, cfg, tok []byte) string {
	t.Helper()
	mc, _, err := model.ParseConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := &checkpoint.Model{Config: mc, Weights: model.Init(mc, 1)}
	if err := checkpoint.Save(dir, m, checkpoint.SaveOptions{Tokenizer: tok}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// changeTensor decodes a safetensors file, lets edit change its tensors and
// encodes it again.
func changeTensor(t *testing.T, st []byte, edit func(map[string]checkpoint.Raw)) []byte {
	t.Helper()
	raw, meta, err := checkpoint.DecodeSafetensors(bytes.NewReader(st), int64(len(st)))
	if err != nil {
		t.Fatal(err)
	}
	edit(raw)
	var b bytes.Buffer
	if err := checkpoint.EncodeSafetensors(&b, raw, meta); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// setJSON returns the JSON object b with key set to v.
func setJSON(t *testing.T, b []byte, key string, v any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m[key] = v
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readOnlyDir returns a directory that cannot be written into: mode 0555,
// and for root (who ignores modes) the immutable attribute when chattr
// works. It returns "" when neither makes the directory read-only.
func readOnlyDir(t *testing.T, parent string) string {
	t.Helper()
	d := filepath.Join(parent, "readonly")
	if err := os.Mkdir(d, 0o555); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if exec.Command("chattr", "+i", d).Run() != nil {
			return ""
		}
		t.Cleanup(func() { _ = exec.Command("chattr", "-i", d).Run() })
	}
	if f, err := os.Create(filepath.Join(d, "probe")); err == nil {
		f.Close()
		os.Remove(f.Name())
		return ""
	}
	return d
}
