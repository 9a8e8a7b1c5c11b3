package infer

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/model"
)

const fixtures = "../testdata/fixtures"

// hfTol is the relative error allowed against transformers' float64 logits:
// float32 reaches about 2e-7.
const hfTol = 1e-5

// relErr returns ‖a−b‖/‖b‖.
func relErr(a []float32, b []float64) float64 {
	var num, den float64
	for i := range b {
		d := float64(a[i]) - b[i]
		num += d * d
		den += b[i] * b[i]
	}
	return math.Sqrt(num / den)
}

// loadFixture returns the fixture model, its input rows and reference logits [rows, T, V].
func loadFixture(t *testing.T, name string) (*Model, [][]int32, []float64) {
	t.Helper()
	ck, err := checkpoint.Load(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(ck.Config, ck.Weights)
	if err != nil {
		t.Fatal(err)
	}
	ref, _, err := checkpoint.ReadSafetensors(filepath.Join(fixtures, name, "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := ref["input_ids"].Int64s()
	if err != nil {
		t.Fatal(err)
	}
	logits, err := ref["logits"].Float64s()
	if err != nil {
		t.Fatal(err)
	}
	shape := ref["input_ids"].Shape
	rows := make([][]int32, shape[0])
	for r := range rows {
		for _, v := range ids[r*shape[1] : (r+1)*shape[1]] {
			rows[r] = append(rows[r], int32(v))
		}
	}
	return m, rows, logits
}

// TestDenseMatchesHF checks dense logits against transformers (float64) for
// both fixture models, token by token (Step) and in prefill chunks of 7
// (matrix-matrix), within hfTol relative.
func TestDenseMatchesHF(t *testing.T) {
	for _, name := range []string{"gptneox-a", "gptneox-b"} {
		t.Run(name, func(t *testing.T) {
			m, rows, ref := loadFixture(t, name)
			V := m.Config.VocabSize
			for r, row := range rows {
				want := ref[r*len(row)*V : (r+1)*len(row)*V]
				step := make([]float32, len(row)*V)
				s := m.NewSession(CacheSpec{Kind: Dense}, 4)
				for i, tok := range row {
					l, err := s.Step(tok)
					if err != nil {
						t.Fatal(err)
					}
					copy(step[i*V:], l)
				}
				eStep := relErr(step, want)
				if !(eStep <= hfTol) {
					t.Errorf("row %d step-by-step: relative error %.3g > %g", r, eStep, hfTol)
				}
				chunked := make([]float32, len(row)*V)
				s = m.NewSession(CacheSpec{Kind: Dense}, 4)
				s.most = 7
				if err := s.PrefillAll(row, chunked); err != nil {
					t.Fatal(err)
				}
				eChunk := relErr(chunked, want)
				if !(eChunk <= hfTol) {
					t.Errorf("row %d prefill chunks: relative error %.3g > %g", r, eChunk, hfTol)
				}
				t.Logf("row %d: relative error step by step %.2g, prefill chunks %.2g", r, eStep, eChunk)
			}
		})
	}
}

// randomModel returns a small random model (non-zero biases so that layout
// mistakes show) with the given attention variant.
func randomModel(t testing.TB, cfg model.Config, seed uint64) *Model {
	t.Helper()
	w := model.Init(cfg, seed)
	i := 0
	for _, spec := range cfg.ParamSpecs() {
		for j := range w[spec.Name].Data {
			if len(spec.Shape) == 1 {
				w[spec.Name].Data[j] += float32(math.Sin(float64(i*7+j))) * 0.1
			}
		}
		i++
	}
	m, err := NewModel(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
