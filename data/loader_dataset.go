package data

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sinktrain/sinktrain/data/shard"
	"github.com/sinktrain/sinktrain/internal/input"
)

// Dataset is an opened token dataset: one of
//   - a directory prepared by [Prepare] (manifest.json, tokenizer.json,
//     train-*.arrow, val-*.arrow), whose shards' sha256 are verified on open;
//   - a bare .arrow file (Arrow IPC file or stream format), split "train" only;
//   - a Hugging Face datasets save_to_disk folder (state.json with
//     _data_files, or data-*.arrow), split "train" only; or a DatasetDict
//     folder (dataset_dict.json) whose "validation" split also answers "val".
//
// Shards are memory-mapped and read zero-copy; the [Tokens] of a split stay
// valid until Close.
type Dataset struct {
	path      string
	tokenizer string              // absolute path or ""
	manifest  *Manifest           // nil unless a prepared directory
	files     map[string][]string // split → shard paths, in order
	want      map[string]ShardInfo
	mem       memory.Allocator

	mu     sync.Mutex
	mapped map[string][]byte // shard path → mapping
	unmap  []func() error
	cache  map[string]*Tokens
}

// hfMaxJSON bounds the HF metadata files we read.
const hfMaxJSON = 16 << 20

// OpenDataset opens a prepared directory, a bare .arrow file or an HF
// datasets folder (see [Dataset]).
func OpenDataset(path string) (*Dataset, error) {
	return dsOpen(path, memory.DefaultAllocator)
}

func dsOpen(path string, mem memory.Allocator) (*Dataset, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err // names the path
	}
	d := &Dataset{path: path, files: map[string][]string{}, want: map[string]ShardInfo{},
		mem: mem, mapped: map[string][]byte{}, cache: map[string]*Tokens{}}
	switch {
	case !st.IsDir():
		d.files[SplitTrain] = []string{path}
		d.tokenizer = dsTokenizerBeside(filepath.Dir(path))
	case dsExists(filepath.Join(path, ManifestName)):
		err = d.openPrepared()
	case dsExists(filepath.Join(path, "dataset_dict.json")):
		err = d.openHFDict()
	default:
		var files []string
		if files, err = hfDataFiles(path); err == nil {
			d.files[SplitTrain] = files
			d.tokenizer = dsTokenizerBeside(path)
		}
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func dsExists(p string) bool { _, err := os.Stat(p); return err == nil }

// dsTokenizerBeside returns dir/tokenizer.json if it exists, else "".
func dsTokenizerBeside(dir string) string {
	if p := filepath.Join(dir, "tokenizer.json"); dsExists(p) {
		return p
	}
	return ""
}

func (d *Dataset) openPrepared() error {
	m, err := ReadManifest(d.path)
	if err != nil {
		return err
	}
	d.manifest = m
	if m.Tokenizer.File != "" {
		p := filepath.Join(d.path, m.Tokenizer.File)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := dsCheckSum(p, b, m.Tokenizer.SHA256); err != nil {
			return err
		}
		d.tokenizer = p
	}
	for _, s := range m.Shards {
		p := filepath.Join(d.path, s.File)
		b, err := d.mapFile(p)
		if err != nil {
			return err
		}
		if err := dsCheckSum(p, b, s.SHA256); err != nil {
			return err
		}
		d.files[s.Split] = append(d.files[s.Split], p)
		d.want[p] = s
	}
	return nil
}

func dsCheckSum(path string, b []byte, want string) error {
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, want) {
		return fmt.Errorf("%s: sha256 %s does not match the manifest's %s (file changed or corrupt; re-run sinktrain prepare)", path, got[:12], want)
	}
	return nil
}

// openHFDict opens an HF DatasetDict folder: {"splits": ["train", ...]}.
func (d *Dataset) openHFDict() error {
	p := filepath.Join(d.path, "dataset_dict.json")
	var dd struct {
		Splits []string `json:"splits"`
	}
	if err := dsReadJSON(p, &dd); err != nil {
		return err
	}
	for _, s := range dd.Splits {
		if s == "" || s != filepath.Base(s) || s == ".." || s == "." {
			return fmt.Errorf("%s: bad split name %q", p, s)
		}
		files, err := hfDataFiles(filepath.Join(d.path, s))
		if err != nil {
			return err
		}
		d.files[s] = files
	}
	if _, ok := d.files[SplitVal]; !ok {
		if f, ok := d.files["validation"]; ok {
			d.files[SplitVal] = f
		}
	}
	d.tokenizer = dsTokenizerBeside(d.path)
	return nil
}

