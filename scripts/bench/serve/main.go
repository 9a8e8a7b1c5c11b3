package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/serve"
	"github.com/sinktrain/sinktrain/sinktoken"
)

func main() {
	if os.Getenv("SERVE_BENCH_CHILD") == "1" {
		child()
		return
	}
	cache := flag.String("cache", "4+252", "cache spec of the server")
	turns := flag.Int("turns", 1000, "turns of the RSS run")
	sessions := flag.Int("sessions", 16, "concurrent sessions of the load run")
	perSession := flag.Int("session-turns", 10, "turns each concurrent session holds")
	parallel := flag.Int("parallel", 2, "the server's --parallel")
	latTurns := flag.Int("latency-turns", 200, "turns of the latency run's first conversation")
	latPairs := flag.Int("latency-pairs", 30, "conversations of the latency run, each timing its turn 1 and turn 20")
	noState := flag.Bool("no-state", false, "run the server without --state (sessions in memory only)")
	fill := flag.Bool("fill", true, "make the latency conversations' first message long enough to fill the cache, so that turn 1 decodes with a full cache like every later turn")
	flag.Parse()
	log.SetFlags(0)
	if *turns < 40 || *latPairs < 1 {
		log.Fatalf("serve bench: -turns %d, -latency-pairs %d: expected -turns ≥ 40 (four quarters sampled every 10 turns) and -latency-pairs ≥ 1", *turns, *latPairs)
	}
	work, err := os.MkdirTemp("", "sinktrain-serve-bench-")
	check(err)
	defer os.RemoveAll(work)
	dir := writeModel(work)
	state := filepath.Join(work, "state")
	if *noState {
		state = ""
	}
	url, proc := startServer(dir, *cache, *parallel, work, state)
	defer func() { proc.Process.Signal(syscall.SIGTERM); proc.Wait() }()
	fmt.Printf("serve bench: model d=256 L=4 H=4 V=512 (random), cache %s, %d cores, GOMAXPROCS %d\n", *cache, runtime.NumCPU(), runtime.GOMAXPROCS(0))

	// 1. Per-token latency by turn (after a warm-up conversation).
	for turn := 1; turn <= 5; turn++ {
		streamTurn(url, "warm-up", turn, 32)
	}
	// -latency-pairs conversations, one after the other, each taking turns
	// 1 to 20 back to back (about a second apart), so each conversation
	// times its own turn 1 and turn 20 close in time, with the same warm
	// CPU caches (staggering the conversations instead would make an older
	// one's KV cache cold in the L3 cache while turn 1's is hot from its
	// prefill: +26–36% measured that way, from the machine's caches, not the
	// conversation's length); the ratio is taken conversation by
	// conversation. The first conversation goes on to -latency-turns.
	prefix := func(turn int) string {
		if *fill && turn == 1 {
			return strings.Repeat("A long first message, to fill the cache window. ", 25)
		}
		return ""
	}
	per := map[int][]float64{}
	var ratios []float64
	for c := range *latPairs {
		var t1 float64
		for turn := 1; turn <= 20; turn++ {
			r := streamTurnText(url, fmt.Sprintf("latency-%d", c), turn, 32, prefix(turn))
			if c == 0 && (turn == 1 || turn == 20) {
				fmt.Printf("cache at turn %d: %d sinks + %d window, %d evicted\n", turn, r.cache.Sinks, r.cache.Window, r.cache.Evicted)
			}
			switch turn {
			case 1:
				t1 = r.perToken * 1e3
				per[1] = append(per[1], t1)
			case 20:
				per[20] = append(per[20], r.perToken*1e3)
				ratios = append(ratios, r.perToken*1e3/t1)
			}
		}
	}
	var last turnResult
	for turn := 21; turn <= *latTurns; turn++ {
		r := streamTurnText(url, "latency-0", turn, 32, "")
		if turn > *latTurns-20 {
			per[*latTurns] = append(per[*latTurns], r.perToken*1e3)
		}
		last = r
	}
	for _, turn := range []int{1, 20, *latTurns} {
		v := per[turn]
		if len(v) == 0 || (turn == *latTurns && turn <= 20) {
			continue
		}
		slices.Sort(v)
		label := fmt.Sprintf("turn %3d", turn)
		if turn == *latTurns {
			label = fmt.Sprintf("turns %d–%d", max(21, turn-19), turn)
		}
		fmt.Printf("%s: median %.3f ms/token decode (%d samples, range %.3f–%.3f)\n", label, v[len(v)/2], len(v), v[0], v[len(v)-1])
	}
	slices.Sort(ratios)
	fmt.Printf("turn 20 / turn 1 per-token latency, paired by conversation: median %.3f (%d conversations, quartiles %.3f–%.3f)\n",
		ratios[len(ratios)/2], len(ratios), ratios[len(ratios)/4], ratios[3*len(ratios)/4])
	if last.cache.Window > 0 {
		fmt.Printf("cache at turn %d: %d sinks + %d window, %d evicted\n", *latTurns, last.cache.Sinks, last.cache.Window, last.cache.Evicted)
	}

	// 2. RSS over many turns of one session, sampled every 10 turns. A Go
	// process's RSS follows the GC's sawtooth (garbage up to GOGC=100 over
	// the live heap, returned to the OS lazily), so each quarter of the run
	// is summarised by its median and maximum, and the medians compared.
	var rss, heap []float64
	for turn := 1; turn <= *turns; turn++ {
		streamTurn(url, "rss", turn, 8)
		if turn%10 == 0 {
			rss = append(rss, rssMB(proc.Process.Pid))
			heap = append(heap, heapMB(url))
		}
	}
	var medians []float64
	for q := range 4 {
		part := slices.Clone(rss[q*len(rss)/4 : (q+1)*len(rss)/4])
		hp := slices.Clone(heap[q*len(heap)/4 : (q+1)*len(heap)/4])
		slices.Sort(part)
		slices.Sort(hp)
		medians = append(medians, part[len(part)/2])
		fmt.Printf("rss, turns %4d–%4d: median %.1f MB, max %.1f MB (Go heap objects %.1f–%.1f MB)\n",
			q**turns/4+1, (q+1)**turns/4, part[len(part)/2], part[len(part)-1], hp[0], hp[len(hp)-1])
	}
	lo, hi := slices.Min(medians), slices.Max(medians)
	fmt.Printf("rss over %d turns of one session: quarter medians %.1f–%.1f MB (spread %.1f%%)\n", *turns, lo, hi, 100*(hi-lo)/lo)

	// 3. Concurrent sessions.
	var mu sync.Mutex
	var lat []float64
	errs := 0
	var wg sync.WaitGroup
	start := time.Now()
	for s := range *sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for turn := 1; turn <= *perSession; turn++ {
				t0 := time.Now()
				r := streamTurn(url, fmt.Sprintf("load-%d", s), turn, 16)
				mu.Lock()
				if r.err != nil {
					errs++
				} else {
					lat = append(lat, time.Since(t0).Seconds())
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	q := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] * 1e3 }
	fmt.Printf("%d concurrent sessions × %d turns (16 tokens each, --parallel %d): %d requests in %.1f s, %d errors, latency p50 %.0f ms, p95 %.0f ms\n",
		*sessions, *perSession, *parallel, len(lat)+errs, time.Since(start).Seconds(), errs, q(0.5), q(0.95))
}

