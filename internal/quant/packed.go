package quant

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"sov.dev/sov/internal/gguf"
)

// A Q8_0 matrix–vector product over the file's rows (34-byte blocks: an
// f16 scale, then 32 quants) has to convert every block's scale on its own
// and sum each row's products across the vector lanes. PackedQ8_0 holds the
// same matrix rearranged once, at load, so that a vector kernel computes 16
// rows at once with neither:
//
//   - Rows are taken 16 at a time (a group; the last one is padded with
//     zero rows). A group holds its blocks one after another, nb·544 bytes.
//   - A block of a group is eight steps of 64 bytes: step s holds quants
//     4s..4s+3 of row 0, then of row 1, …, row 15, each with its top bit
//     flipped (x+128, an unsigned byte), followed by the 16 rows' f16 scales
//     (32 bytes). Blocks go in pairs: the two blocks' steps (1024 bytes),
//     then their two sets of scales (64 bytes), so every step starts on a
//     64-byte boundary; a last unpaired block is its steps and its scales.
//
// A step is then one 16-lane VPDPBUSD with the activation's four bytes
// broadcast: lane r sums row r, so a block's 16 exact int32 sums need no
// horizontal adds, and the 16 scales convert with one instruction. The
// flipped weights add 128·Σy per block, which a correction computed once
// per product from the activations takes away; sums are exact for every
// byte value, as in the row kernels.

const (
	packRows       = 16           // rows per group
	packStepBytes  = 64           // one step: 4 quants of 16 rows
	packQuantBytes = 8 * 64       // a block's steps
	packScaleBytes = 2 * packRows // a block's f16 scales
	packBlockBytes = 544          // a block's steps and scales
	packPairBytes  = 2 * 544      // two blocks
	packAlign      = 64           // alignment of the data
	packPrepStack  = 512          // blocks of prepared activations kept on the stack
	packChunkRows  = 3 * packRows // rows decoded at a time for a batch product
	packFlip       = uint32(0x80808080)
)

// PackedQ8_0 is a Q8_0 weight matrix in the layout above, for products
// with one activation vector (MatVec) or a batch (Gemm). It is read-only
// after PackQ8_0 and safe for concurrent use.
type PackedQ8_0 struct {
	rows, cols, nb int
	groupBytes     int
	data           []byte // packAlign-aligned
}

// packedKernel names one implementation of the packed kernel (an index
// rather than a func value, so that buffers passed to it stay on the
// stack).
type packedKernel int

const (
	packedPortable packedKernel = iota
	packedVNNI                  // packed_amd64.s
)

// run sets out[16i+r] to the product of row r of group g+i with the
// activations, for groups groups; prep is scratch of 8 bytes a block.
func (k packedKernel) run(p *PackedQ8_0, g, groups int, act, prep []byte, out []float32) {
	if k == packedVNNI {
		matVecPackedVNNI(p, g, groups, act, prep, out)
		return
	}
	matVecPackedPortable(p, g, groups, act, prep, out)
}

type packedImpl struct {
	name string
	k    packedKernel
}

// packedImpls lists the packed kernels this CPU runs, the portable one
// first and the one in use last.
var packedImpls = []packedImpl{{"portable", packedPortable}}

// packedGemm is the batch product over packed rows [lo, hi); see Gemm.
var packedGemm = gemmPackedPortable

type packedGemmFunc func(p *PackedQ8_0, lo, hi int, act []byte, actStride, n int, out []float32, outStride int)

// packedGemms lists the batch products this CPU runs, the portable one
// first and the one in use (packedGemm) last.
var packedGemms = []packedGemmImpl{{"portable", gemmPackedPortable}}

type packedGemmImpl struct {
	name string
	fn   packedGemmFunc
}

// PackQ8_0Faster reports whether this CPU has a packed kernel faster than
// the row kernels: only then is packing worth its copy of the weights.
func PackQ8_0Faster() bool { return len(packedImpls) > 1 }

