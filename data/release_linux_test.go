package data

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/data/shard"
)

// vmaHeader starts a mapping's paragraph in smaps: "start-end perms …".
var vmaHeader = regexp.MustCompile(`^[0-9a-f]+-[0-9a-f]+ [r-][w-][xs-][ps] `)

// mappedRSS is the resident kB of the process's mapping of path
// (/proc/self/smaps).
func mappedRSS(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	abs, _ := filepath.Abs(path)
	sc := bufio.NewScanner(f)
	in, kb := false, 0
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Fields(line); vmaHeader.MatchString(line) {
			in = len(fields) >= 6 && fields[len(fields)-1] == abs
			continue
		}
		if v, ok := strings.CutPrefix(line, "Rss:"); ok && in {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			kb += n
		}
	}
	return kb
}

// TestReleaseShardPages: reading a memory-mapped split makes its pages
// resident; Release drops them (what a front-to-back stream does behind
// itself), and the tokens read back unchanged. Tokens in Go memory are
// left as they are.
func TestReleaseShardPages(t *testing.T) {
	dir := t.TempDir()
	const n = 1 << 20 // 4 MB of ids, token = index
	docs := make([][]int32, 0, n/1024)
	for d := 0; d < n/1024; d++ {
		doc := make([]int32, 1024)
		for j := range doc {
			doc[j] = int32(d*1024 + j)
		}
		docs = append(docs, doc)
	}
	p := filepath.Join(dir, ldShardName(SplitTrain, 0))
	info, err := shard.Write(p, docs)
	if err != nil {
		t.Fatal(err)
	}
	m := &Manifest{Format: ManifestFormat, Version: ManifestVersion}
	m.Shards = append(m.Shards, ShardEntry(info, SplitTrain))
	if err := m.Write(dir); err != nil {
		t.Fatal(err)
	}
	_, toks := ldOpenTrain(t, dir)
	if toks.Sum() != int64(n)*(n-1)/2 {
		t.Fatal("token = index broken")
	}
	before := mappedRSS(t, p)
	toks.Release(0, toks.Len())
	after := mappedRSS(t, p)
	t.Logf("mapping resident: %d kB after reading, %d kB after Release", before, after)
	if before < 3500 || after > 64 {
		t.Fatalf("mapping resident: %d kB after reading 4 MB, %d kB after Release (want ≥ 3500, ≤ 64)", before, after)
	}
	w := toks.Window(n-5, 5, nil)
	if fmt.Sprint(w) != fmt.Sprint([]int32{n - 5, n - 4, n - 3, n - 2, n - 1}) || toks.Sum() != int64(n)*(n-1)/2 {
		t.Fatalf("tokens after Release: %v", w)
	}
	mem := NewTokensFromSlice([]int32{1, 2, 3})
	mem.Release(0, 3)
	if fmt.Sprint(mem.All(0)) != "[1 2 3]" {
		t.Fatalf("Go-memory tokens changed by Release: %v", mem.All(0))
	}
}
