package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/study"
)

func TestInspectAttentionFlags(t *testing.T) {
	def := func(o study.InspectOptions) study.InspectOptions {
		if o.Tokens == 0 {
			o.Tokens = study.DefaultInspectTokens
		}
		if o.Epsilon == 0 {
			o.Epsilon = study.DefaultInspectEpsilon
		}
		return o
	}
	tests := []struct {
		cli     string
		want    study.InspectOptions
		wantErr string
	}{
		{cli: "attention --model m --text t.txt --out o", want: def(study.InspectOptions{Model: "m", Text: "t.txt", Out: "o"})},
		{cli: "attention --model m --ids ids.txt --tokens 64 --epsilon 0.1 --out o",
			want: study.InspectOptions{Model: "m", IDs: "ids.txt", Tokens: 64, Epsilon: 0.1, Out: "o"}},
		{cli: "attention --model m --text t --ids i --out o", wantErr: "none of the others"},
		{cli: "attention --model m --out o", wantErr: "at least one of the flags"},
		{cli: "attention --text t --out o", wantErr: `"model" not set`},
		{cli: "attention --model m --text t --out o --tokens x", wantErr: "invalid argument"},
	}
	for _, tt := range tests {
		t.Run(tt.cli, func(t *testing.T) {
			var got *study.InspectOptions
			cmd := newInspectCmd(func(_ context.Context, o *study.InspectOptions) error { got = o; return nil })
			checkFlags(t, cmd, &got, strings.Fields(tt.cli), tt.wantErr, tt.want, func(o *study.InspectOptions) { o.Stdout = nil })
		})
	}
}
