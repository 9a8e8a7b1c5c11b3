package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/dlclark/regexp2/v2"
)

// tokGPT2Pattern is the GPT-2 pre-tokenizer pattern, look-ahead included.
const tokGPT2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

func tokPieces(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		j := pretokNext(s, i)
		out = append(out, s[i:j])
		i = j
	}
	return out
}

func TestPretokenizeCases(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello world", []string{"Hello", " world"}},
		{"a   b", []string{"a", "  ", " b"}},
		{"  leading", []string{" ", " leading"}},
		{"trailing   ", []string{"trailing", "   "}},
		{"x\n\n\tand", []string{"x", "\n\n", "\t", "and"}},
		{"don't I'm we'll they've she'd it's you're", []string{"don", "'t", " I", "'m", " we", "'ll", " they", "'ve", " she", "'d", " it", "'s", " you", "'re"}},
		{"'S ''s 'x", []string{"'", "S", " ''", "s", " '", "x"}},
		{"3.14159, 12345", []string{"3", ".", "14159", ",", " 12345"}},
		{"café 中文 😀!", []string{"café", " 中文", " 😀!"}},
		{"a\u00a0\u00a0b", []string{"a", "\u00a0", "\u00a0", "b"}},
		{"tab\t end", []string{"tab", "\t", " end"}},
		{"\xff\xfe ab", []string{"\xff\xfe", " ab"}},
	} {
		if got := tokPieces(c.in); !slices.Equal(got, c.want) {
			t.Errorf("pretokenize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestPretokenizeMatchesRegex checks the scanner against a regex engine
// with look-ahead on random strings of tricky characters.
func TestPretokenizeMatchesRegex(t *testing.T) {
	re := regexp2.MustCompile(tokGPT2Pattern, regexp2.None)
	alphabet := []string{"a", "Z", "é", "中", "1", "٣", "Ⅻ", " ", " ", "\t", "\n", "\r", "\u00a0", "\u3000",
		"'", "s", "t", "re", "ll", "!", ".", "😀", "_", "-", "\u0301"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		var sb strings.Builder
		for range rng.IntN(24) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := sb.String()
		var want []string
		m, _ := re.FindStringMatch(s)
		for m != nil {
			want = append(want, m.String())
			m, _ = re.FindNextMatch(m)
		}
		if got := tokPieces(s); !slices.Equal(got, want) {
			t.Fatalf("pretokenize(%q)\n got %q\nwant %q", s, got, want)
		}
	}
}
