package data

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sinktrain/sinktrain/data/shard"
)

// ldSynthDir writes a prepared directory whose train split is 3 shards of
// documents where token = stream index (0, 1, 2, …), shard sizes 1000, 7, 2500
// tokens, documents of 13 tokens (and a short last one), plus a val shard.
func ldSynthDir(t testing.TB) (dir string, total int) {
	t.Helper()
	dir = t.TempDir()
	m := &Manifest{Format: ManifestFormat, Version: ManifestVersion}
	next := int32(0)
	for i, n := range []int{1000, 7, 2500} {
		var docs [][]int32
		for left := n; left > 0; {
			k := min(13, left)
			doc := make([]int32, k)
			for j := range doc {
				doc[j] = next
				next++
			}
			docs = append(docs, doc)
			left -= k
		}
		info, err := shard.Write(filepath.Join(dir, ldShardName(SplitTrain, i)), docs)
		if err != nil {
			t.Fatal(err)
		}
		m.Shards = append(m.Shards, ShardEntry(info, SplitTrain))
	}
	info, err := shard.Write(filepath.Join(dir, ldShardName(SplitVal, 0)), [][]int32{{-1, -2, -3}})
	if err != nil {
		t.Fatal(err)
	}
	m.Shards = append(m.Shards, ShardEntry(info, SplitVal))
	if err := m.Write(dir); err != nil {
		t.Fatal(err)
	}
	return dir, int(next)
}