// PackQ8_0 repacks rows rows of cols Q8_0 elements, rowBytes apart in w,
// into a new PackedQ8_0. It uses up to GOMAXPROCS goroutines.
func PackQ8_0(w []byte, rowBytes, rows, cols int) (*PackedQ8_0, error) {
	if cols <= 0 || cols%32 != 0 || rows <= 0 {
		return nil, fmt.Errorf("quant: cannot pack %d rows of %d Q8_0 columns", rows, cols)
	}
	nb := cols / 32
	if rowBytes < nb*34 || len(w)/rowBytes < rows-1 || len(w)-(rows-1)*rowBytes < nb*34 {
		return nil, fmt.Errorf("quant: %d bytes do not hold %d Q8_0 rows of %d columns, %d bytes apart", len(w), rows, cols, rowBytes)
	}
	groups := (rows + packRows - 1) / packRows
	p := &PackedQ8_0{rows: rows, cols: cols, nb: nb, groupBytes: nb * packBlockBytes}
	buf := make([]byte, groups*p.groupBytes+packAlign)
	off := int(-uintptr(unsafe.Pointer(&buf[0])) & (packAlign - 1))
	p.data = buf[off : off+groups*p.groupBytes]

	workers := min(runtime.GOMAXPROCS(0), groups)
	var wg sync.WaitGroup
	for k := range workers {
		wg.Go(func() {
			for g := k * groups / workers; g < (k+1)*groups/workers; g++ {
				if (g+1)*packRows <= rows {
					packFullGroup(p, g, w, rowBytes)
				} else {
					p.packGroup(g, w, rowBytes)
				}
			}
		})
	}
	wg.Wait()
	return p, nil
}

// packFullGroup packs a group whose 16 rows all exist; packed_amd64.go
// replaces it where the CPU has AVX-512.
var packFullGroup = (*PackedQ8_0).packGroup

// packGroup fills group g from the rows of w.
func (p *PackedQ8_0) packGroup(g int, w []byte, rowBytes int) {
	grp := p.data[g*p.groupBytes : (g+1)*p.groupBytes]
	for r := range packRows {
		row := g*packRows + r
		if row >= p.rows {
			// Zero rows: quants 0 (flipped, 0x80) and scales 0.
			for b := range p.nb {
				q, _ := p.blockAt(b)
				for s := range 8 {
					binary.LittleEndian.PutUint32(grp[q+s*packStepBytes+4*r:], packFlip)
				}
			}
			continue
		}
		src := w[row*rowBytes : row*rowBytes+p.nb*34]
		for b := range p.nb {
			blk := src[34*b : 34*b+34]
			q, sc := p.blockAt(b)
			grp[sc+2*r], grp[sc+2*r+1] = blk[0], blk[1]
			for s := range 8 {
				v := binary.LittleEndian.Uint32(blk[2+4*s:]) ^ packFlip
				binary.LittleEndian.PutUint32(grp[q+s*packStepBytes+4*r:], v)
			}
		}
	}
}

// blockAt returns the offsets in a group of block b's steps and scales.
func (p *PackedQ8_0) blockAt(b int) (quants, scales int) {
	pair := b / 2 * packPairBytes
	if b%2 == 0 && b == p.nb-1 {
		return pair, pair + packQuantBytes
	}
	return pair + b%2*packQuantBytes, pair + 2*packQuantBytes + b%2*packScaleBytes
}

// packPool holds scratch buffers of the packed products.
var packPool = sync.Pool{New: func() any { return new([]byte) }}

// packScratch returns a pooled buffer of n bytes; put it back when done.
func packScratch(n int) *[]byte {
	bp := packPool.Get().(*[]byte)
	if cap(*bp) < n {
		*bp = make([]byte, n)
	}
	*bp = (*bp)[:n]
	return bp
}

// Rows is the number of rows.
func (p *PackedQ8_0) Rows() int { return p.rows }

// Cols is the number of columns.
func (p *PackedQ8_0) Cols() int { return p.cols }

// Size is the number of bytes the packed matrix holds.
func (p *PackedQ8_0) Size() int { return len(p.data) }

// Row writes row r in the file's Q8_0 layout (cols/32 blocks of 34 bytes)
// into dst.
func (p *PackedQ8_0) Row(r int, dst []byte) {
	if r < 0 || r >= p.rows || len(dst) < p.nb*34 {
		panic(fmt.Sprintf("quant: packed row %d of %d into %d bytes", r, p.rows, len(dst)))
	}
	for b := range p.nb {
		p.rowBlock(r, b, dst[34*b:34*b+34])
	}
}

// Dequantize writes row r as float32 into dst (cols elements).
func (p *PackedQ8_0) Dequantize(r int, dst []float32) {
	var buf [34]byte
	if len(dst) < p.cols {
		panic(fmt.Sprintf("quant: packed row of %d columns into %d", p.cols, len(dst)))
	}
	for b := range p.nb {
		p.rowBlock(r, b, buf[:])
		d := half(buf[:])
		for i := range 32 {
			dst[32*b+i] = float32(int8(buf[2+i])) * d
		}
	}
}

// rowBlock writes block b of row r in the file's layout into dst.
func (p *PackedQ8_0) rowBlock(r, b int, dst []byte) {
	grp := p.data[r/packRows*p.groupBytes:]
	lane := r % packRows
	q, sc := p.blockAt(b)
	dst[0], dst[1] = grp[sc+2*lane], grp[sc+2*lane+1]
	for s := range 8 {
		v := binary.LittleEndian.Uint32(grp[q+s*packStepBytes+4*lane:]) ^ packFlip
		binary.LittleEndian.PutUint32(dst[2+4*s:], v)
	}
}

