package data

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

const arwFixtures = "../../shared/fixtures/arrow"

type arwExpected struct {
	Docs   int     `json:"docs"`
	Tokens int     `json:"tokens"`
	First  []int32 `json:"first"`
}

func arwLoadExpected(t testing.TB) arwExpected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(arwFixtures, "expected.json"))
	if err != nil {
		t.Skipf("fixtures not available: %v", err)
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
			b := d.mapped[filepath.Join(arwFixtures, name)]
			for _, s := range toks.Segments() {
				if !arwWithin(s, b) {
					t.Fatal("segment is not a view of the mapped file (copied)")
				}
			}
			if _, err := d.Split(SplitVal); err == nil || !strings.Contains(err.Error(), "no \"val\" split") {
				t.Errorf("val split of a bare file: err %v", err)
			}
		})
	}
}

// TestWriteReadRoundTrip writes shards with our writer and reads them back.
func TestWriteReadRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	p := filepath.Join(dir, "s.arrow")
	sw, err := arwCreate(p, mem)
	if err != nil {
		t.Fatal(err)
	}
	var next int32
	for _, n := range []int{3, 0, 5, 1} {
		doc := make([]int32, n)
		for i := range doc {
			doc[i] = next
			next++
		}
		if err := sw.Append(doc); err != nil {
			t.Fatal(err)
		}
	}
	info, err := sw.Close()
	if err != nil {
		t.Fatal(err)
	}
	if info.Rows != 4 || info.Tokens != 9 || len(info.SHA256) != 64 {
		t.Fatalf("info %+v", info)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// arrow-go's own (footer-driven) reader accepts the file.
	fr, err := ipc.NewFileReader(bytes.NewReader(b), ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := fr.RecordBatchAt(0)
	if err != nil || fr.NumRecords() != 1 || rec.NumRows() != 4 {
		t.Fatalf("arrow-go reader: %v, %d batches", err, fr.NumRecords())
	}
	rec.Release()
	fr.Close()
	sh, err := arwParse(b, p, mem)
	if err != nil {
		t.Fatal(err)
	}
	got := ldTokens(sh.segs, int64(sh.rows)).All(0)
	if sh.rows != 4 || len(got) != 9 {
		t.Fatalf("rows %d tokens %d", sh.rows, len(got))
	}
	for i, v := range got {
		if v != int32(i) {
			t.Fatalf("token %d = %d", i, v)
		}
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

// TestCorruptShards: truncations and byte flips of both fixtures give an
// error (never a panic); bad files through OpenDataset give one line naming
// the file.
func TestCorruptShards(t *testing.T) {
	for _, name := range []string{"tokens.arrow", "tokens.stream.arrow"} {
		b, err := os.ReadFile(filepath.Join(arwFixtures, name))
		if err != nil {
			t.Skip(err)
		}
		for _, n := range []int{0, 4, 8, 100, len(b) / 2, len(b) - 7, len(b) - 1} {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			_, err := arwParse(append([]byte(nil), b[:n]...), name, mem)
			if name == "tokens.stream.arrow" && err == nil && n < len(b)/2 {
				t.Errorf("%s truncated to %d: no error", name, n)
			}
			if name == "tokens.arrow" && err == nil {
				t.Errorf("%s truncated to %d: no error", name, n)
			}
			mem.AssertSize(t, 0)
		}
		for i := 0; i < len(b); i += 97 {
			c := append([]byte(nil), b...)
			c[i] ^= 0xA5
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			if sh, err := arwParse(c, name, mem); err == nil {
				_ = ldTokens(sh.segs, 0).Sum()
			}
			mem.AssertSize(t, 0)
		}
	}
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

// BenchmarkShardRead sums every token of a memory-mapped shard (the fixture
// repeated to ~64 MB): the zero-copy read throughput.
func BenchmarkShardRead(b *testing.B) {
	dir := b.TempDir()
	p := filepath.Join(dir, "big.arrow")
	sw, err := CreateShard(p)
	if err != nil {
		b.Fatal(err)
	}
	doc := make([]int32, 1000)
	for i := range doc {
		doc[i] = int32(i)
	}
	for i := 0; i < 16000; i++ {
		if err := sw.Append(doc); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := sw.Close(); err != nil {
		b.Fatal(err)
	}
	_, toks := ldOpenTrain(b, p)
	b.SetBytes(int64(4 * toks.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if toks.Sum() == 0 {
			b.Fatal("zero sum")
		}
	}
}

// TestReadInt64Stream reads an HF-style stream with an extra text column and
// input_ids: list<int64> (converted, since int64 cannot be viewed as int32).
func TestReadInt64Stream(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "text", Type: arrow.BinaryTypes.String},
		{Name: ColumnName, Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)},
	}, nil)
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	lb := rb.Field(1).(*array.ListBuilder)
	vb := lb.ValueBuilder().(*array.Int64Builder)
	for _, doc := range [][]int64{{0, 1, 2}, {3}, {4, 5}} {
		rb.Field(0).(*array.StringBuilder).Append("doc")
		lb.Append(true)
		vb.AppendValues(doc, nil)
	}
	rec := rb.NewRecordBatch()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	sh, err := arwParse(buf.Bytes(), "int64", mem)
	if err != nil {
		t.Fatal(err)
	}
	got := ldTokens(sh.segs, int64(sh.rows)).All(0)
	if sh.rows != 3 || !arwEqual(got, []int32{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("rows %d tokens %v", sh.rows, got)
	}
}
