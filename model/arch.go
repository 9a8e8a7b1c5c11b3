package model

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/sinktrain/sinktrain/sinktoken"
)

// Arch is an architecture family, written in config.json as model_type.
// The zero value "" means GPTNeoX (configs built before the other families
// existed).
type Arch string

// The architecture families sinktrain reads, runs and writes.
const (
	GPTNeoX Arch = "gpt_neox" // Pythia
	Llama   Arch = "llama"    // Llama-2/3, TinyLlama, SmolLM
	Mistral Arch = "mistral"
	Qwen2   Arch = "qwen2"
	Falcon  Arch = "falcon"
	MPT     Arch = "mpt"
)

// Archs lists every supported family in the order the README's table uses.
var Archs = []Arch{GPTNeoX, Llama, Mistral, Qwen2, Falcon, MPT}

// orDefault maps "" to GPTNeoX.
func (a Arch) orDefault() Arch {
	if a == "" {
		return GPTNeoX
	}
	return a
}

// Role is what a tensor is for, independent of the family's name for it
// (llama.cpp's LLM_TENSOR_*): the forward pass asks for roles, each family's
// table maps them to Hugging Face names.
type Role int

// Tensor roles. Shapes use V vocab, D hidden, H heads, KV key/value heads,
// hd head dim, F MLP width.
const (
	TokenEmbd   Role = iota // [V, D]
	OutputNorm              // [D] final norm
	OutputNormB             // [D]
	Output                  // [V, D] LM head; absent when tied to TokenEmbd
	AttnNorm                // [D] norm before attention (the only norm of a shared parallel block)
	AttnNormB               // [D]
	FFNNorm                 // [D] norm before the MLP
	FFNNormB                // [D]
	AttnQKV                 // [(H+2KV)·hd, D] fused projection, rows in Features.QKV's layout
	AttnQKVB                // [(H+2KV)·hd]
	AttnQ                   // [H·hd, D]
	AttnQB                  // [H·hd]
	AttnK                   // [KV·hd, D]
	AttnKB                  // [KV·hd]
	AttnV                   // [KV·hd, D]
	AttnVB                  // [KV·hd]
	AttnQNorm               // [H·hd] LayerNorm over a token's whole query (MPT qk_ln)
	AttnQNormB              // [H·hd]
	AttnKNorm               // [KV·hd]
	AttnKNormB              // [KV·hd]
	AttnOut                 // [D, H·hd]
	AttnOutB                // [D]
	AttnSinks               // [H] sink logits (sinktoken.SinkLogit only)
	FFNGate                 // [F, D] SwiGLU gate
	FFNGateB                // [F]
	FFNUp                   // [F, D]
	FFNUpB                  // [F]
	FFNDown                 // [D, F]
	FFNDownB                // [D]
	numRoles
)

// tensorTable is one family's map from roles to Hugging Face names, in the
// order of the family's named_parameters(): head (before the layers), the
// per-layer names (with %d for the layer) and tail (after the layers).
// Roles a config does not use (see Config.roleShape) are skipped.
type tensorTable struct {
	head, layer, tail []tensorName
}

type tensorName struct {
	role    Role
	pattern string
}

// archSpec is everything one family's description file provides.
type archSpec struct {
	arch    Arch
	classes []string // config.json architectures accepted (the first is written)
	// fields renames the generic field names used in errors to the family's
	// config.json names (e.g. MPT's d_model for hidden_size).
	fields   map[string]string
	parse    func(o object, c *Config) error // family fields of config.json into c
	toJSON   func(c Config, m map[string]any)
	validate func(c Config) error // family rules, after the shared ones
	features func(c Config) Features
	table    func(c Config) tensorTable
	tied     bool // tie_word_embeddings when config.json omits it
	bos, eos int  // token ids when config.json omits them (-1: none)
}

// archSpecs holds every family's description (filled by the family files).
func archSpecs() map[Arch]*archSpec {
	return map[Arch]*archSpec{
		GPTNeoX: gptNeoXSpec(), Llama: llamaSpec(Llama), Mistral: llamaSpec(Mistral), Qwen2: llamaSpec(Qwen2),
		Falcon: falconSpec(), MPT: mptSpec(),
	}
}

func specOf(a Arch) (*archSpec, error) {
	s, ok := archSpecs()[a.orDefault()]
	if !ok {
		return nil, fmt.Errorf("model_type %q is not supported, expected one of %s", string(a), archList())
	}
	return s, nil
}

