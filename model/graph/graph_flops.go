package graph

import "github.com/sinktrain/sinktrain/model"

// TrainFLOPsPerToken is the floating-point work of one training step
// (forward + backward) per token for sequences of the given length, by the
// usual count: 6·P (P = every parameter, embeddings included) plus the
// attention products 12·L·T·H·hd (QKᵀ and P·V, forward ×3, counted over
// the full T×T square although the causal half is skipped).
func TrainFLOPsPerToken(c model.Config, length int) float64 {
	var p int
	for _, s := range c.ParamSpecs() {
		n := 1
		for _, d := range s.Shape {
			n *= d
		}
		p += n
	}
	return 6*float64(p) + 12*float64(c.NumLayers)*float64(length)*float64(c.NumHeads*c.HeadDim())
}
