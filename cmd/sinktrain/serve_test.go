package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sinktrain/sinktrain/serve"
)

func TestServeFlags(t *testing.T) {
	def := func(f func(*serve.Options)) serve.Options {
		o := serve.Defaults()
		f(&o)
		return o
	}
	tests := []struct {
		args    []string
		want    serve.Options
		wantErr string
	}{
		{
			args: []string{"--model", "runs/sink1", "--cache", "1+255"},
			want: def(func(o *serve.Options) { o.Models, o.Cache = []serve.ModelDir{{Dir: "runs/sink1"}}, "1+255" }),
		},
		{
			args: []string{"--model", "a=runs/a", "--model", "b=runs/b", "--cache", "4+252", "--addr", "0.0.0.0:9000", "--state", "s",
				"--kv-dtype", "bfloat16", "--dtype", "bfloat16", "--save-idle", "0s", "--max-sessions", "3", "--max-body", "100", "--max-tokens", "9",
				"--default-max-tokens", "5", "--timeout", "1m", "--parallel", "4", "--max-queue", "7", "--shutdown-grace", "2s"},
			want: serve.Options{Models: []serve.ModelDir{{Name: "a", Dir: "runs/a"}, {Name: "b", Dir: "runs/b"}}, Cache: "4+252", Addr: "0.0.0.0:9000",
				State: "s", KVDType: "bfloat16", DType: "bfloat16", MaxSessions: 3, MaxBodyBytes: 100, MaxTokens: 9, DefaultMaxTokens: 5, Timeout: time.Minute,
				Parallel: 4, MaxQueue: 7, ShutdownGrace: 2 * time.Second},
		},
		{args: []string{"--cache", "1+255"}, wantErr: `"model" not set`},
		{args: []string{"--model", "m"}, wantErr: `"cache" not set`},
		{args: []string{"--model", "=m", "--cache", "1+3"}, wantErr: "--model: model \"=m\", expected DIR or NAME=DIR"},
		{args: []string{"--model", "m", "--cache", "1+3", "--timeout", "soon"}, wantErr: "invalid argument"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got *serve.Options
			cmd := newServeCmd(func(_ context.Context, o serve.Options) error { got = &o; return nil })
			checkFlags(t, cmd, &got, tt.args, tt.wantErr, tt.want, func(o *serve.Options) { o.Log = nil })
		})
	}
}