func archList() string {
	q := make([]string, len(Archs))
	for i, a := range Archs {
		q[i] = fmt.Sprintf("%q", string(a))
	}
	return strings.Join(q, ", ")
}

// field returns the family's config.json name for a generic field name.
func (s *archSpec) field(name string) string {
	if n, ok := s.fields[name]; ok {
		return n
	}
	return name
}

// NormKind is the normalisation of every norm of a model.
type NormKind string

// Norm kinds.
const (
	LayerNorm NormKind = "layernorm" // (x−mean)/sqrt(var+eps)·w (+ b)
	RMSNorm   NormKind = "rmsnorm"   // x/sqrt(mean(x²)+eps)·w
)

// MLPKind is the feed-forward block.
type MLPKind string

// MLP kinds.
const (
	GELUMLP   MLPKind = "gelu"   // down(gelu(up(x))), exact erf GELU
	SwiGLUMLP MLPKind = "swiglu" // down(silu(gate(x)) ⊙ up(x))
)

// QKVLayout is how a fused query/key/value projection orders its output rows.
type QKVLayout string

// QKV layouts (hd-row blocks; G = H/KV queries per key/value head).
const (
	QKVSeparate QKVLayout = "separate" // q_proj, k_proj, v_proj (Llama family)
	QKVPerHead  QKVLayout = "per_head" // [H, 3, hd]: q, k, v of head 0, then head 1 … (GPT-NeoX, Falcon MHA)
	QKVGrouped  QKVLayout = "grouped"  // [KV, G+2, hd]: G queries, k, v per group (Falcon MQA and new_decoder_architecture)
	QKVBlocked  QKVLayout = "blocked"  // [q H·hd | k KV·hd | v KV·hd] (MPT Wqkv)
)

// PositionKind is the position scheme.
type PositionKind string

// Position schemes. Positions are always those inside the cache.
const (
	RoPE PositionKind = "rope" // rotary, NeoX rotate_half pairing (i with i+rot/2)
	// ALiBi is MPT's: score += slope_h·(k_pos − q_pos) after the 1/sqrt(hd)
	// scaling, slopes 2^(−8i/n) generalised by alibi_bias_max, in float32.
	ALiBi PositionKind = "alibi"
	// ALiBiBloom is Falcon's (BLOOM's): score = (q·k + bf16(bf16(slope_h)·k_pos))/sqrt(hd).
	ALiBiBloom PositionKind = "alibi_bloom"
)

// Features are the maths a Config asks for, derived from its family and
// fields: the shared building blocks of the forward pass (and of a training
// graph) read these, never the family fields.
type Features struct {
	Norm       NormKind
	NormBias   bool // LayerNorms have a bias
	MLP        MLPKind
	MLPBias    bool
	QKV        QKVLayout
	QKVBias    bool
	OutBias    bool // attention output projection bias
	QKNorm     bool // LayerNorm over each token's query and key (MPT qk_ln)
	SharedNorm bool // parallel block with one norm feeding attention and MLP
	Positions  PositionKind
}

// Features returns the maths of c (GPT-NeoX for an unknown family; Validate
// refuses those).
func (c Config) Features() Features {
	s, err := specOf(c.Arch)
	if err != nil {
		s = gptNeoXSpec()
	}
	return s.features(c)
}

// roleShape returns the shape of role r in c, or false when c has no such
// tensor.
func (c Config) roleShape(r Role, f Features) ([]int, bool) {
	V, D, F, H, KV, hd := c.VocabSize, c.HiddenSize, c.IntermediateSize, c.NumHeads, c.KVHeads(), c.HeadDim()
	fused := f.QKV != QKVSeparate
	sep := !fused
	normBias := f.Norm == LayerNorm && f.NormBias
	swiglu := f.MLP == SwiGLUMLP
	switch r {
	case TokenEmbd:
		return []int{V, D}, true
	case Output:
		return []int{V, D}, !c.TieWordEmbeddings
	case OutputNorm, AttnNorm:
		return []int{D}, true
	case OutputNormB, AttnNormB:
		return []int{D}, normBias
	case FFNNorm:
		return []int{D}, !f.SharedNorm
	case FFNNormB:
		return []int{D}, !f.SharedNorm && normBias
	case AttnQKV:
		return []int{(H + 2*KV) * hd, D}, fused
	case AttnQKVB:
		return []int{(H + 2*KV) * hd}, fused && f.QKVBias
	case AttnQ:
		return []int{H * hd, D}, sep
	case AttnQB:
		return []int{H * hd}, sep && f.QKVBias
	case AttnK, AttnV:
		return []int{KV * hd, D}, sep
	case AttnKB, AttnVB:
		return []int{KV * hd}, sep && f.QKVBias
	case AttnQNorm:
		return []int{H * hd}, f.QKNorm
	case AttnQNormB:
		return []int{H * hd}, f.QKNorm && normBias
	case AttnKNorm:
		return []int{KV * hd}, f.QKNorm
	case AttnKNormB:
		return []int{KV * hd}, f.QKNorm && normBias
	case AttnOut:
		return []int{D, H * hd}, true
	case AttnOutB:
		return []int{D}, f.OutBias
	case AttnSinks:
		return []int{H}, c.Attention == sinktoken.SinkLogit
	case FFNGate:
		return []int{F, D}, swiglu
	case FFNGateB:
		return []int{F}, swiglu && f.MLPBias
	case FFNUp:
		return []int{F, D}, true
	case FFNUpB:
		return []int{F}, f.MLPBias
	case FFNDown:
		return []int{D, F}, true
	case FFNDownB:
		return []int{D}, f.MLPBias
	}
	return nil, false
}

