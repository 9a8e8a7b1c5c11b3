package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/study"
)

func TestCompareFlags(t *testing.T) {
	tests := []struct {
		cli     string
		want    study.CompareOptions
		wantErr string
	}{
		{
			cli: "--model a=runs/a --model b=runs/b --text t.txt --cache 0+64 --cache dense --out o",
			want: study.CompareOptions{Models: []study.NamedModel{{Name: "a", Path: "runs/a"}, {Name: "b", Path: "runs/b"}},
				Source: study.Source{Text: "t.txt"}, Engine: defEngine, Caches: []string{"0+64", "dense"}, Out: "o"},
		},
		{
			cli: "--model a=x --data d --cache recompute:64 --out o --allow-different-tokenizers --max-tokens 2000",
			want: study.CompareOptions{Models: []study.NamedModel{{Name: "a", Path: "x"}}, Source: study.Source{Data: "d", MaxTokens: 2000, AllowDifferentTokenizers: true},
				Engine: defEngine,
				Caches: []string{"recompute:64"}, Out: "o"},
		},
		{cli: "--model a --text t --cache dense --out o", wantErr: "expected NAME=CKPT"},
		{
			cli:  "--model a=x --ids i.txt --cache 4+60 --out o",
			want: study.CompareOptions{Models: []study.NamedModel{{Name: "a", Path: "x"}}, Source: study.Source{IDs: "i.txt"}, Engine: defEngine, Caches: []string{"4+60"}, Out: "o"},
		},
		{
			cli: "--model a=x --ids i.txt --cache 4+60 --out o --jobs 2 --chunk 64 --exact-steps --dtype bfloat16",
			want: study.CompareOptions{Models: []study.NamedModel{{Name: "a", Path: "x"}}, Source: study.Source{IDs: "i.txt"},
				Engine: study.Engine{Chunk: 64, ExactSteps: true, DType: "bfloat16"}, Caches: []string{"4+60"}, Out: "o", Jobs: 2},
		},
		{cli: "--model a=x --text t --data d --cache dense --out o", wantErr: "none of the others"},
		{cli: "--model a=x --cache dense --out o", wantErr: "at least one of the flags"},
		{cli: "--model a=x --text t --out o", wantErr: `"cache" not set`},
		{cli: "--model a=x --text t --cache dense", wantErr: `"out" not set`},
		{cli: "--model a=x --text t --cache dense --out o extra", wantErr: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.cli, func(t *testing.T) {
			var got *study.CompareOptions
			cmd := newCompareCmd(func(_ context.Context, o *study.CompareOptions) error { got = o; return nil }, nil)
			checkFlags(t, cmd, &got, strings.Fields(tt.cli), tt.wantErr, tt.want, func(o *study.CompareOptions) { o.Progress, o.Stdout = nil, nil })
		})
	}
}

func TestCompareReportFlags(t *testing.T) {
	tests := []struct {
		cli     string
		want    study.ReportOptions
		wantErr string
	}{
		{
			cli: "report --compare c --inspect a=i/a --inspect b=i/b --out docs/results.md --command sink-study.sh",
			want: study.ReportOptions{Compare: "c", Inspect: []study.NamedModel{{Name: "a", Path: "i/a"}, {Name: "b", Path: "i/b"}},
				Out: "docs/results.md", Command: "sink-study.sh"},
		},
		{cli: "report --compare c --out r.md --assets r", want: study.ReportOptions{Compare: "c", Out: "r.md", Assets: "r"}},
		{cli: "report --compare c --inspect a --out r.md", wantErr: "expected NAME=DIR"},
		{cli: "report --out r.md", wantErr: `"compare" not set`},
	}
	for _, tt := range tests {
		t.Run(tt.cli, func(t *testing.T) {
			var got *study.ReportOptions
			cmd := newCompareCmd(nil, func(o *study.ReportOptions) error { got = o; return nil })
			checkFlags(t, cmd, &got, strings.Fields(tt.cli), tt.wantErr, tt.want, nil)
		})
	}
}
