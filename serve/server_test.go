package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func tinyOptions(t testing.TB, dirs ...string) Options {
	o := Options{Cache: "1+31", MaxTokens: 64, DefaultMaxTokens: 8, Parallel: 2}
	for i, d := range dirs {
		o.Models = append(o.Models, ModelDir{Name: fmt.Sprintf("tiny%d", i), Dir: d})
	}
	return o
}

// TestChatNonStreamed: an answer, its usage with the cache and timings
// extensions, and the X-Session-Id header; the next request that extends the conversation
// reads only its new tokens (cached_tokens = what the session had seen).
func TestChatNonStreamed(t *testing.T) {
	_, ts := testServer(t, tinyOptions(t, writeTinyModel(t, 1, 3, "")))
	req := map[string]any{"model": "tiny0", "messages": msgs("user", "Hello there"), "max_tokens": 6, "seed": 7, "temperature": 0.8}
	r1, resp := chatOnce(t, ts.URL, req)
	if r1.Object != "chat.completion" || len(r1.Choices) != 1 || r1.Choices[0].Message.Role != "assistant" || *r1.Choices[0].FinishReason == "" {
		t.Fatalf("response %+v", r1)
	}
	u := r1.Usage
	// [sink] + "USER: Hello there\n\nASSISTANT: "
	if u.PromptTokens < 5 || u.PromptTokensDetails.CachedTokens != 0 || u.CompletionTokens < 1 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Errorf("usage %+v", u)
	}
	if tm := u.Timings; tm == nil || tm.PromptN != u.PromptTokens || tm.PredictedN != u.CompletionTokens || !(tm.PromptMS > 0) ||
		(tm.PredictedN > 1 && !(tm.PredictedMS > 0 && tm.PredictedPerTokenMS == tm.PredictedMS/float64(tm.PredictedN-1))) {
		t.Errorf("timings %+v for usage %+v", u.Timings, u)
	}
	c := u.Cache
	if c.Session == "" || resp.Header.Get("X-Session-Id") != c.Session || c.Spec != "1+31" || c.Sinks != 1 || c.Turns != 1 || c.WindowSize != 31 {
		t.Errorf("cache usage %+v, header %q", c, resp.Header.Get("X-Session-Id"))
	}
	seen := c.Seen
	reply := string(r1.Choices[0].Message.Content)
	req["messages"] = msgs("user", "Hello there", "assistant", reply, "user", "And then?")
	r2, resp2 := chatOnce(t, ts.URL, req)
	if got := r2.Usage.PromptTokensDetails.CachedTokens; got != seen {
		t.Errorf("second turn: cached_tokens %d, want %d (the session's tokens)", got, seen)
	}
	if r2.Usage.Cache.Session != c.Session || resp2.Header.Get("X-Session-Id") != c.Session || r2.Usage.Cache.Turns != 2 {
		t.Errorf("second turn went to session %s (turns %d), want %s", r2.Usage.Cache.Session, r2.Usage.Cache.Turns, c.Session)
	}
	// A conversation that does not extend any session starts a new one
	// and reads it all.
	req["messages"] = msgs("user", "Hello there", "assistant", reply+" (edited)", "user", "And then?")
	r3, _ := chatOnce(t, ts.URL, req)
	if r3.Usage.Cache.Session == c.Session || r3.Usage.PromptTokensDetails.CachedTokens != 0 {
		t.Errorf("edited history reused session %s (cached %d)", r3.Usage.Cache.Session, r3.Usage.PromptTokensDetails.CachedTokens)
	}
	if p2, p3 := r2.Usage.PromptTokens, r3.Usage.PromptTokens; p2 >= p3-seen+8 {
		t.Errorf("second turn read %d prompt tokens, the whole conversation is %d: want only the new turn", p2, p3)
	}
}