// TensorName returns the Hugging Face name of role r (of layer l for
// per-layer roles), or "" when c has no such tensor.
func (c Config) TensorName(r Role, l int) string {
	s, err := specOf(c.Arch)
	if err != nil {
		return ""
	}
	if _, ok := c.roleShape(r, s.features(c)); !ok {
		return ""
	}
	t := s.table(c)
	for _, part := range [][]tensorName{t.head, t.tail} {
		for _, n := range part {
			if n.role == r {
				return n.pattern
			}
		}
	}
	for _, n := range t.layer {
		if n.role == r {
			return fmt.Sprintf(n.pattern, l)
		}
	}
	return ""
}

// ParamSpecs lists every parameter in the family's Hugging Face order
// (named_parameters()), sink logits inserted per layer when the attention
// variant needs them, lm_head absent when tied.
func (c Config) ParamSpecs() []ParamSpec {
	s, err := specOf(c.Arch)
	if err != nil {
		return nil
	}
	f := s.features(c)
	t := s.table(c)
	var specs []ParamSpec
	add := func(n tensorName, l int, name string) {
		shape, ok := c.roleShape(n.role, f)
		if !ok {
			return
		}
		specs = append(specs, ParamSpec{Name: name, Shape: shape, Role: n.role, Layer: l,
			Decay: len(shape) == 2 && n.role != TokenEmbd})
	}
	for _, n := range t.head {
		add(n, -1, n.pattern)
	}
	for l := range c.NumLayers {
		for _, n := range t.layer {
			add(n, l, fmt.Sprintf(n.pattern, l))
		}
	}
	for _, n := range t.tail {
		add(n, -1, n.pattern)
	}
	return specs
}

// TensorsPerLayer returns how many parameters one layer has (to bound the
// work a config's layer count asks for before expanding its tensor list).
func (c Config) TensorsPerLayer() int {
	s, err := specOf(c.Arch)
	if err != nil {
		return 0
	}
	f := s.features(c)
	n := 0
	for _, t := range s.table(c).layer {
		if _, ok := c.roleShape(t.role, f); ok {
			n++
		}
	}
	return n
}

// ParseConfig parses a Hugging Face config.json of any supported family
// (model_type; transformers 4.x or 5.x field names), applies the family's
// defaults for missing optional fields and validates the result. Keys that
// do not change the maths (dropout, init, cache flags) are ignored, as
// transformers does; every key that changes it is honoured or refused by
// name. The "sinktrain" section is returned when present.
func ParseConfig(b []byte) (Config, *SinktrainSection, error) {
	o, err := parseObject(b, "")
	if err != nil {
		return Config{}, nil, err
	}
	var mt string
	if err := o.get("model_type", &mt); err != nil {
		return Config{}, nil, err
	}
	s, ok := archSpecs()[Arch(mt)]
	if !ok {
		return Config{}, nil, fmt.Errorf("model_type %q is not supported, expected one of %s", mt, archList())
	}
	var classes []string
	if err := o.get("architectures", &classes); err != nil {
		return Config{}, nil, err
	}
	if len(classes) > 0 && !slices.ContainsFunc(classes, func(x string) bool { return slices.Contains(s.classes, x) }) {
		return Config{}, nil, fmt.Errorf("architectures %v is not supported for model_type %q, expected [%q]", classes, mt, s.classes[0])
	}
	c := Config{Arch: s.arch, Attention: "softmax", RotaryPct: 1, RotaryBase: 10000, MaxPositionEmbeddings: 2048,
		TieWordEmbeddings: s.tied, BOSTokenID: s.bos, EOSTokenID: s.eos}
	if err := s.parse(o, &c); err != nil {
		return Config{}, nil, err
	}
	if err := o.get("tie_word_embeddings", &c.TieWordEmbeddings); err != nil {
		return Config{}, nil, err
	}
	if err := o.tokenID("bos_token_id", &c.BOSTokenID, nil); err != nil {
		return Config{}, nil, err
	}
	if err := o.tokenID("eos_token_id", &c.EOSTokenID, &c.EOSTokenIDs); err != nil {
		return Config{}, nil, err
	}
	var sec *SinktrainSection
	if o.has("sinktrain") {
		sec = new(SinktrainSection)
		if err := o.get("sinktrain", sec); err != nil {
			return Config{}, nil, err
		}
		c.SinkTokens, c.SinkIDs = sec.SinkTokens, sec.SinkIDs
		if sec.Attention != "" {
			c.Attention = sec.Attention
		}
	}
	c.normalize()
	if err := c.Validate(); err != nil {
		return Config{}, nil, err
	}
	return c, sec, nil
}

