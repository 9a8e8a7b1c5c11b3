package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/infer"
	"github.com/sinktrain/sinktrain/internal/input"
)

// ModelDir names one model folder: Name is its id in the API ("" takes the
// folder's base name).
type ModelDir struct {
	Name string
	Dir  string
}

// Options configures a Server (sinktrain serve). Zero values take the
// defaults of Defaults.
type Options struct {
	Models []ModelDir // at least one
	Cache  string     // cache spec for every session, K+W (e.g. 4+252) or dense
	Addr   string     // listen address, host:port (Run only)
	// State is the directory where sessions are written when idle, evicted
	// from memory or at shutdown, and read back on demand, also after a
	// restart. "" keeps sessions in memory only (an evicted one is lost).
	State string
	// KVDType is the dtype of the KV caches in session files: "float32"
	// (restores bit for bit) or "bfloat16" (half the size).
	KVDType string
	// DType stores the models' weights as "float32" ("" too) or
	// "bfloat16" (half the bytes per decoded token; infer.LoadModelAs).
	DType string
	// SaveIdle: a changed session is written once idle this long; 0 writes
	// it at the end of every request.
	SaveIdle time.Duration
	// MaxSessions bounds the sessions in memory; the least recently used
	// beyond it are written to State and dropped from memory.
	MaxSessions int
	// MaxBodyBytes bounds a request body (413 beyond).
	MaxBodyBytes int64
	// MaxTokens bounds a request's max_tokens (400 beyond);
	// DefaultMaxTokens is used when a request gives none.
	MaxTokens, DefaultMaxTokens int
	// Timeout bounds one request (generation stops there).
	Timeout time.Duration
	// Parallel is the number of requests generating at once (sessions in
	// parallel; requests to one session always run one after another).
	// MaxQueue requests may wait for a slot; more get 429.
	Parallel, MaxQueue int
	// ShutdownGrace is how long in-flight requests may run on after Run's
	// context ends before they are cancelled.
	ShutdownGrace time.Duration
	Log           io.Writer // request and lifecycle log lines (nil: none)
	// Ready, when set, is called by Run with the listening address.
	Ready func(addr string)
}

// Defaults returns the default options.
func Defaults() Options {
	return Options{
		Addr: "127.0.0.1:8080", KVDType: "float32", DType: "float32", SaveIdle: 2 * time.Second, MaxSessions: 64,
		MaxBodyBytes: 1 << 20, MaxTokens: 4096, DefaultMaxTokens: 256, Timeout: 5 * time.Minute,
		Parallel: 2, MaxQueue: 64, ShutdownGrace: 10 * time.Second,
	}
}

// Server serves the OpenAI API over its engines' sessions.
type Server struct {
	o       Options
	engines map[string]*Engine
	names   []string
	store   *store
	m       *metrics
	slots   chan struct{}
	log     *log.Logger
	started time.Time

	stopSaver chan struct{}
	saverDone sync.WaitGroup
	closeOnce sync.Once
}

