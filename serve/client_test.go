package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/infer"
)

// These tests run real clients: the official OpenAI SDK and Playwright
// (node, serve/testdata/client/node_modules from `npm ci`), curl, and
// Debian's Chromium. scripts/setup.sh installs them all; a missing one
// fails the test.

const clientDir = "testdata/client"

// The conversation of the equality tests: a 1-sink tiny model under a 1+63
// cache, 8 tokens per reply, so that the window slides over 20 turns.
const (
	eqCache     = "1+63"
	eqSeed      = 5
	eqMaxTokens = 8
)

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed (scripts/setup.sh installs it): %v", name, err)
	}
	return p
}

func needNodeModules(t *testing.T) {
	t.Helper()
	needTool(t, "node")
	for _, m := range []string{"openai", "playwright-core"} {
		if _, err := os.Stat(filepath.Join(clientDir, "node_modules", m, "package.json")); err != nil {
			t.Fatalf("%s/node_modules/%s is missing: run `npm ci` in %s (scripts/setup.sh does)", clientDir, m, clientDir)
		}
	}
}

// generateChat is `sinktrain generate --chat` on the turns, with the
// sampling the clients use.
func generateChat(t *testing.T, dir string, turns []string) string {
	t.Helper()
	var out bytes.Buffer
	o := ChatOptions{Model: dir, Cache: eqCache, MaxNewTokens: eqMaxTokens, SamplerOptions: infer.SamplerOptions{Temperature: 0.8, TopK: 40, Seed: eqSeed},
		In: strings.NewReader(strings.Join(turns, "\n") + "\n"), Out: &out}
	mustT(t, Chat(context.Background(), o))
	return out.String()
}

// TestOpenAISDKConversation: the OpenAI SDK holds a 20-turn streamed
// conversation (whole history each turn) and its replies equal those of
// `sinktrain generate --chat` with the same seed and cache; the server
// re-encoded nothing (each turn's cached tokens = all the session had).
func TestOpenAISDKConversation(t *testing.T) {
	needNodeModules(t)
	dir := writeTinyModel(t, 1, 21, "")
	turns := userTurns(t)
	want := generateChat(t, dir, turns)
	s, ts := testServer(t, Options{Models: []ModelDir{{Name: "tiny", Dir: dir}}, Cache: eqCache})
	cmd := exec.Command("node", "chat.mjs", ts.URL+"/v1", "tiny", fmt.Sprint(eqSeed), fmt.Sprint(eqMaxTokens), "turns.txt")
	cmd.Dir = clientDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node chat.mjs: %v\n%s", err, stderr.String())
	}
	var res struct {
		Replies []string   `json:"replies"`
		Cache   CacheUsage `json:"cache"`
	}
	mustT(t, json.Unmarshal(out, &res))
	if len(res.Replies) != 20 {
		t.Fatalf("%d replies, want 20", len(res.Replies))
	}
	if got := strings.Join(res.Replies, "\n") + "\n"; got != want {
		t.Errorf("OpenAI SDK conversation differs from generate --chat:\n got %q\nwant %q", got, want)
	}
	if res.Cache.Turns != 20 || res.Cache.Evicted == 0 || res.Cache.Sinks != 1 || res.Cache.Window != 63 {
		t.Errorf("cache after 20 turns %+v: want 20 turns, a full window and evictions", res.Cache)
	}
	if n := s.m.cachedTokens.Load(); n == 0 {
		t.Error("no prompt token was served from a session's cache")
	}
	mem, _, _, _ := s.store.counts()
	if mem != 1 {
		t.Errorf("%d sessions for one conversation, want 1", mem)
	}
	t.Logf("20 turns; last cache %+v; first replies %q", res.Cache, res.Replies[:3])
}

