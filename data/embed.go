package data

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// embCorpus holds the default corpus: public-domain Project Gutenberg books
// (see corpus/README.md). Read-only.
//
//go:embed corpus/*.txt
var embCorpus embed.FS

// embChunk is the target size of one embedded-corpus document in bytes.
const embChunk = 8 << 10

// EmbeddedCorpus returns the default corpus built into the binary, used by
// [Prepare] when no input is given. Each book is cut at paragraph breaks into
// documents of about 8 KB, so that a validation split of a few percent of the
// documents exists; Source is "embedded:BOOK.txt#N".
func EmbeddedCorpus() ([]Document, error) {
	names, err := fs.Glob(embCorpus, "corpus/*.txt")
	if err != nil {
		return nil, fmt.Errorf("embedded corpus: %w", err)
	}
	var docs []Document
	for _, name := range names {
		b, err := embCorpus.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("embedded corpus: %w", err)
		}
		text, err := DecodeText(b)
		if err != nil {
			return nil, fmt.Errorf("embedded corpus %s: %w", name, err)
		}
		for i, chunk := range embSplit(text, embChunk) {
			docs = append(docs, Document{Source: fmt.Sprintf("embedded:%s#%d", path.Base(name), i), Text: chunk})
		}
	}
	return docs, nil
}

// embSplit cuts text at blank lines into pieces of at least size bytes (the
// last one may be shorter). Concatenated, the pieces give text back.
func embSplit(text string, size int) []string {
	var out []string
	for len(text) > 0 {
		cut := len(text)
		if len(text) > 2*size {
			if i := strings.Index(text[size:], "\n\n"); i >= 0 {
				cut = size + i + 2
			}
		}
		out = append(out, text[:cut])
		text = text[cut:]
	}
	return out
}
