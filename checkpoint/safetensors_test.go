package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"maps"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/model"
)

const fixtures = "../testdata/fixtures/"

func TestReadFixture(t *testing.T) {
	ts, _, err := ReadSafetensors(fixtures + "gptneox-a/reference.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := ts["input_ids"].Int64s()
	if err != nil || len(ids) != 80 {
		t.Fatalf("input_ids: %v %d", err, len(ids))
	}
	w, _, err := ReadSafetensors(fixtures + "gptneox-a/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if r := w["gpt_neox.embed_in.weight"]; r.DType != F32 || !reflect.DeepEqual(r.Shape, []int{96, 64}) {
		t.Fatalf("embed_in: %v %v", r.DType, r.Shape)
	}
}

// TestEncodeDecode round-trips every dtype, scalars and empty tensors.
func TestEncodeDecode(t *testing.T) {
	in := map[string]Raw{
		"f32":    FromFloat32([]int{2, 3}, []float32{1, -2, 3.5, 0, float32(math.Inf(1)), -0.25}),
		"f64":    {DType: F64, Shape: []int{1}, Data: binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.Pi))},
		"i64":    FromInt64([]int{3}, []int64{-1, 0, 1 << 40}),
		"scalar": FromFloat32(nil, []float32{7}),
		"empty":  FromFloat32([]int{0, 5}, nil),
		"mask":   {DType: Bool, Shape: []int{2, 2}, Data: []byte{1, 0, 1, 1}},
	}
	for _, dt := range []DType{F16, BF16} {
		r, err := EncodeFloat32(dt, []int{4}, []float32{1, -2, 0.5, 65504})
		if err != nil {
			t.Fatal(err)
		}
		in[string(dt)] = r
	}
	var buf bytes.Buffer
	if err := EncodeSafetensors(&buf, in, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if hl := binary.LittleEndian.Uint64(buf.Bytes()); (8+hl)%8 != 0 {
		t.Errorf("data section not 8-byte aligned: header %d", hl)
	}
	out, meta, err := DecodeSafetensors(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "pt" || len(out) != len(in) {
		t.Fatalf("meta %v, %d tensors", meta, len(out))
	}
	for k, r := range in {
		o := out[k]
		if o.DType != r.DType || o.NumElements() != r.NumElements() || !bytes.Equal(o.Data, r.Data) {
			t.Errorf("%s: got %v %v, want %v %v", k, o.DType, o.Shape, r.DType, r.Shape)
		}
	}
	if f, _ := out["F16"].Float32s(); !reflect.DeepEqual(f, []float32{1, -2, 0.5, 65504}) {
		t.Errorf("F16 values %v", f)
	}
	if f, _ := out["BF16"].Float32s(); !reflect.DeepEqual(f, []float32{1, -2, 0.5, 65536}) {
		t.Errorf("BF16 values %v", f)
	}
	if _, err := out["mask"].Float32s(); err == nil {
		t.Error("BOOL converted to float without error")
	}
}

// craft builds a safetensors file from a literal header and data.
func craft(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestDecodeBad(t *testing.T) {
	f32 := `"dtype":"F32","shape":[2]`
	huge := binary.LittleEndian.AppendUint64(nil, 1<<40)
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "at least the 8-byte header"},
		{"header beyond file", append(huge, "{}"...), "exceeds the file"},
		{"not json", craft("[1,2]", nil), "not a JSON object"},
		{"trailing", craft(`{}{}`, nil), "unexpected bytes"},
		{"duplicate", craft(`{"a":{`+f32+`,"data_offsets":[0,8]},"a":{`+f32+`,"data_offsets":[0,8]}}`, make([]byte, 8)), "duplicate tensor name"},
		{"overlap", craft(`{"a":{`+f32+`,"data_offsets":[0,8]},"b":{`+f32+`,"data_offsets":[4,12]}}`, make([]byte, 16)), "overlap"},
		{"gap", craft(`{"a":{`+f32+`,"data_offsets":[8,16]}}`, make([]byte, 16)), "gap"},
		{"out of range", craft(`{"a":{`+f32+`,"data_offsets":[0,8]},"b":{`+f32+`,"data_offsets":[8,16]}}`, make([]byte, 12)), "out of range"},
		{"negative offset", craft(`{"a":{`+f32+`,"data_offsets":[-8,0]}}`, nil), "out of range"},
		{"size mismatch", craft(`{"a":{`+f32+`,"data_offsets":[0,4]}}`, make([]byte, 4)), "expected 2 values"},
		{"huge shape", craft(`{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}`, make([]byte, 8)), "overflowing"},
		{"big shape", craft(`{"a":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,8]}}`, make([]byte, 8)), "expected 1099511627776 values"},
		{"negative dim", craft(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}`, nil), "negative or overflowing"},
		{"three offsets", craft(`{"a":{`+f32+`,"data_offsets":[0,8,9]}}`, make([]byte, 8)), "expected [begin, end]"},
		{"unknown dtype", craft(`{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)), "not supported"},
		{"trailing data", craft(`{"a":{`+f32+`,"data_offsets":[0,8]}}`, make([]byte, 12)), "trailing data"},
		{"bad metadata", craft(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := DecodeSafetensors(bytes.NewReader(c.file), int64(len(c.file)))
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line containing %q", err, c.want)
			}
		})
	}
}

