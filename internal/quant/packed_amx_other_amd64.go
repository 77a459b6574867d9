//go:build !purego && !linux

package quant

// amxPermitted reports false: only Linux is asked for the tile state.
func amxPermitted() bool { return false }
