package archtest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/sinktrain/sinktrain"

// allowed lists, for each package, the project packages it may import
// (directly or not). Packages absent from the map may import nothing of ours
// except internal/fsutil and internal/progress.
var allowed = map[string][]string{
	"cmd/sinktrain":    {"internal/openblas", "train", "infer", "serve", "study", "data", "data/tokenizer", "data/shard", "checkpoint", "model", "model/graph", "autograd", "internal/kernels", "sinktoken", "configs", "internal/fsutil", "internal/progress", "internal/input"},
	"train":            {"model", "model/graph", "data", "data/tokenizer", "data/shard", "checkpoint", "autograd", "internal/kernels", "sinktoken", "configs", "internal/fsutil", "internal/progress", "internal/input"},
	"serve":            {"infer", "checkpoint", "data/tokenizer", "model", "sinktoken", "internal/kernels", "internal/fsutil", "internal/input"}, // model, sinktoken, kernels, input only through infer
	"study":            {"infer", "model", "checkpoint", "sinktoken", "data", "data/tokenizer", "data/shard", "internal/kernels", "internal/fsutil", "internal/progress", "internal/input"},
	"infer":            {"model", "checkpoint", "sinktoken", "data/tokenizer", "internal/kernels", "internal/fsutil", "internal/input"},
	"model/graph":      {"model", "autograd", "internal/kernels", "sinktoken", "internal/input"},
	"model":            {"sinktoken", "internal/input"},
	"checkpoint":       {"model", "sinktoken", "internal/fsutil", "internal/progress", "internal/input"},
	"data":             {"data/tokenizer", "data/shard", "internal/fsutil", "internal/progress", "internal/input"},
	"data/tokenizer":   {"internal/fsutil", "internal/input"},
	"data/shard":       {},
	"autograd":         {"internal/kernels"},
	"internal/kernels": {},
	"sinktoken":        {},
}

type pkg struct {
	ImportPath string
	Deps       []string
}

func TestImportDirections(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		ok := map[string]bool{"internal/fsutil": true, "internal/progress": true}
		if strings.HasPrefix(rel, "scripts/") {
			// Tools under scripts/ may use any library package (never cmd).
			for _, a := range allowed["cmd/sinktrain"] {
				ok[a] = true
			}
		} else if a, found := allowed[rel]; found {
			seen++
			ok = map[string]bool{}
			for _, d := range a {
				ok[d] = true
			}
		}
		for _, d := range p.Deps {
			if !strings.HasPrefix(d, module+"/") {
				continue
			}
			dr := strings.TrimPrefix(d, module+"/")
			if strings.HasPrefix(dr, "cmd/") {
				t.Errorf("%s imports %s: nothing may import cmd", rel, dr)
			} else if !ok[dr] {
				t.Errorf("%s imports %s: not allowed by DESIGN.md §7", rel, dr)
			}
		}
	}
	if seen < 4 {
		t.Fatalf("checked only %d known packages: is go list seeing the module?", seen)
	}
	// data must stay free of gorgonia.
	out, err = exec.Command("go", "list", "-deps", module+"/data").Output()
	if err != nil {
		t.Fatalf("go list data: %v", err)
	}
	if strings.Contains(string(out), "gorgonia.org/gorgonia") {
		t.Error("data imports gorgonia; it must not")
	}
}
