package data

import (
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// decodeBlocks runs both passes over b cut into blocks of random sizes
// (1 to 7 bytes): every rune, CRLF, byte-order mark and Ctrl-Z mark may
// straddle a boundary.
func decodeBlocks(b []byte, rng *rand.Rand) (string, error) {
	var blocks [][]byte
	for rest := b; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(7))
		blocks, rest = append(blocks, rest[:n]), rest[n:]
	}
	s := newTextScan()
	for _, x := range blocks {
		s.feed(x)
	}
	d, err := s.finish()
	if err != nil {
		return "", err
	}
	var out []byte
	for _, x := range blocks {
		out = d.decode(out, x)
	}
	return string(out), nil
}

// TestTextBlocks: a text decoded block by block is DecodeText's text, and a
// text it refuses is refused (the same message) whatever the blocks.
func TestTextBlocks(t *testing.T) {
	cases := []string{
		"plain\r\nwin\rmac\n", "\xef\xbb\xbfbom\x1a\x1a\n", "\xef\xbbno bom", "na\xefve", "\x93quoted\x94",
		"tab\tff\fvt\v", "日本語のテキスト\r\n", "x\r", "\r\r\n\n", "\x1a", "a\x1ab\x1a \n", "\xef\xbb\xbf",
		"caf\xc3", "\xe6\x97\xa5\xe6", "nul\x00byte", "\x81undefined in 1252 \xe9", strings.Repeat("\x01x", 10),
		strings.Repeat("word ", 2000) + "\x01", "ok \xf0\x9f\x98\x80 emoji",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range cases {
		want, wantErr := DecodeText([]byte(c))
		for range 20 {
			got, err := decodeBlocks([]byte(c), rng)
			if got != want || (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
				t.Fatalf("%q: blocks give %q, %v; DecodeText %q, %v", c, got, err, want, wantErr)
			}
		}
	}
	for _, c := range []struct{ in, err string }{
		{"nul\x00byte", "control byte 0x00 at offset 3"},
		{strings.Repeat("\x01x", 10), "not text: 10 control bytes in 20 bytes"},
		{"\x81undefined \xe9", "byte 0x81 at offset 0"},
		{"\xef\xbb\xbf\x81", "byte 0x81 at offset 0"},
	} {
		if _, err := DecodeText([]byte(c.in)); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: %v, want %q", c.in, err, c.err)
		}
	}
}

// TestTextFile: OpenTextFile reads a file (over several of its 1 MiB
// blocks) as DecodeText reads its bytes, from the start at every Open, and
// refuses a binary file with its path.
func TestTextFile(t *testing.T) {
	dir := t.TempDir()
	var sb strings.Builder
	sb.WriteString("\xef\xbb\xbf")
	for i := 0; sb.Len() < 3*textBlock; i++ {
		sb.WriteString("Caf\xe9 line\r\n") // Latin-1, CRLF
	}
	sb.WriteString("end\x1a\r\n")
	path := filepath.Join(dir, "latin1.txt")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := DecodeText([]byte(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	tf, err := OpenTextFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		r, err := tf.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(got) != want {
			t.Fatalf("read %d bytes (%v), want DecodeText's %d", len(got), err, len(want))
		}
	}
	bin := filepath.Join(dir, "bin.dat")
	if err := os.WriteFile(bin, []byte("abc\x00def"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenTextFile(bin); err == nil || !strings.Contains(err.Error(), bin) || !strings.Contains(err.Error(), "not text") {
		t.Errorf("binary file: %v", err)
	}
}
