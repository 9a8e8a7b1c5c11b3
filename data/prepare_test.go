package data

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/data/tokenizer"
)

// ppSmall returns fast options: a small vocabulary.
func ppSmall(out string, inputs ...string) *PrepareOptions {
	o := DefaultPrepareOptions()
	o.Out, o.Inputs, o.VocabSize = out, inputs, 400
	return &o
}

// TestPrepareEmbedded prepares the embedded corpus end to end, opens the
// result, and decodes the tokens back to the corpus text.
func TestPrepareEmbedded(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ds")
	o := ppSmall(out)
	o.ShardTokens = 60000 // force several train shards
	var log bytes.Buffer
	o.Progress = &log
	if err := Prepare(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	t.Log(log.String())
	d, err := OpenDataset(out)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	m := d.Manifest()
	if m == nil || len(m.Tokenizer.SinkIDs) != DefaultSinks || m.Tokenizer.VocabSize != 400 {
		t.Fatalf("manifest %+v", m)
	}
	nTrain := 0
	for _, s := range m.Shards {
		if s.Split == SplitTrain {
			nTrain++
		}
	}
	if nTrain < 2 {
		t.Errorf("%d train shards, want several with a 60000-token cap", nTrain)
	}
	tok, err := tokenizer.Load(d.TokenizerPath())
	if err != nil {
		t.Fatal(err)
	}
	docs, err := EmbeddedCorpus()
	if err != nil {
		t.Fatal(err)
	}
	train, val := ppSplit(docs, DefaultValFraction)
	if len(val) == 0 || len(train) == 0 {
		t.Fatalf("split %d/%d", len(train), len(val))
	}
	for _, sp := range []struct {
		name string
		docs []Document
	}{{SplitTrain, train}, {SplitVal, val}} {
		toks, err := d.Split(sp.name)
		if err != nil {
			t.Fatal(err)
		}
		if toks.Docs() != int64(len(sp.docs)) {
			t.Fatalf("%s: %d docs, want %d", sp.name, toks.Docs(), len(sp.docs))
		}
		var want strings.Builder
		for _, doc := range sp.docs {
			want.WriteString(doc.Text + EOSToken)
		}
		if got := tok.Decode(toks.All(0)); got != want.String() {
			t.Fatalf("%s: decoded text differs from the corpus (%d vs %d bytes)", sp.name, len(got), want.Len())
		}
	}
	// Re-running into the same non-empty --out is refused.
	if err := Prepare(context.Background(), ppSmall(out)); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("second prepare: %v", err)
	}
}

// TestPrepareInputs: files, directories, .jsonl, Latin-1 and CRLF, with a
// given tokenizer.
func TestPrepareInputs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.MkdirAll(filepath.Join(in, "sub"), 0o755)
	arwWrite(t, filepath.Join(in, "a.txt"), []byte("Caf\xe9 au lait.\r\nSecond line.\r\n")) // Latin-1, CRLF
	arwWrite(t, filepath.Join(in, "sub", "b.md"), []byte("\xef\xbb\xbfHello, world."))      // BOM
	arwWrite(t, filepath.Join(in, "c.jsonl"), []byte(`{"text":"one"}`+"\n\n"+`{"text":"two","x":1}`+"\n"))
	arwWrite(t, filepath.Join(in, "skip.bin"), []byte{0, 1, 2})
	tokPath := filepath.Join(dir, "tok.json")
	docs := []string{"Café au lait.\nSecond line.\n", "Hello, world.", "one", "two"}
	tr, err := tokenizer.TrainBPE(ppTexts([]Document{{Text: strings.Join(docs, " ")}}), 300, []string{EOSToken})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Save(tokPath); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	o := ppSmall(out, in)
	o.Tokenizer = tokPath
	if err := Prepare(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDataset(out)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var all strings.Builder
	for _, s := range []string{SplitTrain, SplitVal} {
		toks, err := d.Split(s)
		if err != nil {
			t.Fatal(err)
		}
		all.WriteString(tr.Decode(toks.All(0)))
	}
	for _, doc := range docs {
		if !strings.Contains(all.String(), doc+EOSToken) {
			t.Errorf("document %q missing from %q", doc, all.String())
		}
	}
	if m := d.Manifest(); len(m.Tokenizer.SinkIDs) != 0 {
		t.Errorf("sink ids %v from a tokenizer without sinks", m.Tokenizer.SinkIDs)
	}
}

