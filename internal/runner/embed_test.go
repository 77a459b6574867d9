package runner

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"

	"sov.dev/sov/internal/tokenizer"
)

func TestEmbeddings(t *testing.T) {
	v := testVault(t)
	path := importModel(t, v, "tiny", "qwen2", 1)
	tok := fileTokenizer(t, path)
	r := newRunner(t, Options{Vault: v})
	type response struct {
		Object string `json:"object"`
		Model  string `json:"model"`
		Data   []struct {
			Object    string          `json:"object"`
			Index     int             `json:"index"`
			Embedding json.RawMessage `json:"embedding"`
		} `json:"data"`
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
			TotalTokens  int `json:"total_tokens"`
		} `json:"usage"`
	}
	get := func(body string) (response, [][]float32) {
		t.Helper()
		rec := do(t, r, embeddingRequest(t, body))
		var resp response
		if err := json.Unmarshal([]byte(rec.data[0]), &resp); err != nil {
			t.Fatal(err)
		}
		var vecs [][]float32
		for _, d := range resp.Data {
			var vec []float32
			if d.Embedding[0] == '"' {
				// As the official SDKs decode base64 embeddings.
				var s string
				json.Unmarshal(d.Embedding, &s)
				raw, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i+4 <= len(raw); i += 4 {
					vec = append(vec, math.Float32frombits(binary.LittleEndian.Uint32(raw[i:])))
				}
			} else if err := json.Unmarshal(d.Embedding, &vec); err != nil {
				t.Fatal(err)
			}
			vecs = append(vecs, vec)
		}
		if len(rec.usage) != 1 || rec.usage[0].PromptTokens != resp.Usage.PromptTokens {
			t.Errorf("Output.Usage %+v, body usage %+v", rec.usage, resp.Usage)
		}
		return resp, vecs
	}

	resp, floats := get(`{"model":"tiny","input":["The cat sat.","A different sentence entirely."]}`)
	if resp.Object != "list" || resp.Model != "tiny" || len(resp.Data) != 2 || resp.Data[1].Index != 1 || resp.Data[0].Object != "embedding" {
		t.Fatalf("response %+v", resp)
	}
	want := 0
	for _, s := range []string{"The cat sat.", "A different sentence entirely."} {
		ids, _ := tok.Encode(s, tokenizer.EncodeOptions{AddSpecial: true})
		want += len(ids)
	}
	if resp.Usage.PromptTokens != want || resp.Usage.TotalTokens != want {
		t.Errorf("usage %+v, want %d tokens", resp.Usage, want)
	}
	for i, vec := range floats {
		if len(vec) != 256 {
			t.Fatalf("embedding %d has %d dimensions", i, len(vec))
		}
		var ss float64
		for _, x := range vec {
			ss += float64(x) * float64(x)
		}
		if math.Abs(ss-1) > 1e-4 {
			t.Errorf("embedding %d: squared length %v", i, ss)
		}
	}
	if floats[0][0] == floats[1][0] && floats[0][1] == floats[1][1] {
		t.Error("two texts, the same embedding")
	}

	// base64 carries the same float32 values bit for bit.
	_, b64 := get(`{"model":"tiny","input":["The cat sat.","A different sentence entirely."],"encoding_format":"base64"}`)
	for i := range floats {
		for j := range floats[i] {
			if b64[i][j] != floats[i][j] {
				t.Fatalf("embedding %d element %d: base64 %v, float %v", i, j, b64[i][j], floats[i][j])
			}
		}
	}

	// Token ids give the same vector as the text they encode.
	ids, _ := tok.Encode("The cat sat.", tokenizer.EncodeOptions{AddSpecial: true})
	idJSON, _ := json.Marshal(ids)
	_, byIDs := get(`{"model":"tiny","input":` + string(idJSON) + `}`)
	for j := range floats[0] {
		if byIDs[0][j] != floats[0][j] {
			t.Fatalf("element %d: token ids %v, text %v", j, byIDs[0][j], floats[0][j])
		}
	}

	for _, tt := range []struct{ body, param string }{
		{`{"model":"tiny","input":"x","dimensions":12}`, "dimensions"},
		{`{"model":"tiny","input":[[1,2,70000]]}`, "input[0]"},
	} {
		e := apiError(t, r.Do(context.Background(), embeddingRequest(t, tt.body), &recorder{}))
		if e.HTTPStatus() != 400 || e.ParamName() != tt.param {
			t.Errorf("%s: %d %q %s", tt.body, e.HTTPStatus(), e.ParamName(), e.Message)
		}
	}
}