// MatVec sets out[r-lo] to the dot product of row r with the Q8_0
// activations act (QuantizeActivations of cols elements), for r in
// [lo, hi): what the Q8_0 row kernel gives, up to float32 rounding of the
// final sums.
func (p *PackedQ8_0) MatVec(lo, hi int, act []byte, out []float32) {
	p.matVec(packedImpls[len(packedImpls)-1].k, lo, hi, act, out)
}

func (p *PackedQ8_0) matVec(k packedKernel, lo, hi int, act []byte, out []float32) {
	if lo < 0 || hi > p.rows || lo > hi || len(act) < p.nb*34 || len(out) < hi-lo {
		panic(fmt.Sprintf("quant: packed product of rows [%d, %d) of %d with %d activation bytes into %d outputs", lo, hi, p.rows, len(act), len(out)))
	}
	if lo == hi {
		return
	}
	var stack [packPrepStack * 8]byte
	prep := stack[:]
	if p.nb > packPrepStack {
		bp := packScratch(p.nb * 8)
		defer packPool.Put(bp)
		prep = *bp
	}
	var tmp [packRows]float32
	r := lo
	if r%packRows != 0 || hi-r < packRows {
		g := r / packRows
		k.run(p, g, 1, act, prep, tmp[:])
		n := min(hi, (g+1)*packRows) - r
		copy(out[:n], tmp[r%packRows:])
		r += n
	}
	if full := (hi - r) / packRows; full > 0 {
		k.run(p, r/packRows, full, act, prep, out[r-lo:])
		r += full * packRows
	}
	if r < hi {
		k.run(p, r/packRows, 1, act, prep, tmp[:])
		copy(out[r-lo:hi-lo], tmp[:])
	}
}

// matVecPackedPortable is the packed kernel in Go: the row kernel's
// arithmetic, block by block.
func matVecPackedPortable(p *PackedQ8_0, g, groups int, act, _ []byte, out []float32) {
	for i := range groups {
		grp := p.data[(g+i)*p.groupBytes : (g+i+1)*p.groupBytes]
		var sums [packRows]float32
		for b := range p.nb {
			y := act[34*b : 34*b+34]
			dy := half(y)
			q, sc := p.blockAt(b)
			var is [packRows]int32
			for s := range 8 {
				step := grp[q+s*packStepBytes : q+(s+1)*packStepBytes]
				for r := range packRows {
					for j := range 4 {
						is[r] += (int32(step[4*r+j]) - 128) * int32(int8(y[2+4*s+j]))
					}
				}
			}
			for r := range packRows {
				sums[r] += float32(is[r]) * (half(grp[sc+2*r:]) * dy)
			}
		}
		copy(out[packRows*i:packRows*(i+1)], sums[:])
	}
}

// Gemm sets out[b*outStride+r-lo] to the dot product of row r with
// activation vector b (actStride bytes apart in act, n of them), for r in
// [lo, hi): GemmFunc's contract over packed rows.
func (p *PackedQ8_0) Gemm(lo, hi int, act []byte, actStride, n int, out []float32, outStride int) {
	if lo < 0 || hi > p.rows || lo > hi || n < 0 {
		panic(fmt.Sprintf("quant: packed product of rows [%d, %d) of %d for %d vectors", lo, hi, p.rows, n))
	}
	if lo == hi || n == 0 {
		return
	}
	if actStride < p.nb*34 || len(act) < (n-1)*actStride+p.nb*34 || outStride < hi-lo || outStride >= 1<<27 || len(out) < (n-1)*outStride+hi-lo {
		panic(fmt.Sprintf("quant: packed product of %d rows for %d vectors: %d activation bytes %d apart, %d outputs %d apart", hi-lo, n, len(act), actStride, len(out), outStride))
	}
	packedGemm(p, lo, hi, act, actStride, n, out, outStride)
}

// gemmPackedPortable unpacks rows a chunk at a time into the file's layout
// and runs the Q8_0 matrix kernel on them.
func gemmPackedPortable(p *PackedQ8_0, lo, hi int, act []byte, actStride, n int, out []float32, outStride int) {
	rb := p.nb * 34
	bp := packScratch(packChunkRows * rb)
	defer packPool.Put(bp)
	buf := *bp
	k := Gemm(gguf.TypeQ8_0)
	for r := lo; r < hi; r += packChunkRows {
		rc := min(packChunkRows, hi-r)
		for i := range rc {
			p.Row(r+i, buf[i*rb:(i+1)*rb])
		}
		k(buf, rb, rc, act, actStride, n, out[r-lo:], outStride, p.cols)
	}
}
