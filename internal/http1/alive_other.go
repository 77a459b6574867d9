//go:build !unix

package http1

// alive reports whether an idle connection may be used. Without a
// non-blocking peek, only bytes already buffered tell; a connection the
// peer closed is found out by the request, which is then retried once.
func (c *pconn) alive() bool { return c.br.Buffered() == 0 }

// waiting reports whether bytes have arrived that no read has taken yet;
// without a non-blocking peek it cannot tell, and says no.
func (c *pconn) waiting() bool { return false }
