package serve

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/infer"
)

// TestChatCLI: generate --chat answers every non-empty line under K+W and
// dense caches, the same seed gives the same replies, and a recompute
// cache is refused.
func TestChatCLI(t *testing.T) {
	dir := writeTinyModel(t, 1, 3, "")
	run := func(cache string, seed uint64) (string, error) {
		var out bytes.Buffer
		err := Chat(context.Background(), ChatOptions{Model: dir, Cache: cache, MaxNewTokens: 5, SamplerOptions: infer.SamplerOptions{Temperature: 0.8, TopK: 40, Seed: seed},
			In: strings.NewReader("Hello there\n\nWho are you?\nThe rabbit hole is deep.\n"), Out: &out})
		return out.String(), err
	}
	for _, cache := range []string{"1+15", "dense"} {
		a, err := run(cache, 1)
		mustT(t, err)
		b, _ := run(cache, 1)
		c, _ := run(cache, 2)
		if n := strings.Count(a, "\n"); n < 3 || a != b || a == c {
			t.Errorf("%s: %q (%d lines), again %q, seed 2 %q", cache, a, n, b, c)
		}
	}
	if _, err := run("recompute:16", 1); err == nil || !strings.Contains(err.Error(), "recompute re-encodes") {
		t.Errorf("recompute: %v", err)
	}

	// Echo marks each turn before its reply (the same replies), and a turn
	// longer than the window with its answer gets a notice.
	plain, err := run("1+15", 1)
	mustT(t, err)
	var out, notes bytes.Buffer
	long := "The rabbit hole went straight on like a tunnel for some way, and then dipped suddenly down."
	in := "Hello there\n\nWho are you?\n" + long + "\n"
	err = Chat(context.Background(), ChatOptions{Model: dir, Cache: "1+40", MaxNewTokens: 5, SamplerOptions: infer.SamplerOptions{Temperature: 0.8, TopK: 40, Seed: 1},
		In: strings.NewReader(in), Out: &out, Echo: true, Notice: &notes})
	mustT(t, err)
	got := out.String()
	if !strings.HasPrefix(got, "> Hello there\n") || !strings.Contains(got, "\n> Who are you?\n") || !strings.Contains(got, "\n> "+long+"\n") {
		t.Errorf("echoed chat %q does not mark every turn", got)
	}
	if n := strings.Count(notes.String(), "note: "); n != 1 || !strings.Contains(notes.String(), "turn 3 (") || !strings.Contains(notes.String(), "40-token window of 1+40") {
		t.Errorf("notices %q: want one, for turn 3", notes.String())
	}
	var bare bytes.Buffer
	mustT(t, Chat(context.Background(), ChatOptions{Model: dir, Cache: "1+15", MaxNewTokens: 5, SamplerOptions: infer.SamplerOptions{Temperature: 0.8, TopK: 40, Seed: 1},
		In: strings.NewReader("Hello there\n\nWho are you?\nThe rabbit hole is deep.\n"), Out: &bare, Prompt: "> "}))
	if strings.ReplaceAll(bare.String(), "> ", "") != plain+"\n" {
		t.Errorf("with a prompt %q, without %q: replies differ", bare.String(), plain)
	}
}

// TestDeltas: for the plain and a Jinja template, a client that pins its
// session and sends only the new message gets the same delta text as one
// that sends the whole history (so both equal generate --chat), and the
// conversation key after a turn is the hash ExtensionDelta computes.
func TestDeltas(t *testing.T) {
	for _, tmpl := range []string{"", qwen2Template, llama3Template} {
		e, err := LoadEngine("m", writeTinyModel(t, 1, 3, tmpl), infer.CacheSpec{Kind: infer.SinkWindow, Sinks: 1, Window: 200}, checkpoint.F32)
		mustT(t, err)
		conv := e.NewConversation()
		var hist []Message
		for i, turn := range []string{"Hello", "Who are you?", "Bye"} {
			user := Message{Role: "user", Content: Content(turn)}
			pinned, err := conv.PinnedDelta(e.Template, []Message{user})
			mustT(t, err)
			hist = append(hist, user)
			full, err := e.Template.Render(hist, true)
			mustT(t, err)
			key, ext, ok := ExtensionDelta(e.Template, hist, full)
			if i == 0 {
				if ok || pinned != full {
					t.Errorf("%s turn 0: extension %v, pinned %q, full %q", e.Template.Name(), ok, pinned, full)
				}
			} else if !ok || key != conv.Key() || ext != pinned {
				t.Errorf("%s turn %d: extension ok %v, key match %v, delta %q, pinned delta %q", e.Template.Name(), i, ok, key == conv.Key(), ext, pinned)
			}
			res, err := conv.Turn(context.Background(), pinned, TurnParams{MaxTokens: 4, Sampling: infer.SamplerOptions{Temperature: 1, Seed: 1}}, nil)
			mustT(t, err)
			hist = append(hist, Message{Role: "assistant", Content: Content(res.Reply)})
		}
	}
}

// TestReplyWriterStops: stop strings end the reply before them, even when
// they arrive split over pieces, and no piece of one is ever emitted.
func TestReplyWriterStops(t *testing.T) {
	for _, tt := range []struct {
		pieces []string
		stops  []string
		want   string
		emits  string
	}{
		{[]string{"Hel", "lo US", "ER: x"}, []string{"USER:"}, "Hello ", "Hel|lo "},
		{[]string{"ab", "c", "d"}, []string{"x"}, "abcd", "ab|c|d"},
		{[]string{"a\n", "\nb"}, []string{"\n\n", "b"}, "a", "a"},
		{[]string{"aUS", "E"}, []string{"USER"}, "aUSE", "a|USE"},
	} {
		var emits []string
		w := replyWriter{stops: tt.stops, emit: func(s string) error { emits = append(emits, s); return nil }}
		for _, p := range tt.pieces {
			if stopped, _ := w.add(p); stopped {
				break
			}
		}
		mustT(t, w.finish())
		if w.text() != tt.want || strings.Join(emits, "|") != tt.emits {
			t.Errorf("%q stops %q: reply %q emitted %q, want %q emitted %q", tt.pieces, tt.stops, w.text(), strings.Join(emits, "|"), tt.want, tt.emits)
		}
	}
	if got := validUTF8("a\xffb\xe2\x82"); got != "a\uFFFDb\uFFFD\uFFFD" {
		t.Errorf("validUTF8: %q", got)
	}
}
