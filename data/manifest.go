package data

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sinktrain/sinktrain/data/shard"
	"github.com/sinktrain/sinktrain/internal/fsutil"
	"github.com/sinktrain/sinktrain/internal/input"
)

// ManifestName is the file that describes a prepared dataset directory.
const ManifestName = "manifest.json"

// ManifestFormat and ManifestVersion identify manifest.json files.
const (
	ManifestFormat  = "sinktrain-data"
	ManifestVersion = 1
)

// manMaxBytes bounds the size of a manifest.json we are willing to read.
const manMaxBytes = 16 << 20

// Manifest is manifest.json: what a prepared dataset directory holds.
type Manifest struct {
	Format    string        `json:"format"`  // "sinktrain-data"
	Version   int           `json:"version"` // 1
	Tokenizer TokenizerInfo `json:"tokenizer"`
	Shards    []ShardInfo   `json:"shards"`
	Sources   []string      `json:"sources,omitempty"` // inputs given to prepare
}

// TokenizerInfo names the tokenizer a dataset was encoded with.
type TokenizerInfo struct {
	File      string  `json:"file"`   // relative to the dataset directory
	SHA256    string  `json:"sha256"` // hex
	VocabSize int     `json:"vocab_size"`
	EOSID     int32   `json:"eos_id"`             // <|endoftext|>, ends every document
	SinkIDs   []int32 `json:"sink_ids,omitempty"` // <|sink_0|> … reserved in the vocabulary
}

// ShardInfo is one shard file of a dataset.
type ShardInfo struct {
	File   string `json:"file"`  // relative to the dataset directory
	Split  string `json:"split"` // "train" or "val"
	Rows   int64  `json:"rows"`  // documents
	Tokens int64  `json:"tokens"`
	SHA256 string `json:"sha256"` // hex
}

// ShardEntry is the manifest entry of a shard written to split.
func ShardEntry(i shard.Info, split string) ShardInfo {
	return ShardInfo{File: i.File, Split: split, Rows: i.Rows, Tokens: i.Tokens, SHA256: i.SHA256}
}

// Splits of a dataset.
const (
	SplitTrain = "train"
	SplitVal   = "val"
)

// ParseManifest decodes and validates manifest.json bytes.
func ParseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, input.JSON(err)
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks the manifest's fields.
func (m *Manifest) Validate() error {
	if m.Format != ManifestFormat {
		return fmt.Errorf("format %q, want %q", m.Format, ManifestFormat)
	}
	if m.Version != ManifestVersion {
		return fmt.Errorf("version %d, want %d", m.Version, ManifestVersion)
	}
	if m.Tokenizer.File != "" {
		if err := manCheckFile("tokenizer.file", m.Tokenizer.File, m.Tokenizer.SHA256); err != nil {
			return err
		}
	}
	if m.Tokenizer.VocabSize < 0 {
		return fmt.Errorf("tokenizer.vocab_size %d is negative", m.Tokenizer.VocabSize)
	}
	if len(m.Shards) == 0 {
		return errors.New("no shards")
	}
	seen := map[string]bool{}
	for i, s := range m.Shards {
		field := fmt.Sprintf("shards[%d]", i)
		if err := manCheckFile(field+".file", s.File, s.SHA256); err != nil {
			return err
		}
		if seen[s.File] {
			return fmt.Errorf("%s.file %q listed twice", field, s.File)
		}
		seen[s.File] = true
		if s.Split != SplitTrain && s.Split != SplitVal {
			return fmt.Errorf("%s.split %q, want %q or %q", field, s.Split, SplitTrain, SplitVal)
		}
		if s.Rows < 0 || s.Tokens < 0 || s.Tokens < s.Rows {
			return fmt.Errorf("%s: rows %d, tokens %d are inconsistent", field, s.Rows, s.Tokens)
		}
	}
	return nil
}

// manCheckFile checks a file name (a plain name inside the dataset directory)
// and its sha256.
func manCheckFile(field, name, sum string) error {
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("%s %q must be a file name inside the dataset directory", field, name)
	}
	if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
		return fmt.Errorf("%s %q: sha256 %q is not 64 hex digits", field, name, sum)
	}
	return nil
}

// ReadManifest reads and validates dir/manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestName)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, manMaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > manMaxBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, manMaxBytes)
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Write writes the manifest to dir/manifest.json atomically.
func (m *Manifest) Write(dir string) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return fsutil.WriteFileAtomic(filepath.Join(dir, ManifestName), func(w *bufio.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// ldShardName is the file name of shard i of a split: train-00000.arrow.
func ldShardName(split string, i int) string { return fmt.Sprintf("%s-%05d.arrow", split, i) }
