package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"

	"github.com/sinktrain/sinktrain/internal/fsutil"
	"github.com/sinktrain/sinktrain/internal/input"
)

// DType is a safetensors dtype string.
type DType string

// Dtypes with value conversions (floats and the integer types used for ids).
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	F64  DType = "F64"
	I64  DType = "I64"
	I32  DType = "I32"
)

// Dtypes that are read and written as bytes only (no value conversion):
// they appear in Hugging Face checkpoints as non-parameter buffers (for
// example GPT-NeoX's boolean causal mask gpt_neox.layers.N.attention.bias).
const (
	Bool   DType = "BOOL"
	U8     DType = "U8"
	I8     DType = "I8"
	I16    DType = "I16"
	U16    DType = "U16"
	U32    DType = "U32"
	U64    DType = "U64"
	F8E4M3 DType = "F8_E4M3"
	F8E5M2 DType = "F8_E5M2"
)

// Size returns the element size in bytes (0 for an unknown dtype).
func (d DType) Size() int {
	switch d {
	case Bool, U8, I8, F8E4M3, F8E5M2:
		return 1
	case F16, BF16, I16, U16:
		return 2
	case F32, I32, U32:
		return 4
	case F64, I64, U64:
		return 8
	}
	return 0
}

// IsFloat reports whether d is one of the float dtypes model weights may
// be stored in (F32, F16, BF16, F64).
func (d DType) IsFloat() bool { return d == F32 || d == F16 || d == BF16 || d == F64 }

// ParseDType accepts a torch-style name ("float32", "fp16", "bfloat16", …)
// or a safetensors name ("F32", "F16", "BF16") of a float dtype that model
// weights can be saved in. The empty string means F32.
func ParseDType(s string) (DType, error) {
	switch s {
	case "", "float32", "fp32", "f32", "F32", "float":
		return F32, nil
	case "float16", "fp16", "f16", "F16", "half":
		return F16, nil
	case "bfloat16", "bf16", "BF16":
		return BF16, nil
	}
	return "", input.Usagef("DType", "dtype", strconv.Quote(s), "not supported, expected float32, float16 or bfloat16")
}

// TorchName returns the torch dtype name written to config.json
// ("float32", "float16", "bfloat16", "float64"), or "" for other dtypes.
func (d DType) TorchName() string {
	switch d {
	case F32:
		return "float32"
	case F16:
		return "float16"
	case BF16:
		return "bfloat16"
	case F64:
		return "float64"
	}
	return ""
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

// check verifies that Data holds exactly NumElements values of DType.
func (r Raw) check() error {
	es := r.DType.Size()
	if es == 0 {
		return fmt.Errorf("dtype %q is not supported", r.DType)
	}
	n, ok := numElements(r.Shape)
	if !ok || n > int64(len(r.Data))/int64(es) || int(n)*es != len(r.Data) {
		return fmt.Errorf("%d bytes for shape %v of %s, expected %d values of %d bytes", len(r.Data), r.Shape, r.DType, n, es)
	}
	return nil
}

// numElements multiplies a shape, reporting false on a negative dimension
// or overflow.
func numElements(shape []int) (int64, bool) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 || (d > 0 && n > math.MaxInt64/int64(d)) {
			return 0, false
		}
		n *= int64(d)
	}
	return n, true
}

const (
	// maxHeader caps the JSON header (safetensors' own limit is 100 MB).
	maxHeader = 100 << 20
	// maxRank caps the number of dimensions of a tensor.
	maxRank = 16
)

type headerEntry struct {
	DType   DType   `json:"dtype"`
	Shape   []int   `json:"shape"`
	Offsets []int64 `json:"data_offsets"`
}

// Header is a validated safetensors header: tensor names in data order,
// their entries, the metadata and the data section's size.
type header struct {
	names   []string // sorted by data offset
	entries map[string]headerEntry
	meta    map[string]string
	dataLen int64
}

// ReadSafetensors reads every tensor of a .safetensors file. The header
// (length, dtypes, shapes, offsets: in range, contiguous, non-overlapping,
// size = elements × dtype size, no duplicate names) is validated against
// the real file size before any tensor memory is allocated.
func ReadSafetensors(path string) (map[string]Raw, map[string]string, error) {
	return readSafetensorsFiltered(path, nil)
}

// readSafetensorsFiltered reads the tensors of path for which keep returns
// true (all when keep is nil); the others are skipped without allocation.
func readSafetensorsFiltered(path string, keep func(string) bool) (map[string]Raw, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err // names the file
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	out, meta, err := decodeSafetensors(bufio.NewReaderSize(f, 1<<20), st.Size(), keep)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	return out, meta, nil
}

