package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/infer"
)

func TestGenerateFlags(t *testing.T) {
	def := func(o infer.GenerateOptions) infer.GenerateOptions {
		o.MaxNewTokens, o.Temperature, o.TopK, o.TopP, o.Seed = 128, 0.8, 40, 1, 1
		return o
	}
	tests := []struct {
		args    []string
		want    infer.GenerateOptions
		wantErr string
	}{
		{
			args: []string{"--model", "m", "--cache", "4+252", "--prompt", "Once upon"},
			want: def(infer.GenerateOptions{Model: "m", Cache: "4+252", Prompt: "Once upon"}),
		},
		{
			args: []string{"--model", "m", "--cache", "1+63", "--chat", "--max-new-tokens", "20", "--temperature", "0", "--top-k", "0", "--seed", "7"},
			want: infer.GenerateOptions{Model: "m", Cache: "1+63", Chat: true, MaxNewTokens: 20, TopP: 1, Seed: 7},
		},
		{args: []string{"--model", "m", "--cache", "dense"}, wantErr: "at least one of the flags"},
		{args: []string{"--model", "m", "--cache", "dense", "--chat", "--prompt", "x"}, wantErr: "none of the others"},
		{args: []string{"--model", "m", "--prompt", "x"}, wantErr: `"cache" not set`},
		{args: []string{"--model", "m", "--cache", "dense", "--prompt", "x", "--seed", "-1"}, wantErr: "invalid argument"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got *infer.GenerateOptions
			record := func(_ context.Context, o *infer.GenerateOptions) error { got = o; return nil }
			cmd := newGenerateCmd(record, record)
			checkFlags(t, cmd, &got, tt.args, tt.wantErr, tt.want, func(o *infer.GenerateOptions) { o.In, o.Out = nil, nil })
		})
	}
}
