package serve

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sinktrain/sinktrain/infer"
)

// ChatOptions configures Chat.
type ChatOptions struct {
	Model        string // model folder
	Cache        string // cache spec: K+W or dense
	MaxNewTokens int    // per turn, ≥ 1
	DType        string // weight storage: float32 ("" too) or bfloat16
	infer.SamplerOptions
	In  io.Reader // user turns, one per line (nil: os.Stdin)
	Out io.Writer // replies, streamed, each followed by a newline (nil: os.Stdout)
	// Prompt, when set, is written to Out before each turn is read (a
	// terminal's "> "); Echo writes each turn to Out as "> TURN" before its
	// reply (turns read from a file or pipe). Either separates the turns.
	Prompt string
	Echo   bool
	// Notice gets a line when a turn plus its longest answer no longer
	// fits the cache window, so that the turn's start is evicted while it
	// is read (nil: no notices).
	Notice io.Writer
}

// Chat holds one conversation on a terminal (sinktrain generate --chat):
// every non-empty line of o.In is a user message, answered on o.Out
// (streamed as generated, then a newline). It runs the server's
// Conversation code under the model's chat template: the conversation of a
// client that pins a session (X-Session-Id) or sends its whole history,
// with the same seed and sampling, gets the same replies.
func Chat(ctx context.Context, o ChatOptions) error {
	if o.Model == "" {
		return fmt.Errorf("no model folder given")
	}
	if o.MaxNewTokens < 1 {
		return fmt.Errorf("max new tokens %d, expected ≥ 1", o.MaxNewTokens)
	}
	if err := o.SamplerOptions.Validate(); err != nil {
		return err
	}
	spec, err := infer.ParseCacheSpec(o.Cache)
	if err != nil {
		return err
	}
	dtype, err := infer.ParseDType(o.DType)
	if err != nil {
		return err
	}
	e, err := LoadEngine("chat", o.Model, spec, dtype)
	if err != nil {
		return err
	}
	in, out := o.In, o.Out
	if in == nil {
		in = os.Stdin
	}
	if out == nil {
		out = os.Stdout
	}
	conv := e.NewConversation()
	p := TurnParams{MaxTokens: o.MaxNewTokens, Sampling: o.SamplerOptions}
	emit := func(s string) error { _, err := io.WriteString(out, s); return err }
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	for {
		if o.Prompt != "" {
			if err := emit(o.Prompt); err != nil {
				return err
			}
		}
		if !sc.Scan() {
			break
		}
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if o.Echo {
			if err := emit("> " + line + "\n"); err != nil {
				return err
			}
		}
		text, err := conv.PinnedDelta(e.Template, []Message{{Role: "user", Content: Content(line)}})
		if err != nil {
			return err
		}
		if n := len(e.Tok.Encode(text)); o.Notice != nil && spec.Kind == infer.SinkWindow && n+o.MaxNewTokens > spec.Window {
			fmt.Fprintf(o.Notice, "note: turn %d (%d tokens) plus its answer (up to %d) is longer than the %d-token window of %s: its first tokens are evicted while it is read\n",
				conv.Turns()+1, n, o.MaxNewTokens, spec.Window, spec)
		}
		if _, err := conv.Turn(ctx, text, p, emit); err != nil {
			return err
		}
		if _, err := io.WriteString(out, "\n"); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading chat turns: %w", err)
	}
	if o.Prompt != "" {
		return emit("\n") // end the last prompt's line
	}
	return nil
}
