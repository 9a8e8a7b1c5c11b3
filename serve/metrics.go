package serve

import (
	"fmt"
	"io"
	rtmetrics "runtime/metrics"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// metrics are the server's counters, written in the Prometheus text format
// by GET /metrics.
type metrics struct {
	promptTokens     atomic.Int64 // tokens read for prompts
	cachedTokens     atomic.Int64 // prompt tokens not re-encoded thanks to a session's cache
	completionTokens atomic.Int64
	cacheEvicted     atomic.Int64 // tokens evicted from caches (window slides)
	evictions        atomic.Int64 // sessions moved out of memory (LRU)
	saves            atomic.Int64 // session files written
	restores         atomic.Int64 // sessions read back from disk
	badFiles         atomic.Int64 // session files refused
	inFlight         atomic.Int64
	waiting          atomic.Int64 // requests waiting for a --parallel slot

	mu       sync.Mutex
	requests map[[2]string]int64   // (route, status) → count
	latency  map[string]*histogram // route → request seconds
}

// latencyBuckets are the upper bounds (seconds) of the latency histogram.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

type histogram struct {
	counts []int64 // per bucket, then +Inf
	sum    float64
	n      int64
}

func newMetrics() *metrics {
	return &metrics{requests: map[[2]string]int64{}, latency: map[string]*histogram{}}
}

// observe records one finished request.
func (m *metrics) observe(route string, status int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[2]string{route, strconv.Itoa(status)}]++
	h := m.latency[route]
	if h == nil {
		h = &histogram{counts: make([]int64, len(latencyBuckets)+1)}
		m.latency[route] = h
	}
	s := d.Seconds()
	i := sort.SearchFloat64s(latencyBuckets, s)
	h.counts[i]++
	h.sum += s
	h.n++
}

// write prints every metric; gauges is the store's current state.
func (m *metrics) write(w io.Writer, st *store) {
	mem, disk, sinks, window := st.counts()
	gauge := func(name, help string, v any) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %v\n", name, help, name, name, v)
	}
	counter := func(name, help string, v int64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	fmt.Fprintf(w, "# HELP sinktrain_sessions Conversations known to the server, by where they are.\n# TYPE sinktrain_sessions gauge\n")
	fmt.Fprintf(w, "sinktrain_sessions{state=\"memory\"} %d\nsinktrain_sessions{state=\"disk\"} %d\n", mem, disk)
	fmt.Fprintf(w, "# HELP sinktrain_cache_tokens Tokens held by the KV caches in memory, sinks and window.\n# TYPE sinktrain_cache_tokens gauge\n")
	fmt.Fprintf(w, "sinktrain_cache_tokens{part=\"sinks\"} %d\nsinktrain_cache_tokens{part=\"window\"} %d\n", sinks, window)
	heap := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	rtmetrics.Read(heap)
	gauge("sinktrain_go_heap_object_bytes", "Bytes of live and not yet swept Go heap objects.", heap[0].Value.Uint64())
	gauge("sinktrain_requests_in_flight", "Requests being served.", m.inFlight.Load())
	gauge("sinktrain_requests_waiting", "Requests waiting for a generation slot (--parallel).", m.waiting.Load())
	counter("sinktrain_cache_evicted_tokens_total", "Tokens evicted from the sliding windows of the KV caches.", m.cacheEvicted.Load())
	counter("sinktrain_session_evictions_total", "Sessions moved out of memory (least recently used).", m.evictions.Load())
	counter("sinktrain_session_saves_total", "Session files written.", m.saves.Load())
	counter("sinktrain_session_restores_total", "Sessions read back from their files.", m.restores.Load())
	counter("sinktrain_session_files_rejected_total", "Session files refused (truncated, another model or cache).", m.badFiles.Load())
	counter("sinktrain_prompt_tokens_total", "Prompt tokens read by the model.", m.promptTokens.Load())
	counter("sinktrain_cached_prompt_tokens_total", "Prompt tokens not re-encoded because a session's cache held them.", m.cachedTokens.Load())
	counter("sinktrain_completion_tokens_total", "Tokens generated.", m.completionTokens.Load())

	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
	fmt.Fprintf(w, "# HELP sinktrain_requests_total Requests served, by route and HTTP status.\n# TYPE sinktrain_requests_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(w, "sinktrain_requests_total{route=%q,code=%q} %d\n", k[0], k[1], m.requests[k])
	}
	routes := make([]string, 0, len(m.latency))
	for r := range m.latency {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	fmt.Fprintf(w, "# HELP sinktrain_request_duration_seconds Request latency, by route.\n# TYPE sinktrain_request_duration_seconds histogram\n")
	for _, r := range routes {
		h := m.latency[r]
		var cum int64
		for i, le := range latencyBuckets {
			cum += h.counts[i]
			fmt.Fprintf(w, "sinktrain_request_duration_seconds_bucket{route=%q,le=\"%g\"} %d\n", r, le, cum)
		}
		cum += h.counts[len(latencyBuckets)]
		fmt.Fprintf(w, "sinktrain_request_duration_seconds_bucket{route=%q,le=\"+Inf\"} %d\n", r, cum)
		fmt.Fprintf(w, "sinktrain_request_duration_seconds_sum{route=%q} %g\n", r, h.sum)
		fmt.Fprintf(w, "sinktrain_request_duration_seconds_count{route=%q} %d\n", r, h.n)
	}
}
