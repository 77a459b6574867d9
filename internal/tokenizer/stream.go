package tokenizer

import "strings"

// StreamDecoder turns generated tokens into text as they arrive. A
// character may be split across tokens (byte-fallback tokens and
// byte-level BPE both produce single bytes), so Add holds back the bytes
// of an incomplete UTF-8 sequence until the tokens that complete it
// arrive. Every string it returns is valid UTF-8: a byte sequence that
// can never become valid is replaced by U+FFFD. Pieces are used exactly
// as Piece returns them, leading spaces included, and special tokens
// render as their text; callers that stop at end-of-generation tokens
// should check IsEOG before calling Add.
//
// For a token sequence whose pieces form valid UTF-8, the concatenation
// of everything Add and Flush return equals the concatenation of the
// pieces. A StreamDecoder is not safe for concurrent use.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte
}

// NewDecoder returns a StreamDecoder for t.
func (t *Tokenizer) NewDecoder() *StreamDecoder { return &StreamDecoder{t: t} }

// Add appends the piece of id and returns the text that is now complete,
// possibly "".
func (d *StreamDecoder) Add(id int32) string {
	d.pending = append(d.pending, d.t.Piece(id)...)
	n := validPrefixLen(d.pending)
	if n == 0 {
		return ""
	}
	out := strings.ToValidUTF8(string(d.pending[:n]), "\uFFFD")
	d.pending = append(d.pending[:0], d.pending[n:]...)
	return out
}

// Flush returns whatever is held back (an incomplete sequence becomes
// U+FFFD) and resets the decoder.
func (d *StreamDecoder) Flush() string {
	out := strings.ToValidUTF8(string(d.pending), "\uFFFD")
	d.pending = d.pending[:0]
	return out
}
