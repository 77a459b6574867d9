package engine

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// PhysicalCores returns the number of physical CPU cores (not hardware
// threads), the default thread count: a second hyper-thread on a core
// shares its vector units and memory bandwidth and rarely helps. It falls
// back to the number of logical CPUs where the topology is not readable,
// and never exceeds the CPUs the process may use (GOMAXPROCS).
func PhysicalCores() int { return physicalCores() }

// physicalCores reads the topology once per process (every command's
// flags ask for the default), capped by GOMAXPROCS, which Go derives from
// the container's CPU quota: a 4-CPU container on a 32-core host gets 4.
var physicalCores = sync.OnceValue(func() int { return min(countCores(), runtime.GOMAXPROCS(0)) })

func countCores() int {
	dirs, _ := filepath.Glob("/sys/devices/system/cpu/cpu[0-9]*/topology")
	cores := map[string]bool{}
	for _, d := range dirs {
		core, err1 := os.ReadFile(filepath.Join(d, "core_id"))
		pkg, err2 := os.ReadFile(filepath.Join(d, "physical_package_id"))
		if err1 != nil || err2 != nil {
			return runtime.NumCPU()
		}
		cores[strings.TrimSpace(string(pkg))+"/"+strings.TrimSpace(string(core))] = true
	}
	if n := len(cores); n > 0 && n <= runtime.NumCPU() {
		return n
	}
	return runtime.NumCPU()
}
