package checkpoint

import (
	"testing"
)

func TestReadFixture(t *testing.T) {
	ts, _, err := ReadSafetensors("../../shared/fixtures/gptneox-a/reference.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := ts["input_ids"].Int64s()
	if err != nil || len(ids) != 80 {
		t.Fatalf("input_ids: %v %d", err, len(ids))
	}
	w, _, err := ReadSafetensors("../../shared/fixtures/gptneox-a/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if r := w["gpt_neox.embed_in.weight"]; r.DType != F32 || r.Shape[0] != 96 || r.Shape[1] != 64 {
		t.Fatalf("embed_in: %v %v", r.DType, r.Shape)
	}
}

func TestLoadFixtures(t *testing.T) {
	for _, d := range []string{"gptneox-a", "gptneox-b"} {
		m, err := Load("../../shared/fixtures/" + d)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %+v params=%d", d, m.Config, m.Config.NumParams())
	}
}
