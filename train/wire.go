//go:build sinktrain_wired

package train

import (
	"context"

	"github.com/sinktrain/sinktrain/data"
)

// prepareEmbedded prepares the embedded public-domain text into out.
func prepareEmbedded(ctx context.Context, out string, vocab, sinks int, tokenizer string) error {
	return data.Prepare(ctx, data.PrepareOptions{Out: out, VocabSize: vocab, Sinks: sinks, Tokenizer: tokenizer})
}
