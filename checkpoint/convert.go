package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// ConvertOptions are the inputs of Convert (`sinktrain convert`).
type ConvertOptions struct {
	From     string // source: our run/checkpoint directory or a Hugging Face model folder (model.Archs)
	Out      string // destination directory; must not exist or be empty
	DType    string // float32 (default), float16 or bfloat16
	AddSinks int    // sink tokens to add (AddSinks), 0 for none
	// HF refuses models that transformers cannot run (attention other than
	// softmax) and drops the training configuration: a plain HF export.
	HF bool
}

// Convert loads From (any float dtype, single or sharded safetensors),
// optionally adds sink tokens, and writes Out as a checkpoint folder in
// DType: config.json, model.safetensors with HF names, and the tokenizer
// files when From has a tokenizer.json. The folder is both a sinktrain
// checkpoint and, for softmax attention, a transformers-loadable model.
// Out is written into a temporary directory and renamed at the end, so an
// error leaves no output folder.
func Convert(ctx context.Context, o ConvertOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	dt, _ := ParseDType(o.DType)
	empty, err := isEmptyOrMissing(o.Out)
	if err != nil {
		return fmt.Errorf("convert: --out %w", err)
	}
	if !empty {
		return fmt.Errorf("convert: --out %s exists and is not empty, expected a new directory", o.Out)
	}
	m, err := Load(o.From)
	if err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	var tok []byte
	if m.TokenizerPath != "" {
		if tok, err = os.ReadFile(m.TokenizerPath); err != nil {
			return fmt.Errorf("convert: %w", err)
		}
	}
	if o.AddSinks > 0 {
		if tok, err = AddSinks(m, tok, o.AddSinks); err != nil {
			return fmt.Errorf("convert: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	if err := Save(o.Out, m, SaveOptions{DType: dt, Tokenizer: tok, HF: o.HF}); err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	return nil
}

func (o ConvertOptions) validate() error {
	if o.From == "" {
		return errors.New("convert: --from is required (a checkpoint or Hugging Face model folder)")
	}
	if o.Out == "" {
		return errors.New("convert: --out is required (a new directory)")
	}
	if _, err := ParseDType(o.DType); err != nil {
		return fmt.Errorf("convert: --dtype: %w", err)
	}
	if o.AddSinks < 0 {
		return fmt.Errorf("convert: --add-sinks %d, expected >= 0", o.AddSinks)
	}
	return nil
}
