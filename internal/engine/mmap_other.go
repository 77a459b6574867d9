//go:build !unix

package engine

import "os"

// mapFile reads the file into memory where memory mapping is not available.
func mapFile(path string) ([]byte, func() error, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}

// release does nothing: the file was read into memory, not mapped.
func release([]byte) {}