// TestPrepareBadInput: one-line errors naming the culprit, nothing in --out.
func TestPrepareBadInput(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin.txt")
	arwWrite(t, bin, []byte("text\x00\x01\x02"))
	ctl := filepath.Join(dir, "ctl.txt")
	arwWrite(t, ctl, []byte("caf\xe9\x07"))
	undef := filepath.Join(dir, "undef.txt")
	arwWrite(t, undef, []byte("bad \x81 byte"))
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	blank := filepath.Join(dir, "blank.txt")
	arwWrite(t, blank, []byte("  \n\n"))
	jl := filepath.Join(dir, "x.jsonl")
	arwWrite(t, jl, []byte(`{"txt":"no"}`))
	badTok := filepath.Join(dir, "tok.json")
	arwWrite(t, badTok, []byte(`{"model":{"type":"WordPiece"}}`))
	good := filepath.Join(dir, "good.txt")
	arwWrite(t, good, []byte("fine text"))
	for _, c := range []struct {
		inputs []string
		tok    string
		want   string
	}{
		{[]string{filepath.Join(dir, "missing.txt")}, "", "missing.txt"},
		{[]string{filepath.Join(dir, "nomatch*.txt")}, "", "matches no files"},
		{[]string{empty}, "", "empty corpus"},
		{[]string{blank}, "", "empty corpus"},
		{[]string{bin}, "", bin},
		{[]string{ctl}, "", ctl},
		{[]string{undef}, "", undef},
		{[]string{jl}, "", jl + ":1"},
		{[]string{good}, badTok, badTok},
		{[]string{good}, filepath.Join(dir, "nope.json"), "nope.json"},
	} {
		out := filepath.Join(dir, "out")
		o := ppSmall(out, c.inputs...)
		o.Tokenizer = c.tok
		err := Prepare(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: err %v, want one line with %q", c.inputs, err, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: %s exists after a failure", c.inputs, out)
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.Contains(e.Name(), ".prepare-") {
				t.Errorf("temp dir %s left behind", e.Name())
			}
		}
	}
}

func TestDecodeText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain\r\nwin\rmac\n", "plain\nwin\nmac\n"},
		{"\xef\xbb\xbfbom\x1a\x1a\n", "bom"},
		{"na\xefve", "naïve"},              // Latin-1
		{"\x93quoted\x94", "“quoted”"},     // Windows-1252
		{"tab\tff\fvt\v", "tab\tff\fvt\v"}, // allowed controls
		{"日本", "日本"},
	} {
		got, err := DecodeText([]byte(c.in))
		if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestSplitDeterministic(t *testing.T) {
	var docs []Document
	for i := 0; i < 100; i++ {
		docs = append(docs, Document{Text: strings.Repeat("x", i+1)})
	}
	tr, val := ppSplit(docs, 0.05)
	tr2, val2 := ppSplit(docs, 0.05)
	if len(val) != 5 || len(tr) != 95 || val[0] != val2[0] || tr[0] != tr2[0] {
		t.Fatalf("split %d/%d", len(tr), len(val))
	}
	if _, v := ppSplit(docs[:2], 0.05); len(v) != 1 {
		t.Errorf("2 docs: %d val, want 1", len(v))
	}
	if _, v := ppSplit(docs[:1], 0.5); len(v) != 0 {
		t.Errorf("1 doc: %d val, want 0", len(v))
	}
	if _, v := ppSplit(docs, 0); len(v) != 0 {
		t.Errorf("frac 0: %d val", len(v))
	}
}
