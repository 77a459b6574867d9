//go:build !purego

package quant

import (
	"encoding/binary"
	"math"
)

// On CPUs with AMX-INT8 (Sapphire Rapids and later) the batch product over
// packed rows runs on tiles (packed_amx_amd64.s). A block of a packed group
// is already a weight tile: eight rows of 64 bytes, row s holding quants
// 4s..4s+3 of the 16 rows. Each group of 16 rows is first decoded into
// 576-byte records per block, the steps with their top bits flipped back
// (signed quants) and the 16 scales as float32; the activations are packed
// once per call into the same kind of record per 16 tokens: the tokens'
// 32 quants one after another (a 16×32-byte tile) and their scales as
// float32. One TDPBSSD then gives a block's exact int32 sums for 16 tokens
// by 16 rows; they are stored to scratch and added, times d_w·d_y, to
// float sums kept in vector registers.
//
// The tile registers are configured and released within each call of the
// kernel: a goroutine may move to another thread between calls. The kernel
// (Linux) saves tile state on context switches once the process has been
// granted it, which amxPermitted asks for.

const (
	amxRecord      = 576 // 512 quant bytes, 16 float32 scales
	amxTokenChunk  = 8   // token groups per pass over the rows
	amxTileScratch = 4 * 1024
)

//go:noescape
func amxQ8_0Decode(src *byte, nb int, dst *byte)

//go:noescape
func amxQ8_0Tiles(cfg, a *byte, groups int, w *byte, nb int, tmp *byte, out *float32, outStride, shift, mask, ntok int, next *byte)

// amxTileConfig is the LDTILECFG record of the kernel: palette 1; tiles
// 0–3 16 rows of 64 bytes (int32 sums), tiles 4 and 5 16 rows of 32 bytes
// (activations), tiles 6 and 7 8 rows of 64 bytes (weights).
func amxTileConfig() (cfg [64]byte) {
	cfg[0] = 1
	shape := [8][2]int{{16, 64}, {16, 64}, {16, 64}, {16, 64}, {16, 32}, {16, 32}, {8, 64}, {8, 64}}
	for i, s := range shape {
		binary.LittleEndian.PutUint16(cfg[16+2*i:], uint16(s[1]))
		cfg[48+i] = byte(s[0])
	}
	return cfg
}

// amxPackAct writes n Q8_0 activation vectors as tile records: group g,
// block b at (g·nb+b)·amxRecord; tokens past n get zero quants and scales.
func amxPackAct(act []byte, actStride, n, nb int, dst []byte) {
	groups := (n + 15) / 16
	for tok := range groups * 16 {
		g, t := tok/16, tok%16
		for b := range nb {
			rec := dst[(g*nb+b)*amxRecord : (g*nb+b+1)*amxRecord]
			q := rec[32*t : 32*t+32]
			if tok >= n {
				clear(q)
				binary.LittleEndian.PutUint32(rec[512+4*t:], 0)
				continue
			}
			src := act[tok*actStride+34*b : tok*actStride+34*b+34]
			copy(q, src[2:])
			binary.LittleEndian.PutUint32(rec[512+4*t:], math.Float32bits(half(src)))
		}
	}
}

// gemmPackedAMX is packedGemm on AMX tiles; see Gemm.
func gemmPackedAMX(p *PackedQ8_0, lo, hi int, act []byte, actStride, n int, out []float32, outStride int) {
	nb := p.nb
	groups := (n + 15) / 16
	actBytes := groups * nb * amxRecord
	decBytes := nb * amxRecord
	sp, buf := scratch(actBytes + decBytes + amxTileScratch)
	defer gemmScratch.Put(sp)
	a := buf[:actBytes]
	dec := buf[actBytes : actBytes+decBytes]
	tmp := buf[actBytes+decBytes:]
	amxPackAct(act, actStride, n, nb, a)
	cfg := amxTileConfig()
	for g0 := 0; g0 < groups; g0 += amxTokenChunk {
		ng := min(amxTokenChunk, groups-g0)
		tok0 := 16 * g0
		for rg := lo / packRows; rg*packRows < hi; rg++ {
			grp := p.data[rg*p.groupBytes : (rg+1)*p.groupBytes]
			amxQ8_0Decode(&grp[0], nb, &dec[0])
			r0, r1 := max(lo, rg*packRows)-rg*packRows, min(hi, (rg+1)*packRows)-rg*packRows
			mask := (1<<r1 - 1) &^ (1<<r0 - 1)
			// The kernel writes out[(tok0+t)·outStride + rg·16 + r − lo]
			// for t < n−tok0 and r in [r0, r1): within out, as Gemm checked.
			o := tok0*outStride + rg*packRows + r0 - lo
			next := &grp[0] // prefetched while the tiles run
			if (rg+1)*packRows < hi {
				next = &p.data[(rg+1)*p.groupBytes]
			}
			amxQ8_0Tiles(&cfg[0], &a[g0*nb*amxRecord], ng, &dec[0], nb, &tmp[0], &out[o], 4*outStride, r0, mask, n-tok0, next)
		}
	}
}