func ldOpenTrain(t testing.TB, dir string) (*Dataset, *Tokens) {
	t.Helper()
	d, err := OpenDataset(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	toks, err := d.Split(SplitTrain)
	if err != nil {
		t.Fatal(err)
	}
	return d, toks
}

func TestTokensOrderAndWindows(t *testing.T) {
	dir, total := ldSynthDir(t)
	d, toks := ldOpenTrain(t, dir)
	if toks.Len() != total {
		t.Fatalf("len %d, want %d", toks.Len(), total)
	}
	for i, v := range toks.All(0) {
		if v != int32(i) {
			t.Fatalf("token %d = %d", i, v)
		}
	}
	// Windows crossing shard boundaries (1000, 1007) and every small offset.
	var buf []int32
	for _, start := range []int{0, 995, 999, 1000, 1003, 1006, 1007, total - 40} {
		buf = toks.Window(start, 40, buf)
		for j, v := range buf {
			if v != int32(start+j) {
				t.Fatalf("window at %d: [%d] = %d", start, j, v)
			}
		}
	}
	if got := toks.All(5); len(got) != 5 || got[4] != 4 {
		t.Fatalf("All(5) = %v", got)
	}
	val, err := d.Split(SplitVal)
	if err != nil || val.Len() != 3 || val.All(0)[2] != -3 {
		t.Fatalf("val: %v %v", err, val)
	}
	if toks.Docs() != 77+1+193 {
		t.Errorf("docs %d", toks.Docs())
	}
}

func TestLoaderDeterminismSplitResume(t *testing.T) {
	dir, total := ldSynthDir(t)
	_, toks := ldOpenTrain(t, dir)
	const bs, batch = 64, 8
	a, err := NewLoader(toks, bs, 42)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewLoader(toks, bs, 42)
	c, _ := NewLoader(toks, bs, 43)
	sawHigh := false
	var saved LoaderState
	var after [][][]int32
	for s := 0; s < 20; s++ {
		if s == 10 {
			saved = a.State()
		}
		x, y, z := a.Next(batch), b.Next(batch), c.Next(batch)
		if s >= 10 {
			after = append(after, x)
		}
		for r := range x {
			if len(x[r]) != bs {
				t.Fatalf("window len %d", len(x[r]))
			}
			off := int(x[r][0])
			for j, v := range x[r] { // token = index: a window is consecutive
				if v != int32(off+j) {
					t.Fatalf("step %d row %d not consecutive", s, r)
				}
			}
			if off+bs > total {
				t.Fatalf("window past the end")
			}
			sawHigh = sawHigh || off > 1007
			if !arwEqual(x[r], y[r]) {
				t.Fatalf("same seed, step %d row %d differ", s, r)
			}
		}
		if arwEqual(x[0], z[0]) && arwEqual(x[1], z[1]) {
			t.Fatalf("different seeds give the same rows at step %d", s)
		}
	}
	if !sawHigh {
		t.Error("no window from the last shard in 160 samples")
	}

	// Batch-split invariance: two workers taking rows [0,3) and [3,8).
	for s := int64(0); s < 5; s++ {
		whole := a.Rows(s, 0, make([][]int32, batch))
		w0 := a.Rows(s, 0, make([][]int32, 3))
		w1 := a.Rows(s, 3, make([][]int32, batch-3))
		for r := range whole {
			part := append(w0, w1...)[r]
			if !arwEqual(whole[r], part) {
				t.Fatalf("split batch differs at step %d row %d", s, r)
			}
		}
	}

	// Resume: a fresh loader restored from the state at step 10 (through
	// JSON, as a checkpoint stores it) gives the identical next batches.
	js, _ := json.Marshal(saved)
	var st LoaderState
	if err := json.Unmarshal(js, &st); err != nil {
		t.Fatal(err)
	}
	r, _ := NewLoader(toks, bs, 0)
	if err := r.Restore(st); err != nil {
		t.Fatal(err)
	}
	for i, want := range after {
		got := r.Next(batch)
		for row := range got {
			if !arwEqual(got[row], want[row]) {
				t.Fatalf("resumed batch %d row %d differs", i, row)
			}
		}
	}
	bad := st
	bad.BlockSize = 32
	if err := r.Restore(bad); err == nil {
		t.Error("restore with another block size: no error")
	}
	bad = st
	bad.Tokens = 5
	if err := r.Restore(bad); err == nil {
		t.Error("restore on another stream: no error")
	}
}

func TestLoaderTooShort(t *testing.T) {
	if _, err := NewLoader(NewTokensFromSlice(make([]int32, 8)), 8, 1); err == nil {
		t.Fatal("8 tokens, block 8: no error")
	}
	l, err := NewLoader(NewTokensFromSlice([]int32{0, 1, 2, 3, 4, 5, 6, 7, 8}), 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range l.Next(16) {
		if w[0] != 0 && w[0] != 1 {
			t.Fatalf("offset %d outside [0,1]", w[0])
		}
	}
}

func TestManifestChecks(t *testing.T) {
	dir, _ := ldSynthDir(t)
	// Flip one byte of a shard: sha256 mismatch names the file, one line.
	p := filepath.Join(dir, ldShardName(SplitTrain, 1))
	b, _ := os.ReadFile(p)
	b[len(b)/2] ^= 1
	arwWrite(t, p, b)
	_, err := OpenDataset(dir)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "sha256") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err %v", err)
	}
	for _, bad := range []string{
		`{}`,
		`{"format":"sinktrain-data","version":1,"shards":[{"file":"../x.arrow","split":"train","sha256":"` + strings.Repeat("0", 64) + `"}]}`,
		`{"format":"sinktrain-data","version":1,"shards":[{"file":"x.arrow","split":"test","sha256":"` + strings.Repeat("0", 64) + `"}]}`,
		`{"format":"sinktrain-data","version":1,"shards":[{"file":"x.arrow","split":"train","sha256":"abc"}]}`,
		`{"format":"sinktrain-data","version":1,"shards":[]}`,
		`{"format":"sinktrain-data","version":2}`,
		`[1,2]`,
	} {
		if _, err := ParseManifest([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestDatasetNoLeak opens the synthetic dataset with a checked allocator.
func TestDatasetNoLeak(t *testing.T) {
	dir, total := ldSynthDir(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	d, err := dsOpen(dir, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	toks, err := d.Split(SplitTrain)
	if err != nil || toks.Len() != total {
		t.Fatal(err)
	}
}

// FuzzManifest: a manifest that parses validates, and marshalling it gives
// bytes that parse back to an equal manifest (and marshal to the same bytes).
func FuzzManifest(f *testing.F) {
	dir, _ := ldSynthDir(f)
	b, _ := os.ReadFile(filepath.Join(dir, ManifestName))
	f.Add(b)
	sum := strings.Repeat("ab", 32)
	f.Add([]byte(`{"format":"sinktrain-data","version":1,"tokenizer":{"file":"tokenizer.json","sha256":"` + sum +
		`","vocab_size":4096,"eos_id":0,"sink_ids":[1,2]},"shards":[{"file":"a.arrow","split":"val","rows":1,"tokens":3,"sha256":"` +
		sum + `"}],"sources":["x.txt",""]}`))
	f.Add([]byte(`{"format":"sinktrain-data","version":1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("parsed manifest does not validate: %v", err)
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseManifest(out)
		if err != nil {
			t.Fatalf("marshalled manifest does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(manNormal(*m), manNormal(*back)) {
			t.Fatalf("round trip changes the manifest:\n%+v\n%+v", *m, *back)
		}
		if again, _ := json.Marshal(back); !bytes.Equal(again, out) {
			t.Fatalf("second marshal differs:\n%s\n%s", out, again)
		}
	})
}

// manNormal returns m with empty optional lists as nil (omitempty drops
// them, so [] reads back as nil).
func manNormal(m Manifest) Manifest {
	if len(m.Sources) == 0 {
		m.Sources = nil
	}
	if len(m.Tokenizer.SinkIDs) == 0 {
		m.Tokenizer.SinkIDs = nil
	}
	return m
}

func FuzzReadShard(f *testing.F) {
	for _, name := range []string{"tokens.arrow", "tokens.stream.arrow"} {
		if b, err := os.ReadFile(filepath.Join(arwFixtures, name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("ARROW1\x00\x00ARROW1"))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 8, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		sh, err := shard.Parse(b, "fuzz", mem)
		if err == nil {
			toks := ldTokens(sh.Segments(), int64(sh.Rows()))
			_ = toks.Sum()
			if toks.Len() > 0 {
				toks.Window(toks.Len()-1, 1, nil)
			}
		}
		mem.AssertSize(t, 0)
	})
}

// BenchmarkLoaderNext draws batches of 8 windows of 512 tokens from a
// shuffled-offset stream (the copy is the cost).
func BenchmarkLoaderNext(b *testing.B) {
	ids := make([]int32, 1<<22)
	for i := range ids {
		ids[i] = int32(i)
	}
	l, err := NewLoader(NewTokensFromSlice(ids), 512, 1)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([][]int32, 8)
	b.SetBytes(8 * 512 * 4)
	for i := 0; i < b.N; i++ {
		l.Rows(int64(i), 0, dst)
	}
}
