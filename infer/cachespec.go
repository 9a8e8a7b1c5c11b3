package infer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sinktrain/sinktrain/internal/input"
)

// CacheKind is the family of a cache policy.
type CacheKind int

const (
	// Dense keeps every key.
	Dense CacheKind = iota
	// SinkWindow keeps the first Sinks stream tokens plus the last Window.
	SinkWindow
	// Recompute re-encodes the last Window tokens from scratch for every token.
	Recompute
)

// MaxCacheSlots bounds K+W and recompute:W (keeps a typo from allocating
// gigabytes).
const MaxCacheSlots = 1 << 22

// CacheSpec is a KV-cache policy: a small value that lives apart from the
// model, like streaming-llm's (start, recent) pair.
type CacheSpec struct {
	Kind   CacheKind
	Sinks  int // K: the first K stream tokens are kept (SinkWindow only)
	Window int // W: the last W tokens, the current one included
}

// Slots returns the number of keys the cache holds at most (K+W), or 0 for
// dense.
func (s CacheSpec) Slots() int {
	if s.Kind == Dense {
		return 0
	}
	return s.Sinks + s.Window
}

// String returns the spec in the syntax ParseCacheSpec reads.
func (s CacheSpec) String() string {
	switch s.Kind {
	case SinkWindow:
		return fmt.Sprintf("%d+%d", s.Sinks, s.Window)
	case Recompute:
		return fmt.Sprintf("recompute:%d", s.Window)
	}
	return "dense"
}

// ParseCacheSpec reads "dense", "K+W" (K ≥ 0, W ≥ 1: the current token
// always needs a slot, so K cannot fill the whole cache) or "recompute:W"
// (W ≥ 1). K+W and W are at most MaxCacheSlots.
func ParseCacheSpec(s string) (CacheSpec, error) {
	bad := func(format string, a ...any) (CacheSpec, error) {
		return CacheSpec{}, input.Usagef("Cache", "cache spec", strconv.Quote(s), format, a...)
	}
	const want = `expected "dense", "K+W" (e.g. 4+252) or "recompute:W"`
	switch {
	case s == "dense":
		return CacheSpec{Kind: Dense}, nil
	case strings.HasPrefix(s, "recompute:"):
		w, err := parseCount(strings.TrimPrefix(s, "recompute:"))
		if err != nil {
			return bad("window %v; %s", err, want)
		}
		if w < 1 || w > MaxCacheSlots {
			return bad("window %d, expected 1 ≤ W ≤ %d", w, MaxCacheSlots)
		}
		return CacheSpec{Kind: Recompute, Window: w}, nil
	}
	ks, ws, ok := strings.Cut(s, "+")
	if !ok {
		return bad("%s", want)
	}
	k, err := parseCount(ks)
	if err != nil {
		return bad("K (sinks) %v; %s", err, want)
	}
	w, err := parseCount(ws)
	if err != nil {
		return bad("W (window) %v; %s", err, want)
	}
	if k > MaxCacheSlots || w > MaxCacheSlots || k+w > MaxCacheSlots {
		return bad("K+W = %d+%d is larger than the limit %d", k, w, MaxCacheSlots)
	}
	if w < 1 {
		if k == 0 {
			return bad("an empty cache (0+0), expected W ≥ 1")
		}
		return bad("K = %d fills the whole cache and leaves no slot for the current token, expected W ≥ 1", k)
	}
	return CacheSpec{Kind: SinkWindow, Sinks: k, Window: w}, nil
}

// parseCount parses a non-negative decimal integer (digits only).
func parseCount(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("is empty")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q is not a non-negative integer", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > MaxCacheSlots {
		return 0, fmt.Errorf("%q is too large (limit %d)", s, MaxCacheSlots)
	}
	return n, nil
}

// RecomputeWindow is what recompute:W re-encodes to score the token after
// stream position end−1, for a model with k sinks: the first k stream
// tokens (the sinks) and the last W−k, i.e. stream[0:keep] followed by
// stream[lo:end] — the same W keys as a k+(W−k) cache, so the model never
// sees a window without its sinks, as in training. While end ≤ W it is the
// whole prefix (keep = 0, lo = 0). W must exceed k ([CacheSpec.CheckSinks]).
func (s CacheSpec) RecomputeWindow(k, end int) (keep, lo int) {
	if end <= s.Window {
		return 0, 0
	}
	return k, end - (s.Window - k)
}

// CheckSinks refuses a spec that cannot keep a model's k sinks:
// recompute:W needs W > k (k sinks plus at least the current token).
func (s CacheSpec) CheckSinks(k int) error {
	if s.Kind == Recompute && s.Window <= k {
		return input.Errorf("Cache", "cache spec", strconv.Quote(s.String()),
			"keeps the model's %d sink(s) plus the last W−%d tokens, so W must be at least %d", k, k, k+1)
	}
	return nil
}
