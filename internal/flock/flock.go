// Package flock provides advisory file locks that coordinate sov processes
// sharing one SOV_HOME.
//
// Writers of the vault hold a shared lock while they work; operations that
// delete blobs (garbage collection, rolling back an interrupted import) hold
// the exclusive lock, so they never delete a blob another process is about to
// reference. The operating system drops a lock when its process dies, which
// is what lets a later process detect and roll back a killed import. It does
// not protect against processes that ignore the lock.
package flock

import (
	"context"
	"errors"
	"os"
	"time"
)

// ErrWouldBlock is returned by TryLock* when another process holds a
// conflicting lock.
var ErrWouldBlock = errors.New("lock is held by another process")

// File is an open lock file.
type File struct {
	f *os.File
}

// Open opens (creating if needed) the lock file at path.
func Open(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &File{f: f}, nil
}

// Shared blocks until it holds a shared lock, or ctx is done.
func (l *File) Shared(ctx context.Context) error { return l.wait(ctx, false) }

// Exclusive blocks until it holds the exclusive lock, or ctx is done.
func (l *File) Exclusive(ctx context.Context) error { return l.wait(ctx, true) }

// TryExclusive takes the exclusive lock if nobody else holds the file.
func (l *File) TryExclusive() error { return lock(l.f, true) }

func (l *File) wait(ctx context.Context, exclusive bool) error {
	delay := time.Millisecond
	for {
		err := lock(l.f, exclusive)
		if !errors.Is(err, ErrWouldBlock) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		if delay < 100*time.Millisecond {
			delay *= 2
		}
	}
}

// Unlock releases whatever lock is held.
func (l *File) Unlock() error { return unlock(l.f) }

// Close releases the lock and closes the file.
func (l *File) Close() error { return l.f.Close() }
