package progress

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

func TestEveryLines(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, 100, Options{Every: 30, Line: func(done, total int64, _ time.Duration) string {
		if done >= total {
			return ""
		}
		return fmt.Sprintf("%d/%d", done, total)
	}})
	if r.Terminal() {
		t.Fatal("a bytes.Buffer is not a terminal")
	}
	for range 10 {
		r.Add(10)
	}
	r.Finish()
	r.Printf("end\n")
	if want := "30/100\n60/100\n90/100\nend\n"; buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

func TestIntervalAndNil(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, 10, Options{Interval: time.Hour, Line: func(done, total int64, _ time.Duration) string { return "line" }})
	r.Set(5)
	r.Set(10)
	if buf.Len() != 0 {
		t.Errorf("a line before the interval passed: %q", buf.String())
	}
	n := New(nil, 10, Options{Line: func(int64, int64, time.Duration) string { return "x" }})
	n.Add(10) // must not panic
	n.Printf("x")
	n.Finish()
}

func TestBytes(t *testing.T) {
	for n, want := range map[float64]string{0: "0 B", 999: "999 B", 3400: "3.4 kB", 21e6: "21.0 MB", 465_123: "465.1 kB", 1.2e12: "1.2 TB", 5e21: "5000.0 EB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%g) = %q, want %q", n, got, want)
		}
	}
}
