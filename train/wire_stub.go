//go:build !sinktrain_wired

package train

import (
	"context"
	"errors"
)

// Placeholders until data.Prepare lands.

var errNotWired = errors.New("train: built without data.Prepare (build tag sinktrain_wired)")

func prepareEmbedded(context.Context, string, int, int, string) error { return errNotWired }
