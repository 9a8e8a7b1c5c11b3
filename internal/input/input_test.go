package input

import (
	"errors"
	"fmt"
	"io/fs"
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
	if got, want := ie.Label("--ids"), "--ids x.ids: file does not exist"; got != want {
		t.Errorf("Label = %q, want %q", got, want)
	}
	e2 := Errorf("MaxTokens", "max tokens", "", "%d, expected ≥ 0", -1)
	if got, want := e2.Error(), "max tokens: -1, expected ≥ 0"; got != want {
		t.Errorf("Errorf = %q, want %q", got, want)
	}
}
