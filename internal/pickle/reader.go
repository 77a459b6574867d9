package pickle

import (
	"errors"
	"fmt"
	"io"
)

// bufSize is the reader's buffer; lines and fixed arguments longer than
// this are streamed through it.
const bufSize = 64 << 10

// seekSkipMin is the smallest skip done by seeking rather than reading.
const seekSkipMin = 256 << 10

// reader is a buffered, offset-tracking reader that can skip forward by
// seeking, and knows (when it can) how many bytes are left.
type reader struct {
	r      io.Reader
	seeker io.Seeker // nil when r cannot seek
	buf    []byte
	pos    int   // next unread byte in buf
	end    int   // end of valid bytes in buf
	base   int64 // offset of buf[0]
	size   int64 // total input size, -1 when unknown
	err    error // sticky error from r (io.EOF included)
	// lastLine is the last byte of the last line readLine returned in
	// full (before the newline), valid when that line was non-empty.
	lastLine byte
}

func newReader(r io.Reader, size, base int64) *reader {
	rd := &reader{r: r, buf: make([]byte, bufSize), size: size, base: base}
	if sk, ok := r.(io.Seeker); ok {
		rd.seeker = sk
		if size < 0 {
			cur, err1 := sk.Seek(0, io.SeekCurrent)
			end, err2 := sk.Seek(0, io.SeekEnd)
			_, err3 := sk.Seek(cur, io.SeekStart)
			if err1 == nil && err2 == nil && err3 == nil && end >= cur {
				rd.size = end - cur
			} else {
				rd.seeker = nil
			}
		}
	}
	if rd.seeker != nil && rd.size < 0 {
		rd.seeker = nil
	}
	if rd.size >= 0 {
		rd.size += base
	}
	return rd
}

func (rd *reader) offset() int64 { return rd.base + int64(rd.pos) }

// left returns the bytes left in the input, or -1 when unknown.
func (rd *reader) left() int64 {
	if rd.size < 0 {
		return -1
	}
	return rd.size - rd.offset()
}

// fill reads more bytes into the buffer, moving unread bytes to the front.
// It returns the sticky error when nothing more can be read.
func (rd *reader) fill() error {
	if rd.pos > 0 {
		copy(rd.buf, rd.buf[rd.pos:rd.end])
		rd.base += int64(rd.pos)
		rd.end -= rd.pos
		rd.pos = 0
	}
	if rd.err != nil {
		return rd.err
	}
	for tries := 0; rd.end < len(rd.buf) && tries < 100; tries++ {
		n, err := rd.r.Read(rd.buf[rd.end:])
		rd.end += n
		if err != nil {
			rd.err = err
			if n > 0 {
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	if rd.end < len(rd.buf) {
		rd.err = io.ErrNoProgress
		return rd.err
	}
	return nil
}

// peek returns the next byte without consuming it.
func (rd *reader) peek() (byte, error) {
	for rd.pos >= rd.end {
		if err := rd.fill(); err != nil {
			return 0, err
		}
	}
	return rd.buf[rd.pos], nil
}

func (rd *reader) readByte() (byte, error) {
	for rd.pos >= rd.end {
		if err := rd.fill(); err != nil {
			return 0, unexpected(err)
		}
	}
	b := rd.buf[rd.pos]
	rd.pos++
	return b, nil
}

// next returns the next n bytes (n ≤ bufSize) as a slice of the buffer,
// valid until the next call.
func (rd *reader) next(n int) ([]byte, error) {
	for rd.end-rd.pos < n {
		if err := rd.fill(); err != nil {
			return nil, unexpected(err)
		}
	}
	b := rd.buf[rd.pos : rd.pos+n]
	rd.pos += n
	return b, nil
}

// readFull fills b.
func (rd *reader) readFull(b []byte) error {
	for len(b) > 0 {
		if rd.pos >= rd.end {
			if err := rd.fill(); err != nil {
				return unexpected(err)
			}
		}
		n := copy(b, rd.buf[rd.pos:rd.end])
		rd.pos += n
		b = b[n:]
	}
	return nil
}

// readInto reads n bytes, keeping at most keep of them (appended to dst),
// and discards the rest.
func (rd *reader) readInto(dst []byte, n int64, keep int) ([]byte, error) {
	k := int64(keep)
	if n < k {
		k = n
	}
	start := len(dst)
	dst = append(dst, make([]byte, k)...)
	if err := rd.readFull(dst[start:]); err != nil {
		return dst, err
	}
	return dst, rd.skip(n - k)
}

// skip discards n bytes, seeking when that is cheaper.
func (rd *reader) skip(n int64) error {
	if n < 0 {
		return errors.New("negative skip")
	}
	if buffered := int64(rd.end - rd.pos); n <= buffered {
		rd.pos += int(n)
		return nil
	}
	n -= int64(rd.end - rd.pos)
	rd.base += int64(rd.end)
	rd.pos, rd.end = 0, 0
	if rd.size >= 0 && n > rd.size-rd.base {
		// Consume what is there so the offset in the error is the end.
		rd.base = rd.size
		return io.ErrUnexpectedEOF
	}
	if rd.seeker != nil && n >= seekSkipMin && rd.err == nil {
		if _, err := rd.seeker.Seek(n, io.SeekCurrent); err != nil {
			rd.err = err
			return err
		}
		rd.base += n
		return nil
	}
	for n > 0 {
		if rd.pos >= rd.end {
			if err := rd.fill(); err != nil {
				return unexpected(err)
			}
		}
		m := min(n, int64(rd.end-rd.pos))
		rd.pos += int(m)
		n -= m
	}
	return nil
}

// readLine reads up to and including the next '\n' and returns the line
// without it; at most keep bytes are returned (appended to dst), the total
// length is n. rd.lastLine is the line's last byte.
func (rd *reader) readLine(dst []byte, keep int) (line []byte, n int64, err error) {
	for {
		if rd.pos >= rd.end {
			if err := rd.fill(); err != nil {
				return dst, n, unexpected(err)
			}
		}
		chunk := rd.buf[rd.pos:rd.end]
		i := indexByte(chunk, '\n')
		part := chunk
		if i >= 0 {
			part = chunk[:i]
		}
		if room := keep - len(dst); room > 0 {
			dst = append(dst, part[:min(room, len(part))]...)
		}
		if len(part) > 0 {
			rd.lastLine = part[len(part)-1]
		}
		n += int64(len(part))
		if i >= 0 {
			rd.pos += i + 1
			return dst, n, nil
		}
		rd.pos = rd.end
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// unexpected turns io.EOF in the middle of something into
// io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ioError wraps a read error as a FormatError at the current offset when
// it is the input ending early, and as a plain error otherwise.
func (rd *reader) ioError(err error) error {
	var fe *FormatError
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &FormatError{Offset: rd.offset(), Reason: "input ends early", Err: io.ErrUnexpectedEOF}
	}
	return fmt.Errorf("pickle: reading at offset %d: %w", rd.offset(), err)
}
