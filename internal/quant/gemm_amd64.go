//go:build !purego

package quant

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/cpu"

	"sov.dev/sov/internal/gguf"
)

// The AVX-512 VNNI Q8_0 kernel (gemm_amd64.s) puts 16 tokens in the 16
// int32 lanes of a zmm register: VPDPBUSD multiplies four weight bytes,
// broadcast to every lane, with four bytes of each token's activations and
// adds the four products into that token's lane. Eight such steps make a
// block's exact int32 dot product for 16 tokens at once, with no
// horizontal sums; the block's scales are then applied with one multiply
// and one fused multiply-add per 16 tokens.
//
// VPDPBUSD multiplies unsigned by signed bytes. The weights are made
// unsigned by flipping their top bit (x+128), which adds 128·Σy to each
// block's sum; the activation packer stores −128·Σy per token and block,
// and the kernel starts each block's sums from it, so the result is exact
// for every byte value (including −128 on either side).
//
// The activations are first packed, 16 tokens to a group, into q8Group
// records per block: the 32 quants interleaved four bytes per token (eight
// rows of 64 bytes), the corrections as int32 and the scales as float32.
// A group of fewer than 16 tokens repeats its last one in the unused lanes,
// which are not stored.

const q8GroupBytes = 640 // 8×64 interleaved quants, 16 int32 corrections, 16 float32 scales

