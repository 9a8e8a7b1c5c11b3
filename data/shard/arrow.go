package shard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ColumnName is the Arrow column that holds the token ids of each document.
const ColumnName = "input_ids"

// arwFileMagic starts (and ends) an Arrow IPC file; a stream has no magic.
var arwFileMagic = []byte("ARROW1")

// arwMaxMeta bounds one IPC message's flatbuffer metadata (the schema of a
// one-column table is a few hundred bytes).
const arwMaxMeta = 16 << 20

// arwShard is one parsed shard: the input_ids values of every record batch,
// viewed in place (zero-copy) in the bytes it was parsed from, except for
// compressed or int64 columns, which are copied into Go memory.
type Shard struct {
	rows int       // documents
	segs [][]int32 // per record batch: the packed token ids of its rows
	n    int       // total tokens
}

// arwParse parses an Arrow IPC file or stream held in data (usually a
// read-only memory mapping). The returned views alias data, which must
// outlive them. name only labels errors. Corrupt input gives an error, never a
// panic; mem is the allocator arrow-go uses for its bookkeeping.
func Parse(data []byte, name string, mem memory.Allocator) (sh *Shard, err error) {
	defer func() {
		if r := recover(); r != nil {
			sh, err = nil, fmt.Errorf("shard %s: corrupt Arrow data (%v)", name, r)
		}
	}()
	sh = &Shard{}
	if len(data) >= 8 && bytes.HasPrefix(data, arwFileMagic) {
		err = arwParseFile(sh, data, mem)
	} else {
		err = arwParseStream(sh, data, 0, mem)
	}
	if err != nil {
		return nil, fmt.Errorf("shard %s: %w", name, err)
	}
	return sh, nil
}

// arwParseFile parses the IPC file format: magic, the stream format, footer,
// footer length, magic. The footer only repeats the positions of the stream's
// messages, so the stream part (up to the footer) is read directly: one
// validated path for both formats.
func arwParseFile(sh *Shard, data []byte, mem memory.Allocator) error {
	if len(data) < 18 || !bytes.HasSuffix(data, arwFileMagic) {
		return errors.New("truncated Arrow IPC file (no closing ARROW1 magic)")
	}
	footer := int64(int32(binary.LittleEndian.Uint32(data[len(data)-10:])))
	end := int64(len(data)) - 10 - footer
	if footer <= 0 || end < 8 {
		return fmt.Errorf("invalid Arrow IPC file footer length %d", footer)
	}
	return arwParseStream(sh, data[:end], 8, mem)
}

func arwParseStream(sh *Shard, data []byte, pos int, mem memory.Allocator) error {
	mr := &arwMsgReader{data: data, pos: pos}
	mr.refs.Store(1)
	r, err := ipc.NewReaderFromMessageReader(mr, ipc.WithAllocator(mem))
	if err != nil {
		mr.Release()
		return err
	}
	defer r.Release()
	col, err := arwColumn(r.Schema())
	if err != nil {
		return err
	}
	for i := 0; r.Next(); i++ {
		if err := sh.add(r.RecordBatch(), col, data); err != nil {
			return fmt.Errorf("record batch %d: %w", i, err)
		}
	}
	return r.Err()
}

// arwColumn finds input_ids: list<int32> (or list<int64>) in the schema.
func arwColumn(s *arrow.Schema) (int, error) {
	if s == nil {
		return 0, errors.New("no schema")
	}
	idx := s.FieldIndices(ColumnName)
	if len(idx) == 0 {
		return 0, fmt.Errorf("no %q column (have %v)", ColumnName, s)
	}
	f := s.Field(idx[0])
	lt, ok := f.Type.(*arrow.ListType)
	if !ok {
		return 0, fmt.Errorf("column %q is %s, want list<int32>", ColumnName, f.Type)
	}
	switch lt.Elem().ID() {
	case arrow.INT32, arrow.INT64:
		return idx[0], nil
	}
	return 0, fmt.Errorf("column %q is %s, want list<int32>", ColumnName, f.Type)
}

// add appends one record batch's tokens, validating offsets and buffer sizes
// by hand so that corrupt files fail cleanly.
func (sh *Shard) add(rec arrow.RecordBatch, col int, mapped []byte) error {
	ld := rec.Column(col).Data()
	n, off := ld.Len(), ld.Offset()
	if len(ld.Buffers()) < 2 || len(ld.Children()) != 1 {
		return errors.New("malformed list column")
	}
	offs, err := arwInt32s(ld.Buffers()[1], off+n+1)
	if err != nil {
		return fmt.Errorf("list offsets: %w", err)
	}
	offs = offs[off : off+n+1]
	for i := 1; i < len(offs); i++ {
		if offs[i] < offs[i-1] {
			return fmt.Errorf("list offsets decrease at row %d", i)
		}
	}
	child := ld.Children()[0]
	cn, coff := child.Len(), child.Offset()
	lo, hi := int(offs[0]), int(offs[n])
	if lo < 0 || hi > cn || len(child.Buffers()) < 2 {
		return fmt.Errorf("list offsets [%d, %d] outside %d values", lo, hi, cn)
	}
	var seg []int32
	switch child.DataType().ID() {
	case arrow.INT32:
		vals, err := arwInt32s(child.Buffers()[1], coff+cn)
		if err != nil {
			return fmt.Errorf("values: %w", err)
		}
		seg = vals[coff+lo : coff+hi]
		if !arwWithin(seg, mapped) { // decompressed: not in the mapping, copy
			seg = append([]int32(nil), seg...)
		}
	case arrow.INT64:
		b := child.Buffers()[1]
		if b == nil || b.Len() < (coff+cn)*8 {
			return errors.New("values buffer too short")
		}
		raw := b.Bytes()[(coff+lo)*8 : (coff+hi)*8]
		seg = make([]int32, hi-lo)
		for i := range seg {
			v := int64(binary.LittleEndian.Uint64(raw[8*i:]))
			if v < 0 || v > 1<<31-1 {
				return fmt.Errorf("token id %d does not fit int32", v)
			}
			seg[i] = int32(v)
		}
	default:
		return fmt.Errorf("unsupported value type %s", child.DataType())
	}
	sh.rows += n
	if len(seg) > 0 {
		sh.segs = append(sh.segs, seg)
		sh.n += len(seg)
	}
	return nil
}

