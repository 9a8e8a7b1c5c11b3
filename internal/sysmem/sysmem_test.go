package sysmem

import (
	"math"
	"testing"
)

func TestParseMeminfo(t *testing.T) {
	got, ok := parseMeminfo([]byte("MemTotal:       32594432 kB\nMemFree:  100 kB\nMemAvailable:   22130684 kB\nSwapTotal: 8 kB\nSwapFree:  4 kB\n"))
	if want := uint64(22130684+4) * 1024; !ok || got != want {
		t.Errorf("parseMeminfo = %d, %v; want %d", got, ok, want)
	}
	if _, ok := parseMeminfo([]byte("MemTotal: 5 kB\n")); ok {
		t.Error("no MemAvailable line, but ok")
	}
}

func TestCheck(t *testing.T) {
	if err := check(1e9, 2e9, true); err != nil {
		t.Errorf("1 GB in 2 GB: %v", err)
	}
	if err := check(1e18, 0, false); err != nil {
		t.Errorf("unknown memory: %v", err)
	}
	for _, c := range []struct {
		need float64
		want string
	}{
		{3.5e12, "needs at least 3.5 TB of memory, 2.0 GB are available"},
		{math.Inf(1), "needs more memory than any machine has, 2.0 GB are available"},
	} {
		if err := check(c.need, 2e9, true); err == nil || err.Error() != c.want {
			t.Errorf("check(%g) = %v, want %q", c.need, err, c.want)
		}
	}
	if n, ok := Available(); !ok || n == 0 {
		t.Errorf("Available() = %d, %v on Linux", n, ok)
	}
}
