package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/sample"
	"sov.dev/sov/internal/tokenizer"
)

// testConstraint allows the tokens allow accepts (all when nil), and
// end-of-generation tokens only when eog is set. It reports the text complete after done tokens (0:
// never), or once a token is accepted with one token left when closeLast
// is set. It records the left counts it saw, one per step.
type testConstraint struct {
	tok       *tokenizer.Tokenizer
	allow     func(id int32) bool
	done      int
	closeLast bool
	eog       bool

	badPiece bool // Allow or Accept got a piece that is not the token's
	lastLeft int
	lefts    []int
	accepted []int32
}

func (c *testConstraint) Allow(id int32, piece string, left int) bool {
	c.lastLeft = left
	c.badPiece = c.badPiece || piece != c.tok.Piece(id)
	if c.tok.IsEOG(id) && !c.eog {
		return false
	}
	return c.allow == nil || c.allow(id)
}

func (c *testConstraint) Accept(id int32, piece string) bool {
	c.badPiece = c.badPiece || piece != c.tok.Piece(id)
	c.lefts = append(c.lefts, c.lastLeft)
	c.accepted = append(c.accepted, id)
	return len(c.accepted) == c.done || c.closeLast && c.lastLeft == 1
}

func newTestGeneration(t *testing.T, ctxLen int) (*Session, *tokenizer.Tokenizer) {
	t.Helper()
	m := synthModel(t, "llama", "tiny", "Q8_0", 7)
	tok, err := tokenizer.FromGGUF(m.File)
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSession(SessionOptions{ContextLen: ctxLen})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, tok
}

// TestGenerateGreedy checks Generate without a constraint against a plain
// argmax loop over Prefill and Eval.
func TestGenerateGreedy(t *testing.T) {
	s, tok := newTestGeneration(t, 64)
	prompt := []int32{1, 2, 3, 4}
	logits, err := s.Prefill(t.Context(), prompt)
	if err != nil {
		t.Fatal(err)
	}
	var want []int32
	for range 12 {
		best := int32(0)
		for i, l := range logits {
			if l > logits[best] {
				best = int32(i)
			}
		}
		want = append(want, best)
		if tok.IsEOG(best) {
			break
		}
		if logits, err = s.Eval(best); err != nil {
			t.Fatal(err)
		}
	}
	s.Reset()
	st, err := Generate(t.Context(), s, tok, prompt, GenerateOptions{MaxTokens: 12}, func(string) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, st.Tokens); diff != "" {
		t.Errorf("tokens (-argmax +Generate):\n%s", diff)
	}
}

func TestGenerateConstraint(t *testing.T) {
	prompt := []int32{1, 2, 3, 4}
	even := func(id int32) bool { return id%2 == 0 }
	tests := []struct {
		name      string
		ctxLen    int
		opts      GenerateOptions
		c         testConstraint // nil: no constraint
		wantN     int            // tokens generated
		wantLefts []int          // nil: not checked
		wantStop  string
		wantErr   error
	}{
		{name: "greedy, even ids", ctxLen: 64, opts: GenerateOptions{MaxTokens: 6}, c: testConstraint{allow: even},
			wantN: 6, wantLefts: []int{6, 5, 4, 3, 2, 1}, wantStop: StopLength},
		{name: "sampled, even ids", ctxLen: 64, opts: GenerateOptions{MaxTokens: 10, Sampling: sample.Options{Temperature: 1.5, TopK: 40, Seed: 3}}, c: testConstraint{allow: even},
			wantN: 10, wantStop: StopLength},
		{name: "complete ends", ctxLen: 64, opts: GenerateOptions{MaxTokens: 10, Sampling: sample.Options{Temperature: 1, Seed: 1}}, c: testConstraint{done: 3},
			wantN: 3, wantStop: StopEOG},
		{name: "nothing allowed", ctxLen: 64, opts: GenerateOptions{MaxTokens: 10}, c: testConstraint{allow: func(int32) bool { return false }},
			wantN: 0, wantErr: ErrNoAllowedToken},
		{name: "left counts the context", ctxLen: 16, c: testConstraint{closeLast: true},
			wantN: 12 + 1, wantLefts: []int{13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, wantStop: StopEOG},
		{name: "context fills", ctxLen: 16, c: testConstraint{},
			wantN: 13, wantErr: ErrContextFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, tok := newTestGeneration(t, tt.ctxLen)
			c := tt.c
			c.tok = tok
			opts := tt.opts
			opts.Constraint = &c
			var text strings.Builder
			st, err := Generate(t.Context(), s, tok, prompt, opts, func(p string) error { text.WriteString(p); return nil })
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if st.GeneratedTokens != tt.wantN {
				t.Errorf("generated %d tokens, want %d", st.GeneratedTokens, tt.wantN)
			}
			if err == nil && st.StopReason != tt.wantStop {
				t.Errorf("stop reason %q, want %q", st.StopReason, tt.wantStop)
			}
			if c.badPiece {
				t.Error("the constraint was given a piece that is not the token's text")
			}
			if diff := cmp.Diff(st.Tokens, c.accepted); diff != "" {
				t.Errorf("accepted tokens differ from the generated (-generated +accepted):\n%s", diff)
			}
			for _, id := range st.Tokens {
				if tok.IsEOG(id) || c.allow != nil && !c.allow(id) {
					t.Errorf("token %d was not allowed", id)
				}
			}
			if tt.wantLefts != nil {
				if diff := cmp.Diff(tt.wantLefts, c.lefts); diff != "" {
					t.Errorf("tokens left (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestGenerateAllowAll checks that a constraint allowing every token
// leaves the tokens as they were.
func TestGenerateAllowAll(t *testing.T) {
	for _, o := range []sample.Options{{}, {Temperature: 0.8, TopP: 0.9, Seed: 2}, {Temperature: 1.2, TopK: 30, MinP: 0.02, FrequencyPenalty: 0.5, Seed: 9}} {
		s, tok := newTestGeneration(t, 64)
		run := func(c Constraint) []int32 {
			s.Reset()
			st, err := Generate(t.Context(), s, tok, []int32{1, 2, 3, 4}, GenerateOptions{MaxTokens: 20, Sampling: o, Constraint: c}, func(string) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			return st.Tokens
		}
		plain := run(nil)
		constrained := run(&testConstraint{tok: tok, eog: true})
		if diff := cmp.Diff(plain, constrained); diff != "" {
			t.Errorf("options %+v: tokens (-plain +constrained):\n%s", o, diff)
		}
	}
}
