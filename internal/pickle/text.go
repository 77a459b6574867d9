package pickle

import (
	"errors"
	"unicode/utf8"
)

// escapeDecode decodes the body of a protocol 0 STRING argument the way
// Python's codecs.escape_decode does: \\ \' \" \a \b \f \n \r \t \v,
// backslash-newline (dropped), \ooo octal, \xhh hex; any other escape is
// kept as written.
func escapeDecode(s []byte) ([]byte, error) {
	if indexByte(s, '\\') < 0 {
		return s, nil
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return nil, errors.New(`trailing \ in string`)
		}
		switch c = s[i]; c {
		case '\n':
		case '\\', '\'', '"':
			out = append(out, c)
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, 11)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(s[i]-'0')
			}
			out = append(out, byte(v))
		case 'x':
			if i+2 >= len(s) {
				return nil, errors.New(`invalid \x escape`)
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return nil, errors.New(`invalid \x escape`)
			}
			out = append(out, hi<<4|lo)
			i += 2
		default:
			out = append(out, '\\', c)
		}
	}
	return out, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// rawUnicodeEscapeDecode decodes a protocol 0 UNICODE argument the way
// Python's raw_unicode_escape codec does: bytes are Latin-1 code points,
// and \uXXXX or \UXXXXXXXX after an odd run of backslashes is a code point.
// The result is UTF-8; lone surrogates become U+FFFD.
func rawUnicodeEscapeDecode(s []byte) (string, error) {
	ascii := true
	for _, c := range s {
		if c == '\\' || c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(s), nil
	}
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			out = utf8.AppendRune(out, rune(c))
			i++
			continue
		}
		run := 0
		for i < len(s) && s[i] == '\\' {
			out = append(out, '\\')
			run++
			i++
		}
		if run%2 == 0 || i >= len(s) || (s[i] != 'u' && s[i] != 'U') {
			continue
		}
		out = out[:len(out)-1]
		n := 4
		if s[i] == 'U' {
			n = 8
		}
		i++
		if len(s)-i < n {
			return "", errors.New(`truncated \uXXXX escape`)
		}
		var r rune
		for k := range n {
			d, ok := unhex(s[i+k])
			if !ok {
				return "", errors.New(`truncated \uXXXX escape`)
			}
			r = r<<4 | rune(d)
		}
		i += n
		if r > utf8.MaxRune || r < 0 {
			return "", errors.New(`\Uxxxxxxxx out of range`)
		}
		out = utf8.AppendRune(out, r)
	}
	return string(out), nil
}

// parseDecimal parses a protocol 0 integer argument (sign, digits, and
// Python's underscores and surrounding whitespace). big is set when the
// number does not fit an int64; ok is false when it is not a number.
func parseDecimal(s []byte) (v int64, big, ok bool) {
	s = trimSpace(s)
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false, false
	}
	var u uint64
	digits := 0
	prevUnderscore := false
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
			prevUnderscore = false
			if u > (1<<63)/10 {
				big = true
				continue
			}
			u = u*10 + uint64(c-'0')
			if u > 1<<63 {
				big = true
			}
		case c == '_' && i > 0 && !prevUnderscore && i < len(s)-1:
			prevUnderscore = true
		default:
			return 0, false, false
		}
	}
	if digits == 0 {
		return 0, false, false
	}
	if big {
		return 0, true, true
	}
	if neg {
		return -int64(u), false, true
	}
	if u > 1<<63-1 {
		return 0, true, true
	}
	return int64(u), false, true
}

func trimSpace(s []byte) []byte {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// decodeLong decodes a little-endian two's-complement integer (LONG1,
// LONG4 payloads).
func decodeLong(b []byte) (v int64, big bool) {
	if len(b) == 0 {
		return 0, false
	}
	if len(b) > 8 {
		// Fits only if the extra bytes are pure sign extension.
		sign := byte(0)
		if b[len(b)-1]&0x80 != 0 {
			sign = 0xff
		}
		for _, c := range b[8:] {
			if c != sign {
				return 0, true
			}
		}
		if (b[7]&0x80 != 0) != (sign == 0xff) {
			return 0, true
		}
		b = b[:8]
	}
	var u uint64
	for i := len(b) - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	if len(b) < 8 && b[len(b)-1]&0x80 != 0 {
		u |= ^uint64(0) << (8 * uint(len(b)))
	}
	return int64(u), false
}
