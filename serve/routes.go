package serve

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sinktrain/sinktrain/infer"
)

//go:embed page/index.html
var indexHTML []byte

// Handler returns the server's routes:
//
//	POST /v1/chat/completions  chat completion (stream or not) on a session
//	POST /v1/completions       text completion (a session only with X-Session-Id or user)
//	GET  /v1/models            the models
//	GET  /healthz              "ok"
//	GET  /metrics              Prometheus text
//	GET  /                     the chat page
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.timed("chat", s.chat))
	mux.HandleFunc("POST /v1/completions", s.timed("completions", s.completions))
	mux.HandleFunc("GET /v1/models", s.timed("models", s.models))
	mux.HandleFunc("GET /v1/models/{id}", s.timed("models", s.model))
	mux.HandleFunc("/v1/", s.timed("other", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &APIError{status: http.StatusNotFound, Type: "invalid_request_error",
			Message: fmt.Sprintf("no route %s %s; the server has POST /v1/chat/completions, POST /v1/completions and GET /v1/models", r.Method, r.URL.Path), Code: strp("unknown_url")})
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.m.write(w, s.store)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})
	return mux
}

// statusWriter records the status a handler sent.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// timed counts and times a route.
func (s *Server) timed(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.m.inFlight.Add(1)
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		s.m.inFlight.Add(-1)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.m.observe(route, sw.status, time.Since(start))
		s.log.Printf("%s %s %d %s", r.Method, r.URL.Path, sw.status, time.Since(start).Round(time.Millisecond))
	}
}

// writeError sends an OpenAI-style error.
func writeError(w http.ResponseWriter, e *APIError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(ErrorBody{Error: *e})
}

func badRequest(param, code, format string, a ...any) *APIError {
	e := &APIError{status: http.StatusBadRequest, Type: "invalid_request_error", Message: fmt.Sprintf(format, a...), Code: strp(code)}
	if param != "" {
		e.Param = strp(param)
	}
	return e
}

// decode reads a JSON body of at most MaxBodyBytes.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) *APIError {
	r.Body = http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes)
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &APIError{status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error",
				Message: fmt.Sprintf("request body is larger than the limit of %d bytes", tooBig.Limit), Code: strp("request_too_large")}
		}
		return badRequest("", "invalid_json", "request body is not valid JSON: %v", err)
	}
	if dec.More() {
		return badRequest("", "invalid_json", "request body has data after its JSON object")
	}
	return nil
}

func (s *Server) engine(name string) (*Engine, *APIError) {
	if name == "" && len(s.names) == 1 {
		return s.engines[s.names[0]], nil
	}
	e, ok := s.engines[name]
	if !ok {
		return nil, &APIError{status: http.StatusNotFound, Type: "invalid_request_error", Param: strp("model"), Code: strp("model_not_found"),
			Message: fmt.Sprintf("the model %q does not exist; the server has %s", name, strings.Join(s.names, ", "))}
	}
	return e, nil
}

// turnParams checks the sampling fields against the limits.
func (s *Server) turnParams(q *Sampling) (TurnParams, *APIError) {
	p := TurnParams{MaxTokens: s.o.DefaultMaxTokens, Sampling: infer.SamplerOptions{Temperature: 1}}
	mt := q.MaxTokens
	if q.MaxCompletionTokens != nil {
		if mt != nil && *mt != *q.MaxCompletionTokens {
			return p, badRequest("max_completion_tokens", "invalid_value", "max_tokens %d and max_completion_tokens %d disagree", *mt, *q.MaxCompletionTokens)
		}
		mt = q.MaxCompletionTokens
	}
	if mt != nil {
		if *mt < 1 || *mt > s.o.MaxTokens {
			return p, badRequest("max_tokens", "invalid_value", "max_tokens is %d, expected 1 ≤ max_tokens ≤ %d (the server's limit)", *mt, s.o.MaxTokens)
		}
		p.MaxTokens = *mt
	}
	if t := q.Temperature; t != nil {
		if !(*t >= 0 && *t <= 2) {
			return p, badRequest("temperature", "invalid_value", "temperature is %v, expected 0 ≤ temperature ≤ 2", *t)
		}
		p.Sampling.Temperature = *t
	}
	if t := q.TopP; t != nil {
		if !(*t > 0 && *t <= 1) {
			return p, badRequest("top_p", "invalid_value", "top_p is %v, expected 0 < top_p ≤ 1", *t)
		}
		p.Sampling.TopP = *t
	}
	if k := q.TopK; k != nil {
		if *k < 0 {
			return p, badRequest("top_k", "invalid_value", "top_k is %d, expected ≥ 0", *k)
		}
		p.Sampling.TopK = *k
	}
	if q.N != nil && *q.N != 1 {
		return p, badRequest("n", "invalid_value", "n is %d, only 1 is supported", *q.N)
	}
	if len(q.Stop) > 4 {
		return p, badRequest("stop", "invalid_value", "stop has %d strings, expected at most 4", len(q.Stop))
	}
	p.Stop, p.IgnoreEOS = q.Stop, q.IgnoreEOS
	if q.Seed != nil {
		p.Sampling.Seed = *q.Seed
	} else {
		var b [8]byte
		rand.Read(b[:])
		for i, c := range b {
			p.Sampling.Seed |= uint64(c) << (8 * i)
		}
	}
	return p, nil
}

