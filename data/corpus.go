package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/sinktrain/sinktrain/internal/input"
)

// Document is one training document: its text and where it came from.
type Document struct {
	Source string // file, or file:line for .jsonl
	Text   string // UTF-8, LF line endings
}

// crpDirExt reports whether a directory walk takes files with extension ext
// (a file named explicitly is read whatever its extension).
func crpDirExt(ext string) bool {
	switch strings.ToLower(ext) {
	case ".txt", ".text", ".md", ".jsonl":
		return true
	}
	return false
}

// crpMaxLine bounds one .jsonl line.
const crpMaxLine = 256 << 20

// ExpandInputs turns files, directories (walked recursively for .txt, .text,
// .md and .jsonl files, hidden entries skipped) and glob patterns into a
// sorted, de-duplicated list of files.
func ExpandInputs(inputs []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, in := range inputs {
		paths := []string{in}
		if strings.ContainsAny(in, "*?[") {
			m, err := filepath.Glob(in)
			if err != nil {
				return nil, input.New("Inputs", "input", strconv.Quote(in), err)
			}
			if len(m) == 0 {
				return nil, input.Errorf("Inputs", "input", strconv.Quote(in), "matches no files")
			}
			paths = m
		}
		for _, p := range paths {
			st, err := os.Stat(p)
			if err != nil {
				return nil, input.File("Inputs", "input", p, err)
			}
			if !st.IsDir() {
				add(p)
				continue
			}
			err = filepath.WalkDir(p, func(q string, e fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if q != p && strings.HasPrefix(e.Name(), ".") {
					if e.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				if e.Type().IsRegular() && crpDirExt(filepath.Ext(q)) {
					add(q)
				}
				return nil
			})
			if err != nil {
				return nil, input.File("Inputs", "input", p, err)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// ReadDocuments reads files as documents: one per file, or one per non-empty
// line of a .jsonl file (its "text" field). Documents that are empty after
// normalisation are dropped.
func ReadDocuments(files []string) ([]Document, error) {
	var docs []Document
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, input.File("Inputs", "input", p, err)
		}
		if strings.EqualFold(filepath.Ext(p), ".jsonl") {
			if docs, err = crpJSONL(docs, p, b); err != nil {
				return nil, err
			}
			continue
		}
		text, err := DecodeText(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if strings.TrimSpace(text) != "" {
			docs = append(docs, Document{Source: p, Text: text})
		}
	}
	return docs, nil
}

func crpJSONL(docs []Document, path string, b []byte) ([]Document, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, crpMaxLine)
	for line := 1; sc.Scan(); line++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var rec struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, input.JSON(err))
		}
		if rec.Text == nil {
			return nil, fmt.Errorf("%s:%d: no \"text\" string field", path, line)
		}
		text, err := DecodeText([]byte(*rec.Text))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if strings.TrimSpace(text) != "" {
			docs = append(docs, Document{Source: fmt.Sprintf("%s:%d", path, line), Text: text})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return docs, nil
}

// DecodeText turns file bytes into normalised UTF-8 text: a UTF-8 byte-order
// mark and a DOS end-of-file mark (Ctrl-Z) ending the text are dropped; bytes that are not valid UTF-8 are read as ISO-8859-1
// (Latin-1), or as Windows-1252 when they use its 0x80–0x9F punctuation;
// CRLF and lone CR become LF. Data with a NUL byte, or with more than one
// other control character (besides tab, LF, VT, FF, CR) per 1000 bytes, is
// not text and gives an error; rarer stray control characters are kept.
func DecodeText(b []byte) (string, error) {
	s := newTextScan()
	s.feed(b)
	d, err := s.finish()
	if err != nil {
		return "", err
	}
	if !d.single && d.skip == 0 && d.end == int64(len(b)) && bytes.IndexByte(b, '\r') < 0 {
		return string(b), nil // already normalised
	}
	return string(d.decode(make([]byte, 0, len(b)+len(b)/8), b)), nil
}

// crpCP1252 maps Windows-1252 bytes 0x80–0x9F to runes (0: undefined); a
// read-only table.
var crpCP1252 = [32]rune{
	'€', 0, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0, 'Ž', 0,
	0, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0, 'ž', 'Ÿ',
}
