package fs

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing [off, off+n) of f to disk
// now, without waiting. Large blobs then reach the disk while they are
// still being hashed, and the fsync at commit has little left to do. It is
// only a hint: errors are ignored (the fsync reports real ones).
func startWriteback(f tempFile, off, n int64) {
	if osf, ok := f.(*os.File); ok {
		unix.SyncFileRange(int(osf.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
	}
}
