package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	_ "go4.org/unsafe/assume-no-moving-gc" // gorgonia (via model) needs it on Go >= 1.21

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/infer"
)

func main() {
	modelDir := flag.String("model", "", "model `DIR` (sinktrain checkpoint or HF GPT-NeoX folder)")
	ids := flag.String("ids", "", "token ids, whitespace-separated; rows separated by ';'")
	idsFile := flag.String("ids-file", "", "`FILE` of token ids, one row per line")
	out := flag.String("out", "logits.safetensors", "output `FILE`")
	flag.Parse()
	if err := run(context.Background(), *modelDir, *ids, *idsFile, *out); err != nil {
		fmt.Fprintln(os.Stderr, "dumplogits:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, modelDir, ids, idsFile, out string) error {
	if modelDir == "" {
		return fmt.Errorf("--model is required")
	}
	ck, err := checkpoint.Load(modelDir)
	if err != nil {
		return err
	}
	if idsFile != "" {
		b, err := os.ReadFile(idsFile)
		if err != nil {
			return err
		}
		ids = strings.ReplaceAll(string(b), "\n", ";")
	}
	rows, err := parseRows(ids, ck.Config.VocabSize, ck.Config.SinkIDs)
	if err != nil {
		return err
	}
	m, err := infer.NewModel(ck.Config, ck.Weights)
	if err != nil {
		return err
	}
	spec, err := infer.ParseCacheSpec("dense")
	if err != nil {
		return err
	}
	B, T, V := len(rows), len(rows[0]), ck.Config.VocabSize
	logits := make([]float32, B*T*V) // [B, T, V]
	flat := make([]int64, 0, B*T)    // [B, T]
	for r, row := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		s := m.NewSession(spec, T)
		if err := s.PrefillAll(row, logits[r*T*V:(r+1)*T*V]); err != nil {
			return err
		}
		for _, id := range row {
			flat = append(flat, int64(id))
		}
	}
	return checkpoint.WriteSafetensors(out, map[string]checkpoint.Raw{
		"input_ids": checkpoint.FromInt64([]int{B, T}, flat),
		"logits":    checkpoint.FromFloat32([]int{B, T, V}, logits),
	}, map[string]string{"model": modelDir})
}

// parseRows reads ';'-separated rows of ids, or makes two default rows.
func parseRows(s string, vocab int, sinks []int) ([][]int32, error) {
	var rows [][]int32
	for _, line := range strings.Split(s, ";") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		row := make([]int32, len(f))
		for i, w := range f {
			v, err := strconv.Atoi(w)
			if err != nil || v < 0 || v >= vocab {
				return nil, fmt.Errorf("id %q, expected an integer in [0, %d)", w, vocab)
			}
			row[i] = int32(v)
		}
		if len(rows) > 0 && len(row) != len(rows[0]) {
			return nil, fmt.Errorf("row %d has %d ids, expected %d like row 0", len(rows), len(row), len(rows[0]))
		}
		rows = append(rows, row)
	}
	if len(rows) > 0 {
		return rows, nil
	}
	for r := 0; r < 2; r++ {
		var row []int32
		for _, id := range sinks {
			row = append(row, int32(id))
		}
		for t := 0; t < 32; t++ {
			row = append(row, int32((t*7+r*13+1)%vocab))
		}
		rows = append(rows, row)
	}
	return rows, nil
}
