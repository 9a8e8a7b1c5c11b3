package model

import "fmt"

// ParamSpec is one parameter's Hugging Face name and shape.
type ParamSpec struct {
	Name  string
	Shape []int
	Role  Role // what the tensor is for
	Layer int  // its layer, −1 for the embedding, final norm and head
	// Decay reports whether AdamW weight decay applies (matrices other than
	// embeddings; never norms, biases or sink logits).
	Decay bool
}

// Size returns the number of elements.
func (p ParamSpec) Size() int { return shapeSize(p.Shape) }

// The GPT-NeoX names below predate the per-family tables (gptneox.go) and
// stay for code that builds GPT-NeoX only; everything else asks
// Config.TensorName for a role.

// LayerPrefix returns "gpt_neox.layers.<l>.".
func LayerPrefix(l int) string { return fmt.Sprintf("gpt_neox.layers.%d.", l) }

// Names of the parameters that are not per layer.
const (
	EmbedIn    = "gpt_neox.embed_in.weight"         // [V, D]
	FinalNormW = "gpt_neox.final_layer_norm.weight" // [D]
	FinalNormB = "gpt_neox.final_layer_norm.bias"   // [D]
	EmbedOut   = "embed_out.weight"                 // [V, D]
)

// Per-layer parameter name suffixes (after LayerPrefix).
const (
	LN1W      = "input_layernorm.weight"           // [D]
	LN1B      = "input_layernorm.bias"             // [D]
	LN2W      = "post_attention_layernorm.weight"  // [D]
	LN2B      = "post_attention_layernorm.bias"    // [D]
	QKVW      = "attention.query_key_value.weight" // [3D, D], rows per head: q, k, v of head 0, then head 1, …
	QKVB      = "attention.query_key_value.bias"   // [3D]
	DenseW    = "attention.dense.weight"           // [D, D]
	DenseB    = "attention.dense.bias"             // [D]
	SinkLogit = "attention.sink_logits"            // [H], only for sinktoken.SinkLogit
	FC1W      = "mlp.dense_h_to_4h.weight"         // [F, D]
	FC1B      = "mlp.dense_h_to_4h.bias"           // [F]
	FC2W      = "mlp.dense_4h_to_h.weight"         // [D, F]
	FC2B      = "mlp.dense_4h_to_h.bias"           // [D]
)

// NumParams returns the total number of parameters.
func (c Config) NumParams() int {
	n := 0
	for _, s := range c.ParamSpecs() {
		n += s.Size()
	}
	return n
}
