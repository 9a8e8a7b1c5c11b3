package serve

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

const fixtureTokenizer = "../testdata/fixtures/tokenizer/tokenizer.json"

// writeTinyModel writes a random-initialised tiny GPT-NeoX (d=32, 2 layers,
// 2 heads, over the 512-token fixture tokenizer whose ids 1..4 are
// <|sink_0|>…<|sink_3|>) with k sinks into a new folder. A non-empty
// template goes into tokenizer_config.json as chat_template.
func writeTinyModel(t testing.TB, k int, seed uint64, template string) string {
	t.Helper()
	dir := t.TempDir()
	overwriteModel(t, dir, tinyConfig(k), seed)
	tok, err := os.ReadFile(fixtureTokenizer)
	mustT(t, err)
	mustT(t, os.WriteFile(filepath.Join(dir, "tokenizer.json"), tok, 0o644))
	if template != "" {
		tc, err := json.Marshal(map[string]any{"chat_template": template, "bos_token": "<|sink_0|>", "eos_token": "<|endoftext|>"})
		mustT(t, err)
		mustT(t, os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), tc, 0o644))
	}
	return dir
}

// tinyConfig is writeTinyModel's model: GPT-NeoX, V = 512, D = 32, two
// layers, k sinks (ids 1…k), end of text 0.
func tinyConfig(k int) model.Config {
	cfg := model.Config{
		VocabSize: 512, HiddenSize: 32, NumLayers: 2, NumHeads: 2, IntermediateSize: 64,
		RotaryPct: 0.25, RotaryBase: 10000, MaxPositionEmbeddings: 256, LayerNormEps: 1e-5,
		ParallelResidual: true, HiddenAct: "gelu", EOSTokenID: 0, Attention: sinktoken.Softmax,
	}
	for i := range k {
		cfg.SinkTokens = append(cfg.SinkTokens, sinktoken.TokenName(i))
		cfg.SinkIDs = append(cfg.SinkIDs, 1+i)
	}
	return cfg
}

func mustT(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// overwriteModel writes config.json and random weights of cfg into dir.
func overwriteModel(t testing.TB, dir string, cfg model.Config, seed uint64) {
	t.Helper()
	overwriteModelEOS(t, dir, cfg, seed, 0)
}

// overwriteModelEOS is overwriteModel, except for eos > 0: the final layer
// norm then outputs the vector of ones whatever its input, and the
// end-of-text token's output embedding is eos everywhere, so its logit is
// D·eos and the others' near 0 (eos = 1: a model that ends every reply at
// once).
func overwriteModelEOS(t testing.TB, dir string, cfg model.Config, seed uint64, eos float32) {
	t.Helper()
	raw := map[string]checkpoint.Raw{}
	for name, w := range model.Init(cfg, seed) {
		if strings.HasSuffix(name, model.QKVW) {
			for i := range w.Data {
				w.Data[i] *= 6 // attention far from uniform
			}
		}
		if eos > 0 {
			switch name {
			case model.FinalNormW:
				clear(w.Data)
			case model.FinalNormB:
				for i := range w.Data {
					w.Data[i] = 1
				}
			case model.EmbedOut:
				d := w.Shape[1]
				for i := range d {
					w.Data[cfg.EOSTokenID*d+i] = eos
				}
			}
		}
		raw[name] = checkpoint.FromFloat32(w.Shape, w.Data)
	}
	mustT(t, checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), raw, map[string]string{"format": "pt"}))
	b, err := json.Marshal(cfg.HFJSON(nil))
	mustT(t, err)
	mustT(t, os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644))
}

// testServer starts a Server on an httptest server; both stop at the end of
// the test (Close writes the sessions).
func testServer(t testing.TB, o Options) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(o)
	mustT(t, err)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, ts
}

// post sends a JSON body and returns the response (body read) .
func post(t testing.TB, url string, body any, header ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		mustT(t, err)
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(http.MethodPost, url, rd)
	mustT(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	mustT(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	mustT(t, err)
	return resp, out
}

// chatOnce sends a non-streamed chat request and decodes the answer.
func chatOnce(t testing.TB, url string, req map[string]any, header ...string) (ChatResponse, *http.Response) {
	t.Helper()
	resp, body := post(t, url+"/v1/chat/completions", req, header...)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var r ChatResponse
	mustT(t, json.Unmarshal(body, &r))
	return r, resp
}

// sseEvents splits an SSE body into its data payloads.
func sseEvents(t testing.TB, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		d, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("SSE line %q does not start with \"data: \"", line)
		}
		out = append(out, d)
	}
	return out
}

func msgs(kv ...string) []map[string]string {
	var out []map[string]string
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, map[string]string{"role": kv[i], "content": kv[i+1]})
	}
	return out
}

// userTurns are the 20 user turns of the equality tests (also
// testdata/client/turns.txt, read by the Node client).
func userTurns(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "client", "turns.txt"))
	mustT(t, err)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) != 20 {
		t.Fatalf("turns.txt has %d lines, want 20", len(lines))
	}
	return lines
}
