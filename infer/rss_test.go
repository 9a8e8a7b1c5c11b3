//go:build linux

package infer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestStreamMemoryFlat: peak RSS of a long stream through the tiny model
// under 4+252 stays within 5% of a 10,000-token stream: 200,000 tokens (a
// few seconds), or $SINKTRAIN_RSS_TOKENS (scripts/rss-stream.sh: 1,000,000).
// Each length runs in a child process (ru_maxrss is per process).
func TestStreamMemoryFlat(t *testing.T) {
	if n := os.Getenv("SINKTRAIN_RSS_CHILD"); n != "" {
		rssChild(t, n)
		return
	}
	long := 200_000
	if v := os.Getenv("SINKTRAIN_RSS_TOKENS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 10_000 {
			t.Fatalf("SINKTRAIN_RSS_TOKENS=%q: want a token count above 10000", v)
		}
		long = n
	}
	rss := map[int]float64{}
	for _, n := range []int{10_000, long} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStreamMemoryFlat$", "-test.v")
		cmd.Env = append(os.Environ(), "SINKTRAIN_RSS_CHILD="+strconv.Itoa(n))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child %d: %v\n%s", n, err, out)
		}
		_, after, ok := strings.Cut(string(out), "PEAK_RSS_MB=")
		if !ok {
			t.Fatalf("child %d printed no PEAK_RSS_MB:\n%s", n, out)
		}
		f := strings.Fields(after)
		rss[n], _ = strconv.ParseFloat(f[0], 64)
		t.Logf("%d tokens under 4+252: peak RSS %.2f MB, %s", n, rss[n], strings.Join(f[1:3], " "))
	}
	r := rss[long] / rss[10_000]
	if !(r <= 1.05) {
		t.Errorf("peak RSS grew %.1f%% from 10K to %d tokens, want ≤ 5%%", 100*(r-1), long)
	}
	t.Logf("peak RSS %+.2f%% from 10K to %d tokens", 100*(r-1), long)
}

func rssChild(t *testing.T, n string) {
	N, err := strconv.Atoi(n)
	if err != nil {
		t.Fatal(err)
	}
	cfg := referenceConfig()
	cfg.HiddenSize, cfg.NumLayers, cfg.NumHeads, cfg.IntermediateSize, cfg.VocabSize = 64, 2, 2, 256, 512 // configs/tiny.json
	m := randomModel(t, cfg, 1)
	r, err := Score(context.Background(), m, CacheSpec{Kind: SinkWindow, Sinks: 4, Window: 252}, synthStream{n: N, vocab: 512}, ScoreOptions{Chunk: DefaultScoreChunk})
	if err != nil {
		t.Fatal(err)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("PEAK_RSS_MB=%.3f tok_s=%.0f ppl=%.2f\n", float64(ru.Maxrss)/1024, r.TokensPerSecond(), r.PPL()) // ru_maxrss is in KiB on Linux
}
