package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/checkpoint"
)

func TestConvertFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    checkpoint.ConvertOptions
		wantErr string
	}{
		{
			args: []string{"--from", "pythia", "--out", "dst"},
			want: checkpoint.ConvertOptions{From: "pythia", Out: "dst", DType: "float32"},
		},
		{
			args: []string{"--from", "runs/a", "--out", "x", "--dtype", "bfloat16", "--add-sinks", "4", "--hf"},
			want: checkpoint.ConvertOptions{From: "runs/a", Out: "x", DType: "bfloat16", AddSinks: 4, HF: true},
		},
		{args: []string{"--out", "x"}, wantErr: `"from" not set`},
		{args: []string{"--from", "a"}, wantErr: `"out" not set`},
		{args: []string{"--from", "a", "--out", "b", "--add-sinks", "one"}, wantErr: "invalid argument"},
		{args: []string{"--from", "a", "--out", "b", "extra"}, wantErr: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got *checkpoint.ConvertOptions
			cmd := newConvertCmd(func(_ context.Context, o *checkpoint.ConvertOptions) error { got = o; return nil })
			checkFlags(t, cmd, &got, tt.args, tt.wantErr, tt.want, nil)
		})
	}
}
