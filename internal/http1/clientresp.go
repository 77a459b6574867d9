package http1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
)

// readResponse reads an answer's head from br and frames its body (RFC
// 9112, 6.3). Heads larger than br's buffer go to http.ReadResponse.
func readResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	head, whole, err := bufferedHead(br)
	if err != nil {
		return nil, err
	}
	if !whole {
		return http.ReadResponse(br, req)
	}
	line, h, err := parseHead(head)
	br.Discard(len(head))
	if err != nil {
		return nil, fmt.Errorf("answer head: %w", err)
	}
	proto, status, ok := strings.Cut(line, " ")
	major, minor, vok := http.ParseHTTPVersion(proto)
	if !ok || !vok || major != 1 || len(status) < 3 {
		return nil, fmt.Errorf("malformed status line %q", truncate(line))
	}
	code, err := strconv.Atoi(status[:3])
	if err != nil || code < 100 || code > 999 || len(status) > 3 && status[3] != ' ' {
		return nil, fmt.Errorf("malformed status line %q", truncate(line))
	}
	resp := &http.Response{
		Status:        status,
		StatusCode:    code,
		Proto:         proto,
		ProtoMajor:    major,
		ProtoMinor:    minor,
		Header:        h,
		ContentLength: -1,
		Request:       req,
	}
	conn := h["Connection"]
	resp.Close = headerHasToken(conn, "close") || minor == 0 && !headerHasToken(conn, "keep-alive")

	noBody := code < 200 || code == http.StatusNoContent || code == http.StatusNotModified || req.Method == http.MethodHead
	te, cl := h["Transfer-Encoding"], h["Content-Length"]
	switch {
	case noBody:
		resp.Body = http.NoBody
		if code >= 200 && len(cl) > 0 {
			resp.ContentLength, _ = strconv.ParseInt(cl[0], 10, 64)
		}
		if code < 200 {
			resp.ContentLength = 0
		}
	case len(te) > 0:
		if len(te) != 1 || !strings.EqualFold(strings.TrimSpace(te[0]), "chunked") {
			return nil, fmt.Errorf("unsupported Transfer-Encoding %q", strings.Join(te, ", "))
		}
		// A Content-Length beside chunked is ignored (RFC 9112, 6.3).
		delete(h, "Content-Length")
		delete(h, "Transfer-Encoding")
		resp.TransferEncoding = []string{"chunked"}
		resp.Body = io.NopCloser(&chunkedBody{br: br, r: httputil.NewChunkedReader(br)})
	case len(cl) > 0:
		n, perr := parseContentLength(cl)
		if perr != nil {
			return nil, fmt.Errorf("answer: %v", perr)
		}
		resp.ContentLength = n
		if n == 0 {
			resp.Body = http.NoBody
		} else {
			resp.Body = io.NopCloser(&lengthBody{br: br, n: n})
		}
	default:
		// Delimited by the end of the connection.
		resp.Close = true
		resp.Body = io.NopCloser(br)
	}
	return resp, nil
}

// lengthBody reads n bytes of a body, and returns io.EOF with the last.
type lengthBody struct {
	br *bufio.Reader
	n  int64
}

func (b *lengthBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.br.Read(p)
	b.n -= int64(n)
	if b.n == 0 {
		return n, io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// chunkedBody reads a chunked body and, after its last chunk, the
// trailer section (dropped).
type chunkedBody struct {
	br  *bufio.Reader
	r   io.Reader
	err error
}

// maxTrailer bounds the trailer section of a chunked answer.
const maxTrailer = 64 << 10

func (b *chunkedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		err = skipTrailer(b.br, maxTrailer)
		if err == nil {
			err = io.EOF
		}
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// skipTrailer reads header lines up to the empty line that ends them.
func skipTrailer(br *bufio.Reader, limit int) error {
	for read := 0; ; {
		line, err := br.ReadSlice('\n')
		read += len(line)
		if err == bufio.ErrBufferFull || read > limit {
			return errors.New("chunked trailer too large")
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if len(line) <= 2 && strings.TrimRight(string(line), "\r\n") == "" {
			return nil
		}
	}
}
