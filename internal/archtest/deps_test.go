package archtest

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/sinktrain/sinktrain"

// helpers are the stdlib-level leaf packages that any library package may
// import: atomic file writes, the wording of input errors, progress output,
// the memory left to the process.
var helpers = []string{"internal/fsutil", "internal/input", "internal/progress", "internal/sysmem"}

// table is README.md's "Architecture" table: for every package of the
// module, the packages of the module it may import directly (helpers
// aside). A package missing from it fails the test; so does any import
// outside its row. Packages under scripts/ may import any library package.
var table = map[string][]string{
	"cmd/sinktrain":     {"train", "infer", "study", "serve", "data", "data/tokenizer", "data/shard", "checkpoint", "model", "model/graph", "autograd", "internal/kernels", "internal/openblas", "sinktoken", "configs"},
	"serve":             {"infer", "checkpoint", "data/tokenizer", "model", "sinktoken"},
	"study":             {"infer", "checkpoint", "data", "data/tokenizer", "model", "sinktoken"},
	"train":             {"model", "model/graph", "data", "data/tokenizer", "checkpoint", "autograd", "internal/kernels", "sinktoken", "configs"},
	"infer":             {"model", "checkpoint", "data/tokenizer", "internal/kernels", "internal/gemm", "sinktoken"},
	"checkpoint":        {"model", "data/tokenizer", "sinktoken"},
	"data":              {"data/tokenizer", "data/shard"},
	"data/tokenizer":    {},
	"data/shard":        {},
	"model/graph":       {"model", "autograd", "internal/kernels", "sinktoken"},
	"model":             {"sinktoken"},
	"autograd":          {"internal/kernels"},
	"internal/kernels":  {},
	"internal/openblas": {},
	"internal/gemm":     {},
	"sinktoken":         {},
	"configs":           {},
	"internal/fsutil":   {},
	"internal/input":    {},
	"internal/progress": {},
	"internal/sysmem":   {},
	"internal/archtest": {},
}

// noGorgonia are the packages that must not link gorgonia or any cgo-only
// code (DESIGN.md §7): they build with CGO_ENABLED=0. (internal/gemm and
// internal/kernels call OpenBLAS and C kernels under cgo and have pure-Go
// fallbacks, so they are not cgo-only.)
var noGorgonia = []string{"infer", "checkpoint", "study", "serve", "model", "data", "data/tokenizer", "data/shard", "sinktoken", "internal/kernels", "internal/gemm"}

// cgoOnly are dependencies that exist only with cgo.
var cgoOnly = []string{"gorgonia.org/", "gonum.org/v1/netlib", module + "/internal/openblas", module + "/autograd"}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// listModule returns every package of the module, keyed by its path
// relative to the module.
func listModule(t *testing.T, env ...string) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[rel(p.ImportPath)] = p
	}
	return pkgs
}

func rel(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, module), "/") }

// statSources stats every Go and C file of the module, so that go test's
// cache (which records the files a test looks at) reruns this test when
// any of them changes: the test's answers come from `go list`.
func statSources(t *testing.T) {
	t.Helper()
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if ext := filepath.Ext(p); !d.IsDir() && (ext == ".go" || ext == ".c" || ext == ".h" || d.Name() == "go.mod") {
			_, err := os.Stat(p)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestImportTable: every package imports only what its row of the table
// allows; nothing imports cmd.
func TestImportTable(t *testing.T) {
	statSources(t)
	pkgs := listModule(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list saw %d packages of the module", len(pkgs))
	}
	for name, p := range pkgs {
		row, known := table[name]
		if strings.HasPrefix(name, "scripts/") {
			known, row = true, nil
			for n := range table {
				if !strings.HasPrefix(n, "cmd/") {
					row = append(row, n)
				}
			}
		}
		if !known {
			t.Errorf("package %s has no row in the architecture table (internal/archtest and README.md)", name)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			d := rel(imp)
			switch {
			case strings.HasPrefix(d, "cmd/"):
				t.Errorf("%s imports %s: nothing may import cmd", name, d)
			case !slices.Contains(row, d) && !slices.Contains(helpers, d):
				t.Errorf("%s imports %s: not in its row of the architecture table", name, d)
			}
		}
	}
	for name := range table {
		if _, ok := pkgs[name]; !ok && name != "serve" {
			t.Errorf("the architecture table lists %s, which does not exist", name)
		}
	}
}

// TestNoGorgoniaWithoutCgo: infer, checkpoint, study (and the packages
// below them) link neither gorgonia nor OpenBLAS nor any cgo-only code, and
// they build with CGO_ENABLED=0 and no build tag.
func TestNoGorgoniaWithoutCgo(t *testing.T) {
	statSources(t)
	pkgs := listModule(t)
	var build []string
	for _, name := range noGorgonia {
		p, ok := pkgs[name]
		if !ok {
			continue // serve, before it exists
		}
		if d := firstCgoOnly(p.Deps); d != "" {
			t.Errorf("%s links %s: it must not link gorgonia or cgo-only code", name, d)
		}
		build = append(build, "./"+name+"/...")
	}
	for _, must := range []string{"./infer/...", "./checkpoint/...", "./study/..."} {
		if !slices.Contains(build, must) {
			t.Fatalf("%s is not among the packages checked", must)
		}
	}
	cmd := exec.Command("go", append([]string{"build", "-o", os.DevNull}, build...)...)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build %s: %v\n%s", strings.Join(build, " "), err, out)
	}
}

// firstCgoOnly returns the first dependency that exists only with cgo, or "".
func firstCgoOnly(deps []string) string {
	for _, d := range deps {
		for _, bad := range cgoOnly {
			if strings.HasPrefix(d, bad) {
				return d
			}
		}
	}
	return ""
}

// TestDocs: every package has a doc.go that says what it imports (and
// what it must not).
func TestDocs(t *testing.T) {
	statSources(t)
	for name := range listModule(t) {
		b, err := os.ReadFile(filepath.Join("..", "..", name, "doc.go"))
		if err != nil {
			t.Errorf("package %s has no doc.go: %v", name, err)
			continue
		}
		if !strings.Contains(string(b), "import") {
			t.Errorf("%s/doc.go does not say what the package imports", name)
		}
	}
}
