package safetensors

import "maps"

// Facts summarises a safetensors file for inspection output.
type Facts struct {
	TensorCount    int               `json:"tensor_count"`
	ParameterCount uint64            `json:"parameter_count"`
	DTypes         map[string]uint64 `json:"dtypes"` // dtype -> number of parameters
	Metadata       map[string]string `json:"metadata,omitempty"`
}

// Facts counts the tensors and parameters (elements) of f, by dtype.
func (f *File) Facts() Facts {
	fa := Facts{
		TensorCount: len(f.Tensors),
		DTypes:      make(map[string]uint64),
		Metadata:    maps.Clone(f.Metadata),
	}
	for _, t := range f.Tensors {
		n := t.Elements()
		fa.ParameterCount += n
		fa.DTypes[string(t.DType)] += n
	}
	return fa
}
