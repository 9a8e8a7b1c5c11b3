package shard

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// arwBatchTokens is how many tokens a record batch holds before it is written.
const arwBatchTokens = 1 << 20

// ShardSchema is the schema of every shard: input_ids: list<int32>, the
// schema Hugging Face datasets use for tokenized text.
func Schema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: ColumnName, Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
	}, nil)
}

// ShardWriter writes documents as rows of an Arrow IPC file, computing its
// sha256 on the way. Create one with [CreateShard], Append documents, Close.
type Writer struct {
	path string
	f    *os.File
	bw   *bufio.Writer
	h    hash.Hash
	w    *ipc.FileWriter
	mem  memory.Allocator
	info Info
	offs []int32 // [rows in batch + 1] list offsets of the pending batch
	vals []int32 // [tokens in batch] values of the pending batch
}

// CreateShard creates (truncates) path and returns a writer for it.
func Create(path string) (*Writer, error) {
	return arwCreate(path, memory.DefaultAllocator)
}

func arwCreate(path string, mem memory.Allocator) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	sw := &Writer{path: path, f: f, bw: bufio.NewWriterSize(f, 1<<20), h: sha256.New(), mem: mem,
		offs: []int32{0}, info: Info{File: filepath.Base(path)}}
	sw.w, err = ipc.NewFileWriter(io.MultiWriter(sw.bw, sw.h), ipc.WithSchema(Schema()), ipc.WithAllocator(mem))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("write shard %s: %w", path, err)
	}
	return sw, nil
}

// Append adds one document (a row).
func (sw *Writer) Append(doc []int32) error {
	if int64(len(sw.vals))+int64(len(doc)) > 1<<31-1 {
		return fmt.Errorf("write shard %s: document of %d tokens too long", sw.path, len(doc))
	}
	sw.vals = append(sw.vals, doc...)
	sw.offs = append(sw.offs, int32(len(sw.vals)))
	sw.info.Rows++
	sw.info.Tokens += int64(len(doc))
	if len(sw.vals) >= arwBatchTokens {
		return sw.flush()
	}
	return nil
}

// Tokens is the number of tokens appended so far.
func (sw *Writer) Tokens() int64 { return sw.info.Tokens }

func (sw *Writer) flush() error {
	n := len(sw.offs) - 1
	if n == 0 {
		return nil
	}
	child := array.NewData(arrow.PrimitiveTypes.Int32, len(sw.vals),
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(sw.vals))}, nil, 0, 0)
	ld := array.NewData(arrow.ListOf(arrow.PrimitiveTypes.Int32), n,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(sw.offs))},
		[]arrow.ArrayData{child}, 0, 0)
	arr := array.MakeFromData(ld)
	rec := array.NewRecordBatch(Schema(), []arrow.Array{arr}, int64(n))
	err := sw.w.Write(rec)
	rec.Release()
	arr.Release()
	ld.Release()
	child.Release()
	sw.offs, sw.vals = sw.offs[:1], sw.vals[:0]
	if err != nil {
		return fmt.Errorf("write shard %s: %w", sw.path, err)
	}
	return nil
}

// Close writes the pending rows and the file footer, fsyncs and closes the
// file, and returns its manifest entry (Split left empty).
func (sw *Writer) Close() (Info, error) {
	err := sw.flush()
	if cerr := sw.w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write shard %s: %w", sw.path, cerr)
	}
	if ferr := sw.bw.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("write shard %s: %w", sw.path, ferr)
	}
	if serr := sw.f.Sync(); err == nil && serr != nil {
		err = fmt.Errorf("write shard %s: fsync: %w", sw.path, serr)
	}
	if cerr := sw.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write shard %s: %w", sw.path, cerr)
	}
	if err != nil {
		return Info{}, err
	}
	sw.info.SHA256 = hex.EncodeToString(sw.h.Sum(nil))
	return sw.info, nil
}

// WriteShard writes docs as one shard file at path.
func Write(path string, docs [][]int32) (Info, error) {
	sw, err := Create(path)
	if err != nil {
		return Info{}, err
	}
	for _, d := range docs {
		if err := sw.Append(d); err != nil {
			sw.Close()
			return Info{}, err
		}
	}
	return sw.Close()
}
