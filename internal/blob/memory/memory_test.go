package memory_test

import (
	"testing"

	"sov.dev/sov/internal/blob"
	"sov.dev/sov/internal/blob/blobtest"
	"sov.dev/sov/internal/blob/memory"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return memory.New() })
}
