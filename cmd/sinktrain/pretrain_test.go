package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/train"
)

func TestPretrainFlags(t *testing.T) {
	tests := []struct {
		cli     string
		want    train.Options
		wantErr string
	}{
		{cli: "", want: train.Options{Out: "runs/run"}},
		{cli: "--config tiny --data d --out o --set sinks=1 --set lr=3e-4 --resume",
			want: train.Options{Config: "tiny", Data: "d", Out: "o", Set: []string{"sinks=1", "lr=3e-4"}, Resume: true}},
		{cli: "--set betas=0.9,0.95", want: train.Options{Out: "runs/run", Set: []string{"betas=0.9,0.95"}}},
		{cli: "--workers 2 --blas-threads 1", want: train.Options{Out: "runs/run", Runtime: train.Runtime{Workers: 2, BLASThreads: 1}}},
		{cli: "--workers two", wantErr: "invalid argument"},
		{cli: "--resume=maybe", wantErr: "invalid argument"},
		{cli: "extra", wantErr: "unknown command"},
		{cli: "--from x", wantErr: "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.cli, func(t *testing.T) {
			var got *train.Options
			cmd := newPretrainCmd(func(_ context.Context, o *train.Options) error { got = o; return nil })
			checkFlags(t, cmd, &got, strings.Fields(tt.cli), tt.wantErr, tt.want, func(o *train.Options) { o.Log = nil })
		})
	}
}

func TestFinetuneFlags(t *testing.T) {
	tests := []struct {
		cli     string
		want    train.FinetuneOptions
		wantErr string
	}{
		{cli: "--from ck --add-sinks 4 --out o --set max_steps=10",
			want: train.FinetuneOptions{From: "ck", AddSinks: 4, Options: train.Options{Out: "o", Set: []string{"max_steps=10"}}}},
		{cli: "--from ck --config small --data d --resume",
			want: train.FinetuneOptions{From: "ck", Options: train.Options{Config: "small", Data: "d", Out: "runs/run", Resume: true}}},
		{cli: "--add-sinks 1", wantErr: `"from" not set`},
		{cli: "--from ck --add-sinks x", wantErr: "invalid argument"},
	}
	for _, tt := range tests {
		t.Run(tt.cli, func(t *testing.T) {
			var got *train.FinetuneOptions
			cmd := newFinetuneCmd(func(_ context.Context, o *train.FinetuneOptions) error { got = o; return nil })
			checkFlags(t, cmd, &got, strings.Fields(tt.cli), tt.wantErr, tt.want, func(o *train.FinetuneOptions) { o.Log = nil })
		})
	}
}

// TestTrainHelpKeys: pretrain's --help names every config key and every
// runtime key.
func TestTrainHelpKeys(t *testing.T) {
	for _, k := range append(train.Keys(), "workers", "blas_threads") {
		if !regexp.MustCompile(`(^|[\s(])` + k + `([\s)]|$)`).MatchString(trainHelp) {
			t.Errorf("pretrain --help does not name config key %s", k)
		}
	}
}