func TestFloat16Conversion(t *testing.T) {
	// Every finite half value survives half -> float32 -> half.
	for h := 0; h < 1<<16; h++ {
		f := F16ToFloat32(uint16(h))
		if f != f {
			if g := Float32ToF16(f); F16ToFloat32(g) == F16ToFloat32(g) {
				t.Fatalf("NaN %#04x became %#04x", h, g)
			}
			continue
		}
		if g := Float32ToF16(f); g != uint16(h) {
			t.Fatalf("half %#04x -> %v -> %#04x", h, f, g)
		}
	}
	p := func(e int) float32 { return float32(math.Ldexp(1, e)) }
	cases := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65519.996, 0x7bff}, {65520, 0x7c00}, {1e10, 0x7c00},
		{1 + p(-11), 0x3c00},   // tie -> even
		{1 + 3*p(-11), 0x3c02}, // tie -> even (up)
		{1 + p(-11) + p(-20), 0x3c01},
		{p(-24), 0x0001}, {p(-25), 0x0000}, {1.5 * p(-25), 0x0001}, {3 * p(-25), 0x0002},
		{p(-14) - p(-25), 0x0400}, // rounds up into the smallest normal
		{p(-30), 0}, {float32(math.Copysign(0, -1)), 0x8000},
		{float32(math.Inf(-1)), 0xfc00},
	}
	for _, c := range cases {
		if got := Float32ToF16(c.in); got != c.want {
			t.Errorf("Float32ToF16(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
}

func TestBFloat16Conversion(t *testing.T) {
	p := func(e int) float32 { return float32(math.Ldexp(1, e)) }
	cases := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3f80}, {-2, 0xc000}, {1 + p(-8), 0x3f80}, {1 + 3*p(-8), 0x3f82}, {1 + p(-8) + p(-20), 0x3f81},
		{math.MaxFloat32, 0x7f80}, {float32(math.Inf(1)), 0x7f80}, {p(-133), 0x0001},
	}
	for _, c := range cases {
		if got := Float32ToBF16(c.in); got != c.want {
			t.Errorf("Float32ToBF16(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if g := Float32ToBF16(float32(math.NaN())); BF16ToFloat32(g) == BF16ToFloat32(g) {
		t.Errorf("NaN -> %#04x", g)
	}
	for h := 0; h < 1<<16; h++ {
		if f := BF16ToFloat32(uint16(h)); f == f && Float32ToBF16(f) != uint16(h) {
			t.Fatalf("bf16 %#04x does not round-trip", h)
		}
	}
}

// FuzzSafetensors decodes arbitrary bytes: no panic, allocation bounded by
// the input, and whatever decodes re-encodes to an equal set of tensors.
func FuzzSafetensors(f *testing.F) {
	// Seeds: small valid files made of a few real fixture tensors (whole
	// fixture files are too large for the mutator to explore quickly).
	for _, p := range []string{"gptneox-a/model.safetensors", "gptneox-b/reference.safetensors"} {
		raw, _, err := ReadSafetensors(fixtures + p)
		if err != nil {
			f.Fatal(err)
		}
		small := map[string]Raw{}
		for _, k := range slices.Sorted(maps.Keys(raw)) {
			if r := raw[k]; len(r.Data) <= 256 && len(small) < 4 {
				small[k] = r
			}
		}
		var buf bytes.Buffer
		if err := EncodeSafetensors(&buf, small, map[string]string{"format": "pt"}); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add(craft(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"__metadata__":{"k":"v"}}`, make([]byte, 4)))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, meta, err := DecodeSafetensors(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		total := 0
		for _, r := range out {
			total += len(r.Data)
			r.Float32s() // must not panic, whatever the dtype
		}
		if total > len(b) {
			t.Fatalf("decoded %d data bytes from a %d-byte file", total, len(b))
		}
		var buf bytes.Buffer
		if err := EncodeSafetensors(&buf, out, meta); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, _, err := DecodeSafetensors(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil || len(back) != len(out) {
			t.Fatalf("re-decode: %v", err)
		}
		for k, r := range out {
			if !bytes.Equal(back[k].Data, r.Data) || back[k].DType != r.DType {
				t.Fatalf("tensor %s changed in a round trip", k)
			}
		}
	})
}

// FuzzConfig parses arbitrary config.json bytes: no panic, and a config
// that parses survives HFJSON -> ParseConfig unchanged.
func FuzzConfig(f *testing.F) {
	for _, p := range []string{"gptneox-a/config.json", "gptneox-a/config.classic.json", "gptneox-b/config.json"} {
		if b, err := os.ReadFile(fixtures + p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"model_type":"gpt_neox","vocab_size":8,"hidden_size":4,"num_hidden_layers":1,"num_attention_heads":1,"intermediate_size":4,"rotary_pct":0.5,"sinktrain":{"sink_tokens":["<|sink_0|>"],"sink_ids":[7],"attention":"softmax1"}}`))
	for _, j := range []string{
		`{"model_type":"llama","vocab_size":8,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1,"intermediate_size":4,"rope_scaling":{"rope_type":"llama3","factor":4,"low_freq_factor":1,"high_freq_factor":2,"original_max_position_embeddings":8},"eos_token_id":[1,2]}`,
		`{"model_type":"qwen2","vocab_size":8,"hidden_size":8,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":4,"use_sliding_window":true,"sliding_window":3,"max_window_layers":1}`,
		`{"model_type":"falcon","vocab_size":8,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"new_decoder_architecture":true,"num_kv_heads":1,"num_ln_in_parallel_attn":1}`,
		`{"model_type":"mpt","vocab_size":8,"d_model":8,"n_layers":1,"n_heads":2,"attn_config":{"clip_qkv":1,"qk_ln":true}}`,
	} {
		f.Add([]byte(j))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, _, err := model.ParseConfig(b)
		if err != nil {
			return
		}
		j, err := json.Marshal(c.HFJSON(nil))
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		c2, _, err := model.ParseConfig(j)
		if err != nil {
			t.Fatalf("re-parse %s: %v", j, err)
		}
		if !reflect.DeepEqual(normalize(c), normalize(c2)) {
			t.Fatalf("config changed in a round trip:\n%+v\n%+v", c, c2)
		}
	})
}

// normalize maps empty sink lists to nil for comparison.
func normalize(c model.Config) model.Config {
	if len(c.SinkIDs) == 0 {
		c.SinkIDs, c.SinkTokens = nil, nil
	}
	return c
}
