package serve

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/internal/fsutil"
)

// A session file (DIR/MODEL/ID.session) holds one conversation:
//
//	magic    [8]byte "STSESSON"
//	version  uint32  sessionVersion
//	metaLen  uint32
//	meta     JSON (sessionMeta), metaLen bytes
//	snapshot the KV cache (infer.Session.Snapshot: its own magic, version,
//	         model fingerprint and checksum)
//
// Files are written atomically (temp file, fsync, rename, fsync dir), so a
// kill at any moment leaves either the previous file or the new one.
const (
	sessionMagic   = "STSESSON"
	sessionVersion = 1
	maxMetaLen     = 1 << 20
)

// sessionMeta is the JSON part of a session file.
type sessionMeta struct {
	ID          string            `json:"id"`
	Model       string            `json:"model"`
	Fingerprint string            `json:"fingerprint"` // the model's (infer.Model.FingerprintString)
	Cache       string            `json:"cache"`
	Key         string            `json:"key"` // hex SHA-256 of the conversation's text
	State       conversationState `json:"state"`
	Saved       time.Time         `json:"saved"`
}

// validID is what a session id (X-Session-Id) may be: it names a file.
var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// session is one conversation known to the server: in memory (conv set) or
// only on disk.
type session struct {
	id     string
	e      *Engine
	lock   chan struct{} // holds a token while a request uses the session
	conv   *Conversation // nil while on disk only (written holding lock and store.mu)
	key    [32]byte      // the conversation's text hash (index key)
	used   int64         // store clock at the last use (LRU)
	dirty  bool          // changed since last written
	onDisk bool          // a file exists
	bad    error         // the file cannot be restored (refused on every request)
	idle   time.Time     // when the last request ended
}

// store holds every session and writes them under dir.
type store struct {
	dir       string // "" keeps sessions in memory only
	dtype     checkpoint.DType
	maxMemory int // sessions kept in memory; the least recently used beyond go to disk
	m         *metrics

	mu       sync.Mutex
	clock    int64
	sessions map[string]*session   // by id
	byKey    map[[32]byte]*session // by text hash
}

func newStore(dir string, dtype checkpoint.DType, maxMemory int, m *metrics) *store {
	return &store{dir: dir, dtype: dtype, maxMemory: maxMemory, m: m,
		sessions: map[string]*session{}, byKey: map[[32]byte]*session{}}
}

func (st *store) path(s *session) string {
	return filepath.Join(st.dir, s.e.Name, s.id+".session")
}

// scan indexes the session files of every engine (reading their headers
// only). A file that cannot be read, or that belongs to another model or
// cache, is kept as a bad session: requests for its id get its error.
func (st *store) scan(engines map[string]*Engine) error {
	if st.dir == "" {
		return nil
	}
	for _, e := range engines {
		dir := filepath.Join(st.dir, e.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("state directory: %w", err)
		}
		names, err := filepath.Glob(filepath.Join(dir, "*.session"))
		if err != nil {
			return err
		}
		sort.Strings(names)
		for _, p := range names {
			fsutil.RemoveStaleTemps(p)
			id := strings.TrimSuffix(filepath.Base(p), ".session")
			if !validID.MatchString(id) {
				continue
			}
			s := &session{id: id, e: e, lock: make(chan struct{}, 1), onDisk: true}
			meta, err := readMeta(p, e)
			if err != nil {
				s.bad = err
				st.m.badFiles.Add(1)
			} else if k, err := hex.DecodeString(meta.Key); err == nil && len(k) == 32 {
				copy(s.key[:], k)
				st.byKey[s.key] = s
			}
			st.sessions[id] = s
		}
	}
	return nil
}

// readMeta reads and checks a session file's header against e.
func readMeta(path string, e *Engine) (*sessionMeta, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	meta, err := decodeMeta(bufio.NewReader(f), path, e)
	return meta, err
}

