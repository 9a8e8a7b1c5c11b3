package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/data"
)

func TestPrepareFlags(t *testing.T) {
	def := data.DefaultPrepareOptions()
	with := func(f func(o *data.PrepareOptions)) data.PrepareOptions {
		o := def
		f(&o)
		return o
	}
	tests := []struct {
		cli     string
		want    data.PrepareOptions
		wantErr string
	}{
		{cli: "--out d", want: with(func(o *data.PrepareOptions) { o.Out = "d" })},
		{
			cli: "--input a.txt --input dir --input *.md --out d --vocab-size 8192 --val-fraction 0.1 --sinks 1",
			want: with(func(o *data.PrepareOptions) {
				o.Inputs, o.Out, o.VocabSize, o.ValFraction, o.Sinks = []string{"a.txt", "dir", "*.md"}, "d", 8192, 0.1, 1
			}),
		},
		{
			cli: "--input x --out d --tokenizer t.json --shard-tokens 1000",
			want: with(func(o *data.PrepareOptions) {
				o.Inputs, o.Out, o.Tokenizer, o.ShardTokens = []string{"x"}, "d", "t.json", 1000
			}),
		},
		{cli: "--input x", wantErr: `"out" not set`},
		{cli: "--out d --tokenizer t --vocab-size 10", wantErr: "none of the others"},
		{cli: "--out d --val-fraction x", wantErr: "invalid argument"},
		{cli: "--out d extra", wantErr: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.cli, func(t *testing.T) {
			var got *data.PrepareOptions
			cmd := newPrepareCmd(func(_ context.Context, o *data.PrepareOptions) error { got = o; return nil })
			checkFlags(t, cmd, &got, strings.Fields(tt.cli), tt.wantErr, tt.want, func(o *data.PrepareOptions) { o.Progress = nil })
		})
	}
}
