package serve

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/infer"
)

// TestMain lets the test binary run as a server process of its own
// (SINKTRAIN_SERVE_CHILD=1), so that the restart tests can kill -9 and
// SIGTERM a real process.
func TestMain(m *testing.M) {
	if os.Getenv("SINKTRAIN_SERVE_CHILD") == "1" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

func runChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	idle, _ := time.ParseDuration(os.Getenv("SAVE_IDLE"))
	o := Options{Models: []ModelDir{{Name: "tiny", Dir: os.Getenv("MODEL")}}, Cache: "1+31", State: os.Getenv("STATE"), SaveIdle: idle,
		Addr: "127.0.0.1:0", ShutdownGrace: 200 * time.Millisecond,
		Ready: func(addr string) {
			p := os.Getenv("ADDR_FILE")
			os.WriteFile(p+".tmp", []byte(addr), 0o644)
			os.Rename(p+".tmp", p)
		}}
	if err := Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

// child is a server process started from the test binary.
type child struct {
	cmd *exec.Cmd
	url string
}

func startChild(t *testing.T, model, state, saveIdle string) *child {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SINKTRAIN_SERVE_CHILD=1", "MODEL="+model, "STATE="+state, "SAVE_IDLE="+saveIdle, "ADDR_FILE="+addrFile)
	cmd.Stderr = os.Stderr
	mustT(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(addrFile); err == nil {
			return &child{cmd: cmd, url: "http://" + string(b)}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the server process did not start listening")
	return nil
}

// pinnedTurn sends one user message to a pinned session.
func pinnedTurn(t *testing.T, url, session string, i int) (string, CacheUsage) {
	t.Helper()
	r, _ := chatOnce(t, url, map[string]any{"model": "tiny", "messages": msgs("user", fmt.Sprintf("%s, turn %d: tell me more", session, i)),
		"max_tokens": 6, "seed": 9, "temperature": 0.9}, "X-Session-Id", session)
	return string(r.Choices[0].Message.Content), *r.Usage.Cache
}

// waitSaved waits until the session files of ids record turns replies.
func waitSaved(t *testing.T, e *Engine, state string, ids []string, turns int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ok := true
		for _, id := range ids {
			m, err := readMeta(filepath.Join(state, "tiny", id+".session"), e)
			if err != nil || m.State.Turns != turns {
				ok = false
			}
		}
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("sessions %v were not written with %d turns", ids, turns)
}

// longRequest starts a long streamed generation in session gamma and
// returns once its first bytes arrived.
func longRequest(t *testing.T, url string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(
		`{"model":"tiny","messages":[{"role":"user","content":"go on"}],"max_tokens":4096,"stream":true}`))
	req.Header.Set("X-Session-Id", "gamma")
	resp, err := http.DefaultClient.Do(req)
	mustT(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	buf := make([]byte, 512)
	_, err = resp.Body.Read(buf)
	mustT(t, err)
}

// TestKill9AndSIGTERM: sessions written before a kill -9 (which lands in
// the middle of a long generation) resume after a restart with the same
// cache: their next replies and cache counts equal those of a server that
// never stopped. After SIGTERM (never idle long enough to be written
// before), every session resumes the same way.
func TestKill9AndSIGTERM(t *testing.T) {
	model := writeTinyModel(t, 1, 5, "")
	e, err := LoadEngine("tiny", model, infer.CacheSpec{Kind: infer.SinkWindow, Sinks: 1, Window: 31}, checkpoint.F32)
	mustT(t, err)
	_, ref := testServer(t, Options{Models: []ModelDir{{Name: "tiny", Dir: model}}, Cache: "1+31"})
	ids := []string{"alpha", "beta"}
	type want struct {
		reply string
		cache CacheUsage
	}
	expect := map[string]want{}
	for _, id := range ids {
		for i := range 3 {
			pinnedTurn(t, ref.URL, id, i)
		}
		r, c := pinnedTurn(t, ref.URL, id, 3)
		expect[id] = want{r, c}
	}
	check := func(url, when string) {
		for _, id := range ids {
			r, c := pinnedTurn(t, url, id, 3)
			if w := expect[id]; r != w.reply || c != w.cache {
				t.Errorf("%s, session %s turn 3: %q %+v, want %q %+v", when, id, r, c, w.reply, w.cache)
			}
		}
	}

	t.Run("kill -9", func(t *testing.T) {
		state := t.TempDir()
		c := startChild(t, model, state, "50ms")
		for _, id := range ids {
			for i := range 3 {
				pinnedTurn(t, c.url, id, i)
			}
		}
		waitSaved(t, e, state, ids, 3)
		longRequest(t, c.url) // running when the kill comes
		mustT(t, c.cmd.Process.Signal(syscall.SIGKILL))
		c.cmd.Wait()
		c2 := startChild(t, model, state, "50ms")
		check(c2.url, "after kill -9")
	})

	t.Run("SIGTERM", func(t *testing.T) {
		state := t.TempDir()
		c := startChild(t, model, state, "1h")
		for _, id := range ids {
			for i := range 3 {
				pinnedTurn(t, c.url, id, i)
			}
		}
		if files, _ := filepath.Glob(filepath.Join(state, "tiny", "*.session")); len(files) != 0 {
			t.Fatalf("sessions written before SIGTERM: %v", files)
		}
		longRequest(t, c.url) // running past the shutdown grace: cancelled
		mustT(t, c.cmd.Process.Signal(syscall.SIGTERM))
		if err := c.cmd.Wait(); err != nil {
			t.Fatalf("server exit after SIGTERM: %v", err)
		}
		waitSaved(t, e, state, ids, 3)
		waitSaved(t, e, state, []string{"gamma"}, 1)
		c2 := startChild(t, model, state, "1h")
		check(c2.url, "after SIGTERM")
	})
}
