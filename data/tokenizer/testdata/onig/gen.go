//go:build ignore

// gen writes splits.json: the matches Oniguruma (the engine Hugging Face
// tokenizers uses for Split regexes) finds for the pre-tokenizer patterns
// of the supported families, on random strings of tricky characters and on
// the lines of the HF fixture texts. The tests check the hand-written
// matchers and the regexp2 path against it.
//
//	cc -O2 -o /tmp/onigsplit onigsplit.c -lonig   # Debian: apt-get install libonig-dev
//	go run gen.go /tmp/onigsplit
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
)

// patterns are the regexes checked, by name.
var patterns = map[string]string{
	"gpt2":   `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
	"llama3": `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
	"qwen2":  `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
	"falcon": `[0-9][0-9][0-9]`,
	"o200k":  `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
}

// alphabet is what the random strings are made of: contractions in both
// cases (and the long s, which Oniguruma folds to s), letters of several
// scripts, numbers of several kinds, every kind of whitespace the patterns
// treat differently, punctuation, symbols, emoji, combining marks.
var alphabet = []string{
	"a", "Z", "é", "中", "ß", "ǅ", "ſ", "K", "1", "7", "٣", "Ⅻ", "½", "²",
	" ", " ", " ", "\t", "\n", "\r", "\r\n", "\v", "\f", "\u00a0", "\u3000", "\u2028", "\u0085",
	"'", "'", "s", "S", "t", "T", "re", "RE", "ve", "ll", "LL", "m", "d", "D",
	"!", ".", ",", "(", "_", "-", "$", "😀", "\u0301", "\u200d", "x",
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run gen.go ONIGSPLIT")
		os.Exit(2)
	}
	rng := rand.New(rand.NewPCG(15, 3))
	var texts []string
	for range 3000 {
		var sb strings.Builder
		for range rng.IntN(24) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		texts = append(texts, sb.String())
	}
	b, err := os.ReadFile("../../../../testdata/fixtures/tokenizer/encodings.json")
	if err != nil {
		panic(err)
	}
	var cases []struct{ Text string }
	if err := json.Unmarshal(b, &cases); err != nil {
		panic(err)
	}
	for _, c := range cases {
		texts = append(texts, strings.Split(c.Text, "\n")...)
	}
	var in bytes.Buffer
	for _, t := range texts {
		in.WriteString(hex.EncodeToString([]byte(t)) + "\n")
	}
	out := map[string]any{"texts": texts}
	matches := map[string][][]int{}
	for name, p := range patterns {
		cmd := exec.Command(os.Args[1], p)
		cmd.Stdin = bytes.NewReader(in.Bytes())
		cmd.Stderr = os.Stderr
		res, err := cmd.Output()
		if err != nil {
			panic(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(res), "\n"), "\n")
		if len(lines) != len(texts) {
			panic(fmt.Sprintf("%s: %d lines for %d texts", name, len(lines), len(texts)))
		}
		for _, l := range lines {
			var pairs [][2]int
			if err := json.Unmarshal([]byte(l), &pairs); err != nil {
				panic(err)
			}
			flat := []int{}
			for _, p := range pairs {
				flat = append(flat, p[0], p[1])
			}
			matches[name] = append(matches[name], flat)
		}
	}
	out["patterns"] = patterns
	out["matches"] = matches
	js, err := json.Marshal(out)
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile("splits.json", append(js, '\n'), 0o644); err != nil {
		panic(err)
	}
}
