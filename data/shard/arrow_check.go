package shard

import (
	"errors"
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"
)

// Arrow IPC flatbuffer schema (format/Message.fbs, Schema.fbs): vtable slots
// and enum values this checker needs.
const (
	arwMsgHeaderType = 1 // Message.header_type
	arwMsgHeader     = 2 // Message.header
	arwMsgCustomMeta = 4 // Message.custom_metadata

	arwHdrSchema     = 1 // MessageHeader.Schema
	arwHdrDictionary = 2 // MessageHeader.DictionaryBatch
	arwHdrRecord     = 3 // MessageHeader.RecordBatch

	arwSchemaFields     = 1
	arwSchemaCustomMeta = 2
	arwSchemaFeatures   = 3

	arwFieldTypeType   = 2
	arwFieldChildren   = 5
	arwFieldCustomMeta = 6
	arwTypeUnion       = 14 // Type.Union

	arwBatchNodes       = 1
	arwBatchBuffers     = 2
	arwBatchCompression = 3
	arwBatchVariadic    = 4
	arwDictData         = 1 // DictionaryBatch.data

	arwMaxFields = 4096 // fields visited in one schema, nested ones included
	arwMaxDepth  = 32   // nesting of fields
)

// arwCheckMeta checks one IPC message's flatbuffer before arrow-go decodes it:
// every vector that arrow-go sizes an allocation from must fit inside the
// buffer (a corrupt length would otherwise allocate gigabytes), schemas are
// bounded in size and depth and hold no unions, and record batches are not
// compressed (decompression allocates what the data claims). Out-of-range
// offsets panic inside flatbuffers; the caller recovers them.
func arwCheckMeta(meta []byte) error {
	if len(meta) < 8 {
		return errors.New("message metadata too short")
	}
	msg := flatbuffers.Table{Bytes: meta, Pos: flatbuffers.GetUOffsetT(meta)}
	if err := arwCheckVec(&msg, arwMsgCustomMeta, 4); err != nil {
		return err
	}
	var hdr flatbuffers.Table
	o := arwSlot(&msg, arwMsgHeader)
	if o == 0 {
		return errors.New("message has no header")
	}
	msg.Union(&hdr, o)
	switch msg.GetByteSlot(flatbuffers.VOffsetT(4+2*arwMsgHeaderType), 0) {
	case arwHdrSchema:
		n := 0
		return arwCheckSchema(&hdr, &n)
	case arwHdrRecord:
		return arwCheckBatch(&hdr)
	case arwHdrDictionary:
		o := arwSlot(&hdr, arwDictData)
		if o == 0 {
			return errors.New("dictionary batch without data")
		}
		batch := flatbuffers.Table{Bytes: meta, Pos: hdr.Indirect(o + hdr.Pos)}
		return arwCheckBatch(&batch)
	}
	return errors.New("unsupported message type (tensor?)")
}

func arwCheckSchema(s *flatbuffers.Table, n *int) error {
	if err := arwCheckVec(s, arwSchemaCustomMeta, 4); err != nil {
		return err
	}
	if err := arwCheckVec(s, arwSchemaFeatures, 8); err != nil {
		return err
	}
	return arwCheckFields(s, arwSchemaFields, 0, n)
}

// arwCheckFields checks the vector of Field tables at slot of t, recursively.
func arwCheckFields(t *flatbuffers.Table, slot, depth int, n *int) error {
	if depth > arwMaxDepth {
		return fmt.Errorf("fields nested deeper than %d", arwMaxDepth)
	}
	if err := arwCheckVec(t, slot, 4); err != nil {
		return err
	}
	o := arwSlot(t, slot)
	if o == 0 {
		return nil
	}
	start, l := t.Vector(o), t.VectorLen(o)
	for i := 0; i < l; i++ {
		if *n++; *n > arwMaxFields {
			return fmt.Errorf("schema has more than %d fields", arwMaxFields)
		}
		f := flatbuffers.Table{Bytes: t.Bytes, Pos: t.Indirect(start + flatbuffers.UOffsetT(4*i))}
		if f.GetByteSlot(flatbuffers.VOffsetT(4+2*arwFieldTypeType), 0) == arwTypeUnion {
			return errors.New("union columns are not supported")
		}
		if err := arwCheckVec(&f, arwFieldCustomMeta, 4); err != nil {
			return err
		}
		if err := arwCheckFields(&f, arwFieldChildren, depth+1, n); err != nil {
			return err
		}
	}
	return nil
}

func arwCheckBatch(b *flatbuffers.Table) error {
	if arwSlot(b, arwBatchCompression) != 0 {
		return errors.New("compressed record batches are not supported (write the file uncompressed)")
	}
	for _, c := range [][2]int{{arwBatchNodes, 16}, {arwBatchBuffers, 16}, {arwBatchVariadic, 8}} {
		if err := arwCheckVec(b, c[0], c[1]); err != nil {
			return err
		}
	}
	return nil
}

// arwSlot returns the offset of field slot in t's vtable (0 when absent).
func arwSlot(t *flatbuffers.Table, slot int) flatbuffers.UOffsetT {
	return flatbuffers.UOffsetT(t.Offset(flatbuffers.VOffsetT(4 + 2*slot)))
}

// arwCheckVec checks that the vector at slot (elements of elem bytes) lies
// inside the buffer.
func arwCheckVec(t *flatbuffers.Table, slot, elem int) error {
	o := arwSlot(t, slot)
	if o == 0 {
		return nil
	}
	start := int64(t.Vector(o))
	l := int64(t.VectorLen(o))
	if start > int64(len(t.Bytes)) || l*int64(elem) > int64(len(t.Bytes))-start {
		return fmt.Errorf("flatbuffer vector of %d elements overruns the %d-byte metadata", l, len(t.Bytes))
	}
	return nil
}