func decodeMeta(r io.Reader, path string, e *Engine) (*sessionMeta, error) {
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("session file %s is truncated (ends in its header)", path)
	}
	if string(hdr[:8]) != sessionMagic {
		return nil, fmt.Errorf("%s is not a session file (magic %q, expected %q)", path, hdr[:8], sessionMagic)
	}
	if v := binary.LittleEndian.Uint32(hdr[8:]); v != sessionVersion {
		return nil, fmt.Errorf("session file %s has format version %d, expected %d (written by another sinktrain version)", path, v, sessionVersion)
	}
	n := binary.LittleEndian.Uint32(hdr[12:])
	if n > maxMetaLen {
		return nil, fmt.Errorf("session file %s: metadata of %d bytes, expected at most %d", path, n, maxMetaLen)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("session file %s is truncated (ends in its metadata)", path)
	}
	var meta sessionMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("session file %s: metadata: %w", path, err)
	}
	if fp := e.Model.FingerprintString(); meta.Fingerprint != fp {
		return nil, fmt.Errorf("session file %s is from another model (fingerprint %.12s, model %s has %.12s)", path, meta.Fingerprint, e.Name, fp)
	}
	if meta.Cache != e.Spec.String() {
		return nil, fmt.Errorf("session file %s is of cache %s, the server runs %s", path, meta.Cache, e.Spec)
	}
	return &meta, nil
}

// restore reads a session's file into memory.
func (st *store) restore(s *session) error {
	p := st.path(s)
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	meta, err := decodeMeta(br, p, s.e)
	if err != nil {
		return err
	}
	sess, err := s.e.Model.RestoreSession(br, s.e.Spec)
	if err != nil {
		return fmt.Errorf("session file %s: %w", p, err)
	}
	conv, err := s.e.conversationFrom(meta.State, sess)
	if err != nil {
		return fmt.Errorf("session file %s: %w", p, err)
	}
	st.setConv(s, conv)
	return nil
}

// setConv sets s.conv (its lock held): conv is written holding both the
// session's lock and the store's, and read holding either.
func (st *store) setConv(s *session, c *Conversation) {
	st.mu.Lock()
	s.conv = c
	st.mu.Unlock()
}

// save writes a session (its lock held) atomically.
func (st *store) save(s *session) error {
	if st.dir == "" || s.conv == nil || !s.dirty {
		return nil
	}
	state, err := s.conv.state()
	if err != nil {
		return err
	}
	meta, err := json.Marshal(sessionMeta{
		ID: s.id, Model: s.e.Name, Fingerprint: s.e.Model.FingerprintString(), Cache: s.e.Spec.String(),
		Key: hex.EncodeToString(s.key[:]), State: state, Saved: time.Now().UTC(),
	})
	if err != nil {
		return err
	}
	err = fsutil.WriteFileAtomic(st.path(s), func(w *bufio.Writer) error {
		var hdr [16]byte
		copy(hdr[:], sessionMagic)
		binary.LittleEndian.PutUint32(hdr[8:], sessionVersion)
		binary.LittleEndian.PutUint32(hdr[12:], uint32(len(meta)))
		w.Write(hdr[:])
		w.Write(meta)
		return s.conv.session().Snapshot(w, st.dtype)
	})
	if err != nil {
		return err
	}
	s.dirty, s.onDisk = false, true
	st.m.saves.Add(1)
	return nil
}

// newID returns a fresh session id.
func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return "chat-" + hex.EncodeToString(b[:])
}

// lookup returns the session for a request: the pinned id (created when
// new), or the session whose text hash is key (when found), or a new one.
// errBelongs is returned when a pinned id is another model's session.
func (st *store) lookup(e *Engine, id string, key *[32]byte) (*session, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if id != "" {
		if s, ok := st.sessions[id]; ok {
			if s.e != e {
				return nil, &APIError{status: 400, Type: "invalid_request_error", Message: fmt.Sprintf("session %s is a conversation with model %s, not %s", id, s.e.Name, e.Name), Param: strp("model"), Code: strp("session_model_mismatch")}
			}
			return s, nil
		}
	} else if key != nil {
		if s, ok := st.byKey[*key]; ok && s.e == e {
			return s, nil
		}
	}
	if id == "" {
		id = newID()
	}
	s := &session{id: id, e: e, lock: make(chan struct{}, 1)}
	st.sessions[id] = s
	return s, nil
}