// New loads the models, indexes the session files under o.State and starts
// the background writer of idle sessions. Close stops it and writes every
// session.
func New(o Options) (*Server, error) {
	d := Defaults()
	fill := func(dst *int, def int) {
		if *dst == 0 {
			*dst = def
		}
	}
	fill(&o.MaxSessions, d.MaxSessions)
	fill(&o.MaxTokens, d.MaxTokens)
	fill(&o.DefaultMaxTokens, min(d.DefaultMaxTokens, o.MaxTokens))
	fill(&o.Parallel, d.Parallel)
	fill(&o.MaxQueue, d.MaxQueue)
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = d.MaxBodyBytes
	}
	if o.Timeout == 0 {
		o.Timeout = d.Timeout
	}
	if o.ShutdownGrace == 0 {
		o.ShutdownGrace = d.ShutdownGrace
	}
	if o.KVDType == "" {
		o.KVDType = d.KVDType
	}
	if len(o.Models) == 0 {
		return nil, fmt.Errorf("no model given, expected at least one model folder")
	}
	for _, v := range []struct {
		field, name string
		n           int
	}{{"MaxSessions", "max sessions", o.MaxSessions}, {"MaxTokens", "max tokens", o.MaxTokens}, {"DefaultMaxTokens", "default max tokens", o.DefaultMaxTokens},
		{"Parallel", "parallel", o.Parallel}, {"MaxQueue", "max queue", o.MaxQueue}} {
		if v.n < 0 {
			return nil, input.Usagef(v.field, v.name, strconv.Itoa(v.n), "expected ≥ 1")
		}
	}
	if o.DefaultMaxTokens > o.MaxTokens {
		return nil, input.Usagef("DefaultMaxTokens", "default max tokens", strconv.Itoa(o.DefaultMaxTokens), "is above the limit %d (max tokens)", o.MaxTokens)
	}
	if o.MaxBodyBytes < 0 || o.Timeout < 0 || o.SaveIdle < 0 || o.ShutdownGrace < 0 {
		return nil, fmt.Errorf("body limit, timeout, save delay and shutdown grace must not be negative")
	}
	dt, err := checkpoint.ParseDType(o.KVDType)
	if err != nil || (dt != checkpoint.F32 && dt != checkpoint.BF16) {
		return nil, input.Usagef("KVDType", "KV dtype", strconv.Quote(o.KVDType), "expected float32 or bfloat16")
	}
	if o.Cache == "" {
		return nil, fmt.Errorf("no cache spec given, expected K+W (e.g. 4+252)")
	}
	spec, err := infer.ParseCacheSpec(o.Cache)
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, engines: map[string]*Engine{}, m: newMetrics(), slots: make(chan struct{}, o.Parallel),
		started: time.Now(), stopSaver: make(chan struct{})}
	logOut := o.Log
	if logOut == nil {
		logOut = io.Discard
	}
	s.log = log.New(logOut, "serve: ", log.LstdFlags)
	dtype, err := infer.ParseDType(o.DType)
	if err != nil {
		return nil, err
	}
	for _, md := range o.Models {
		name := md.Name
		if name == "" {
			name = baseName(md.Dir)
		}
		if !validID.MatchString(name) {
			return nil, fmt.Errorf("model name %q, expected letters, digits, '.', '_' or '-' (it names a folder under the state directory)", name)
		}
		if _, dup := s.engines[name]; dup {
			return nil, fmt.Errorf("model name %q given twice", name)
		}
		e, err := LoadEngine(name, md.Dir, spec, dtype)
		if err != nil {
			return nil, fmt.Errorf("model %s (%s): %w", name, md.Dir, err)
		}
		s.engines[name] = e
		s.names = append(s.names, name)
	}
	sort.Strings(s.names)
	s.store = newStore(o.State, dt, o.MaxSessions, s.m)
	if err := s.store.scan(s.engines); err != nil {
		return nil, err
	}
	if o.State != "" && o.SaveIdle > 0 {
		s.saverDone.Add(1)
		go s.saver()
	}
	return s, nil
}

func baseName(dir string) string {
	for len(dir) > 1 && dir[len(dir)-1] == '/' {
		dir = dir[:len(dir)-1]
	}
	for i := len(dir) - 1; i >= 0; i-- {
		if dir[i] == '/' {
			return dir[i+1:]
		}
	}
	return dir
}

// saver writes idle sessions in the background.
func (s *Server) saver() {
	defer s.saverDone.Done()
	tick := time.NewTicker(max(s.o.SaveIdle/2, 20*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-s.stopSaver:
			return
		case <-tick.C:
			if err := s.store.saveIdle(s.o.SaveIdle, false); err != nil {
				s.log.Printf("writing idle sessions: %v", err)
			}
		}
	}
}

// Close stops the background writer and writes every changed session
// (waiting for requests still using one). Call it once no request runs.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.stopSaver)
		s.saverDone.Wait()
		err = s.store.saveIdle(0, true)
	})
	return err
}

// Run serves on o.Addr until ctx ends (SIGTERM, Ctrl-C), then stops
// accepting connections, lets in-flight requests finish for ShutdownGrace,
// cancels those still running (each ends its stream cleanly), and writes
// every session.
func Run(ctx context.Context, o Options) error {
	if o.Addr == "" {
		o.Addr = Defaults().Addr
	}
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		return fmt.Errorf("listen address %q: %w, expected HOST:PORT", o.Addr, err)
	}
	s, err := New(o)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		s.Close()
		return err
	}
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	hs := &http.Server{Handler: s.Handler(), BaseContext: func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Printf("listening on http://%s (models %v, cache %s)", ln.Addr(), s.names, o.Cache)
	if o.Ready != nil {
		o.Ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	s.log.Printf("shutting down: finishing in-flight requests (up to %s)", s.o.ShutdownGrace)
	grace, stop := context.WithTimeout(context.Background(), s.o.ShutdownGrace)
	defer stop()
	if err := hs.Shutdown(grace); err != nil {
		cancel() // in-flight generation stops at its next token
		s.log.Printf("cancelled the requests still running")
		hard, stop2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop2()
		if err := hs.Shutdown(hard); err != nil {
			hs.Close()
		}
	}
	if err := s.Close(); err != nil {
		return fmt.Errorf("writing sessions at shutdown: %w", err)
	}
	s.log.Printf("every session written; bye")
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ParseModelDir reads "NAME=DIR" or "DIR" (the name is then the folder's
// base name).
func ParseModelDir(s string) (ModelDir, error) {
	name, dir, ok := strings.Cut(s, "=")
	if !ok {
		name, dir = "", s
	}
	if dir == "" || (ok && name == "") {
		return ModelDir{}, fmt.Errorf("model %q, expected DIR or NAME=DIR", s)
	}
	return ModelDir{Name: name, Dir: dir}, nil
}