// arwInt32s views a buffer as at least n little-endian int32s, in place.
func arwInt32s(b *memory.Buffer, n int) ([]int32, error) {
	if n < 0 || b == nil || b.Len() < 4*n {
		return nil, fmt.Errorf("buffer holds fewer than %d int32 values", n)
	}
	if n == 0 {
		return nil, nil
	}
	raw := b.Bytes()
	if uintptr(unsafe.Pointer(&raw[0]))%4 != 0 {
		return nil, errors.New("buffer not 4-byte aligned")
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&raw[0])), n), nil
}

// arwWithin reports whether seg lies inside the byte slice mapped.
func arwWithin(seg []int32, mapped []byte) bool {
	if len(seg) == 0 || len(mapped) == 0 {
		return true
	}
	p := uintptr(unsafe.Pointer(&seg[0]))
	m := uintptr(unsafe.Pointer(&mapped[0]))
	return p >= m && p+uintptr(4*len(seg)) <= m+uintptr(len(mapped))
}

// arwMsgReader is an ipc.MessageReader over bytes in memory that slices
// message metadata and bodies out of them instead of copying (arrow-go's own
// stream reader copies every body into allocator memory).
type arwMsgReader struct {
	data []byte
	pos  int
	refs atomic.Int64
	msg  *ipc.Message
}

const arwContinuation = 0xFFFFFFFF

func (r *arwMsgReader) Retain() { r.refs.Add(1) }

func (r *arwMsgReader) Release() {
	if r.refs.Add(-1) == 0 && r.msg != nil {
		r.msg.Release()
		r.msg = nil
	}
}

// Message returns the next message; io.EOF at the end-of-stream marker or the
// end of the data.
func (r *arwMsgReader) Message() (msg *ipc.Message, err error) {
	defer func() {
		if p := recover(); p != nil {
			msg, err = nil, fmt.Errorf("invalid message metadata at byte %d (%v)", r.pos, p)
		}
	}()
	if r.msg != nil {
		r.msg.Release()
		r.msg = nil
	}
	u32 := func() (uint32, error) {
		if len(r.data)-r.pos < 4 {
			return 0, fmt.Errorf("truncated message header at byte %d", r.pos)
		}
		v := binary.LittleEndian.Uint32(r.data[r.pos:])
		r.pos += 4
		return v, nil
	}
	if r.pos == len(r.data) {
		return nil, io.EOF
	}
	cid, err := u32()
	if err != nil {
		return nil, err
	}
	metaLen := int64(cid)
	switch cid {
	case 0:
		return nil, io.EOF
	case arwContinuation:
		l, err := u32()
		if err != nil {
			return nil, err
		}
		if l == 0 {
			return nil, io.EOF
		}
		metaLen = int64(int32(l))
	}
	if metaLen < 4 || metaLen > arwMaxMeta || metaLen > int64(len(r.data)-r.pos) {
		return nil, fmt.Errorf("invalid message metadata length %d at byte %d", metaLen, r.pos)
	}
	if err := arwCheckMeta(r.data[r.pos : r.pos+int(metaLen)]); err != nil {
		return nil, fmt.Errorf("message at byte %d: %w", r.pos, err)
	}
	meta := memory.NewBufferBytes(r.data[r.pos : r.pos+int(metaLen)])
	r.pos += int(metaLen)
	probe := ipc.NewMessage(meta, memory.NewBufferBytes(nil))
	bodyLen := probe.BodyLen()
	probe.Release()
	if bodyLen < 0 || bodyLen > int64(len(r.data)-r.pos) {
		return nil, fmt.Errorf("message body length %d overruns the data at byte %d (truncated?)", bodyLen, r.pos)
	}
	body := memory.NewBufferBytes(r.data[r.pos : r.pos+int(bodyLen)])
	r.pos += int(bodyLen)
	r.msg = ipc.NewMessage(meta, body)
	return r.msg, nil
}

// Rows is the number of documents in the shard.
func (sh *Shard) Rows() int { return sh.rows }

// Tokens is the number of tokens in the shard.
func (sh *Shard) Tokens() int { return sh.n }

// Segments are the packed token ids of each record batch, in order; they
// alias the bytes the shard was parsed from.
func (sh *Shard) Segments() [][]int32 { return sh.segs }
