// Package configs embeds the training presets (tiny, small, reference,
// laptop-study) so that the sinktrain binary finds them by name; each file
// overrides only some of train.Config's defaults (reference.json only what
// differs from them). It imports nothing of sinktrain.
package configs

import "embed"

// FS holds the preset files, named <preset>.json.
//
//go:embed *.json
var FS embed.FS
