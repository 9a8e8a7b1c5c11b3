package main

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sinktrain/sinktrain/infer"
	"github.com/sinktrain/sinktrain/serve"
)

// newServeCmd builds `sinktrain serve`. runF nil runs serve.Run.
func newServeCmd(runF func(context.Context, serve.Options) error) *cobra.Command {
	if runF == nil {
		runF = serve.Run
	}
	o := serve.Defaults()
	var models []string
	cmd := &cobra.Command{
		Use:   "serve --model [NAME=]DIR... --cache K+W [--addr HOST:PORT] [--state DIR]",
		Short: "Serve models over the OpenAI HTTP API, one bounded sink+window cache per conversation",
		Long: `serve speaks the OpenAI HTTP API (POST /v1/chat/completions, POST /v1/completions,
streamed as server-sent events or not; GET /v1/models, /healthz, /metrics) and
serves a chat page at /. Each conversation keeps its own K+W cache between
requests: a request that continues a conversation (its earlier messages plus the
reply the server gave) encodes only its new tokens, so per-token cost and memory
stay flat however long the conversation gets. X-Session-Id (or the user field)
pins one endless conversation. With --state, idle sessions are written there
(atomically) and read back on demand, also after a restart; SIGTERM finishes or
cancels in-flight requests and writes every session.`,
		Example: `  sinktrain serve --model runs/sink1 --cache 1+255 --state runs/sessions
  sinktrain serve --model sink1=runs/sink1 --model vanilla=runs/vanilla --cache 4+252 --addr 0.0.0.0:8080 --parallel 4
  curl -N localhost:8080/v1/chat/completions -d '{"model":"sink1","messages":[{"role":"user","content":"Hi"}],"stream":true}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Models = o.Models[:0]
			for _, s := range models {
				m, err := serve.ParseModelDir(s)
				if err != nil {
					return fmt.Errorf("--model: %w", err)
				}
				o.Models = append(o.Models, m)
			}
			if _, err := infer.ParseCacheSpec(o.Cache); err != nil {
				return err // names the spec; run words it as --cache
			}
			_, port, err := net.SplitHostPort(o.Addr)
			if err != nil {
				return usageError{fmt.Errorf("--addr %q: %w, expected HOST:PORT", o.Addr, err)}
			}
			if n, err := strconv.Atoi(port); err != nil && port != "" || n < 0 || n > 65535 {
				return usageError{fmt.Errorf("--addr %q: port %q, expected 0…65535", o.Addr, port)}
			}
			o.Log = cmd.ErrOrStderr()
			return runF(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&models, "model", nil, "`[NAME=]DIR`: a model folder to serve (repeatable; NAME is its API name, default the folder name)")
	f.StringVar(&o.Cache, "cache", "", "cache `SPEC` of every session: K+W (e.g. 4+252) or dense")
	f.StringVar(&o.Addr, "addr", o.Addr, "listen address `HOST:PORT`")
	f.StringVar(&o.State, "state", "", "`DIR` where sessions are written and restored from (empty: memory only)")
	f.StringVar(&o.KVDType, "kv-dtype", o.KVDType, "`DTYPE` of KV caches in session files: float32 or bfloat16")
	f.StringVar(&o.DType, "dtype", o.DType, "store the weights as `DTYPE`: float32 or bfloat16 (half the bytes per token)")
	f.DurationVar(&o.SaveIdle, "save-idle", o.SaveIdle, "write a changed session once idle this `LONG` (0: after every request)")
	f.IntVar(&o.MaxSessions, "max-sessions", o.MaxSessions, "sessions kept in memory (`N`); least recently used beyond go to --state")
	f.Int64Var(&o.MaxBodyBytes, "max-body", o.MaxBodyBytes, "largest request body in `BYTES`")
	f.IntVar(&o.MaxTokens, "max-tokens", o.MaxTokens, "largest max_tokens a request may ask for (`N`)")
	f.IntVar(&o.DefaultMaxTokens, "default-max-tokens", o.DefaultMaxTokens, "max_tokens of requests that give none (`N`)")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "per-request time limit (`DURATION`)")
	f.IntVar(&o.Parallel, "parallel", o.Parallel, "requests generating at once (`N`; one session's requests always run in turn)")
	f.IntVar(&o.MaxQueue, "max-queue", o.MaxQueue, "requests that may wait for a generation slot (`N`; more get 429)")
	f.DurationVar(&o.ShutdownGrace, "shutdown-grace", o.ShutdownGrace, "on SIGTERM, let in-flight requests run this `LONG` before cancelling them")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("cache")
	return cmd
}
