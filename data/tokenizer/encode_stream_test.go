package tokenizer

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// TestEncodeStream: for every fixture tokenizer whose pipeline can be cut,
// a long text (every fixture string, joined by newlines and by other
// separators, the added tokens inline, repeated; and the same with every
// "\n" as "\r\n") encoded piece by piece
// through a reader that returns a few bytes at a time equals Encode of the
// whole text; the ones that cannot be cut say so (the byte-level GPT-2,
// Llama-3 and Qwen2 layouts must stream).
func TestEncodeStream(t *testing.T) {
	dirs := []string{"../../testdata/fixtures/tokenizer"}
	for _, f := range strings.Fields(tokFamilyNames) {
		dirs = append(dirs, filepath.Join(tokFamilyDir, f))
	}
	must := []string{"tokenizer", "llama3", "qwen2"}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			tk, err := Load(filepath.Join(dir, "tokenizer.json"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, "encodings.json"))
			if err != nil {
				t.Fatal(err)
			}
			var cases []tokFamilyCase
			if err := json.Unmarshal(b, &cases); err != nil {
				t.Fatal(err)
			}
			if !tk.CanStream() {
				if slices.Contains(must, name) {
					t.Fatal("CanStream false")
				}
				if _, err := tk.NewEncodeStream(strings.NewReader("x"), 0); !errors.Is(err, ErrCannotStream) {
					t.Fatalf("NewEncodeStream: %v, want ErrCannotStream", err)
				}
				return
			}
			var sb strings.Builder
			seps := []string{"\n", "\n\n", " \n", "\nA", "\n1", "\r\n", "\n\t", ".\nZ"}
			for rep := 0; sb.Len() < 60_000; rep++ {
				for i, c := range cases {
					sb.WriteString(c.Text)
					sb.WriteString(seps[(i+rep)%len(seps)])
					if i%7 == 0 {
						for _, a := range tk.AddedTokens() {
							sb.WriteString("\n" + a.Content + "x\n")
						}
					}
				}
			}
			for _, text := range []string{sb.String(), strings.ReplaceAll(sb.String(), "\n", "\r\n")} {
				want := tk.Encode(text)
				for _, piece := range []int{0, 10_000} {
					es, err := tk.NewEncodeStream(iotest.HalfReader(strings.NewReader(text)), piece)
					if err != nil {
						t.Fatal(err)
					}
					var got []int32
					pieces := 0
					for {
						got, err = es.Next(got)
						if errors.Is(err, io.EOF) {
							break
						}
						if err != nil {
							t.Fatal(err)
						}
						pieces++
					}
					if pieces < 3 {
						t.Fatalf("piece %d: %d pieces for %d bytes", piece, pieces, len(text))
					}
					if !slices.Equal(got, want) {
						i := 0
						for i < min(len(got), len(want)) && got[i] == want[i] {
							i++
						}
						t.Fatalf("piece %d: %d ids, want %d; first difference at %d", piece, len(got), len(want), i)
					}
				}
			}
		})
	}
}
