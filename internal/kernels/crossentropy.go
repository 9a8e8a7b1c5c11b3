package kernels

import "math"

// CrossEntropy returns the natural-log NLL of target t under the softmax of
// the logits z (one row of [N, V]),
//
//	nll = log Σ_v e^{z_v} − z_t   (the log-sum-exp in float64),
//
// and, when grad is not nil (len ≥ len(z)), writes the gradient of
// scale·nll with respect to z into it: grad_v = scale·(softmax(z)_v − [v = t]).
// It is the one cross-entropy of the training loss, the trainer's
// validation loss and the streaming engine's scores. t must be in [0, len(z)).
func CrossEntropy[T Float](z []T, t int, grad []T, scale float64) float64 {
	m, s := ExpRow(z, grad) // grad holds e^{z−m} when given
	nll := float64(m) + math.Log(s) - float64(z[t])
	if grad != nil {
		Scale(grad[:len(z)], grad, T(scale/s))
		grad[t] -= T(scale)
	}
	return nll
}
