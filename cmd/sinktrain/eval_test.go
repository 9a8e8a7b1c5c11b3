package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/study"
)

// defEngine is the engine flags' defaults.
var defEngine = study.Engine{Chunk: 512, DType: "float32"}

func TestEvalStreamFlags(t *testing.T) {
	tests := []struct {
		cli     string
		want    study.EvalOptions
		wantErr string
	}{
		{
			cli:  "stream --model m --text t.txt --cache 4+252 --cache dense",
			want: study.EvalOptions{Model: "m", Source: study.Source{Text: "t.txt"}, Engine: defEngine, Caches: []string{"4+252", "dense"}},
		},
		{
			cli: "stream --model m --ids ids.txt --cache recompute:256 --max-tokens 1000 --nll-out n.csv --json",
			want: study.EvalOptions{Model: "m", Source: study.Source{IDs: "ids.txt", MaxTokens: 1000}, Engine: defEngine, Caches: []string{"recompute:256"},
				NLLOut: "n.csv", JSON: true},
		},
		{cli: "stream --model m --data d --cache 0+64", want: study.EvalOptions{Model: "m", Source: study.Source{Data: "d"}, Engine: defEngine, Caches: []string{"0+64"}}},
		{
			cli:  "stream --model m --data d --cache 0+64 --chunk 7 --exact-steps --dtype bfloat16",
			want: study.EvalOptions{Model: "m", Source: study.Source{Data: "d"}, Engine: study.Engine{Chunk: 7, ExactSteps: true, DType: "bfloat16"}, Caches: []string{"0+64"}},
		},
		{cli: "stream --model m --data d --cache 0+64 --chunk 0", wantErr: "chunk size 0: expected ≥ 1 token"},
		{cli: "stream --model m --text t --ids i --cache dense", wantErr: "none of the others"},
		{cli: "stream --model m --cache dense", wantErr: "at least one of the flags"},
		{cli: "stream --model m --text t", wantErr: `"cache" not set`},
		{cli: "stream --text t --cache dense", wantErr: `"model" not set`},
		{cli: "stream --model m --text t --cache dense --max-tokens x", wantErr: "invalid argument"},
		{cli: "stream --model m --text t --cache dense extra", wantErr: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.cli, func(t *testing.T) {
			var got *study.EvalOptions
			cmd := newEvalCmd(func(_ context.Context, o *study.EvalOptions) error { got = o; return nil })
			checkFlags(t, cmd, &got, strings.Fields(tt.cli), tt.wantErr, tt.want, func(o *study.EvalOptions) { o.Out, o.Progress = nil, nil })
		})
	}
}