// TestChatStreamFormat: the SSE stream is OpenAI's: a role chunk with empty
// content, content chunks, a finish chunk with an empty delta, the usage
// chunk with empty choices (include_usage), then [DONE]; every chunk has
// object chat.completion.chunk, one id, and usage null except the last.
func TestChatStreamFormat(t *testing.T) {
	_, ts := testServer(t, tinyOptions(t, writeTinyModel(t, 1, 3, "")))
	req := map[string]any{"model": "tiny0", "messages": msgs("user", "Hi"), "max_tokens": 5, "seed": 1, "stream": true, "stream_options": map[string]bool{"include_usage": true}}
	resp, body := post(t, ts.URL+"/v1/chat/completions", req)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ev := sseEvents(t, body)
	if n := len(ev); n < 4 || ev[n-1] != "[DONE]" {
		t.Fatalf("events %q", ev)
	}
	var chunks []map[string]any
	for _, e := range ev[:len(ev)-1] {
		var c map[string]any
		mustT(t, json.Unmarshal([]byte(e), &c))
		chunks = append(chunks, c)
	}
	id := chunks[0]["id"]
	var text strings.Builder
	for i, c := range chunks {
		if c["object"] != "chat.completion.chunk" || c["id"] != id || c["model"] != "tiny0" {
			t.Errorf("chunk %d: %v", i, c)
		}
		if _, ok := c["usage"]; !ok {
			t.Errorf("chunk %d has no usage key (null expected)", i)
		}
		last := i == len(chunks)-1
		if (c["usage"] != nil) != last {
			t.Errorf("chunk %d: usage %v", i, c["usage"])
		}
		choices := c["choices"].([]any)
		if last {
			if len(choices) != 0 {
				t.Errorf("usage chunk has choices %v", choices)
			}
			continue
		}
		ch := choices[0].(map[string]any)
		delta := ch["delta"].(map[string]any)
		switch {
		case i == 0:
			if delta["role"] != "assistant" || delta["content"] != "" || ch["finish_reason"] != nil {
				t.Errorf("first chunk %v", ch)
			}
		case i == len(chunks)-2:
			if len(delta) != 0 || ch["finish_reason"] == nil {
				t.Errorf("finish chunk %v", ch)
			}
		default:
			if ch["finish_reason"] != nil {
				t.Errorf("chunk %d: finish_reason %v", i, ch["finish_reason"])
			}
			text.WriteString(delta["content"].(string))
		}
	}
	// The same request without streaming gives the same text.
	delete(req, "stream")
	delete(req, "stream_options")
	r, _ := chatOnce(t, ts.URL, req)
	if got := string(r.Choices[0].Message.Content); got != text.String() {
		t.Errorf("streamed %q, non-streamed %q", text.String(), got)
	}
	u := chunks[len(chunks)-1]["usage"].(map[string]any)
	if u["completion_tokens"].(float64) != float64(r.Usage.CompletionTokens) || u["cache"] == nil {
		t.Errorf("stream usage %v, non-streamed %+v", u, r.Usage)
	}
}

// TestCompletions: a text completion, streamed and not, and a pinned one
// that keeps appending to its session.
func TestCompletions(t *testing.T) {
	_, ts := testServer(t, tinyOptions(t, writeTinyModel(t, 1, 3, "")))
	req := map[string]any{"model": "tiny0", "prompt": "Alice was", "max_tokens": 4, "seed": 2}
	resp, body := post(t, ts.URL+"/v1/completions", req)
	var r CompletionResponse
	mustT(t, json.Unmarshal(body, &r))
	if resp.StatusCode != 200 || r.Object != "text_completion" || len(r.Choices) != 1 || r.Usage.CompletionTokens < 1 || r.Usage.Cache.Session != "" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	req["stream"] = true
	_, body = post(t, ts.URL+"/v1/completions", req)
	ev := sseEvents(t, body)
	var text string
	for _, e := range ev[:len(ev)-1] {
		var c CompletionResponse
		mustT(t, json.Unmarshal([]byte(e), &c))
		if c.Object != "text_completion" {
			t.Errorf("chunk object %q", c.Object)
		}
		text += c.Choices[0].Text
	}
	if ev[len(ev)-1] != "[DONE]" || text != r.Choices[0].Text {
		t.Errorf("streamed %q (last event %q), non-streamed %q", text, ev[len(ev)-1], r.Choices[0].Text)
	}
	delete(req, "stream")
	var seen int
	for i := range 3 {
		_, body := post(t, ts.URL+"/v1/completions", req, "X-Session-Id", "book-1")
		var r CompletionResponse
		mustT(t, json.Unmarshal(body, &r))
		if r.Usage.Cache.Session != "book-1" || r.Usage.PromptTokensDetails.CachedTokens != seen {
			t.Errorf("pinned completion %d: %s", i, body)
		}
		seen = r.Usage.Cache.Seen
	}
}

