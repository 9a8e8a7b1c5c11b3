package checkpoint

import (
	"context"
	"os"
	"strconv"

	"github.com/sinktrain/sinktrain/internal/input"
	"github.com/sinktrain/sinktrain/sinktoken"
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
		return input.File("Out", "output directory", o.Out, err)
	}
	if !empty {
		return input.Errorf("Out", "output directory", o.Out, "exists and is not empty, expected a new directory")
	}
	m, err := Load(o.From)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var tok []byte
	if m.TokenizerPath != "" {
		if tok, err = os.ReadFile(m.TokenizerPath); err != nil {
			return err
		}
	}
	if o.AddSinks > 0 {
		if tok, err = AddSinks(m, tok, o.AddSinks); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := Save(o.Out, m, SaveOptions{DType: dt, Tokenizer: tok, HF: o.HF}); err != nil {
		return input.File("Out", "output directory", o.Out, err)
	}
	return nil
}

func (o ConvertOptions) validate() error {
	if o.From == "" {
		return input.Errorf("From", "source", "", "none given, expected a checkpoint or Hugging Face model folder")
	}
	if o.Out == "" {
		return input.Errorf("Out", "output directory", "", "none given, expected a new directory")
	}
	if _, err := ParseDType(o.DType); err != nil {
		return err
	}
	return CheckAddSinks(o.AddSinks)
}

// CheckAddSinks refuses a count of sinks to add outside 0…sinktoken.MaxSinks.
func CheckAddSinks(k int) error {
	if k < 0 || k > sinktoken.MaxSinks {
		return input.Usagef("AddSinks", "sink tokens to add", strconv.Itoa(k), "expected 0…%d (the limit of sinks per model)", sinktoken.MaxSinks)
	}
	return nil
}