// pinnedID returns the session a request pins: X-Session-Id, else one per
// user field, else "".
func pinnedID(r *http.Request, user string) (string, *APIError) {
	if id := r.Header.Get("X-Session-Id"); id != "" {
		if !validID.MatchString(id) {
			return "", badRequest("X-Session-Id", "invalid_session_id", "X-Session-Id %q: expected 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit", id)
		}
		return id, nil
	}
	if user != "" {
		h := sha256.Sum256([]byte(user))
		return "user-" + hex.EncodeToString(h[:12]), nil
	}
	return "", nil
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	list := ModelList{Object: "list"}
	for _, n := range s.names {
		list.Data = append(list.Data, s.modelInfo(s.engines[n]))
	}
	writeJSON(w, list)
}

func (s *Server) model(w http.ResponseWriter, r *http.Request) {
	e, err := s.engine(r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, s.modelInfo(e))
}

func (s *Server) modelInfo(e *Engine) ModelInfo {
	return ModelInfo{ID: e.Name, Object: "model", Created: s.started.Unix(), OwnedBy: "sinktrain", Cache: e.Spec.String(), Template: e.Template.Name()}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// job is one request's generation.
type job struct {
	e       *Engine
	sess    *session      // nil: a one-off conversation
	conv    *Conversation // the conversation to continue
	text    string        // what the conversation reads first
	cached  int           // tokens the cache already held
	params  TurnParams
	stream  bool
	usage   bool // stream_options.include_usage
	chat    bool // chat.completion(.chunk) rather than text_completion
	id      string
	created int64
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	var req ChatRequest
	if err := s.decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	e, aerr := s.engine(req.Model)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if len(req.Messages) == 0 {
		writeError(w, badRequest("messages", "invalid_value", "messages is empty, expected at least one message"))
		return
	}
	for i, m := range req.Messages {
		if m.Role == "" {
			writeError(w, badRequest(fmt.Sprintf("messages[%d].role", i), "invalid_value", "messages[%d] has no role", i))
			return
		}
	}
	params, aerr := s.turnParams(&req.Sampling)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	id, aerr := pinnedID(r, req.User)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	full, err := e.Template.Render(req.Messages, true)
	if err != nil {
		writeError(w, templateError(err))
		return
	}
	key, delta, ext := ExtensionDelta(e.Template, req.Messages, full)
	ctx, cancel := context.WithTimeout(r.Context(), s.o.Timeout)
	defer cancel()
	var keyp *[32]byte
	if ext {
		keyp = &key
	}
	sess, release, aerr := s.open(ctx, e, id, keyp)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	defer release()
	conv := sess.conv
	j := &job{e: e, sess: sess, params: params, stream: req.Stream, chat: true,
		usage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage}
	assistants := 0
	for _, m := range req.Messages {
		if m.Role == "assistant" {
			assistants++
		}
	}
	switch seen := conv.session().Cache().Seen(); {
	case seen > 0 && ext && conv.Key() == key:
		j.text, j.cached = delta, seen
	case seen > 0 && id != "" && assistants == 0:
		if j.text, err = conv.PinnedDelta(e.Template, req.Messages); err != nil {
			writeError(w, templateError(err))
			return
		}
		j.cached = seen
	default:
		if seen > 0 {
			s.store.reset(sess)
		}
		sess.conv.turns = assistants
		j.text = full
	}
	j.conv = sess.conv
	s.run(ctx, w, j)
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	var req CompletionRequest
	if err := s.decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	e, aerr := s.engine(req.Model)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	params, aerr := s.turnParams(&req.Sampling)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	id, aerr := pinnedID(r, req.User)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if req.Prompt == "" && len(e.Model.SinkIDs()) == 0 && id == "" {
		writeError(w, badRequest("prompt", "invalid_value", "prompt is empty and the model has no sinks to start from"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.o.Timeout)
	defer cancel()
	j := &job{e: e, params: params, stream: req.Stream, text: string(req.Prompt),
		usage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage}
	if id == "" {
		j.conv = e.NewConversation()
		release, aerr := s.slot(ctx)
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		defer release()
	} else {
		sess, release, aerr := s.open(ctx, e, id, nil)
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		defer release()
		j.sess, j.conv, j.cached = sess, sess.conv, sess.conv.session().Cache().Seen()
	}
	s.run(ctx, w, j)
}

// open finds or creates the session, takes its lock and a generation slot,
// and loads it; release gives everything back and records the request.
func (s *Server) open(ctx context.Context, e *Engine, id string, key *[32]byte) (*session, func(), *APIError) {
	for {
		sess, err := s.store.lookup(e, id, key)
		if err != nil {
			var ae *APIError
			errors.As(err, &ae)
			return nil, nil, ae
		}
		if err := sess.acquire(ctx); err != nil {
			return nil, nil, ctxError(err, "waiting for the session's previous request")
		}
		if id == "" && key != nil && (sess.conv != nil || sess.onDisk) && sess.key != *key {
			sess.release() // the conversation moved on while we waited: start another
			key = nil
			continue
		}
		freeSlot, aerr := s.slot(ctx)
		if aerr != nil {
			sess.release()
			return nil, nil, aerr
		}
		if err := s.store.load(sess); err != nil {
			freeSlot()
			sess.release()
			return nil, nil, &APIError{status: http.StatusUnprocessableEntity, Type: "invalid_request_error", Code: strp("session_unrestorable"),
				Message: fmt.Sprintf("session %s cannot be restored: %v; remove the file to start the session anew", sess.id, err)}
		}
		release := func() {
			freeSlot()
			s.store.done(sess)
			if s.o.State != "" && s.o.SaveIdle == 0 {
				if err := s.store.save(sess); err != nil {
					s.log.Printf("writing session %s: %v", sess.id, err)
				}
			}
			sess.release()
			s.store.evictLRU()
		}
		return sess, release, nil
	}
}

// slot takes one of the --parallel generation slots.
func (s *Server) slot(ctx context.Context) (func(), *APIError) {
	if s.m.waiting.Add(1) > int64(s.o.MaxQueue) {
		s.m.waiting.Add(-1)
		return nil, &APIError{status: http.StatusTooManyRequests, Type: "rate_limit_error", Code: strp("server_busy"),
			Message: fmt.Sprintf("the server is busy: %d requests are already waiting for one of its %d generation slots; retry later", s.o.MaxQueue, s.o.Parallel)}
	}
	defer s.m.waiting.Add(-1)
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, nil
	case <-ctx.Done():
		return nil, ctxError(ctx.Err(), "waiting for a generation slot")
	}
}

// ctxError turns a context's end into an API error.
func ctxError(err error, while string) *APIError {
	if errors.Is(err, context.DeadlineExceeded) {
		return &APIError{status: http.StatusServiceUnavailable, Type: "server_error", Code: strp("timeout"),
			Message: "the request ran past the server's time limit while " + while}
	}
	return &APIError{status: http.StatusServiceUnavailable, Type: "server_error", Code: strp("cancelled"),
		Message: "the request was cancelled (client gone or server shutting down) while " + while}
}

func templateError(err error) *APIError {
	e := &APIError{status: http.StatusUnprocessableEntity, Type: "invalid_request_error", Code: strp("template_error"), Param: strp("messages"),
		Message: "the chat template cannot render these messages: " + strings.TrimPrefix(err.Error(), ErrTemplate.Error()+": ")}
	if errors.Is(err, errRole) {
		e.Code = strp("unknown_role")
	}
	return e
}

// run generates and writes the response (streamed or not).
func (s *Server) run(ctx context.Context, w http.ResponseWriter, j *job) {
	j.created = time.Now().Unix()
	prefix := "cmpl-"
	if j.chat {
		prefix = "chatcmpl-"
	}
	var b [12]byte
	rand.Read(b[:])
	j.id = prefix + hex.EncodeToString(b[:])
	if j.sess != nil {
		w.Header().Set("X-Session-Id", j.sess.id)
	}
	_, _, evBefore := j.conv.session().Cache().Occupancy()
	var sse *sseWriter
	emit := func(string) error { return nil }
	if j.stream {
		sse = newSSE(w)
		if j.chat {
			empty := ""
			sse.send(s.chunk(j, &Delta{Role: "assistant", Content: &empty}, nil, nil))
		}
		emit = func(piece string) error {
			if j.chat {
				return sse.send(s.chunk(j, &Delta{Content: &piece}, nil, nil))
			}
			return sse.send(s.textChunk(j, piece, nil, nil))
		}
	}
	res, err := j.conv.Turn(ctx, j.text, j.params, emit)
	_, _, evAfter := j.conv.session().Cache().Occupancy()
	s.m.cacheEvicted.Add(int64(evAfter - evBefore))
	s.m.promptTokens.Add(int64(res.PromptTokens))
	s.m.cachedTokens.Add(int64(j.cached))
	s.m.completionTokens.Add(int64(res.CompletionTokens))
	if err != nil && !isCtx(err) && res.PromptTokens == 0 {
		ae := badRequest("", "invalid_value", "%v", err)
		if sse == nil {
			writeError(w, ae)
		} else {
			sse.send(ErrorBody{Error: *ae})
		}
		return
	}
	if sse != nil && sse.err != nil {
		s.log.Printf("request %s: client gone after %d tokens: %v", j.id, res.CompletionTokens, sse.err)
		return
	}
	if err != nil {
		ae := ctxError(ctx.Err(), "generating")
		if !isCtx(err) {
			ae = &APIError{status: http.StatusInternalServerError, Type: "server_error", Message: err.Error(), Code: strp("internal_error")}
		}
		s.log.Printf("request %s stopped after %d tokens: %v", j.id, res.CompletionTokens, err)
		if sse == nil {
			writeError(w, ae)
		} else {
			sse.send(ErrorBody{Error: *ae})
		}
		return
	}
	u := &Usage{PromptTokens: res.PromptTokens, CompletionTokens: res.CompletionTokens, TotalTokens: res.PromptTokens + res.CompletionTokens,
		PromptTokensDetails: &TokenDetails{CachedTokens: j.cached}, Timings: timings(res)}
	cu := j.conv.Cache()
	if j.sess != nil {
		cu.Session = j.sess.id
	}
	u.Cache = &cu
	finish := res.Finish
	if sse != nil {
		if j.chat {
			sse.send(s.chunk(j, &Delta{}, &finish, nil))
		} else {
			sse.send(s.textChunk(j, "", &finish, nil))
		}
		if j.usage {
			if j.chat {
				c := s.chunk(j, nil, nil, u)
				c.Choices = []ChatChoice{}
				sse.send(c)
			} else {
				c := s.textChunk(j, "", nil, u)
				c.Choices = []CompletionChoice{}
				sse.send(c)
			}
		}
		sse.done()
		return
	}
	if j.chat {
		writeJSON(w, ChatResponse{ID: j.id, Object: "chat.completion", Created: j.created, Model: j.e.Name, SystemFingerprint: s.fingerprint(j.e),
			Choices: []ChatChoice{{Message: &Message{Role: "assistant", Content: Content(res.Reply)}, FinishReason: &finish}}, Usage: u})
		return
	}
	writeJSON(w, CompletionResponse{ID: j.id, Object: "text_completion", Created: j.created, Model: j.e.Name, SystemFingerprint: s.fingerprint(j.e),
		Choices: []CompletionChoice{{Text: res.Reply, FinishReason: &finish}}, Usage: u})
}

func isCtx(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (s *Server) fingerprint(e *Engine) string { return "fp_" + e.Model.FingerprintString()[:12] }

func (s *Server) chunk(j *job, d *Delta, finish *string, u *Usage) ChatResponse {
	c := ChatResponse{ID: j.id, Object: "chat.completion.chunk", Created: j.created, Model: j.e.Name, SystemFingerprint: s.fingerprint(j.e), Usage: u}
	if d != nil {
		c.Choices = []ChatChoice{{Delta: d, FinishReason: finish}}
	}
	return c
}

func (s *Server) textChunk(j *job, text string, finish *string, u *Usage) CompletionResponse {
	return CompletionResponse{ID: j.id, Object: "text_completion", Created: j.created, Model: j.e.Name, SystemFingerprint: s.fingerprint(j.e),
		Choices: []CompletionChoice{{Text: text, FinishReason: finish}}, Usage: u}
}

// sseWriter writes server-sent events as OpenAI does: "data: JSON\n\n" per
// chunk, flushed, and "data: [DONE]\n\n" at the end.
type sseWriter struct {
	w   http.ResponseWriter
	f   http.Flusher
	err error
}

func newSSE(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	return &sseWriter{w: w, f: f}
}

func (s *sseWriter) send(v any) error {
	if s.err != nil {
		return s.err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, s.err = fmt.Fprintf(s.w, "data: %s\n\n", b); s.err == nil && s.f != nil {
		s.f.Flush()
	}
	return s.err
}

func (s *sseWriter) done() {
	if s.err == nil {
		fmt.Fprint(s.w, "data: [DONE]\n\n")
		if s.f != nil {
			s.f.Flush()
		}
	}
}

// timings are the Timings of a turn's result.
func timings(res TurnResult) *Timings {
	t := &Timings{PromptN: res.PromptTokens, PromptMS: ms(res.PromptTime), PredictedN: res.CompletionTokens, PredictedMS: ms(res.DecodeTime)}
	if res.CompletionTokens > 1 {
		t.PredictedPerTokenMS = t.PredictedMS / float64(res.CompletionTokens-1)
	}
	return t
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