// DecodeSafetensors parses a safetensors stream of the given total size.
// Memory allocated is bounded by size.
func DecodeSafetensors(r io.Reader, size int64) (map[string]Raw, map[string]string, error) {
	return decodeSafetensors(r, size, nil)
}

func decodeSafetensors(r io.Reader, size int64, keep func(string) bool) (map[string]Raw, map[string]string, error) {
	h, err := readHeader(r, size)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string]Raw, len(h.names))
	for _, name := range h.names {
		e := h.entries[name]
		n := e.Offsets[1] - e.Offsets[0]
		if keep != nil && !keep(name) {
			if _, err := io.CopyN(io.Discard, r, n); err != nil {
				return nil, nil, fmt.Errorf("tensor %s: %w (file truncated?)", name, err)
			}
			continue
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, nil, fmt.Errorf("tensor %s: %w (file truncated?)", name, err)
		}
		out[name] = Raw{DType: e.DType, Shape: slices.Clone(e.Shape), Data: b}
	}
	return out, h.meta, nil
}

// readHeader reads and validates the length prefix and JSON header.
func readHeader(r io.Reader, size int64) (*header, error) {
	if size < 8 {
		return nil, fmt.Errorf("file is %d bytes, expected at least the 8-byte header length (truncated or not safetensors)", size)
	}
	var hl [8]byte
	if _, err := io.ReadFull(r, hl[:]); err != nil {
		return nil, fmt.Errorf("read header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(hl[:])
	if n > maxHeader || n > uint64(size-8) {
		return nil, fmt.Errorf("header length %d exceeds the file (%d bytes) or the 100 MB limit (truncated or not safetensors)", n, size)
	}
	if n < 2 {
		return nil, fmt.Errorf("header length %d, expected a JSON object of at least 2 bytes", n)
	}
	hb := make([]byte, n)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	h, err := parseHeader(hb)
	if err != nil {
		return nil, err
	}
	h.dataLen = size - 8 - int64(n)
	if err := h.validate(); err != nil {
		return nil, err
	}
	return h, nil
}

// parseHeader decodes the JSON object token by token so that duplicate
// names, which encoding/json would silently merge, are an error.
func parseHeader(hb []byte) (*header, error) {
	dec := json.NewDecoder(bytes.NewReader(hb))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("header is not a JSON object")
	}
	h := &header{entries: map[string]headerEntry{}}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("header: %w", err)
		}
		name, _ := t.(string)
		if _, dup := h.entries[name]; dup || (name == "__metadata__" && h.meta != nil) {
			return nil, fmt.Errorf("header: duplicate tensor name %q", name)
		}
		if name == "__metadata__" {
			h.meta = map[string]string{}
			if err := dec.Decode(&h.meta); err != nil {
				return nil, fmt.Errorf("header: __metadata__: expected an object of strings: %v", err)
			}
			continue
		}
		var e headerEntry
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("header: tensor %q: expected {dtype, shape, data_offsets}: %v", name, err)
		}
		h.entries[name] = e
		h.names = append(h.names, name)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("header: %w", err)
	}
	if rest := bytes.TrimRight(hb[dec.InputOffset():], " \t\r\n\x00"); len(rest) > 0 {
		return nil, fmt.Errorf("header: %d unexpected bytes after the JSON object", len(rest))
	}
	return h, nil
}

// validate checks every entry and that the tensors tile the data section
// exactly, in offset order, as the reference implementation requires.
func (h *header) validate() error {
	for _, name := range h.names {
		e := h.entries[name]
		es := e.DType.Size()
		if es == 0 {
			return fmt.Errorf("tensor %s: dtype %q is not supported, expected F32, F16, BF16, F64, I64, I32 or another safetensors dtype", name, e.DType)
		}
		if len(e.Offsets) != 2 {
			return fmt.Errorf("tensor %s: data_offsets has %d values, expected [begin, end]", name, len(e.Offsets))
		}
		if len(e.Shape) > maxRank {
			return fmt.Errorf("tensor %s: shape has %d dimensions, expected at most %d", name, len(e.Shape), maxRank)
		}
		b, end := e.Offsets[0], e.Offsets[1]
		if b < 0 || end < b || end > h.dataLen {
			return fmt.Errorf("tensor %s: data_offsets [%d, %d] out of range of the %d-byte data section (truncated file?)", name, b, end, h.dataLen)
		}
		elems, ok := numElements(e.Shape)
		if !ok {
			return fmt.Errorf("tensor %s: shape %v has a negative or overflowing dimension", name, e.Shape)
		}
		if elems > (end-b)/int64(es) || elems*int64(es) != end-b {
			return fmt.Errorf("tensor %s: data_offsets [%d, %d] hold %d bytes, expected %d values of %d bytes for shape %v of %s", name, b, end, end-b, elems, es, e.Shape, e.DType)
		}
	}
	sort.SliceStable(h.names, func(i, j int) bool {
		a, b := h.entries[h.names[i]].Offsets, h.entries[h.names[j]].Offsets
		return a[0] < b[0] || (a[0] == b[0] && a[1] < b[1])
	})
	var pos int64
	for _, name := range h.names {
		o := h.entries[name].Offsets
		if o[0] != pos {
			kind := "overlap"
			if o[0] > pos {
				kind = "leave a gap"
			}
			return fmt.Errorf("tensor %s: data_offsets [%d, %d] %s (expected begin %d)", name, o[0], o[1], kind, pos)
		}
		pos = o[1]
	}
	if pos != h.dataLen {
		return fmt.Errorf("data section is %d bytes but tensors cover %d (truncated file or trailing data)", h.dataLen, pos)
	}
	return nil
}