type turnResult struct {
	perToken float64 // seconds per generated token after the first (the server's usage.timings)
	cache    serve.CacheUsage
	err      error
}

// streamTurn sends one pinned turn, streamed, and times its tokens.
func streamTurn(url, session string, turn, maxTokens int) turnResult {
	return streamTurnText(url, session, turn, maxTokens, "")
}

// streamTurnText is streamTurn whose message starts with prefix.
func streamTurnText(url, session string, turn, maxTokens int, prefix string) turnResult {
	body, _ := json.Marshal(map[string]any{"model": "bench", "stream": true, "stream_options": map[string]bool{"include_usage": true},
		"messages":   []map[string]string{{"role": "user", "content": prefix + fmt.Sprintf("Turn %d: and what happened next, in a few words?", turn)}},
		"max_tokens": maxTokens, "seed": turn, "temperature": 0.8, "top_k": 40})
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", bytes.NewReader(body))
	req.Header.Set("X-Session-Id", session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return turnResult{err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return turnResult{err: fmt.Errorf("%d %s", resp.StatusCode, b)}
	}
	var r turnResult
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		d, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || d == "[DONE]" {
			continue
		}
		var c serve.ChatResponse
		if err := json.Unmarshal([]byte(d), &c); err != nil {
			return turnResult{err: err}
		}
		if c.Usage != nil {
			if c.Usage.Cache == nil || c.Usage.Timings == nil {
				return turnResult{err: fmt.Errorf("usage without the cache or timings extension: %s", d)}
			}
			r.cache, r.perToken = *c.Usage.Cache, c.Usage.Timings.PredictedPerTokenMS/1e3
		}
	}
	return r
}

func rssMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	check(err)
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// heapMB reads the server's Go heap from /metrics.
func heapMB(url string) float64 {
	resp, err := http.Get(url + "/metrics")
	check(err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "sinktrain_go_heap_object_bytes "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f / (1 << 20)
		}
	}
	return 0
}

// writeModel writes a random GPT-NeoX of the reference width over the
// 512-token fixture tokenizer.
func writeModel(work string) string {
	dir := filepath.Join(work, "bench")
	check(os.MkdirAll(dir, 0o755))
	cfg := model.Config{VocabSize: 512, HiddenSize: 256, NumLayers: 4, NumHeads: 4, IntermediateSize: 1024,
		RotaryPct: 0.25, RotaryBase: 10000, MaxPositionEmbeddings: 256, LayerNormEps: 1e-5, ParallelResidual: true,
		HiddenAct: "gelu", Attention: sinktoken.Softmax, SinkTokens: []string{sinktoken.TokenName(0)}, SinkIDs: []int{1}}
	raw := map[string]checkpoint.Raw{}
	for n, w := range model.Init(cfg, 1) {
		raw[n] = checkpoint.FromFloat32(w.Shape, w.Data)
	}
	check(checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), raw, nil))
	b, _ := json.Marshal(cfg.HFJSON(nil))
	check(os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644))
	tok, err := os.ReadFile("testdata/fixtures/tokenizer/tokenizer.json")
	check(err)
	check(os.WriteFile(filepath.Join(dir, "tokenizer.json"), tok, 0o644))
	return dir
}

func startServer(dir, cache string, parallel int, work, state string) (string, *exec.Cmd) {
	addrFile := filepath.Join(work, "addr")
	cmd := exec.Command(os.Args[0])
	dieWithParent(cmd)
	cmd.Env = append(os.Environ(), "SERVE_BENCH_CHILD=1", "MODEL="+dir, "CACHE="+cache, "PARALLEL="+strconv.Itoa(parallel),
		"ADDR_FILE="+addrFile, "STATE="+state)
	cmd.Stderr = os.Stderr
	check(cmd.Start())
	for range 600 {
		if b, err := os.ReadFile(addrFile); err == nil && len(b) > 0 {
			return "http://" + string(b), cmd
		}
		time.Sleep(50 * time.Millisecond)
	}
	log.Fatal("serve bench: the server did not start")
	return "", nil
}

func child() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	par, _ := strconv.Atoi(os.Getenv("PARALLEL"))
	o := serve.Defaults()
	o.Models = []serve.ModelDir{{Name: "bench", Dir: os.Getenv("MODEL")}}
	o.Cache, o.Parallel, o.Addr, o.State = os.Getenv("CACHE"), par, "127.0.0.1:0", os.Getenv("STATE")
	o.MaxSessions = 32
	o.Ready = func(addr string) {
		p := os.Getenv("ADDR_FILE")
		os.WriteFile(p+".tmp", []byte(addr), 0o644)
		os.Rename(p+".tmp", p)
	}
	if err := serve.Run(ctx, o); err != nil {
		log.Fatal(err)
	}
}

func check(err error) {
	if err != nil {
		log.Fatal("serve bench: ", err)
	}
}
