package infer

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"slices"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/internal/kernels"
)

// A snapshot is a Session's KV cache written to a byte stream, so that a
// conversation can leave memory and come back later (sinktrain serve). The
// format, little endian:
//
//	magic       [8]byte  "STKVSNAP"
//	version     uint32   SnapshotVersion
//	dtype       uint32   1 = float32, 2 = bfloat16
//	fingerprint [32]byte the model's Fingerprint
//	kind, sinks, window, layers, heads, headDim, seen, windowStart, slots  int64 each
//	payload     per layer: keys [H, slots, hd], then values [H, slots, hd], in dtype
//	crc32c      uint32   Castagnoli CRC of everything before it
//
// slots is the number of cache slots in use (at most the capacity): a K+W
// cache writes min(seen, K+W), a dense cache its seen tokens. A float32
// snapshot restores bit for bit; bfloat16 halves the size and rounds every
// key and value to nearest even.
const (
	snapshotMagic = "STKVSNAP"
	// SnapshotVersion is the snapshot format version that WriteSnapshot
	// writes and RestoreSession reads.
	SnapshotVersion = 1
	snapF32         = 1
	snapBF16        = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// snapshotHeader is the fixed part of a snapshot after the magic.
type snapshotHeader struct {
	Version     uint32
	DType       uint32
	Fingerprint [32]byte
	Kind        int64
	Sinks       int64
	Window      int64
	Layers      int64
	Heads       int64
	HeadDim     int64
	Seen        int64
	WindowStart int64
	Slots       int64
}

// Fingerprint returns a SHA-256 of the model's configuration and every
// weight as stored (a bfloat16 model hashes "bfloat16" and its rounded
// matrices): two models with the same fingerprint compute the same logits.
// It is computed on first use (one pass over the weights) and cached.
func (m *Model) Fingerprint() [32]byte {
	m.fpOnce.Do(func() {
		h := sha256.New()
		cfg, _ := json.Marshal(m.Config) // a struct of plain fields: cannot fail
		h.Write(cfg)
		if m.dtype == bf16Storage {
			h.Write([]byte("bfloat16"))
		}
		names := make([]string, 0, len(m.weights))
		for n := range m.weights {
			names = append(names, n)
		}
		slices.Sort(names)
		buf := make([]byte, 0, 1<<16)
		for _, n := range names {
			t := m.weights[n]
			h.Write([]byte(n))
			for _, d := range t.Shape {
				buf = binary.LittleEndian.AppendUint64(buf[:0], uint64(d))
				h.Write(buf)
			}
			if half, ok := m.halves[n]; ok {
				writeHalves(h, half.Data, buf)
				continue
			}
			writeFloats(h, t.Data, buf)
		}
		copy(m.fp[:], h.Sum(nil))
	})
	return m.fp
}

// FingerprintString is Fingerprint in hex (for file headers and errors).
func (m *Model) FingerprintString() string {
	fp := m.Fingerprint()
	return hex.EncodeToString(fp[:])
}

func writeHalves(h hash.Hash, data []kernels.BF16, buf []byte) {
	for len(data) > 0 {
		n := min(len(data), cap(buf)/2)
		buf = buf[:0]
		for _, v := range data[:n] {
			buf = binary.LittleEndian.AppendUint16(buf, v)
		}
		h.Write(buf)
		data = data[n:]
	}
}

func writeFloats(h hash.Hash, data []float32, buf []byte) {
	for len(data) > 0 {
		n := min(len(data), cap(buf)/4)
		buf = buf[:0]
		for _, v := range data[:n] {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
		h.Write(buf)
		data = data[n:]
	}
}

// usedSlots returns the number of slots holding tokens.
func (c *Cache) usedSlots() int { return min(c.seen, c.capacity) }

// Occupancy returns what the cache holds for the next query: the number of
// sink tokens kept (the first K stream tokens, fewer before K have been
// seen), the number of window tokens kept, and the number of tokens
// evicted so far (seen − sinks − window). A dense cache reports every token
// as window.
func (c *Cache) Occupancy() (sinks, window, evicted int) {
	if c.seen == 0 {
		return 0, 0, 0
	}
	if c.spec.Kind == Dense {
		return 0, c.seen, 0
	}
	s, lo := c.visible(c.seen - 1)
	window = c.seen - lo
	return s, window, c.seen - s - window
}

// Snapshot writes the session's KV cache to w in dtype (checkpoint.F32 or
// checkpoint.BF16), in the format described above. The session is not
// changed and may go on afterwards.
func (s *Session) Snapshot(w io.Writer, dtype checkpoint.DType) error {
	c := s.cache
	var code uint32
	switch dtype {
	case checkpoint.F32:
		code = snapF32
	case checkpoint.BF16:
		code = snapBF16
	default:
		return fmt.Errorf("snapshot dtype %s, expected F32 or BF16", dtype)
	}
	slots := c.usedSlots()
	hdr := snapshotHeader{
		Version: SnapshotVersion, DType: code, Fingerprint: s.m.Fingerprint(),
		Kind: int64(c.spec.Kind), Sinks: int64(c.spec.Sinks), Window: int64(c.spec.Window),
		Layers: int64(c.layers), Heads: int64(c.heads), HeadDim: int64(c.headDim),
		Seen: int64(c.seen), WindowStart: int64(c.windowStart), Slots: int64(slots),
	}
	crc := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 1<<16)
	bw.WriteString(snapshotMagic)
	if err := binary.Write(bw, binary.LittleEndian, &hdr); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	var b [4]byte
	for l := range c.layers {
		for _, arr := range [2][]float32{c.keys[l], c.values[l]} {
			for h := range c.heads {
				for _, v := range arr[h*c.capacity*c.headDim : (h*c.capacity+slots)*c.headDim] {
					if code == snapF32 {
						binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
						bw.Write(b[:4])
					} else {
						binary.LittleEndian.PutUint16(b[:], checkpoint.Float32ToBF16(v))
						bw.Write(b[:2])
					}
				}
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	binary.LittleEndian.PutUint32(b[:], crc.Sum32())
	if _, err := w.Write(b[:4]); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// ErrSnapshotMismatch marks a snapshot that is well formed but does not fit
// the model or cache it is restored into (another model, another cache
// spec, another format version).
var ErrSnapshotMismatch = errors.New("snapshot does not fit")

// RestoreSession reads a snapshot written by Session.Snapshot and returns a
// session of m whose cache is the snapshot's: the next Prefill or Step
// continues the stream exactly where the snapshot was taken (bit-identical
// logits for a float32 snapshot). spec must be the snapshot's cache spec.
// A stream that is not a snapshot, is truncated or corrupted, or comes from
// another model, format version or cache spec is refused with an error
// saying which (the last three wrap ErrSnapshotMismatch).
func (m *Model) RestoreSession(r io.Reader, spec CacheSpec) (*Session, error) {
	crc := crc32.New(castagnoli)
	br := bufio.NewReaderSize(r, 1<<16)
	tr := io.TeeReader(br, crc)
	var magic [len(snapshotMagic)]byte
	if _, err := io.ReadFull(tr, magic[:]); err != nil {
		return nil, snapshotReadErr(err, "magic")
	}
	if string(magic[:]) != snapshotMagic {
		return nil, fmt.Errorf("not a KV snapshot (magic %q, expected %q)", magic[:], snapshotMagic)
	}
	var hdr snapshotHeader
	if err := binary.Read(tr, binary.LittleEndian, &hdr); err != nil {
		return nil, snapshotReadErr(err, "header")
	}
	if hdr.Version != SnapshotVersion {
		return nil, fmt.Errorf("KV snapshot format version %d, expected %d (written by another sinktrain version): %w", hdr.Version, SnapshotVersion, ErrSnapshotMismatch)
	}
	if fp := m.Fingerprint(); hdr.Fingerprint != fp {
		return nil, fmt.Errorf("KV snapshot of another model (fingerprint %x…, this model's is %x…): %w", hdr.Fingerprint[:6], fp[:6], ErrSnapshotMismatch)
	}
	if hdr.DType != snapF32 && hdr.DType != snapBF16 {
		return nil, fmt.Errorf("KV snapshot dtype code %d, expected 1 (float32) or 2 (bfloat16)", hdr.DType)
	}
	got := CacheSpec{Kind: CacheKind(hdr.Kind), Sinks: int(hdr.Sinks), Window: int(hdr.Window)}
	if got != spec {
		return nil, fmt.Errorf("KV snapshot of cache %s, expected %s: %w", got, spec, ErrSnapshotMismatch)
	}
	cfg := m.Config
	if hdr.Layers != int64(cfg.NumLayers) || hdr.Heads != int64(cfg.NumHeads) || hdr.HeadDim != int64(cfg.HeadDim()) {
		return nil, fmt.Errorf("KV snapshot of %d layers × %d heads × %d dims, expected %d × %d × %d", hdr.Layers, hdr.Heads, hdr.HeadDim, cfg.NumLayers, cfg.NumHeads, cfg.HeadDim())
	}
	seen, start, slots := hdr.Seen, hdr.WindowStart, hdr.Slots
	limit := int64(MaxCacheSlots)
	if spec.Kind == SinkWindow {
		limit = int64(spec.Slots())
	}
	if seen < 0 || slots != min(seen, limit) || start < 0 || start > seen {
		return nil, fmt.Errorf("KV snapshot header is inconsistent (seen %d, slots %d, window start %d for cache %s)", seen, slots, start, spec)
	}
	s := m.NewSession(spec, int(slots))
	c := s.cache
	c.reserve(int(slots))
	size := 4
	if hdr.DType == snapBF16 {
		size = 2
	}
	buf := make([]byte, int(slots)*c.headDim*size)
	for l := range c.layers {
		for _, arr := range [2][]float32{c.keys[l], c.values[l]} {
			for h := range c.heads {
				if _, err := io.ReadFull(tr, buf); err != nil {
					return nil, snapshotReadErr(err, fmt.Sprintf("layer %d", l))
				}
				dst := arr[h*c.capacity*c.headDim : (h*c.capacity+int(slots))*c.headDim]
				for i := range dst {
					if size == 4 {
						dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
					} else {
						dst[i] = checkpoint.BF16ToFloat32(binary.LittleEndian.Uint16(buf[2*i:]))
					}
				}
			}
		}
	}
	want := crc.Sum32()
	var b [4]byte
	if _, err := io.ReadFull(br, b[:]); err != nil {
		return nil, snapshotReadErr(err, "checksum")
	}
	if got := binary.LittleEndian.Uint32(b[:]); got != want {
		return nil, fmt.Errorf("KV snapshot is corrupted (checksum %08x, computed %08x)", got, want)
	}
	if n, _ := br.Read(b[:1]); n > 0 {
		return nil, fmt.Errorf("KV snapshot has bytes after its checksum")
	}
	c.seen, c.windowStart = int(seen), int(start)
	return s, nil
}

func snapshotReadErr(err error, part string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("KV snapshot is truncated (ends in its %s)", part)
	}
	return fmt.Errorf("reading KV snapshot %s: %w", part, err)
}
