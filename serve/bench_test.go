package serve

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/infer"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// BenchmarkTurn times turn N of one conversation (up to 32 tokens) on a
// random d=256, 4-layer model under a 4+252 cache; ns/token is the decode
// time per reply piece after the first (prompt prefill excluded): with the
// cache full (from about turn 5 on) it stays flat however long the
// conversation. Each
// iteration restores the conversation as it was before turn N (float32
// snapshot, not timed).
//
//	go test ./serve -run '^$' -bench BenchmarkTurn -count 5
func BenchmarkTurn(b *testing.B) {
	dir := writeBenchModel(b)
	e, err := LoadEngine("bench", dir, infer.CacheSpec{Kind: infer.SinkWindow, Sinks: 4, Window: 252}, checkpoint.F32)
	mustT(b, err)
	p := TurnParams{MaxTokens: 32, Sampling: infer.SamplerOptions{Temperature: 0.8, TopK: 40, Seed: 1}}
	conv := e.NewConversation()
	// say runs one turn and returns the decode time between its first and
	// last reply piece and the number of pieces after the first.
	say := func(c *Conversation, turn int) (time.Duration, int) {
		text, err := c.PinnedDelta(e.Template, []Message{{Role: "user", Content: Content(fmt.Sprintf("Turn %d: and what happened next, in a few words?", turn))}})
		mustT(b, err)
		var first, last time.Time
		n := 0
		_, err = c.Turn(context.Background(), text, p, func(string) error {
			last = time.Now()
			if n == 0 {
				first = last
			}
			n++
			return nil
		})
		mustT(b, err)
		if n < 2 {
			return 0, 0
		}
		return last.Sub(first), n - 1
	}
	done := 0
	for _, turn := range []int{1, 20, 200} {
		for done < turn-1 {
			done++
			say(conv, done)
		}
		var snap bytes.Buffer
		mustT(b, conv.session().Snapshot(&snap, checkpoint.F32))
		state, err := conv.state()
		mustT(b, err)
		b.Run(fmt.Sprintf("turn=%d", turn), func(b *testing.B) {
			var decode time.Duration
			tokens := 0
			for b.Loop() {
				b.StopTimer()
				sess, err := e.Model.RestoreSession(bytes.NewReader(snap.Bytes()), e.Spec)
				mustT(b, err)
				c, err := e.conversationFrom(state, sess)
				mustT(b, err)
				b.StartTimer()
				d, n := say(c, turn)
				decode += d
				tokens += n
			}
			b.ReportMetric(float64(decode.Nanoseconds())/float64(max(tokens, 1)), "ns/token")
		})
	}
}

// writeBenchModel writes a random GPT-NeoX of the reference width (d=256,
// 4 layers, 4 heads, ffn 1024) over the 512-token fixture tokenizer, 1 sink.
func writeBenchModel(b *testing.B) string {
	dir := writeTinyModel(b, 1, 1, "")
	cfg := model.Config{VocabSize: 512, HiddenSize: 256, NumLayers: 4, NumHeads: 4, IntermediateSize: 1024,
		RotaryPct: 0.25, RotaryBase: 10000, MaxPositionEmbeddings: 256, LayerNormEps: 1e-5, ParallelResidual: true,
		HiddenAct: "gelu", Attention: sinktoken.Softmax, SinkTokens: []string{sinktoken.TokenName(0)}, SinkIDs: []int{1}}
	overwriteModel(b, dir, cfg, 1)
	return dir
}
