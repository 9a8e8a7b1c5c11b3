package data

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

const arwFixtures = "../testdata/fixtures/arrow"

type arwExpected struct {
	Docs   int     `json:"docs"`
	Tokens int     `json:"tokens"`
	First  []int32 `json:"first"`
}

func arwLoadExpected(t testing.TB) arwExpected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(arwFixtures, "expected.json"))
	if err != nil {
		t.Fatalf("fixture missing (regenerate with scripts/fixtures/generate.py): %v", err)
	}
	var e arwExpected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestReadFixtures reads pyarrow's IPC file and stream fixtures through the
// memory mapping with a checked allocator, and checks expected.json's counts.
func TestReadFixtures(t *testing.T) {
	want := arwLoadExpected(t)
	for _, name := range []string{"tokens.arrow", "tokens.stream.arrow"} {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			d, err := dsOpen(filepath.Join(arwFixtures, name), mem)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			toks, err := d.Split(SplitTrain)
			if err != nil {
				t.Fatal(err)
			}
			if toks.Docs() != int64(want.Docs) || toks.Len() != want.Tokens {
				t.Fatalf("docs %d tokens %d, want %d %d", toks.Docs(), toks.Len(), want.Docs, want.Tokens)
			}
			if got := toks.Window(0, len(want.First), nil); !arwEqual(got, want.First) {
				t.Fatalf("first ids %v, want %v", got, want.First)
			}
			if len(toks.Segments()) != 4 { // 200 rows in batches of 64
				t.Errorf("%d segments, want 4 record batches", len(toks.Segments()))
			}
			if _, err := d.Split(SplitVal); err == nil || !strings.Contains(err.Error(), "no \"val\" split") {
				t.Errorf("val split of a bare file: err %v", err)
			}
		})
	}
}

// TestHFSaveToDisk builds an HF save_to_disk folder around the stream fixture.
func TestHFSaveToDisk(t *testing.T) {
	want := arwLoadExpected(t)
	stream, err := os.ReadFile(filepath.Join(arwFixtures, "tokens.stream.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	arwWrite(t, filepath.Join(dir, "data-00000-of-00001.arrow"), stream)
	arwWrite(t, filepath.Join(dir, "state.json"), []byte(`{"_data_files":[{"filename":"data-00000-of-00001.arrow"}],"_fingerprint":"x","_format_columns":null,"_split":null}`))
	arwWrite(t, filepath.Join(dir, "dataset_info.json"), []byte(`{"features":{"input_ids":{"feature":{"dtype":"int32","_type":"Value"},"_type":"Sequence"}}}`))
	d, toks := ldOpenTrain(t, dir)
	if toks.Len() != want.Tokens || toks.Docs() != int64(want.Docs) {
		t.Fatalf("tokens %d docs %d", toks.Len(), toks.Docs())
	}
	if d.TokenizerPath() != "" {
		t.Errorf("tokenizer %q, want none", d.TokenizerPath())
	}

	// A DatasetDict of two such folders: "validation" answers "val".
	root := t.TempDir()
	for _, s := range []string{"train", "validation"} {
		if err := os.CopyFS(filepath.Join(root, s), os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
	}
	arwWrite(t, filepath.Join(root, "dataset_dict.json"), []byte(`{"splits": ["train", "validation"]}`))
	dd, err := OpenDataset(root)
	if err != nil {
		t.Fatal(err)
	}
	defer dd.Close()
	v, err := dd.Split(SplitVal)
	if err != nil || v.Len() != want.Tokens {
		t.Fatalf("val: %v", err)
	}
}

func arwWrite(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func arwEqual(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCorruptDatasetFile: a corrupt .arrow through OpenDataset gives one line
// naming the file.
func TestCorruptDatasetFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.arrow")
	arwWrite(t, p, []byte("ARROW1\x00\x00garbage, not arrow at all ARROW1"))
	d, err := OpenDataset(p)
	if err == nil {
		_, err = d.Split(SplitTrain)
		d.Close()
	}
	if err == nil || !strings.Contains(err.Error(), p) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("corrupt file: err %v, want one line naming %s", err, p)
	}
}