// WriteSafetensors writes tensors atomically (names sorted, as the
// reference implementation does), with optional metadata.
func WriteSafetensors(path string, tensors map[string]Raw, meta map[string]string) error {
	return fsutil.WriteFileAtomic(path, func(w *bufio.Writer) error { return EncodeSafetensors(w, tensors, meta) })
}

// EncodeSafetensors writes the safetensors encoding of tensors to w.
func EncodeSafetensors(w io.Writer, tensors map[string]Raw, meta map[string]string) error {
	ts := make([]streamTensor, 0, len(tensors))
	for k, t := range tensors {
		if err := t.check(); err != nil {
			return fmt.Errorf("tensor %s: %w", k, err)
		}
		data := t.Data
		ts = append(ts, streamTensor{name: k, dtype: t.DType, shape: t.Shape, size: int64(len(data)),
			write: func(w io.Writer) error { _, err := w.Write(data); return err }})
	}
	return encodeStream(w, ts, meta)
}

// streamTensor is one tensor of encodeStream: its header entry and a
// function that writes exactly size bytes of data.
type streamTensor struct {
	name  string
	dtype DType
	shape []int
	size  int64
	write func(io.Writer) error
}

// encodeStream writes a safetensors file tensor by tensor (names sorted, as
// the reference implementation does), so that callers need not hold every
// tensor's bytes at once.
func encodeStream(w io.Writer, ts []streamTensor, meta map[string]string) error {
	sort.Slice(ts, func(i, j int) bool { return ts[i].name < ts[j].name })
	hdr := make(map[string]any, len(ts)+1)
	if len(meta) > 0 {
		hdr["__metadata__"] = meta
	}
	var off int64
	for i, t := range ts {
		if t.name == "__metadata__" {
			return errors.New("tensor name __metadata__ is reserved by safetensors")
		}
		if i > 0 && ts[i-1].name == t.name {
			return fmt.Errorf("tensor %s: duplicate name", t.name)
		}
		shape := t.shape
		if shape == nil {
			shape = []int{}
		}
		hdr[t.name] = headerEntry{DType: t.dtype, Shape: shape, Offsets: []int64{off, off + t.size}}
		off += t.size
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
	for _, t := range ts {
		cw := &countingWriter{w: w}
		if err := t.write(cw); err != nil {
			return fmt.Errorf("tensor %s: %w", t.name, err)
		}
		if cw.n != t.size {
			return fmt.Errorf("tensor %s: wrote %d bytes, expected %d", t.name, cw.n, t.size)
		}
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Float64s converts a float or integer tensor to float64 values.
func (r Raw) Float64s() ([]float64, error) {
	if err := r.numeric(); err != nil {
		return nil, err
	}
	out := make([]float64, r.NumElements())
	for i := range out {
		out[i] = r.at(i)
	}
	return out, nil
}

// Float32s converts a float or integer tensor to float32 values (F64 and
// I64 values are rounded to nearest).
func (r Raw) Float32s() ([]float32, error) {
	if err := r.numeric(); err != nil {
		return nil, err
	}
	out := make([]float32, r.NumElements())
	d := r.Data
	switch r.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = F16ToFloat32(binary.LittleEndian.Uint16(d[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = BF16ToFloat32(binary.LittleEndian.Uint16(d[2*i:]))
		}
	default:
		for i := range out {
			out[i] = float32(r.at(i))
		}
	}
	return out, nil
}

// Int64s converts an integer tensor to int64 values.
func (r Raw) Int64s() ([]int64, error) {
	if r.DType != I64 && r.DType != I32 {
		return nil, fmt.Errorf("dtype %s is not an integer type, expected I64 or I32", r.DType)
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	out := make([]int64, r.NumElements())
	for i := range out {
		if r.DType == I64 {
			out[i] = int64(binary.LittleEndian.Uint64(r.Data[8*i:]))
		} else {
			out[i] = int64(int32(binary.LittleEndian.Uint32(r.Data[4*i:])))
		}
	}
	return out, nil
}

// numeric reports an error unless r has a convertible dtype and a
// consistent size.
func (r Raw) numeric() error {
	if !r.DType.IsFloat() && r.DType != I64 && r.DType != I32 {
		return fmt.Errorf("dtype %s has no numeric conversion, expected F32, F16, BF16, F64, I64 or I32", r.DType)
	}
	return r.check()
}

// at returns element i; r must have passed numeric.
func (r Raw) at(i int) float64 {
	d := r.Data
	switch r.DType {
	case F32:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:])))
	case F64:
		return math.Float64frombits(binary.LittleEndian.Uint64(d[8*i:]))
	case F16:
		return float64(F16ToFloat32(binary.LittleEndian.Uint16(d[2*i:])))
	case BF16:
		return float64(BF16ToFloat32(binary.LittleEndian.Uint16(d[2*i:])))
	case I64:
		return float64(int64(binary.LittleEndian.Uint64(d[8*i:])))
	case I32:
		return float64(int32(binary.LittleEndian.Uint32(d[4*i:])))
	}
	return math.NaN()
}

// F16ToFloat32 converts an IEEE half-precision value (exactly).
func F16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		// subnormal: value = mant · 2^-24 (exact in float32)
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// Float32ToF16 converts to IEEE half precision, rounding to nearest even
// (as torch's .half() does); overflow gives ±Inf, NaN stays NaN.
func Float32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13) // quiet NaN
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // half exponent field
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 { // subnormal half (or zero)
		if e < -10 {
			return sign // below half the smallest subnormal: rounds to ±0
		}
		m := mant | 0x800000
		shift := uint(14 - e)
		return sign | uint16(roundShift(m, shift)) // a carry to 0x400 is the smallest normal
	}
	// a carry out of the mantissa bumps the exponent (up to Inf): still correct
	return sign | uint16(roundShift(uint32(e)<<23|mant, 13))
}

