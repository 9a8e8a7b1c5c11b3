package input

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"
)

func TestError(t *testing.T) {
	err := fmt.Errorf("model a: %w", New("IDs", "ids file", "x.ids", fs.ErrNotExist))
	if got, want := err.Error(), "model a: ids file x.ids: file does not exist"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var ie *Error
	if !errors.As(err, &ie) || ie.Field != "IDs" || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("errors.As/Is fail on %v", err)
	}
	if got, want := ie.Label("--ids", ""), "--ids x.ids: file does not exist"; got != want {
		t.Errorf("Label = %q, want %q", got, want)
	}
	e2 := Errorf("MaxTokens", "max tokens", "", "%d, expected ≥ 0", -1)
	if got, want := e2.Error(), "max tokens: -1, expected ≥ 0"; got != want {
		t.Errorf("Errorf = %q, want %q", got, want)
	}
	if e2.(*Error).Usage {
		t.Error("Errorf marked a usage error")
	}
	u := fmt.Errorf("spec: %w", Usagef("Cache", "cache spec", `"4+x"`, "window %q is not a number", "x"))
	if !errors.As(u, &ie) || !ie.Usage || u.Error() != `spec: cache spec "4+x": window "x" is not a number` {
		t.Errorf("Usagef = %v (usage %v)", u, ie.Usage)
	}
	o := New("Data", "dataset", "d", errors.New("other tokenizer")).(*Error).Overridable("AllowDifferentTokenizers", "allow different tokenizers")
	if o.Error() != "dataset d: other tokenizer (allow different tokenizers to use it anyway)" || o.Label("--data", "--allow-different-tokenizers") != "--data d: other tokenizer (--allow-different-tokenizers to use it anyway)" {
		t.Errorf("overridable: %q / %q", o.Error(), o.Label("--data", "--allow-different-tokenizers"))
	}
	_, err = os.Open("/nonexistent/x.ids")
	if got, want := File("IDs", "ids file", "/nonexistent/x.ids", err).Error(), "ids file /nonexistent/x.ids: no such file or directory"; got != want {
		t.Errorf("File = %q, want %q", got, want)
	}
	other := errors.New("x.ids: token 2: bad")
	if File("IDs", "ids file", "x.ids", other) != other || File("IDs", "ids file", "x.ids", nil) != nil {
		t.Error("File changed an error that is not about opening the file")
	}
}
