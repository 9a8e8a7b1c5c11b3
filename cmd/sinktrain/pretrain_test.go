package main

import (
	"context"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

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
		{cli: "--resume=maybe", wantErr: "invalid argument"},
		{cli: "extra", wantErr: "unknown command"},
		{cli: "--from x", wantErr: "unknown flag"},
	}
	for _, tt := range tests {
		got := parseTrainFlags(t, tt.cli, tt.wantErr, func(set func(*train.Options)) *cobra.Command {
			return newPretrainCmd(func(_ context.Context, o *train.Options) error { set(o); return nil })
		})
		if got != nil && !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%s: options = %+v, want %+v", tt.cli, *got, tt.want)
		}
	}
}

// parseTrainFlags runs a command built by mk on cli and returns the options
// its runF received (nil when an error containing wantErr was expected).
func parseTrainFlags[T any](t *testing.T, cli, wantErr string, mk func(set func(*T)) *cobra.Command) *T {
	t.Helper()
	var got *T
	cmd := mk(func(o *T) { got = o })
	cmd.SetArgs(strings.Fields(cli))
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.Execute()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: error = %v, want one containing %q", cli, err, wantErr)
		}
		return nil
	}
	if err != nil {
		t.Fatalf("%s: %v", cli, err)
	}
	// Log is set from the command's stderr; compare the rest.
	reflect.ValueOf(got).Elem().FieldByName("Log").SetZero()
	return got
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
		got := parseTrainFlags(t, tt.cli, tt.wantErr, func(set func(*train.FinetuneOptions)) *cobra.Command {
			return newFinetuneCmd(func(_ context.Context, o *train.FinetuneOptions) error { set(o); return nil })
		})
		if got != nil && !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%s: options = %+v, want %+v", tt.cli, *got, tt.want)
		}
	}
}