// q8Tile is a pair of kernels for U token groups: one for R rows at a
// time and one for the rows left over.
type q8Tile struct {
	rows       int
	tile, tail func(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
}

// q8Tiles holds the Q8_0 kernels by token groups (4, 2, 1); each keeps
// 12 int32 and 12 float32 sums in registers.
var q8Tiles = [5]q8Tile{
	1: {12, gemmQ8_0VNNI12x1, gemmQ8_0VNNI1x1},
	2: {6, gemmQ8_0VNNI6x2, gemmQ8_0VNNI1x2},
	4: {3, gemmQ8_0VNNI3x4, gemmQ8_0VNNI1x4},
}

//go:noescape
func gemmQ8_0PackAct(act *byte, actStride, ntok, nb int, dst *byte, blockStride int)

//go:noescape
func gemmQ8_0VNNI3x4(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmQ8_0VNNI1x4(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmQ8_0VNNI6x2(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmQ8_0VNNI1x2(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmQ8_0VNNI12x1(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmQ8_0VNNI1x1(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

// Q4_K and Q6_K: weight rows are first decoded (gemmQ4_KDecode,
// gemmQ6_KDecode) a few at a time into unsigned bytes with int32 scales,
// so that the kernels broadcast four ready quants per step; activations
// are packed per 16 tokens and super-block (gemmQ8_KPackAct) with the
// sums the scales and offsets need. gemm_amd64.s describes both layouts.

const (
	q8KGroupBytes = 5440 // packed Q8_K record: 16 tokens, one super-block
	q4KRecord     = 312  // decoded Q4_K block
	q6KRecord     = 324  // decoded Q6_K block
	kChunkRows    = 8    // rows decoded at a time: a multiple of every tile's rows
)

var q4KTiles = [5]q8Tile{
	1: {8, gemmQ4_KVNNI8x1, gemmQ4_KVNNI1x1},
	2: {4, gemmQ4_KVNNI4x2, gemmQ4_KVNNI1x2},
	4: {2, gemmQ4_KVNNI2x4, gemmQ4_KVNNI1x4},
}

var q6KTiles = [5]q8Tile{
	1: {8, gemmQ6_KVNNI8x1, gemmQ6_KVNNI1x1},
	2: {4, gemmQ6_KVNNI4x2, gemmQ6_KVNNI1x2},
	4: {2, gemmQ6_KVNNI2x4, gemmQ6_KVNNI1x4},
}

//go:noescape
func gemmQ8_KPackAct(act *byte, actStride, ntok, nb int, dst *byte, blockStride int)

//go:noescape
func gemmQ4_KDecode(src *byte, nb int, dst *byte)

//go:noescape
func gemmQ6_KDecode(src *byte, nb int, dst *byte)

//go:noescape
func gemmQ4_KVNNI2x4(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmQ4_KVNNI1x4(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmQ4_KVNNI4x2(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmQ4_KVNNI1x2(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmQ4_KVNNI8x1(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmQ4_KVNNI1x1(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmQ6_KVNNI2x4(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmQ6_KVNNI1x4(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmQ6_KVNNI4x2(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmQ6_KVNNI1x2(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmQ6_KVNNI8x1(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmQ6_KVNNI1x1(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

// Q4_0 and Q5_0 rows are decoded a few at a time into 36-byte records
// (unsigned quants offset as the Q8_0 kernels' flipped bytes are, float32
// d) and run through the Q8_0 kernels' twins, gemmD32VNNI.

const d32Record = 36

var d32Tiles = [5]q8Tile{
	1: {12, gemmD32VNNI12x1, gemmD32VNNI1x1},
	2: {6, gemmD32VNNI6x2, gemmD32VNNI1x2},
	4: {3, gemmD32VNNI3x4, gemmD32VNNI1x4},
}

//go:noescape
func gemmQ4_0Decode(src *byte, nb int, dst *byte)

//go:noescape
func gemmQ5_0Decode(src *byte, nb int, dst *byte)

//go:noescape
func gemmD32VNNI3x4(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmD32VNNI1x4(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmD32VNNI6x2(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmD32VNNI1x2(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmD32VNNI12x1(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

//go:noescape
func gemmD32VNNI1x1(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)

func init() {
	vnni := cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI && cpu.X86.HasAVX2 && cpu.X86.HasF16C
	registerGemm(gguf.TypeQ8_0, "avx512vnni-tiled", gemmQ8_0VNNI, vnni)
	registerGemm(gguf.TypeQ8_0, "avx512vnni", withLoop(gemmQ8_0VNNI, gguf.TypeQ8_0, 4), vnni)
	q40 := gemmD32VNNI("Q4_0 avx512vnni", 18, gemmQ4_0Decode)
	registerGemm(gguf.TypeQ4_0, "avx512vnni-tiled", q40, vnni)
	registerGemm(gguf.TypeQ4_0, "avx512vnni", withLoop(q40, gguf.TypeQ4_0, 4), vnni)
	q50 := gemmD32VNNI("Q5_0 avx512vnni", 22, gemmQ5_0Decode)
	registerGemm(gguf.TypeQ5_0, "avx512vnni-tiled", q50, vnni)
	registerGemm(gguf.TypeQ5_0, "avx512vnni", withLoop(q50, gguf.TypeQ5_0, 4), vnni)
	q4k := gemmKVNNI("Q4_K avx512vnni", 144, q4KRecord, gemmQ4_KDecode, &q4KTiles)
	registerGemm(gguf.TypeQ4_K, "avx512vnni-tiled", q4k, vnni)
	registerGemm(gguf.TypeQ4_K, "avx512vnni", withLoop(q4k, gguf.TypeQ4_K, 6), vnni)
	q6k := gemmKVNNI("Q6_K avx512vnni", 210, q6KRecord, gemmQ6_KDecode, &q6KTiles)
	registerGemm(gguf.TypeQ6_K, "avx512vnni-tiled", q6k, vnni)
	registerGemm(gguf.TypeQ6_K, "avx512vnni", withLoop(q6k, gguf.TypeQ6_K, 6), vnni)
}

// gemmScratch holds packed activations between calls.
var gemmScratch = sync.Pool{New: func() any { return new([]byte) }}

// scratch returns a pooled buffer of at least size bytes, 64-byte aligned.
func scratch(size int) (*[]byte, []byte) {
	p := gemmScratch.Get().(*[]byte)
	if cap(*p) < size+64 {
		*p = make([]byte, size+64)
	}
	b := (*p)[:size+64]
	off := int(-uintptr(unsafe.Pointer(&b[0])) & 63)
	return p, b[off : off+size]
}

// withLoop returns a kernel that runs tiled for at least minTokens tokens
// and the row kernel loop for fewer, where the tiles' unused lanes cost
// more than they save.
func withLoop(tiled GemmFunc, t gguf.TensorType, minTokens int) GemmFunc {
	return func(w []byte, rowBytes, rows int, act []byte, actStride, n int, out []float32, outStride, cols int) {
		if n < minTokens {
			gemmLoop(Kernel(t))(w, rowBytes, rows, act, actStride, n, out, outStride, cols)
			return
		}
		tiled(w, rowBytes, rows, act, actStride, n, out, outStride, cols)
	}
}

func gemmQ8_0VNNI(w []byte, rowBytes, rows int, act []byte, actStride, n int, out []float32, outStride, cols int) {
	nb := cols / 32
	checkGemm("Q8_0 avx512vnni", 34, 34, w, rowBytes, rows, act, actStride, n, out, outStride, nb)
	if rows <= 0 || n <= 0 || nb <= 0 {
		return
	}
	groups := (n + 15) / 16
	blockStride := groups * q8GroupBytes
	p, buf := scratch(nb * blockStride)
	defer gemmScratch.Put(p)

	var maskBuf [8]uint16
	masks := maskBuf[:]
	if groups > len(maskBuf) {
		masks = make([]uint16, groups)
	}
	packQ8_0(act, actStride, n, nb, buf, blockStride, masks[:groups])

	for r := 0; r < rows; r += 3 * 64 {
		runTiles(&q8Tiles, w[r*rowBytes:], rowBytes, min(3*64, rows-r), buf, q8GroupBytes, blockStride, groups, nb, out[r:], outStride, masks)
	}
}

// runTiles runs the tile kernels over rows rows of w (rowBytes apart) and
// every group of packed activations, windows of up to four groups at a
// time, rows in steps of the window's tile.
func runTiles(tiles *[5]q8Tile, w []byte, rowBytes, rows int, act []byte, groupBytes, blockStride, groups, nb int, out []float32, outStride int, masks []uint16) {
	for g := 0; g < groups; {
		u := 4
		if left := groups - g; left < 2 {
			u = 1
		} else if left < 4 {
			u = 2
		}
		tl := &tiles[u]
		for r := 0; r < rows; {
			k, step := tl.tile, tl.rows
			if rows-r < tl.rows {
				k, step = tl.tail, 1
			}
			k(&w[r*rowBytes], rowBytes, &act[g*groupBytes], blockStride, nb, &out[16*g*outStride+r], outStride, &masks[g])
			r += step
		}
		g += u
	}
}

// gemmKVNNI returns the VNNI matrix kernel for a K-quant type whose blocks
// are wb bytes, decoded by decode into rec-byte records.
func gemmKVNNI(name string, wb, rec int, decode func(src *byte, nb int, dst *byte), tiles *[5]q8Tile) GemmFunc {
	return func(w []byte, rowBytes, rows int, act []byte, actStride, n int, out []float32, outStride, cols int) {
		nb := cols / 256
		checkGemm(name, wb, 292, w, rowBytes, rows, act, actStride, n, out, outStride, nb)
		if rows <= 0 || n <= 0 || nb <= 0 {
			return
		}
		groups := (n + 15) / 16
		blockStride := groups * q8KGroupBytes
		decStride := nb * rec
		p, buf := scratch(nb*blockStride + kChunkRows*decStride)
		defer gemmScratch.Put(p)
		packed, dec := buf[:nb*blockStride], buf[nb*blockStride:]

		var maskBuf [8]uint16
		masks := maskBuf[:]
		if groups > len(maskBuf) {
			masks = make([]uint16, groups)
		}
		for g := range groups {
			first := 16 * g
			ntok := min(16, n-first)
			masks[g] = uint16(1<<ntok - 1)
			gemmQ8_KPackAct(&act[first*actStride], actStride, ntok, nb, &packed[g*q8KGroupBytes], blockStride)
		}
		for r := 0; r < rows; r += kChunkRows {
			rc := min(kChunkRows, rows-r)
			for i := range rc {
				decode(&w[(r+i)*rowBytes], nb, &dec[i*decStride])
			}
			runTiles(tiles, dec, decStride, rc, packed, q8KGroupBytes, blockStride, groups, nb, out[r:], outStride, masks)
		}
	}
}

// packQ8_0 packs n tokens of nb Q8_0 blocks into buf (groups of 16, layout
// of gemm_amd64.s) and sets each group's lane mask.
func packQ8_0(act []byte, actStride, n, nb int, buf []byte, blockStride int, masks []uint16) {
	for g := range masks {
		first := 16 * g
		ntok := min(16, n-first)
		masks[g] = uint16(1<<ntok - 1)
		gemmQ8_0PackAct(&act[first*actStride], actStride, ntok, nb, &buf[g*q8GroupBytes], blockStride)
	}
}

// gemmD32VNNI returns the VNNI matrix kernel for a 32-element block type
// of wb-byte blocks that decode decodes into d32Record-byte records.
func gemmD32VNNI(name string, wb int, decode func(src *byte, nb int, dst *byte)) GemmFunc {
	const chunk = 12 // rows decoded at a time: a multiple of every tile's rows
	return func(w []byte, rowBytes, rows int, act []byte, actStride, n int, out []float32, outStride, cols int) {
		nb := cols / 32
		checkGemm(name, wb, 34, w, rowBytes, rows, act, actStride, n, out, outStride, nb)
		if rows <= 0 || n <= 0 || nb <= 0 {
			return
		}
		groups := (n + 15) / 16
		blockStride := groups * q8GroupBytes
		decStride := nb * d32Record
		p, buf := scratch(nb*blockStride + chunk*decStride)
		defer gemmScratch.Put(p)
		packed, dec := buf[:nb*blockStride], buf[nb*blockStride:]
		var maskBuf [8]uint16
		masks := maskBuf[:]
		if groups > len(maskBuf) {
			masks = make([]uint16, groups)
		}
		packQ8_0(act, actStride, n, nb, packed, blockStride, masks[:groups])
		for r := 0; r < rows; r += chunk {
			rc := min(chunk, rows-r)
			for i := range rc {
				decode(&w[(r+i)*rowBytes], nb, &dec[i*decStride])
			}
			runTiles(&d32Tiles, dec, decStride, rc, packed, q8GroupBytes, blockStride, groups, nb, out[r:], outStride, masks)
		}
	}
}
