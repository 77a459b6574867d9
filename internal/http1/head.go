package http1

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// A message head (start line and header fields) is parsed here from the
// bytes of the whole head, which one string holds: names and values are
// slices of it, so a head costs a handful of allocations.

// errHeadMalformed marks a head that does not follow RFC 9112.
var errHeadMalformed = errors.New("malformed message head")

// bufferedHead returns the whole head at the start of br's buffer, reading
// more as needed, or ok=false when the head does not fit the buffer (the
// caller falls back to a streaming parser). Read errors are returned.
func bufferedHead(br *bufio.Reader) (head []byte, ok bool, err error) {
	for {
		n := br.Buffered()
		buf, _ := br.Peek(n)
		if end := headEnd(buf); end > 0 {
			return buf[:end], true, nil
		}
		if n >= br.Size() {
			return nil, false, nil
		}
		if _, err := br.Peek(n + 1); err != nil {
			return nil, false, err
		}
	}
}

// headEnd returns the length of the head at the start of buf (through the
// empty line), or 0 when buf does not hold a whole head.
func headEnd(buf []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 0 {
			return 0
		}
		nl := i + j
		// An empty line: "\n" right after the previous "\n", or "\r\n".
		if nl > 0 && (buf[nl-1] == '\n' || nl > 1 && buf[nl-1] == '\r' && buf[nl-2] == '\n') {
			return nl + 1
		}
		i = nl + 1
	}
}

// parseHead parses a whole head: it returns the start line and the header
// fields, canonical names as keys.
func parseHead(raw []byte) (start string, h http.Header, err error) {
	s := string(raw)
	line, s, _ := strings.Cut(s, "\n")
	start = strings.TrimSuffix(line, "\r")
	n := strings.Count(s, "\n") // an upper bound on the fields
	h = make(http.Header, n)
	vals := make([]string, 0, n)
	for {
		line, rest, _ := strings.Cut(s, "\n")
		s = rest
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			return start, h, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			return "", nil, errHeadMalformed // obsolete line folding
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !validToken(name) {
			return "", nil, errHeadMalformed
		}
		value = strings.Trim(value, " \t")
		if !validValue(value) {
			return "", nil, errHeadMalformed
		}
		if !isCanonical(name) {
			name = http.CanonicalHeaderKey(name)
		}
		if old, ok := h[name]; ok {
			h[name] = append(old, value)
			continue
		}
		vals = append(vals, value)
		h[name] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
}

// isCanonical reports whether a header name is already in canonical form
// (as http.CanonicalHeaderKey writes it).
func isCanonical(name string) bool {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case upper && 'a' <= c && c <= 'z':
			return false
		case !upper && 'A' <= c && c <= 'Z':
			return false
		}
		upper = c == '-'
	}
	return true
}

// parseTarget parses a request target. The common origin form made of
// plain characters is taken as it is; the rest goes to url.ParseRequestURI.
func parseTarget(target string) (*url.URL, error) {
	path, query, hasQuery := strings.Cut(target, "?")
	if len(path) > 0 && path[0] == '/' && plain(path, pathChars) && plain(query, queryChars) {
		return &url.URL{Path: path, RawQuery: query, ForceQuery: hasQuery && query == ""}, nil
	}
	return url.ParseRequestURI(target)
}

// Characters a path keeps as they are in url.URL's escaped form, and
// characters a raw query may hold; neither has '%' or '#'.
const (
	pathChars  = "-._~$&+,/:;=@"
	queryChars = "-._~!$&'()*+,;=:@/?"
)

// plain reports whether s has only letters, digits and extra.
func plain(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte(extra, c) >= 0:
		default:
			return false
		}
	}
	return true
}

// readLongHead reads a head that does not fit br's buffer, through the
// empty line that ends it. The reader under br bounds its size.
func readLongHead(br *bufio.Reader) ([]byte, error) {
	var head []byte
	lineStart := 0
	for {
		chunk, err := br.ReadSlice('\n')
		head = append(head, chunk...)
		if err == bufio.ErrBufferFull {
			continue // a line longer than the buffer
		}
		if err != nil {
			return nil, err
		}
		if line := head[lineStart:]; len(line) == 1 || len(line) == 2 && line[0] == '\r' {
			return head, nil
		}
		lineStart = len(head)
	}
}

// skipEmptyLines drops up to four CR or LF bytes before a request line:
// some clients send a CRLF after a request body (RFC 9112, 2.2 asks
// servers to ignore at least one empty line there).
func skipEmptyLines(br *bufio.Reader) {
	peek, _ := br.Peek(min(4, br.Buffered()))
	n := 0
	for n < len(peek) && (peek[n] == '\r' || peek[n] == '\n') {
		n++
	}
	br.Discard(n)
}

// validHost reports whether h may be a Host header: the characters of a
// host name, an IP literal and a port (RFC 3986, 3.2.2), as net/http
// accepts.
func validHost(h string) bool { return plain(h, "!$%&'()*+,-.:;=[]_~") }

// validToken reports whether s is an HTTP token (RFC 9110, 5.6.2): a
// method or a header name.
func validToken(s string) bool { return s != "" && plain(s, "!#$%&'*+-.^_`|~") }

// validValue reports whether s may be a header field value: no control
// characters other than tab.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