// roundShift returns v >> shift rounded to nearest, ties to even.
func roundShift(v uint32, shift uint) uint32 {
	q := v >> shift
	rem := v & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rem > half || (rem == half && q&1 == 1) {
		q++
	}
	return q
}

// BF16ToFloat32 converts a bfloat16 value (exactly).
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32ToBF16 converts to bfloat16, rounding to nearest even (as torch
// does); NaN stays NaN.
func Float32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40 // quiet NaN
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// FromFloat32 builds an F32 raw tensor.
func FromFloat32(shape []int, data []float32) Raw {
	r, _ := EncodeFloat32(F32, shape, data)
	return r
}

// EncodeFloat32 builds a raw tensor of dtype F32, F16, BF16 or F64 from
// float32 values, rounding to nearest even where the dtype is narrower.
func EncodeFloat32(dt DType, shape []int, data []float32) (Raw, error) {
	if !dt.IsFloat() {
		return Raw{}, fmt.Errorf("dtype %s is not a float dtype, expected F32, F16, BF16 or F64", dt)
	}
	b := make([]byte, dt.Size()*len(data))
	putFloat32s(b, dt, data)
	return Raw{DType: dt, Shape: slices.Clone(shape), Data: b}, nil
}

// putFloat32s encodes data as dt (a float dtype) into b.
func putFloat32s(b []byte, dt DType, data []float32) {
	switch dt {
	case F32:
		for i, v := range data {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range data {
			binary.LittleEndian.PutUint16(b[2*i:], Float32ToF16(v))
		}
	case BF16:
		for i, v := range data {
			binary.LittleEndian.PutUint16(b[2*i:], Float32ToBF16(v))
		}
	case F64:
		for i, v := range data {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(float64(v)))
		}
	}
}

// float32Tensor streams float32 values as dtype dt (a float dtype) in
// chunks, for encodeStream.
func float32Tensor(name string, dt DType, shape []int, data []float32) streamTensor {
	return streamTensor{name: name, dtype: dt, shape: shape, size: int64(dt.Size() * len(data)),
		write: func(w io.Writer) error {
			const chunk = 1 << 16
			buf := make([]byte, dt.Size()*min(chunk, len(data)))
			for i := 0; i < len(data); i += chunk {
				part := data[i:min(i+chunk, len(data))]
				putFloat32s(buf, dt, part)
				if _, err := w.Write(buf[:dt.Size()*len(part)]); err != nil {
					return err
				}
			}
			return nil
		}}
}

// FromInt64 builds an I64 raw tensor.
func FromInt64(shape []int, data []int64) Raw {
	b := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return Raw{DType: I64, Shape: slices.Clone(shape), Data: b}
}