// hfDataFiles lists the Arrow files of an HF save_to_disk folder: the
// _data_files of state.json, or else data-*.arrow sorted by name.
func hfDataFiles(dir string) ([]string, error) {
	state := filepath.Join(dir, "state.json")
	if dsExists(state) {
		var st struct {
			DataFiles []struct {
				Filename string `json:"filename"`
			} `json:"_data_files"`
		}
		if err := dsReadJSON(state, &st); err != nil {
			return nil, err
		}
		var out []string
		for _, f := range st.DataFiles {
			if f.Filename == "" || f.Filename != filepath.Base(f.Filename) || f.Filename == ".." {
				return nil, fmt.Errorf("%s: bad _data_files filename %q", state, f.Filename)
			}
			out = append(out, filepath.Join(dir, f.Filename))
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	out, _ := filepath.Glob(filepath.Join(dir, "data-*.arrow"))
	if len(out) == 0 {
		return nil, fmt.Errorf("%s is not a dataset: no %s, state.json, dataset_dict.json or data-*.arrow", dir, ManifestName)
	}
	sort.Strings(out)
	return out, nil
}

func dsReadJSON(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, hfMaxJSON))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, input.JSON(err))
	}
	return nil
}

// mapFile maps a shard once.
func (d *Dataset) mapFile(p string) ([]byte, error) {
	if b, ok := d.mapped[p]; ok {
		return b, nil
	}
	b, unmap, err := shard.Map(p)
	if err != nil {
		return nil, err
	}
	d.mapped[p] = b
	d.unmap = append(d.unmap, unmap)
	return b, nil
}

// Splits lists the dataset's splits, sorted.
func (d *Dataset) Splits() []string {
	var out []string
	for s := range d.files {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// HasSplit reports whether the dataset has the named split.
func (d *Dataset) HasSplit(name string) bool { _, ok := d.files[name]; return ok }

// Manifest is the dataset's manifest, or nil when it is not a prepared directory.
func (d *Dataset) Manifest() *Manifest { return d.manifest }

// ErrNoSplit is wrapped by Split's error when the dataset lacks the split
// (a bare .arrow file or HF folder has only "train").
var ErrNoSplit = errors.New("no such split")

// Split returns the packed token stream of "train" or "val" (or another
// split of an HF DatasetDict). Shards are parsed on first use.
func (d *Dataset) Split(name string) (*Tokens, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.cache[name]; ok {
		return t, nil
	}
	files, ok := d.files[name]
	if !ok {
		return nil, fmt.Errorf("%s has no %q split (has %v): %w", d.path, name, d.Splits(), ErrNoSplit)
	}
	var segs [][]int32
	var docs int64
	var maps [][]byte
	for _, p := range files {
		b, err := d.mapFile(p)
		if err != nil {
			return nil, err
		}
		maps = append(maps, b)
		sh, err := shard.Parse(b, p, d.mem)
		if err != nil {
			return nil, err
		}
		if w, ok := d.want[p]; ok && (w.Rows != int64(sh.Rows()) || w.Tokens != int64(sh.Tokens())) {
			return nil, fmt.Errorf("%s: %d rows, %d tokens, the manifest says %d, %d", p, sh.Rows(), sh.Tokens(), w.Rows, w.Tokens)
		}
		segs = append(segs, sh.Segments()...)
		docs += int64(sh.Rows())
	}
	t := ldTokens(segs, docs)
	t.maps = maps
	d.cache[name] = t
	return t, nil
}

// TokenizerPath is the dataset's tokenizer.json, or "" if it has none.
func (d *Dataset) TokenizerPath() string { return d.tokenizer }

// Path is the path the dataset was opened from.
func (d *Dataset) Path() string { return d.path }

// Close unmaps the shards; Tokens from Split must not be used afterwards.
func (d *Dataset) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var err error
	for _, u := range d.unmap {
		if e := u(); err == nil && e != nil {
			err = fmt.Errorf("close %s: %w", d.path, e)
		}
	}
	d.unmap, d.mapped, d.cache = nil, map[string][]byte{}, map[string]*Tokens{}
	return err
}
