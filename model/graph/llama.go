package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/sinktrain/sinktrain/autograd"
	"github.com/sinktrain/sinktrain/model"
)

// isLlama reports whether a is one of the Llama family's model types.
func isLlama(a model.Arch) bool { return a == model.Llama || a == model.Mistral || a == model.Qwen2 }

// llama builds the Llama-family decoder (transformers' LlamaForCausalLM,
// MistralForCausalLM, Qwen2ForCausalLM) up to the final norm and returns
// it with the LM head's weight (embed_tokens when tied). Pre-norm
// sequential blocks, N = B·T rows:
//
//	x = embed_tokens[ids]                                              [N, D]
//	per layer:
//	  h = RMSNorm(x)·input_layernorm
//	  qkv = h·[q_proj; k_proj; v_proj]ᵀ (+ [q; k; v] biases)           [N, (H+2KV)·hd]
//	  heads = RoPE(qkv), full rotation, inv_freq of rope_theta/rope_scaling  [B, H+2KV, T, hd]
//	  x = x + o_proj(attention(heads))     (grouped-query, the sink variant)
//	  h = RMSNorm(x)·post_attention_layernorm
//	  x = x + down_proj(silu(h·gate_projᵀ)·(h·up_projᵀ))   (one product with [gate; up])
//	final = RMSNorm(x)·norm
//
// Every tensor is found by its role (model.Config.TensorName); optional
// biases (attention_bias, mlp_bias, Qwen2's q/k/v) are used when the config
// has them. The hidden states kept under diagnostics are HF's
// output_hidden_states: the embeddings, layers 0…L−2, and the final norm.
func (b *builder) llama() (final, head *G.Node, err error) {
	c := b.gr.cfg
	// opt returns the node of role r of layer l, nil when the config has none.
	opt := func(r model.Role, l int) *G.Node { return b.params[c.TensorName(r, l)] }
	need := func(r model.Role, l int) (*G.Node, error) {
		if n := opt(r, l); n != nil {
			return n, nil
		}
		return nil, fmt.Errorf("model_type %q layer %d: no tensor for role %d", string(c.Arch), l, r)
	}
	// concat stacks the nodes of roles rs (all present, or all absent: nil).
	concat := func(l int, rs ...model.Role) (*G.Node, error) {
		ns := make([]*G.Node, 0, len(rs))
		for _, r := range rs {
			if n := opt(r, l); n != nil {
				ns = append(ns, n)
			}
		}
		switch len(ns) {
		case 0:
			return nil, nil
		case len(rs):
			return autograd.ConcatRows(ns...)
		}
		return nil, fmt.Errorf("model_type %q layer %d: %d of the %d tensors of roles %v, expected all or none", string(c.Arch), l, len(ns), len(rs), rs)
	}

	embed, err := need(model.TokenEmbd, -1)
	if err != nil {
		return nil, nil, err
	}
	x, err := autograd.Embedding(embed, b.gr.ids) // [N, D]
	if err != nil {
		return nil, nil, err
	}
	b.keep(x)
	norm := normalizer(c.Attention)
	KV := c.KVHeads()
	rope := autograd.RoPE{Heads: c.NumHeads, KVHeads: KV, InvFreq: c.InvFreq(), Layout: autograd.QKVBlocked}
	for l := 0; l < c.NumLayers; l++ {
		w := map[model.Role]*G.Node{}
		for _, r := range []model.Role{model.AttnNorm, model.AttnQ, model.AttnK, model.AttnV, model.AttnOut,
			model.FFNNorm, model.FFNGate, model.FFNUp, model.FFNDown} {
			if w[r], err = need(r, l); err != nil {
				return nil, nil, err
			}
		}
		h, err := autograd.RMSNorm(x, w[model.AttnNorm], c.LayerNormEps)
		if err != nil {
			return nil, nil, err
		}
		wqkv, err := concat(l, model.AttnQ, model.AttnK, model.AttnV) // [(H+2KV)·hd, D]
		if err != nil {
			return nil, nil, err
		}
		bqkv, err := concat(l, model.AttnQB, model.AttnKB, model.AttnVB)
		if err != nil {
			return nil, nil, err
		}
		qkv, err := autograd.Linear(h, wqkv, bqkv) // [N, (H+2KV)·hd]
		if err != nil {
			return nil, nil, err
		}
		heads, err := autograd.RoPEHeads(qkv, b.gr.batch, rope) // [B, H+2KV, T, hd]
		if err != nil {
			return nil, nil, err
		}
		var sink *G.Node
		if norm == autograd.NormSinkLogit {
			if sink, err = need(model.AttnSinks, l); err != nil {
				return nil, nil, err
			}
		}
		ctx, err := autograd.CausalAttention(heads, KV, sink, norm) // [N, H·hd]
		if err != nil {
			return nil, nil, err
		}
		b.bg.attn = append(b.bg.attn, ctx)
		attn, err := autograd.Linear(ctx, w[model.AttnOut], opt(model.AttnOutB, l)) // [N, D]
		if err != nil {
			return nil, nil, err
		}
		if x, err = autograd.Sum(x, attn); err != nil {
			return nil, nil, err
		}
		if h, err = autograd.RMSNorm(x, w[model.FFNNorm], c.LayerNormEps); err != nil {
			return nil, nil, err
		}
		wgu, err := concat(l, model.FFNGate, model.FFNUp) // [2F, D]
		if err != nil {
			return nil, nil, err
		}
		bgu, err := concat(l, model.FFNGateB, model.FFNUpB)
		if err != nil {
			return nil, nil, err
		}
		gu, err := autograd.Linear(h, wgu, bgu) // [N, 2F]
		if err != nil {
			return nil, nil, err
		}
		act, err := autograd.SwiGLU(gu) // [N, F]
		if err != nil {
			return nil, nil, err
		}
		mlp, err := autograd.Linear(act, w[model.FFNDown], opt(model.FFNDownB, l)) // [N, D]
		if err != nil {
			return nil, nil, err
		}
		if x, err = autograd.Sum(x, mlp); err != nil {
			return nil, nil, err
		}
		if l < c.NumLayers-1 {
			b.keep(x)
		}
	}
	fw, err := need(model.OutputNorm, -1)
	if err != nil {
		return nil, nil, err
	}
	if final, err = autograd.RMSNorm(x, fw, c.LayerNormEps); err != nil {
		return nil, nil, err
	}
	b.keep(final)
	if head = opt(model.Output, -1); head == nil {
		head = embed // tie_word_embeddings
	}
	return final, head, nil
}
