package checkpoint

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"github.com/sinktrain/sinktrain/internal/fsutil"
	"io"
	"math"
	"os"
	"slices"
	"sort"
)

// DType is a safetensors dtype string.
type DType string

// Supported dtypes.
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	F64  DType = "F64"
	I64  DType = "I64"
	I32  DType = "I32"
)

// Size returns the element size in bytes (0 for an unknown dtype).
func (d DType) Size() int {
	switch d {
	case F32, I32:
		return 4
	case F16, BF16:
		return 2
	case F64, I64:
		return 8
	}
	return 0
}

// Raw is one tensor as stored: dtype, shape and little-endian bytes.
type Raw struct {
	DType DType
	Shape []int
	Data  []byte
}

// NumElements returns the product of the shape.
func (r Raw) NumElements() int {
	n := 1
	for _, d := range r.Shape {
		n *= d
	}
	return n
}

// maxHeader caps the JSON header (safetensors' own limit is 100 MB).
const maxHeader = 100 << 20

type headerEntry struct {
	DType   DType    `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// ReadSafetensors reads every tensor of a .safetensors file. The header
// (length, dtypes, shapes, offsets: in range, contiguous, non-overlapping,
// size = elements × dtype size) is validated against the real file size
// before any tensor memory is allocated.
func ReadSafetensors(path string) (map[string]Raw, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	out, meta, err := DecodeSafetensors(f, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	return out, meta, nil
}

// DecodeSafetensors parses a safetensors stream of the given total size.
func DecodeSafetensors(r io.Reader, size int64) (map[string]Raw, map[string]string, error) {
	if size < 8 {
		return nil, nil, fmt.Errorf("file is %d bytes, expected at least an 8-byte header length", size)
	}
	var hl [8]byte
	if _, err := io.ReadFull(r, hl[:]); err != nil {
		return nil, nil, fmt.Errorf("read header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(hl[:])
	if n > maxHeader || int64(n) > size-8 {
		return nil, nil, fmt.Errorf("header length %d exceeds the file (%d bytes) or the 100 MB limit", n, size)
	}
	hb := make([]byte, n)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, nil, fmt.Errorf("read header: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hb, &raw); err != nil {
		return nil, nil, fmt.Errorf("header is not a JSON object: %w", err)
	}
	var meta map[string]string
	type named struct {
		name string
		e    headerEntry
	}
	var entries []named
	for k, v := range raw {
		if k == "__metadata__" {
			if err := json.Unmarshal(v, &meta); err != nil {
				return nil, nil, fmt.Errorf("__metadata__: expected an object of strings: %w", err)
			}
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, nil, fmt.Errorf("tensor %s: %w", k, err)
		}
		entries = append(entries, named{k, e})
	}
	dataLen := size - 8 - int64(n)
	sort.Slice(entries, func(i, j int) bool { return entries[i].e.Offsets[0] < entries[j].e.Offsets[0] })
	var pos int64
	for _, ne := range entries {
		e := ne.e
		es := e.DType.Size()
		if es == 0 {
			return nil, nil, fmt.Errorf("tensor %s: dtype %q is not supported, expected F32, F16, BF16, F64, I64 or I32", ne.name, e.DType)
		}
		elems := int64(1)
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && elems > math.MaxInt64/int64(d)) {
				return nil, nil, fmt.Errorf("tensor %s: bad shape %v", ne.name, e.Shape)
			}
			elems *= int64(d)
		}
		if e.Offsets[0] != pos || e.Offsets[1] < e.Offsets[0] {
			return nil, nil, fmt.Errorf("tensor %s: data_offsets %v overlap or leave a gap (expected start %d)", ne.name, e.Offsets, pos)
		}
		if e.Offsets[1] > dataLen {
			return nil, nil, fmt.Errorf("tensor %s: data_offsets %v run past the data (%d bytes): file truncated?", ne.name, e.Offsets, dataLen)
		}
		if elems > math.MaxInt64/int64(es) || e.Offsets[1]-e.Offsets[0] != elems*int64(es) {
			return nil, nil, fmt.Errorf("tensor %s: %d bytes for shape %v of %s, expected %d", ne.name, e.Offsets[1]-e.Offsets[0], e.Shape, e.DType, elems*int64(es))
		}
		pos = e.Offsets[1]
	}
	if pos != dataLen {
		return nil, nil, fmt.Errorf("data section is %d bytes but tensors cover %d", dataLen, pos)
	}
	out := make(map[string]Raw, len(entries))
	for _, ne := range entries {
		b := make([]byte, ne.e.Offsets[1]-ne.e.Offsets[0])
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, nil, fmt.Errorf("tensor %s: %w", ne.name, err)
		}
		out[ne.name] = Raw{DType: ne.e.DType, Shape: slices.Clone(ne.e.Shape), Data: b}
	}
	return out, meta, nil
}

// WriteSafetensors writes tensors atomically (names sorted, as the
// reference implementation does), with optional metadata.
func WriteSafetensors(path string, tensors map[string]Raw, meta map[string]string) error {
	return fsutil.WriteFileAtomic(path, func(w *bufio.Writer) error { return EncodeSafetensors(w, tensors, meta) })
}

// EncodeSafetensors writes the safetensors encoding of tensors to w.
func EncodeSafetensors(w io.Writer, tensors map[string]Raw, meta map[string]string) error {
	names := make([]string, 0, len(tensors))
	for k := range tensors {
		names = append(names, k)
	}
	sort.Strings(names)
	hdr := make(map[string]any, len(names)+1)
	if len(meta) > 0 {
		hdr["__metadata__"] = meta
	}
	var off int64
	for _, k := range names {
		t := tensors[k]
		if want := t.NumElements() * t.DType.Size(); want != len(t.Data) || t.DType.Size() == 0 {
			return fmt.Errorf("tensor %s: %d bytes for shape %v of %s, expected %d", k, len(t.Data), t.Shape, t.DType, want)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		hdr[k] = headerEntry{DType: t.DType, Shape: shape, Offsets: [2]int64{off, off + int64(len(t.Data))}}
		off += int64(len(t.Data))
	}
	hb, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	for len(hb)%8 != 0 { // align the data section to 8 bytes, as the reference writer does
		hb = append(hb, ' ')
	}
	var hl [8]byte
	binary.LittleEndian.PutUint64(hl[:], uint64(len(hb)))
	if _, err := w.Write(hl[:]); err != nil {
		return err
	}
	if _, err := w.Write(hb); err != nil {
		return err
	}
	for _, k := range names {
		if _, err := w.Write(tensors[k].Data); err != nil {
			return err
		}
	}
	return nil
}

// Float64s converts a float or integer tensor to float64 values.
func (r Raw) Float64s() ([]float64, error) {
	n := r.NumElements()
	out := make([]float64, n)
	for i := range out {
		v, err := r.at(i)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// Float32s converts a float or integer tensor to float32 values.
func (r Raw) Float32s() ([]float32, error) {
	if r.DType == F32 {
		out := make([]float32, r.NumElements())
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(r.Data[4*i:]))
		}
		return out, nil
	}
	f, err := r.Float64s()
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(f))
	for i, v := range f {
		out[i] = float32(v)
	}
	return out, nil
}

// Int64s converts an integer tensor to int64 values.
func (r Raw) Int64s() ([]int64, error) {
	out := make([]int64, r.NumElements())
	for i := range out {
		switch r.DType {
		case I64:
			out[i] = int64(binary.LittleEndian.Uint64(r.Data[8*i:]))
		case I32:
			out[i] = int64(int32(binary.LittleEndian.Uint32(r.Data[4*i:])))
		default:
			return nil, fmt.Errorf("dtype %s is not an integer type", r.DType)
		}
	}
	return out, nil
}

func (r Raw) at(i int) (float64, error) {
	switch r.DType {
	case F32:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(r.Data[4*i:]))), nil
	case F64:
		return math.Float64frombits(binary.LittleEndian.Uint64(r.Data[8*i:])), nil
	case F16:
		return float64(F16ToFloat32(binary.LittleEndian.Uint16(r.Data[2*i:]))), nil
	case BF16:
		return float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(r.Data[2*i:])) << 16)), nil
	case I64:
		return float64(int64(binary.LittleEndian.Uint64(r.Data[8*i:]))), nil
	case I32:
		return float64(int32(binary.LittleEndian.Uint32(r.Data[4*i:]))), nil
	}
	return 0, fmt.Errorf("dtype %q is not supported", r.DType)
}

// F16ToFloat32 converts an IEEE half-precision value.
func F16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// subnormal: value = mant · 2^-24
		v := float32(mant) * float32(math.Ldexp(1, -24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// FromFloat32 builds an F32 raw tensor.
func FromFloat32(shape []int, data []float32) Raw {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return Raw{DType: F32, Shape: slices.Clone(shape), Data: b}
}