// TestCurlSSE: curl streams a pinned session (X-Session-Id, only the new
// message each turn): the text of the SSE deltas equals generate --chat's.
func TestCurlSSE(t *testing.T) {
	curl := needTool(t, "curl")
	dir := writeTinyModel(t, 1, 21, "")
	turns := userTurns(t)[:4]
	want := generateChat(t, dir, turns)
	_, ts := testServer(t, Options{Models: []ModelDir{{Name: "tiny", Dir: dir}}, Cache: eqCache})
	var got strings.Builder
	for _, turn := range turns {
		body, _ := json.Marshal(map[string]any{"model": "tiny", "messages": msgs("user", turn), "stream": true,
			"seed": eqSeed, "max_tokens": eqMaxTokens, "temperature": 0.8, "top_k": 40})
		cmd := exec.Command(curl, "-sS", "-N", "--fail-with-body", ts.URL+"/v1/chat/completions",
			"-H", "Content-Type: application/json", "-H", "X-Session-Id: curl-1", "-d", string(body))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
		ev := sseEvents(t, out)
		if ev[len(ev)-1] != "[DONE]" {
			t.Fatalf("stream does not end with [DONE]: %q", ev)
		}
		for _, e := range ev[:len(ev)-1] {
			var c ChatResponse
			mustT(t, json.Unmarshal([]byte(e), &c))
			if len(c.Choices) > 0 && c.Choices[0].Delta.Content != nil {
				got.WriteString(*c.Choices[0].Delta.Content)
			}
		}
		got.WriteString("\n")
	}
	if got.String() != want {
		t.Errorf("curl conversation differs from generate --chat:\n got %q\nwant %q", got.String(), want)
	}
}

// TestChatPage: headless Chromium opens the chat page, holds two turns
// (streamed over the API) and takes a screenshot; the transcript and the
// cache panel are read from the DOM and the screenshot shows the user
// bubbles and the sink part of the cache bar in their colours.
func TestChatPage(t *testing.T) {
	needNodeModules(t)
	needTool(t, "chromium")
	_, ts := testServer(t, Options{Models: []ModelDir{{Name: "tiny", Dir: writeTinyModel(t, 1, 21, "")}}, Cache: "1+31"})
	shot := filepath.Join(t.TempDir(), "page.png")
	if p := os.Getenv("SINKTRAIN_PAGE_PNG"); p != "" {
		shot = p // keep the screenshot to look at
	}
	cmd := exec.Command("node", "page.mjs", ts.URL+"/", shot)
	cmd.Dir = clientDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node page.mjs: %v\n%s", err, stderr.String())
	}
	var dom struct {
		Messages []struct{ Role, Text string }
		Cache    map[string]string
		Error    string
	}
	mustT(t, json.Unmarshal(out, &dom))
	if len(dom.Messages) != 4 || dom.Messages[0].Role != "user" || dom.Messages[0].Text != "Hello, who are you?" || dom.Messages[3].Role != "assistant" || dom.Messages[3].Text == "" || dom.Error != "" {
		t.Errorf("transcript %+v, error %q", dom.Messages, dom.Error)
	}
	if c := dom.Cache; c["c-turns"] != "2" || c["c-sinks"] != "1" || c["c-spec"] != "1+31" || !strings.HasPrefix(c["c-session"], "chat-") || !strings.HasSuffix(c["c-window"], "/ 31") {
		t.Errorf("cache panel %v", c)
	}
	f, err := os.Open(shot)
	mustT(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	mustT(t, err)
	if b := img.Bounds(); b.Dx() != 1000 || b.Dy() != 640 {
		t.Errorf("screenshot is %v, want 1000×640", b)
	}
	if n := countColor(img, 0xd8, 0xe7, 0xff); n < 2000 {
		t.Errorf("screenshot has %d pixels of the user bubble colour, want two bubbles' worth", n)
	}
	if n := countColor(img, 0xe8, 0x91, 0x2d); n < 20 {
		t.Errorf("screenshot has %d pixels of the sink colour in the cache bar", n)
	}
}

func countColor(img image.Image, r, g, b uint8) int {
	n := 0
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if uint8(cr>>8) == r && uint8(cg>>8) == g && uint8(cb>>8) == b {
				n++
			}
		}
	}
	return n
}