// normalize writes defaults the canonical way, so that a config read back
// from HFJSON equals the one written: 0 for a key/value head count equal to
// the heads and for a head dim of D/H, nil for sliding layers that are all
// of them or none, nil for a single end id.
func (c *Config) normalize() {
	if c.NumKVHeads == c.NumHeads {
		c.NumKVHeads = 0
	}
	if c.NumHeads > 0 && c.HeadSize*c.NumHeads == c.HiddenSize {
		c.HeadSize = 0
	}
	if c.SlidingLayers != nil {
		all, none := true, true
		for _, s := range c.SlidingLayers {
			all, none = all && s, none && !s
		}
		switch {
		case none:
			c.SlidingWindow, c.SlidingLayers = 0, nil
		case all:
			c.SlidingLayers = nil
		}
	}
	if len(c.EOSTokenIDs) < 2 {
		c.EOSTokenIDs = nil
	}
}

// HFJSON returns the config as a Hugging Face config.json object of its
// family, with both the transformers 5 rope_parameters and the classic 4.x
// field names where they differ, so that either version loads it. The
// sinktrain section is added when the model has sinks, a non-default
// attention, or train is non-nil.
func (c Config) HFJSON(train json.RawMessage) map[string]any {
	s, err := specOf(c.Arch)
	if err != nil {
		s = gptNeoXSpec()
	}
	m := map[string]any{
		"architectures":       []string{s.classes[0]},
		"model_type":          string(s.arch),
		"vocab_size":          c.VocabSize,
		"tie_word_embeddings": c.TieWordEmbeddings,
		"bos_token_id":        tokenIDJSON(c.BOSTokenID),
		"eos_token_id":        tokenIDJSON(c.EOSTokenID),
		"use_cache":           true,
		"initializer_range":   0.02,
		"dtype":               "float32",
	}
	if len(c.EOSTokenIDs) > 1 {
		m["eos_token_id"] = c.EOSTokenIDs
	}
	s.toJSON(c, m)
	if len(c.SinkIDs) > 0 || (c.Attention != "" && c.Attention != "softmax") || train != nil {
		att := c.Attention
		if att == "" {
			att = "softmax"
		}
		m["sinktrain"] = SinktrainSection{SinkTokens: c.SinkTokens, SinkIDs: c.SinkIDs, Attention: att, Train: train}
	}
	return m
}

func tokenIDJSON(id int) any {
	if id < 0 {
		return nil
	}
	return id
}

// ropeJSON writes RoPE theta and scaling both ways: transformers 5's
// rope_parameters and 4.x's rope_theta / rope_scaling.
func ropeJSON(c Config, m map[string]any, partial bool) {
	rp := map[string]any{"rope_theta": c.RotaryBase, "rope_type": "default"}
	if partial {
		rp["partial_rotary_factor"] = c.RotaryPct
	}
	m["rope_theta"] = c.RotaryBase
	if rs := c.RopeScaling; rs.Type != "" {
		sc := map[string]any{"rope_type": rs.Type, "factor": rs.Factor}
		if rs.Type == "llama3" {
			sc["low_freq_factor"] = rs.LowFreqFactor
			sc["high_freq_factor"] = rs.HighFreqFactor
			sc["original_max_position_embeddings"] = rs.OriginalMaxPositionEmbeddings
		}
		m["rope_scaling"] = sc
		for k, v := range sc {
			rp[k] = v
		}
	}
	m["rope_parameters"] = rp
}
