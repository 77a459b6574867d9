package hfconfig

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Tokenizer summarises a tokenizer.json (the Hugging Face tokenizers
// library's serialisation).
type Tokenizer struct {
	// Model is the tokenisation algorithm: "BPE", "Unigram", "WordPiece" or
	// "WordLevel" (as written in model.type, or inferred from the model's
	// fields in files that omit it).
	Model string `json:"model,omitempty"`
	// VocabSize counts model.vocab entries; Merges counts BPE merges.
	VocabSize int `json:"vocab_size,omitempty"`
	Merges    int `json:"merges,omitempty"`
	// AddedTokens counts the added_tokens entries.
	AddedTokens int `json:"added_tokens,omitempty"`
	// PreTokenizer is pre_tokenizer.type, with the member types of a
	// Sequence in parentheses: "Sequence(Split, ByteLevel)".
	PreTokenizer string `json:"pre_tokenizer,omitempty"`
}

// ParseTokenizer reads a tokenizer.json from r, streaming: vocabularies and
// merges are counted, never held, so memory stays small however large the
// file. The input is capped at MaxTokenizerSize bytes and maxDepth nesting,
// and must be valid JSON throughout. Content errors are *Error; errors from
// r are returned wrapped.
func ParseTokenizer(r io.Reader) (*Tokenizer, error) {
	return parseTokenizer(r, MaxTokenizerSize)
}

// parseTokenizer is ParseTokenizer with a size limit.
func parseTokenizer(r io.Reader, limit int64) (*Tokenizer, error) {
	j := newJSONStream(r, limit)
	if c, err := j.peek(); err != nil {
		return nil, err
	} else if c != '{' {
		return nil, docError(j.off, "want a JSON object")
	}
	tk := &Tokenizer{}
	err := j.object(func(key string) error {
		switch key {
		case "model":
			return readModel(j, tk)
		case "added_tokens":
			n, err := countOrNull(j, "added_tokens")
			tk.AddedTokens = n
			return err
		case "pre_tokenizer":
			if null, err := j.isNull(); null || err != nil {
				return err
			}
			s, err := readPreTokenizer(j, "pre_tokenizer", 0)
			tk.PreTokenizer = s
			return err
		}
		return j.skip()
	})
	if err != nil {
		return nil, err
	}
	if err := j.end(); err != nil {
		return nil, err
	}
	return tk, nil
}

// wrongType is the error for a value of the wrong type at field; it names
// the type found.
func (j *jsonStream) wrongType(field, want string) error {
	if _, err := j.peek(); err != nil {
		return err // the input ended (or failed) instead
	}
	return fieldError(field, fmt.Sprintf("want %s, got %s", want, j.kindAt()))
}

// countOrNull counts the entries of an array or object; null is 0.
func countOrNull(j *jsonStream, field string) (int, error) {
	if null, err := j.isNull(); null || err != nil {
		return 0, err
	}
	n, err := j.count()
	if errors.Is(err, errWrongType) {
		return 0, j.wrongType(field, "an array or object")
	}
	return n, err
}

// readString reads a string field.
func readString(j *jsonStream, field string) (string, error) {
	if j.kindAt() != "string" {
		return "", j.wrongType(field, "a string")
	}
	return j.str(true)
}

// readModel reads the "model" object.
func readModel(j *jsonStream, tk *Tokenizer) error {
	if null, err := j.isNull(); null || err != nil {
		return err
	}
	if j.kindAt() != "object" {
		return j.wrongType("model", "an object")
	}
	var vocabIsList, hasMerges, hasWordPieceFields bool
	err := j.object(func(key string) error {
		var err error
		switch key {
		case "type":
			tk.Model, err = readString(j, "model.type")
		case "vocab":
			vocabIsList = j.kindAt() == "array"
			tk.VocabSize, err = countOrNull(j, "model.vocab")
		case "merges":
			hasMerges = j.kindAt() != "null"
			tk.Merges, err = countOrNull(j, "model.merges")
		case "continuing_subword_prefix", "max_input_chars_per_word":
			hasWordPieceFields = true
			err = j.skip()
		default:
			err = j.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	if tk.Model == "" {
		switch {
		case vocabIsList:
			tk.Model = "Unigram"
		case hasMerges:
			tk.Model = "BPE"
		case hasWordPieceFields:
			tk.Model = "WordPiece"
		default:
			tk.Model = "WordLevel"
		}
	}
	return nil
}

// maxSequenceMembers bounds how many member types a Sequence summary lists.
const maxSequenceMembers = 16

// readPreTokenizer reads a pre_tokenizer object and summarises its type.
func readPreTokenizer(j *jsonStream, field string, level int) (string, error) {
	if j.kindAt() != "object" {
		return "", j.wrongType(field, "an object")
	}
	var (
		typ     string
		members []string
		more    int
	)
	err := j.object(func(key string) error {
		switch key {
		case "type":
			var err error
			typ, err = readString(j, field+".type")
			return err
		case "pretokenizers":
			if level > 0 {
				return j.skip()
			}
			if null, err := j.isNull(); null || err != nil {
				return err
			}
			if j.kindAt() != "array" {
				return j.wrongType(field+".pretokenizers", "an array")
			}
			return j.array(func(i int) error {
				sub, err := readPreTokenizer(j, fmt.Sprintf("%s.pretokenizers[%d]", field, i), level+1)
				if len(members) < maxSequenceMembers {
					members = append(members, sub)
				} else {
					more++
				}
				return err
			})
		}
		return j.skip()
	})
	if err != nil {
		return "", err
	}
	if len(members) > 0 {
		if more > 0 {
			members = append(members, fmt.Sprintf("… %d more", more))
		}
		typ += "(" + strings.Join(members, ", ") + ")"
	}
	return typ, nil
}
