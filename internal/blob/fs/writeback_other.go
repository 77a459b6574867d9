//go:build !linux

package fs

// startWriteback is a no-op where the kernel offers no range writeback hint;
// the fsync at commit does all the work.
func startWriteback(f tempFile, off, n int64) {}
