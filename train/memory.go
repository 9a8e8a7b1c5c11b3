package train

import (
	"fmt"

	"github.com/sinktrain/sinktrain/internal/sysmem"
)

// memoryNeed returns a lower bound on the bytes a run of cfg over a
// vocabulary of vocab ids needs with the given number of workers (graphs),
// in float64 so that absurd sizes do not overflow:
//
//	P      = E·V·D + L·(2·D² + 2·D·F)          parameters (biases, norms, k/v
//	                                           projections and a SwiGLU gate aside;
//	                                           E = 1 with tied embeddings, else 2)
//	need   = 4 bytes · ( 4·P                   weights, AdamW moments, summed gradient
//	                   + workers·P             each graph's parameter gradients
//	                   + batch·T·(2·V + L·(8·D + 2·F)) )   logits and their gradient,
//	                                                       per-layer activations
//
// with T = sinks + block_size. The graphs hold more than this (attention
// rows, norms' statistics), so a run it refuses cannot fit.
func memoryNeed(cfg Config, vocab, workers int) float64 {
	V, D, L := float64(vocab), float64(cfg.HiddenSize), float64(cfg.NumLayers)
	F := float64(cfg.IntermediateSize)
	if F == 0 {
		F = 4 * D
	}
	T := float64(cfg.Sinks) + float64(cfg.BlockSize)
	E := 2.0
	if cfg.TieEmbeddings {
		E = 1
	}
	P := E*V*D + L*(2*D*D+2*D*F)
	return 4 * ((4+float64(workers))*P + float64(cfg.Batch)*T*(2*V+L*(8*D+2*F)))
}

// checkMemory refuses, before anything is allocated, a run that cannot fit
// in the memory this process can still use.
func checkMemory(cfg Config, vocab, workers int) error {
	if err := sysmem.Check(memoryNeed(cfg, vocab, workers)); err != nil {
		return fmt.Errorf("training batch %d × %d tokens of a model with d=%d, %d layers and vocab %d on %d workers %w: lower batch, block_size or the model size",
			cfg.Batch, cfg.Sinks+cfg.BlockSize, cfg.HiddenSize, cfg.NumLayers, vocab, workers, err)
	}
	return nil
}
