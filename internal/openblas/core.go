package openblas

import (
	"strings"

	"github.com/klauspost/cpuid/v2"
)

// Env is the variable OpenBLAS reads at load time to force a kernel set.
const Env = "OPENBLAS_CORETYPE"

// reexecEnv marks a process started by Ensure, so that it never loops; its
// value is the core the first process saw.
const reexecEnv = "SINKTRAIN_OPENBLAS_REEXEC"

// Level orders kernel sets by the instructions they use.
type Level int

// Kernel levels, from generic to AVX-512.
const (
	LevelUnknown Level = iota - 1
	LevelGeneric       // SSE2/SSE3 kernels (Prescott, Core2, Katmai, Athlon, …)
	LevelSSE4          // Nehalem
	LevelAVX           // Sandybridge, Bulldozer family
	LevelAVX2          // Haswell, Zen
	LevelAVX512        // SkylakeX, Cooperlake, SapphireRapids
)

// String names the level by its instruction set.
func (l Level) String() string {
	switch l {
	case LevelGeneric:
		return "SSE3"
	case LevelSSE4:
		return "SSE4.2"
	case LevelAVX:
		return "AVX"
	case LevelAVX2:
		return "AVX2"
	case LevelAVX512:
		return "AVX-512"
	}
	return "unknown"
}

// coreLevels are OpenBLAS 0.3.x's DYNAMIC_ARCH core names (as
// openblas_get_corename reports them, compared case-insensitively).
var coreLevels = map[string]Level{
	"katmai": LevelGeneric, "coppermine": LevelGeneric, "northwood": LevelGeneric,
	"prescott": LevelGeneric, "banias": LevelGeneric, "atom": LevelGeneric,
	"core2": LevelGeneric, "penryn": LevelGeneric, "dunnington": LevelGeneric,
	"athlon": LevelGeneric, "opteron": LevelGeneric, "opteron_sse3": LevelGeneric,
	"barcelona": LevelGeneric, "nano": LevelGeneric, "bobcat": LevelGeneric,
	"nehalem":     LevelSSE4,
	"sandybridge": LevelAVX, "bulldozer": LevelAVX, "piledriver": LevelAVX,
	"steamroller": LevelAVX, "excavator": LevelAVX,
	"haswell": LevelAVX2, "zen": LevelAVX2,
	"skylakex": LevelAVX512, "cooperlake": LevelAVX512, "sapphirerapids": LevelAVX512,
}

// CoreLevel is the level of an OpenBLAS core name; LevelUnknown for a name
// this table does not know.
func CoreLevel(core string) Level {
	if l, ok := coreLevels[strings.ToLower(core)]; ok {
		return l
	}
	return LevelUnknown
}

// Features are the CPU capabilities that decide the kernel set.
type Features struct {
	Brand      string // CPU model name
	AMD        bool
	AVX, AVX2  bool
	FMA        bool
	AVX512     bool // F, CD, BW, DQ and VL: what OpenBLAS's SkylakeX kernels need
	AVX512BF16 bool // Cooperlake and later
}

// Detect reads the CPU's features with CPUID.
func Detect() Features {
	c := cpuid.CPU
	return Features{
		Brand: c.BrandName,
		AMD:   c.VendorID == cpuid.AMD || c.VendorID == cpuid.Hygon,
		AVX:   c.Supports(cpuid.AVX), AVX2: c.Supports(cpuid.AVX2), FMA: c.Supports(cpuid.FMA3),
		AVX512:     c.Supports(cpuid.AVX512F, cpuid.AVX512CD, cpuid.AVX512BW, cpuid.AVX512DQ, cpuid.AVX512VL),
		AVX512BF16: c.Supports(cpuid.AVX512BF16),
	}
}

// Best is the OpenBLAS core whose kernels the CPU runs best, and its level.
func (f Features) Best() (string, Level) {
	switch {
	case f.AVX512 && f.AVX512BF16:
		return "COOPERLAKE", LevelAVX512
	case f.AVX512:
		return "SKYLAKEX", LevelAVX512
	case f.AVX2 && f.FMA && f.AMD:
		return "ZEN", LevelAVX2
	case f.AVX2 && f.FMA:
		return "HASWELL", LevelAVX2
	case f.AVX:
		return "SANDYBRIDGE", LevelAVX
	}
	return "", LevelGeneric
}

// Used lists the vector extensions the CPU offers to the kernels.
func (f Features) Used() string {
	var s []string
	for _, x := range []struct {
		ok   bool
		name string
	}{{f.AVX, "AVX"}, {f.AVX2, "AVX2"}, {f.FMA, "FMA"}, {f.AVX512, "AVX-512"}, {f.AVX512BF16, "AVX512-BF16"}} {
		if x.ok {
			s = append(s, x.name)
		}
	}
	if len(s) == 0 {
		return "none beyond SSE2"
	}
	return strings.Join(s, " ")
}

// Decision is what Ensure does about the loaded kernels.
type Decision struct {
	Reexec bool   // re-run the process with Env=Core
	Core   string // the core to ask for (when Reexec)
	Note   string // one line for the log, "" when there is nothing to say
}

// Decide compares the core the library loaded with the CPU's features.
// userSet is the value of Env the user gave ("" when unset); previous is the
// core a first process saw before re-executing ("" in a first process).
func Decide(loaded string, f Features, userSet, previous string) Decision {
	best, bestLevel := f.Best()
	have := CoreLevel(loaded)
	switch {
	case previous != "":
		if have < bestLevel {
			return Decision{Note: "OpenBLAS kept its " + loaded + " kernels although " + Env + "=" + userSet +
				" was asked for (this library build lacks them); BLAS runs slower than the CPU allows"}
		}
		return Decision{Note: "OpenBLAS picked " + previous + " kernels on a CPU with " + bestLevel.String() +
			"; running with " + Env + "=" + userSet + " (now " + loaded + ")"}
	case userSet != "":
		return Decision{} // the user's choice stands
	case have == LevelUnknown:
		return Decision{Note: "OpenBLAS reports an unknown core " + `"` + loaded + `"` + "; kernels left as they are"}
	case best != "" && have < bestLevel:
		return Decision{Reexec: true, Core: best}
	}
	return Decision{}
}
