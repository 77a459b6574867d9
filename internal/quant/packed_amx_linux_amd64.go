//go:build !purego

package quant

import (
	"syscall"
	"unsafe"
)

// amxPermitted asks Linux for the process's permission to use the AMX
// tile data (ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA) and reports
// whether it holds it (ARCH_GET_XCOMP_PERM). Without it the first tile
// instruction would fault.
func amxPermitted() bool {
	const (
		archGetXcompPerm  = 0x1022
		archReqXcompPerm  = 0x1023
		xfeatureXtiledata = 18
	)
	if _, _, e := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXtiledata, 0); e != 0 {
		return false
	}
	var mask uint64
	if _, _, e := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archGetXcompPerm, uintptr(unsafe.Pointer(&mask)), 0); e != 0 {
		return false
	}
	return mask&(1<<xfeatureXtiledata) != 0
}
