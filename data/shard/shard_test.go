package shard

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

const arwFixtures = "../../testdata/fixtures/arrow"

// flatten concatenates a shard's segments.
func flatten(sh *Shard) []int32 {
	var out []int32
	for _, s := range sh.Segments() {
		out = append(out, s...)
	}
	return out
}

func equal(a, b []int32) bool {
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
	sh, err := Parse(b, p, mem)
	if err != nil {
		t.Fatal(err)
	}
	got := flatten(sh)
	if sh.rows != 4 || len(got) != 9 {
		t.Fatalf("rows %d tokens %d", sh.rows, len(got))
	}
	for i, v := range got {
		if v != int32(i) {
			t.Fatalf("token %d = %d", i, v)
		}
	}
}

// TestCorruptShards: truncations and byte flips of both fixtures give an
// error (never a panic).
func TestCorruptShards(t *testing.T) {
	for _, name := range []string{"tokens.arrow", "tokens.stream.arrow"} {
		b, err := os.ReadFile(filepath.Join(arwFixtures, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 4, 8, 100, len(b) / 2, len(b) - 7, len(b) - 1} {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			_, err := Parse(append([]byte(nil), b[:n]...), name, mem)
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
			if sh, err := Parse(c, name, mem); err == nil {
				_ = flatten(sh)
			}
			mem.AssertSize(t, 0)
		}
	}
}

// BenchmarkShardRead sums every token of a memory-mapped shard (the fixture
// repeated to ~64 MB): the zero-copy read throughput.
func BenchmarkShardRead(b *testing.B) {
	dir := b.TempDir()
	p := filepath.Join(dir, "big.arrow")
	sw, err := Create(p)
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
	data, unmap, err := Map(p)
	if err != nil {
		b.Fatal(err)
	}
	defer unmap()
	sh, err := Parse(data, p, memory.DefaultAllocator)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(4 * sh.Tokens()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var sum int64
		for _, seg := range sh.Segments() {
			for _, v := range seg {
				sum += int64(v)
			}
		}
		if sum == 0 {
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
	sh, err := Parse(buf.Bytes(), "int64", mem)
	if err != nil {
		t.Fatal(err)
	}
	got := flatten(sh)
	if sh.rows != 3 || !equal(got, []int32{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("rows %d tokens %v", sh.rows, got)
	}
}

// TestParseFixtures parses pyarrow's IPC file and stream fixtures from their
// memory mapping: 4 record batches of 64 rows, every segment a view of the
// mapped bytes (zero-copy), the allocator back at zero.
func TestParseFixtures(t *testing.T) {
	for _, name := range []string{"tokens.arrow", "tokens.stream.arrow"} {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			b, unmap, err := Map(filepath.Join(arwFixtures, name))
			if err != nil {
				t.Fatal(err)
			}
			defer unmap()
			sh, err := Parse(b, name, mem)
			if err != nil {
				t.Fatal(err)
			}
			if sh.Rows() != 200 || len(sh.Segments()) != 4 {
				t.Fatalf("rows %d, %d segments; want 200 rows in 4 record batches", sh.Rows(), len(sh.Segments()))
			}
			for _, s := range sh.Segments() {
				if !arwWithin(s, b) {
					t.Fatal("segment is not a view of the mapped file (copied)")
				}
			}
		})
	}
}
