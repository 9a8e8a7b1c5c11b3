package infer

import (
	"strings"
	"testing"
)

func FuzzParseCacheSpec(f *testing.F) {
	for _, s := range []string{"dense", "4+252", "0+1", "recompute:256", "4+", "-1+8", "0+0", "+", "recompute:", "1+2+3", "99999999999999999999+1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ParseCacheSpec(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if spec.Kind != Dense && (spec.Window < 1 || spec.Slots() > MaxCacheSlots || spec.Sinks < 0) {
			t.Fatalf("%q parsed to invalid %+v", s, spec)
		}
		again, err := ParseCacheSpec(spec.String())
		if err != nil || again != spec {
			t.Fatalf("%q: String %q does not round-trip (%+v, %v)", s, spec.String(), again, err)
		}
	})
}
