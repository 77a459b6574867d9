//go:build unix

package http1

import "golang.org/x/sys/unix"

// alive reports whether an idle connection is still open and quiet: the
// peer has not closed it and sent nothing unasked (which would be a close
// notification or garbage). It peeks without blocking.
func (c *pconn) alive() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	if c.raw == nil {
		return true
	}
	var buf [1]byte
	quiet := false
	err := c.raw.Read(func(fd uintptr) bool {
		_, _, err := unix.Recvfrom(int(fd), buf[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		quiet = err == unix.EAGAIN || err == unix.EWOULDBLOCK
		return true // never wait
	})
	return err == nil && quiet
}

// waiting reports whether bytes have arrived on the connection that no
// read has taken yet. It peeks without blocking.
func (c *pconn) waiting() bool {
	if c.raw == nil {
		return false
	}
	var buf [1]byte
	n := 0
	c.raw.Read(func(fd uintptr) bool {
		n, _, _ = unix.Recvfrom(int(fd), buf[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		return true // never wait
	})
	return n > 0
}
