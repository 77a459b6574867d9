//go:build !purego

package quant

import "golang.org/x/sys/cpu"

//go:noescape
func q8PackedPrep(y *byte, nb int, dst *byte)

//go:noescape
func dotQ8_0Packed(w *byte, groups, nb int, y, prep *byte, out *float32)

//go:noescape
func packQ8_0Group(src *byte, rowBytes, nb int, dst *byte)

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasF16C && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI {
		packedImpls = append(packedImpls, packedImpl{"avx512vnni", packedVNNI})
		packedGemm = gemmPackedVNNI
		packedGemms = append(packedGemms, packedGemmImpl{"avx512vnni", gemmPackedVNNI})
		packFullGroup = packFullGroupAVX512
		if cpu.X86.HasAMXTile && cpu.X86.HasAMXInt8 && amxPermitted() {
			packedGemm = gemmPackedAMX
			packedGemms = append(packedGemms, packedGemmImpl{"amx", gemmPackedAMX})
		}
	}
}

// packFullGroupAVX512 packs group g, whose 16 rows all exist, with
// packQ8_0Group.
func packFullGroupAVX512(p *PackedQ8_0, g int, w []byte, rowBytes int) {
	first := g * packRows
	if first+packRows > p.rows || len(w) < (first+packRows-1)*rowBytes+p.nb*34 || (g+1)*p.groupBytes > len(p.data) {
		panic("quant: packQ8_0Group arguments out of range")
	}
	packQ8_0Group(&w[first*rowBytes], rowBytes, p.nb, &p.data[g*p.groupBytes])
}

// matVecPackedVNNI is the packed kernel of packed_amd64.s.
func matVecPackedVNNI(p *PackedQ8_0, g, groups int, act, prep []byte, out []float32) {
	if g < 0 || groups <= 0 || (g+groups)*p.groupBytes > len(p.data) || len(act) < p.nb*34 || len(prep) < p.nb*8 || len(out) < groups*packRows {
		panic("quant: packed kernel arguments out of range")
	}
	q8PackedPrep(&act[0], p.nb, &prep[0])
	dotQ8_0Packed(&p.data[g*p.groupBytes], groups, p.nb, &act[0], &prep[0], &out[0])
}

//go:noescape
func packedDecodeD32(src *byte, groups, nb int, dst *byte, decStride int)

// gemmPackedVNNI decodes packed groups a chunk at a time into the 36-byte
// records of the D32 tiles (flipped quants, float32 scale) and runs those
// on activations packed once per call.
func gemmPackedVNNI(p *PackedQ8_0, lo, hi int, act []byte, actStride, n int, out []float32, outStride int) {
	nb := p.nb
	groups := (n + 15) / 16
	blockStride := groups * q8GroupBytes
	decStride := nb * d32Record
	sp, buf := scratch(nb*blockStride + packChunkRows*decStride)
	defer gemmScratch.Put(sp)
	packed, dec := buf[:nb*blockStride], buf[nb*blockStride:]
	var maskBuf [8]uint16
	masks := maskBuf[:]
	if groups > len(maskBuf) {
		masks = make([]uint16, groups)
	}
	packQ8_0(act, actStride, n, nb, packed, blockStride, masks[:groups])
	const chunk = packChunkRows / packRows
	all := len(p.data) / p.groupBytes
	for g := lo / packRows; g*packRows < hi; g += chunk {
		ng := min(chunk, all-g)
		packedDecodeD32(&p.data[g*p.groupBytes], ng, nb, &dec[0], decStride)
		r0, r1 := max(lo, g*packRows), min(hi, (g+ng)*packRows)
		runTiles(&d32Tiles, dec[(r0-g*packRows)*decStride:], decStride, r1-r0, packed, q8GroupBytes, blockStride, groups, nb, out[r0-lo:], outStride, masks)
	}
}
