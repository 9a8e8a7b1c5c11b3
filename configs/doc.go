// Package configs embeds the training presets (tiny, small, reference,
// laptop-study, and the Llama twins tiny-llama, laptop-study-llama and
// reference-llama: same width, depth and heads, grouped-query attention,
// SwiGLU width 8/3·D rounded up to 16) so that the sinktrain binary finds
// them by name; each file overrides only some of train.Config's defaults
// (reference.json only what differs from them). It imports nothing of
// sinktrain.
package configs

import "embed"

// FS holds the preset files, named <preset>.json.
//
//go:embed *.json
var FS embed.FS
