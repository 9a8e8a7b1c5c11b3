package infer

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

func snapModel(t testing.TB, seed uint64) *Model {
	t.Helper()
	cfg := tinyConfig(sinktoken.Softmax)
	m, err := NewModel(cfg, model.Init(cfg, seed))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// stream returns n token ids of a fixed pseudo-random stream.
func stream(n, v int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32((i*7 + i*i) % v)
	}
	return out
}

// TestSnapshotRestoreContinues: a session snapshotted mid-stream (the
// window wrapped, an Evict done) and restored continues with bit-identical
// logits for float32, and within bfloat16 rounding for bfloat16, for K+W
// and dense caches.
func TestSnapshotRestoreContinues(t *testing.T) {
	m := snapModel(t, 1)
	V := m.Config.VocabSize
	toks := stream(40, V)
	for _, spec := range []CacheSpec{{Kind: SinkWindow, Sinks: 2, Window: 9}, {Kind: Dense}} {
		for _, dt := range []checkpoint.DType{checkpoint.F32, checkpoint.BF16} {
			a := m.NewSession(spec, 0)
			_, err := a.Prefill(toks[:23])
			must(t, err)
			a.Cache().Evict(4)
			var buf bytes.Buffer
			must(t, a.Snapshot(&buf, dt))
			b, err := m.RestoreSession(bytes.NewReader(buf.Bytes()), spec)
			must(t, err)
			if b.Cache().Seen() != 23 {
				t.Fatalf("%s %s: restored seen %d, want 23", spec, dt, b.Cache().Seen())
			}
			sa, wa, ea := a.Cache().Occupancy()
			sb, wb, eb := b.Cache().Occupancy()
			if sa != sb || wa != wb || ea != eb {
				t.Errorf("%s %s: occupancy %d/%d/%d restored as %d/%d/%d", spec, dt, sa, wa, ea, sb, wb, eb)
			}
			worst := 0.0
			for _, tok := range toks[23:] {
				la, err := a.Step(tok)
				must(t, err)
				la = append([]float32(nil), la...)
				lb, err := b.Step(tok)
				must(t, err)
				for i := range la {
					d := math.Abs(float64(la[i]-lb[i])) / (math.Abs(float64(la[i])) + 1)
					worst = max(worst, d)
				}
			}
			switch {
			case dt == checkpoint.F32 && worst != 0:
				t.Errorf("%s float32: restored logits differ by %g, want bit-identical", spec, worst)
			case dt == checkpoint.BF16 && (worst == 0 || worst > 2e-2):
				t.Errorf("%s bfloat16: restored logits differ by %g, want (0, 2e-2]", spec, worst)
			}
			t.Logf("%s %s: %d bytes, worst logit difference %.2g", spec, dt, buf.Len(), worst)
		}
	}
}

// TestSnapshotRefuses: a truncated, corrupted, foreign or mismatched
// snapshot is refused with an error saying which; nothing else is.
func TestSnapshotRefuses(t *testing.T) {
	m := snapModel(t, 1)
	spec := CacheSpec{Kind: SinkWindow, Sinks: 1, Window: 6}
	s := m.NewSession(spec, 0)
	_, err := s.Prefill(stream(10, m.Config.VocabSize))
	must(t, err)
	var buf bytes.Buffer
	must(t, s.Snapshot(&buf, checkpoint.F32))
	good := buf.Bytes()
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)/2] ^= 1
	versioned := bytes.Clone(good)
	versioned[8] = 9
	other := snapModel(t, 2)
	tests := []struct {
		name     string
		m        *Model
		data     []byte
		spec     CacheSpec
		want     string
		mismatch bool
	}{
		{"truncated in payload", m, good[:len(good)/2], spec, "truncated (ends in its layer", false},
		{"truncated in header", m, good[:20], spec, "truncated (ends in its header)", false},
		{"truncated checksum", m, good[:len(good)-2], spec, "truncated (ends in its checksum)", false},
		{"empty", m, nil, spec, "truncated (ends in its magic)", false},
		{"not a snapshot", m, []byte("model.safetensors is not this"), spec, "not a KV snapshot", false},
		{"corrupted", m, corrupt, spec, "corrupted (checksum", false},
		{"trailing bytes", m, append(bytes.Clone(good), 0), spec, "bytes after its checksum", false},
		{"newer version", m, versioned, spec, "format version 9, expected 1", true},
		{"another model", other, good, spec, "of another model", true},
		{"another cache", m, good, CacheSpec{Kind: SinkWindow, Sinks: 4, Window: 6}, "of cache 1+6, expected 4+6", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.m.RestoreSession(bytes.NewReader(tt.data), tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if got := errors.Is(err, ErrSnapshotMismatch); got != tt.mismatch {
				t.Errorf("errors.Is(ErrSnapshotMismatch) = %v, want %v", got, tt.mismatch)
			}
		})
	}
	if _, err := m.RestoreSession(bytes.NewReader(good), spec); err != nil {
		t.Errorf("the good snapshot: %v", err)
	}
	if err := s.Snapshot(&buf, checkpoint.F16); err == nil || !strings.Contains(err.Error(), "expected F32 or BF16") {
		t.Errorf("F16 snapshot: %v", err)
	}
}

// TestOccupancyGrid: sinks, window and evicted counts of a 2+3 cache as
// tokens arrive, with an Evict(2) before token 7 (as a chat turn does).
func TestOccupancyGrid(t *testing.T) {
	c := NewCache(CacheSpec{Kind: SinkWindow, Sinks: 2, Window: 3}, 1, 1, 2, 0)
	want := [][3]int{ // after token t: sinks, window, evicted
		{1, 0, 0}, {2, 0, 0}, {2, 1, 0}, {2, 2, 0}, {2, 3, 0}, {2, 3, 1}, {2, 3, 2},
		{2, 2, 4}, // Evict(2) kept 1 window token (5 6 → 6), then 7 arrived: window 6 7
		{2, 3, 4}, {2, 3, 5},
	}
	for tok, w := range want {
		if tok == 7 {
			c.Evict(2)
		}
		c.reserve(1)
		c.seen++
		s, win, ev := c.Occupancy()
		if [3]int{s, win, ev} != w {
			t.Errorf("after token %d: occupancy %d/%d/%d, want %v", tok, s, win, ev, w)
		}
	}
}

func TestFingerprint(t *testing.T) {
	a, b, a2 := snapModel(t, 1), snapModel(t, 2), snapModel(t, 1)
	if a.Fingerprint() == b.Fingerprint() || a.Fingerprint() != a2.Fingerprint() {
		t.Errorf("fingerprints: seed 1 %s, seed 2 %s, seed 1 again %s", a.FingerprintString(), b.FingerprintString(), a2.FingerprintString())
	}
}
