package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/sinktrain/sinktrain/checkpoint"
)

// newConvertCmd builds `sinktrain convert`. runF nil runs checkpoint.Convert.
func newConvertCmd(runF func(context.Context, *checkpoint.ConvertOptions) error) *cobra.Command {
	if runF == nil {
		runF = func(ctx context.Context, o *checkpoint.ConvertOptions) error { return checkpoint.Convert(ctx, *o) }
	}
	o := &checkpoint.ConvertOptions{}
	cmd := &cobra.Command{
		Use:   "convert --from SRC --out DST [--dtype float32|float16|bfloat16] [--add-sinks K] [--hf]",
		Short: "Convert between sinktrain checkpoints and Hugging Face model folders",
		Long: `convert reads a sinktrain run/checkpoint directory or a Hugging Face folder
of a GPT-NeoX, Llama, Mistral, Qwen2, Falcon or MPT model (transformers 4.x or
5.x config, float32/float16/bfloat16 safetensors, single or sharded; pickle
checkpoints are refused) and writes DST: config.json, model.safetensors with
Hugging Face's tensor names in --dtype, and tokenizer.json with
special_tokens_map.json and tokenizer_config.json when SRC has a tokenizer.
DST loads in transformers (AutoModelForCausalLM, AutoTokenizer) and in
sinktrain; optimizer state is dropped. --add-sinks K adds K sink tokens
<|sink_i|> (rows initialised to the mean embedding; an untied LM head grows
too, a tied one follows the embedding). --hf refuses models transformers
cannot run (attention softmax1 or sink_logit, MPT with qk_ln or biases) and
drops the training configuration. DST must not exist or be empty; on error
nothing is written.`,
		Example: `  sinktrain convert --from EleutherAI-pythia-160m --out pythia-160m-sink1 --add-sinks 1
  sinktrain convert --from runs/sink1 --out export/sink1-bf16 --dtype bfloat16 --hf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := runF(cmd.Context(), o); err != nil {
				return err
			}
			cmd.Printf("wrote %s\n", o.Out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "source `DIR`: a sinktrain checkpoint or a Hugging Face model folder")
	f.StringVar(&o.Out, "out", "", "destination `DIR` (new or empty)")
	f.StringVar(&o.DType, "dtype", "float32", "weights `DTYPE`: float32, float16 or bfloat16")
	f.IntVar(&o.AddSinks, "add-sinks", 0, "add `K` sink tokens to the vocabulary")
	f.BoolVar(&o.HF, "hf", false, "plain Hugging Face export: refuse non-softmax attention, drop the training config")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