// acquire takes s's lock, waiting at most until ctx ends.
func (s *session) acquire(ctx context.Context) error {
	select {
	case s.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *session) release() { <-s.lock }

// load makes s usable (its lock held): restores it from disk or starts it.
func (st *store) load(s *session) error {
	if s.bad != nil {
		return s.bad
	}
	if s.conv != nil {
		return nil
	}
	if s.onDisk {
		if err := st.restore(s); err != nil {
			st.mu.Lock()
			s.bad = err
			st.mu.Unlock()
			st.m.badFiles.Add(1)
			return err
		}
		st.m.restores.Add(1)
		return nil
	}
	st.setConv(s, s.e.NewConversation())
	return nil
}

// reset starts s's conversation anew (its lock held).
func (st *store) reset(s *session) {
	st.mu.Lock()
	if st.byKey[s.key] == s {
		delete(st.byKey, s.key)
	}
	s.conv = s.e.NewConversation()
	st.mu.Unlock()
}

// done records the end of a request on s (its lock held) and reindexes it.
func (st *store) done(s *session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s.conv == nil {
		return
	}
	if st.byKey[s.key] == s {
		delete(st.byKey, s.key)
	}
	s.key = s.conv.Key()
	st.byKey[s.key] = s
	st.clock++
	s.used, s.dirty, s.idle = st.clock, true, time.Now()
}

// evictLRU moves the least recently used idle sessions to disk (or drops
// them without a state directory) until at most maxMemory are in memory.
func (st *store) evictLRU() {
	for {
		st.mu.Lock()
		var in []*session
		for _, s := range st.sessions {
			if s.conv != nil {
				in = append(in, s)
			}
		}
		if len(in) <= st.maxMemory {
			st.mu.Unlock()
			return
		}
		sort.Slice(in, func(i, j int) bool { return in[i].used < in[j].used })
		st.mu.Unlock()
		evicted := false
		for _, s := range in {
			select {
			case s.lock <- struct{}{}:
			default:
				continue // busy: not idle
			}
			err := st.save(s)
			if err == nil {
				st.mu.Lock()
				s.conv = nil
				if st.dir == "" {
					delete(st.sessions, s.id)
					if st.byKey[s.key] == s {
						delete(st.byKey, s.key)
					}
				}
				st.mu.Unlock()
				st.m.evictions.Add(1)
				evicted = true
			}
			s.release()
			break
		}
		if !evicted {
			return
		}
	}
}

// saveIdle writes the dirty sessions idle for at least d; with all set it
// waits for busy sessions and writes every dirty one (shutdown).
func (st *store) saveIdle(d time.Duration, all bool) error {
	st.mu.Lock()
	var list []*session
	for _, s := range st.sessions {
		list = append(list, s)
	}
	st.mu.Unlock()
	var errs []error
	for _, s := range list {
		if all {
			s.lock <- struct{}{}
		} else {
			select {
			case s.lock <- struct{}{}:
			default:
				continue
			}
		}
		if s.dirty && (all || time.Since(s.idle) >= d) {
			if err := st.save(s); err != nil {
				errs = append(errs, fmt.Errorf("session %s: %w", s.id, err))
			}
		}
		s.release()
	}
	return errors.Join(errs...)
}

// counts returns the sessions in memory and on disk (only), and the sink
// and window tokens held by the caches in memory.
func (st *store) counts() (memory, disk, sinks, window int) {
	st.mu.Lock()
	list := make([]*session, 0, len(st.sessions))
	for _, s := range st.sessions {
		list = append(list, s)
	}
	st.mu.Unlock()
	for _, s := range list {
		select {
		case s.lock <- struct{}{}:
		default:
			memory++ // busy: in memory
			continue
		}
		if s.conv != nil {
			memory++
			u := s.conv.Cache()
			sinks += u.Sinks
			window += u.Window
		} else if s.onDisk {
			disk++
		}
		s.release()
	}
	return memory, disk, sinks, window
}

func strp(s string) *string { return &s }
