package sysmem

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/sinktrain/sinktrain/internal/progress"
)

// Files read by Available (Linux; a container sees its own cgroup at the
// root of /sys/fs/cgroup).
const (
	meminfoFile = "/proc/meminfo"
	cgroup2Max  = "/sys/fs/cgroup/memory.max"
	cgroup2Cur  = "/sys/fs/cgroup/memory.current"
	cgroup1Max  = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
	cgroup1Cur  = "/sys/fs/cgroup/memory/memory.usage_in_bytes"
)

// Available returns the bytes this process can still allocate: the
// kernel's MemAvailable plus free swap, lowered to the cgroup's limit less
// its usage when a limit is set (v2 or v1). ok is false where /proc/meminfo
// cannot be read (not Linux).
func Available() (bytes uint64, ok bool) {
	b, err := os.ReadFile(meminfoFile)
	if err != nil {
		return 0, false
	}
	avail, ok := parseMeminfo(b)
	if !ok {
		return 0, false
	}
	for _, f := range [][2]string{{cgroup2Max, cgroup2Cur}, {cgroup1Max, cgroup1Cur}} {
		if left, ok := cgroupLeft(f[0], f[1]); ok {
			avail = min(avail, left)
		}
	}
	return avail, true
}

// parseMeminfo returns MemAvailable + SwapFree of a /proc/meminfo text.
func parseMeminfo(b []byte) (uint64, bool) {
	var avail, swap uint64
	found := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		switch k {
		case "MemAvailable":
			avail, found = n, true
		case "SwapFree":
			swap = n
		}
	}
	return avail + swap, found
}

// cgroupLeft returns limit − usage of a cgroup memory controller whose
// limit is set (v2 "max" and v1's huge sentinel mean none).
func cgroupLeft(maxFile, curFile string) (uint64, bool) {
	lim, ok := readUint(maxFile)
	if !ok || lim >= 1<<62 {
		return 0, false
	}
	cur, ok := readUint(curFile)
	if !ok {
		return 0, false
	}
	if cur >= lim {
		return 0, true
	}
	return lim - cur, true
}

func readUint(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}

// Check returns an error when a job estimated to need at least need bytes
// cannot fit in what Available reports: "needs at least 1.2 TB of memory,
// 11.8 GB are available"; nil when it fits or nothing is known.
func Check(need float64) error {
	avail, ok := Available()
	return check(need, avail, ok)
}

func check(need float64, avail uint64, ok bool) error {
	if !ok || need <= float64(avail) {
		return nil
	}
	if math.IsInf(need, 0) || math.IsNaN(need) || need > 1e30 {
		return fmt.Errorf("needs more memory than any machine has, %s are available", progress.Bytes(float64(avail)))
	}
	return fmt.Errorf("needs at least %s of memory, %s are available", progress.Bytes(need), progress.Bytes(float64(avail)))
}