// TestModelsHealthMetrics: GET /v1/models lists the models with their
// cache; /healthz answers; /metrics has the session and token counters.
func TestModelsHealthMetrics(t *testing.T) {
	_, ts := testServer(t, tinyOptions(t, writeTinyModel(t, 1, 3, ""), writeTinyModel(t, 0, 4, qwen2Template)))
	get := func(path string) string {
		resp, err := http.Get(ts.URL + path)
		mustT(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	var list ModelList
	mustT(t, json.Unmarshal([]byte(get("/v1/models")), &list))
	if list.Object != "list" || len(list.Data) != 2 || list.Data[0].ID != "tiny0" || list.Data[1].Template != "chat_template" || list.Data[0].Cache != "1+31" {
		t.Errorf("models %+v", list)
	}
	if get("/healthz") != "ok\n" {
		t.Error("healthz")
	}
	chatOnce(t, ts.URL, map[string]any{"model": "tiny1", "messages": msgs("user", "Hi"), "max_tokens": 3, "seed": 1})
	m := get("/metrics")
	for _, want := range []string{`sinktrain_sessions{state="memory"} 1`, `sinktrain_sessions{state="disk"} 0`, "sinktrain_completion_tokens_total ",
		`sinktrain_requests_total{route="chat",code="200"} 1`, `sinktrain_request_duration_seconds_count{route="chat"} 1`,
		`sinktrain_cache_tokens{part="sinks"} 1`, `sinktrain_cache_tokens{part="window"} 31`, "sinktrain_cache_evicted_tokens_total ", "# TYPE sinktrain_request_duration_seconds histogram"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
	if !strings.Contains(get("/"), "<title>sinktrain chat</title>") {
		t.Error("the chat page is not served at /")
	}
}

// TestBadInput: every bad request gets OpenAI's error body with the right
// status, and the server keeps serving.
func TestBadInput(t *testing.T) {
	_, ts := testServer(t, Options{Models: []ModelDir{{Name: "tiny", Dir: writeTinyModel(t, 1, 3, "")}}, Cache: "1+31", MaxTokens: 16, MaxBodyBytes: 4096})
	ok := `{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":2}`
	tests := []struct {
		name, path, body string
		header           []string
		status           int
		code, param      string
		msg              string
	}{
		{"malformed JSON", "chat/completions", `{"model":"tiny","messages":[`, nil, 400, "invalid_json", "", "not valid JSON"},
		{"trailing data", "chat/completions", ok + "{}", nil, 400, "invalid_json", "", "after its JSON object"},
		{"unknown model", "chat/completions", `{"model":"gpt-5","messages":[{"role":"user","content":"hi"}]}`, nil, 404, "model_not_found", "model", `"gpt-5" does not exist; the server has tiny`},
		{"empty messages", "chat/completions", `{"model":"tiny","messages":[]}`, nil, 400, "invalid_value", "messages", "messages is empty"},
		{"no role", "chat/completions", `{"model":"tiny","messages":[{"content":"hi"}]}`, nil, 400, "invalid_value", "messages[0].role", "has no role"},
		{"unknown role", "chat/completions", `{"model":"tiny","messages":[{"role":"wizard","content":"hi"}]}`, nil, 422, "unknown_role", "messages", `role "wizard"`},
		{"image content", "chat/completions", `{"model":"tiny","messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, nil, 400, "invalid_json", "", `"image_url"`},
		{"max_tokens 0", "chat/completions", strings.Replace(ok, `"max_tokens":2`, `"max_tokens":0`, 1), nil, 400, "invalid_value", "max_tokens", "expected 1 ≤ max_tokens ≤ 16"},
		{"max_tokens negative", "completions", `{"model":"tiny","prompt":"x","max_tokens":-3}`, nil, 400, "invalid_value", "max_tokens", "max_tokens is -3"},
		{"max_tokens over limit", "chat/completions", strings.Replace(ok, `"max_tokens":2`, `"max_tokens":17`, 1), nil, 400, "invalid_value", "max_tokens", "the server's limit"},
		{"temperature", "chat/completions", strings.Replace(ok, `"max_tokens":2`, `"temperature":3`, 1), nil, 400, "invalid_value", "temperature", "temperature is 3"},
		{"top_p", "chat/completions", strings.Replace(ok, `"max_tokens":2`, `"top_p":0`, 1), nil, 400, "invalid_value", "top_p", "top_p is 0"},
		{"n", "chat/completions", strings.Replace(ok, `"max_tokens":2`, `"n":2`, 1), nil, 400, "invalid_value", "n", "only 1"},
		{"body over the limit", "chat/completions", `{"model":"tiny","messages":[{"role":"user","content":"` + strings.Repeat("x", 5000) + `"}]}`, nil, 413, "request_too_large", "", "larger than the limit of 4096 bytes"},
		{"bad session id", "chat/completions", ok, []string{"X-Session-Id", "../etc/passwd"}, 400, "invalid_session_id", "X-Session-Id", "expected 1 to 128 letters"},
		{"unknown route", "embeddings", ok, nil, 404, "unknown_url", "", "no route POST /v1/embeddings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, ts.URL+"/v1/"+tt.path, tt.body, tt.header...)
			var e ErrorBody
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("%d: body %q is not an error object: %v", resp.StatusCode, body, err)
			}
			if resp.StatusCode != tt.status || e.Error.Code == nil || *e.Error.Code != tt.code || !strings.Contains(e.Error.Message, tt.msg) || e.Error.Type == "" {
				t.Errorf("got %d %s, want %d code %s message with %q", resp.StatusCode, body, tt.status, tt.code, tt.msg)
			}
			if (e.Error.Param == nil) != (tt.param == "") || (e.Error.Param != nil && *e.Error.Param != tt.param) {
				t.Errorf("param %v, want %q", e.Error.Param, tt.param)
			}
			if !bytes.Contains(body, []byte(`"param":`)) || !bytes.Contains(body, []byte(`"code":`)) {
				t.Errorf("body %s lacks param or code", body)
			}
			// The server keeps serving.
			if resp, body := post(t, ts.URL+"/v1/chat/completions", ok); resp.StatusCode != 200 {
				t.Errorf("after %s: %d %s", tt.name, resp.StatusCode, body)
			}
		})
	}
}

// TestSessionSerialAndParallel: two requests to one pinned session run one
// after the other (both turns land in the session: turns = 2); sessions of
// different ids run side by side.
func TestSessionSerialAndParallel(t *testing.T) {
	_, ts := testServer(t, tinyOptions(t, writeTinyModel(t, 1, 3, "")))
	var wg sync.WaitGroup
	res := make([]ChatResponse, 6)
	for i := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := "same"
			if i >= 2 {
				id = fmt.Sprintf("other-%d", i)
			}
			res[i], _ = chatOnce(t, ts.URL, map[string]any{"model": "tiny0", "messages": msgs("user", "Hi"), "max_tokens": 4, "seed": 1}, "X-Session-Id", id)
		}()
	}
	wg.Wait()
	turns := map[int]bool{res[0].Usage.Cache.Turns: true, res[1].Usage.Cache.Turns: true}
	if !turns[1] || !turns[2] {
		t.Errorf("two requests to one session ended at turns %v, want 1 and 2", turns)
	}
	for i := 2; i < len(res); i++ {
		if res[i].Usage.Cache.Turns != 1 || res[i].Usage.Cache.Session != fmt.Sprintf("other-%d", i) {
			t.Errorf("session %d: %+v", i, res[i].Usage.Cache)
		}
	}
}

// TestClientDisconnectStops: a client that goes away mid-stream stops its
// generation: far fewer tokens than max_tokens are generated.
func TestClientDisconnectStops(t *testing.T) {
	s, ts := testServer(t, Options{Models: []ModelDir{{Name: "tiny", Dir: writeTinyModel(t, 1, 3, "")}}, Cache: "1+31", MaxTokens: 1 << 20, DefaultMaxTokens: 8})
	ctx, cancel := context.WithCancel(context.Background())
	body := `{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":1000000,"stream":true,"ignore_eos":true}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/chat/completions", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	mustT(t, err)
	buf := make([]byte, 4096)
	for n := 0; n < 2000; {
		k, err := resp.Body.Read(buf)
		mustT(t, err)
		n += k
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for s.m.inFlight.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.m.completionTokens.Load(); s.m.inFlight.Load() != 0 || n >= 1000000 {
		t.Fatalf("after the disconnect: %d requests in flight, %d tokens generated", s.m.inFlight.Load(), n)
	}
	// The session is free again.
	chatOnce(t, ts.URL, map[string]any{"model": "tiny", "messages": msgs("user", "hi"), "max_tokens": 2})
}

// TestIgnoreEOS: a model that ends its reply at once (overwriteModelEOS)
// replies with nothing, and with
// ignore_eos with max_tokens tokens, streamed or not.
func TestIgnoreEOS(t *testing.T) {
	dir := writeTinyModel(t, 1, 3, "")
	overwriteModelEOS(t, dir, tinyConfig(1), 3, 1)
	_, ts := testServer(t, Options{Models: []ModelDir{{Name: "tiny", Dir: dir}}, Cache: "1+31", MaxTokens: 64, DefaultMaxTokens: 8})
	for seed := range 3 {
		req := map[string]any{"model": "tiny", "messages": msgs("user", "hi"), "max_tokens": 40, "seed": seed}
		r, _ := chatOnce(t, ts.URL, req)
		if r.Usage.CompletionTokens != 0 || *r.Choices[0].FinishReason != "stop" {
			t.Fatalf("seed %d: %d tokens, finish %s: the model should end its reply at once", seed, r.Usage.CompletionTokens, *r.Choices[0].FinishReason)
		}
		req["ignore_eos"] = true
		r, _ = chatOnce(t, ts.URL, req)
		if r.Usage.CompletionTokens != 40 || *r.Choices[0].FinishReason != "length" || !strings.Contains(string(r.Choices[0].Message.Content), "<|endoftext|>") {
			t.Errorf("seed %d, ignore_eos: %d tokens, finish %s, %q; want 40 tokens, finish length, end-of-text tokens in the text", seed, r.Usage.CompletionTokens, *r.Choices[0].FinishReason, r.Choices[0].Message.Content)
		}
	}
}

// TestLRUToDiskAndRestart: with one session in memory, the others go to
// disk and come back on their next request with the cache they had: every
// session's replies equal those of a server that never evicted (float32
// KV restores bit for bit). A new server over the same state directory
// resumes them too.
func TestLRUToDiskAndRestart(t *testing.T) {
	dir := writeTinyModel(t, 1, 3, "")
	state := t.TempDir()
	opts := func(max int, st string) Options {
		o := tinyOptions(t, dir)
		o.MaxSessions, o.State, o.SaveIdle = max, st, time.Hour
		return o
	}
	_, ref := testServer(t, opts(100, ""))
	s, lru := testServer(t, opts(1, state))
	hist := map[string][]map[string]string{}
	turn := func(url, conv string, i int) (string, CacheUsage) {
		h := append(hist[url+conv], map[string]string{"role": "user", "content": fmt.Sprintf("%s turn %d", conv, i)})
		r, _ := chatOnce(t, url, map[string]any{"model": "tiny0", "messages": h, "max_tokens": 6, "seed": 11, "temperature": 0.9})
		reply := string(r.Choices[0].Message.Content)
		hist[url+conv] = append(h, map[string]string{"role": "assistant", "content": reply})
		return reply, *r.Usage.Cache
	}
	for i := range 4 {
		for _, conv := range []string{"a", "b", "c"} {
			want, wc := turn(ref.URL, conv, i)
			got, gc := turn(lru.URL, conv, i)
			if got != want || gc.Seen != wc.Seen || gc.Evicted != wc.Evicted {
				t.Fatalf("conversation %s turn %d: LRU server %q %+v, reference %q %+v", conv, i, got, gc, want, wc)
			}
		}
	}
	if s.m.evictions.Load() < 6 || s.m.restores.Load() < 6 {
		t.Errorf("evictions %d, restores %d: the LRU did not go to disk", s.m.evictions.Load(), s.m.restores.Load())
	}
	// Restart: close the server (writes every session), open another.
	lru.Close()
	mustT(t, s.Close())
	files, _ := filepath.Glob(filepath.Join(state, "tiny0", "*"))
	if len(files) != 3 {
		t.Errorf("state directory holds %v, want 3 session files and nothing else", files)
	}
	_, again := testServer(t, opts(1, state))
	hist[again.URL+"a"] = hist[lru.URL+"a"]
	want, _ := turn(ref.URL, "a", 4)
	got, _ := turn(again.URL, "a", 4)
	if got != want {
		t.Errorf("after restart: %q, want %q", got, want)
	}
}

// TestBadSessionFiles: a truncated session file and one from another model
// get 422 naming the file; other sessions keep working; the files stay as
// they were (nothing overwritten).
func TestBadSessionFiles(t *testing.T) {
	dirA, dirB := writeTinyModel(t, 1, 3, ""), writeTinyModel(t, 1, 4, "")
	state := t.TempDir()
	o := Options{Models: []ModelDir{{Name: "tiny", Dir: dirA}}, Cache: "1+31", State: state, SaveIdle: 0}
	s, ts := testServer(t, o)
	for _, id := range []string{"trunc", "good"} {
		chatOnce(t, ts.URL, map[string]any{"model": "tiny", "messages": msgs("user", "Hi"), "max_tokens": 3}, "X-Session-Id", id)
	}
	ts.Close()
	mustT(t, s.Close())
	// A file of another model, under this model's name.
	ob := Options{Models: []ModelDir{{Name: "tiny", Dir: dirB}}, Cache: "1+31", State: t.TempDir(), SaveIdle: 0}
	sb, tb := testServer(t, ob)
	chatOnce(t, tb.URL, map[string]any{"model": "tiny", "messages": msgs("user", "Hi"), "max_tokens": 3}, "X-Session-Id", "foreign")
	tb.Close()
	mustT(t, sb.Close())
	foreign, err := os.ReadFile(filepath.Join(ob.State, "tiny", "foreign.session"))
	mustT(t, err)
	mustT(t, os.WriteFile(filepath.Join(state, "tiny", "foreign.session"), foreign, 0o644))
	tp := filepath.Join(state, "tiny", "trunc.session")
	full, err := os.ReadFile(tp)
	mustT(t, err)
	mustT(t, os.WriteFile(tp, full[:len(full)-100], 0o644))

	_, ts2 := testServer(t, o)
	for _, tt := range []struct{ id, want string }{{"trunc", "truncated"}, {"foreign", "from another model"}} {
		resp, body := post(t, ts2.URL+"/v1/chat/completions", map[string]any{"model": "tiny", "messages": msgs("user", "again"), "max_tokens": 2}, "X-Session-Id", tt.id)
		var e ErrorBody
		json.Unmarshal(body, &e)
		if resp.StatusCode != 422 || *e.Error.Code != "session_unrestorable" || !strings.Contains(e.Error.Message, tt.want) || !strings.Contains(e.Error.Message, tt.id+".session") {
			t.Errorf("session %s: %d %s", tt.id, resp.StatusCode, body)
		}
	}
	r, _ := chatOnce(t, ts2.URL, map[string]any{"model": "tiny", "messages": msgs("user", "again"), "max_tokens": 2}, "X-Session-Id", "good")
	if r.Usage.Cache.Turns != 2 {
		t.Errorf("the good session restored with %d turns, want 2", r.Usage.Cache.Turns)
	}
	if b, _ := os.ReadFile(tp); len(b) != len(full)-100 {
		t.Errorf("the truncated file was rewritten (%d bytes)", len(b))
	}
	if tmp, _ := filepath.Glob(filepath.Join(state, "tiny", ".*")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

// TestQueueFullAndTimeout: with the one generation slot taken and one
// request waiting for it, a third request gets 429; the waiting one gets
// 503 when its time limit passes.
func TestQueueFullAndTimeout(t *testing.T) {
	s, ts := testServer(t, Options{Models: []ModelDir{{Name: "tiny", Dir: writeTinyModel(t, 1, 3, "")}}, Cache: "1+31",
		Parallel: 1, MaxQueue: 1, Timeout: 300 * time.Millisecond})
	s.slots <- struct{}{} // a long generation holds the slot
	waited := make(chan string, 1)
	go func() {
		r, body := post(t, ts.URL+"/v1/completions", `{"model":"tiny","prompt":"x","max_tokens":2}`)
		waited <- fmt.Sprint(r.StatusCode, " ", string(body))
	}()
	for s.m.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	r, body := post(t, ts.URL+"/v1/completions", `{"model":"tiny","prompt":"x","max_tokens":2}`)
	if r.StatusCode != 429 || !strings.Contains(string(body), "server_busy") {
		t.Errorf("third request: %d %s, want 429 server_busy", r.StatusCode, body)
	}
	if got := <-waited; !strings.HasPrefix(got, "503 ") || !strings.Contains(got, `"timeout"`) {
		t.Errorf("the waiting request: %s, want 503 timeout", got)
	}
	<-s.slots
	if r, body := post(t, ts.URL+"/v1/completions", `{"model":"tiny","prompt":"x","max_tokens":2}`); r.StatusCode != 200 {
		t.Errorf("after the slot is free: %d %s", r.StatusCode, body)
	}
}
