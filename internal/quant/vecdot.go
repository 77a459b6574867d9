package quant

import (
	"fmt"
	"math"

	"sov.dev/sov/internal/gguf"
)

// Activations are quantised once per vector, as ggml does, so that a matrix
// times vector product runs on integer dot products: VecDotType names the
// format the activations take for weights of each type, QuantizeActivations
// converts a vector to it, and VecDot multiplies one weight row with it.
//
// Every kernel has a portable Go implementation here; faster ones (SIMD,
// chosen at run time by CPU features) replace entries of vecDots and must
// give the same result up to float32 rounding of the final sums (the
// integer parts are exact). Tests run every implementation against these.

// TypeQ8_1 is ggml's Q8_1 activation block: f16 d, f16 s = d·Σq, 32 × int8.
const TypeQ8_1 = gguf.TensorType(9)

// VecDotType returns the format activations are converted to before a dot
// product with weights of type t.
func VecDotType(t gguf.TensorType) gguf.TensorType {
	switch t {
	case gguf.TypeQ4_0, gguf.TypeQ5_0, gguf.TypeQ8_0:
		return gguf.TypeQ8_0
	case gguf.TypeQ4_1, gguf.TypeQ5_1:
		return TypeQ8_1
	case gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K:
		return gguf.TypeQ8_K
	}
	return gguf.TypeF32
}

// ActivationBytes is the size of n activations in format vt.
func ActivationBytes(vt gguf.TensorType, n int) int {
	switch vt {
	case gguf.TypeQ8_0:
		return n / 32 * 34
	case TypeQ8_1:
		return n / 32 * 36
	case gguf.TypeQ8_K:
		return n / 256 * 292
	}
	return 4 * n
}

// QuantizeActivations writes x in format vt (a VecDotType) into dst, which
// must be ActivationBytes(vt, len(x)) long. It does not allocate.
func QuantizeActivations(vt gguf.TensorType, x []float32, dst []byte) {
	if len(dst) != ActivationBytes(vt, len(x)) {
		panic(fmt.Sprintf("quant: QuantizeActivations: %d bytes for %d %s values", len(dst), len(x), vt))
	}
	switch vt {
	case gguf.TypeQ8_0:
		quantizeQ8_0Act(x, dst)
	case TypeQ8_1:
		for i := 0; i < len(x)/32; i++ {
			quantQ8_1(x[32*i:32*i+32], dst[36*i:36*i+36])
		}
	case gguf.TypeQ8_K:
		for i := 0; i < len(x)/256; i++ {
			quantQ8_K(x[256*i:256*i+256], dst[292*i:292*i+292])
		}
	default:
		for i, v := range x {
			put32(dst[4*i:], math.Float32bits(v))
		}
	}
}

// quantizeQ8_0Act is replaced by a SIMD version where available.
var quantizeQ8_0Act = func(x []float32, dst []byte) {
	for i := 0; i < len(x)/32; i++ {
		quantQ8_0(x[32*i:32*i+32], dst[34*i:34*i+34])
	}
}

func quantQ8_1(x []float32, b []byte) {
	_, _ = x[31], b[35]
	_, amax := absMax(x)
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	sum := 0
	for j, v := range x {
		q := clampInt(roundAway(v*id), -128, 127)
		b[4+j] = byte(int8(q))
		sum += q
	}
	put16(b, F32ToF16(d))
	put16(b[2:], F32ToF16(float32(sum)*d))
}

// vecDotFunc multiplies a weight row of n elements with activations.
type vecDotFunc func(row, act []byte, n int) float32

// kernelImpl is one implementation of a dot kernel.
type kernelImpl struct {
	name string
	fn   vecDotFunc
}

// kernelImpls lists, per weight type, every implementation this CPU can run,
// portable first; tests check each against the portable one. register adds
// one and makes it the kernel in use (so register the fastest last).
var kernelImpls = map[gguf.TensorType][]kernelImpl{}

// register adds a faster implementation of the kernel for t, if the CPU
// supports it.
func register(t gguf.TensorType, name string, fn vecDotFunc, supported bool) {
	if !supported {
		return
	}
	if _, ok := kernelImpls[t]; !ok {
		kernelImpls[t] = []kernelImpl{{name: "go", fn: vecDots[t]}}
	}
	kernelImpls[t] = append(kernelImpls[t], kernelImpl{name: name, fn: fn})
	vecDots[t] = fn
}

// KernelName says which implementation runs weights of type t.
func KernelName(t gguf.TensorType) string {
	impls := kernelImpls[t]
	if len(impls) == 0 {
		return "go"
	}
	return impls[len(impls)-1].name
}

// vecDots holds the kernel in use for each weight type; register replaces
// entries with faster ones.
var vecDots = map[gguf.TensorType]vecDotFunc{
	gguf.TypeF32:  vecDotF32,
	gguf.TypeF16:  vecDotF16,
	gguf.TypeBF16: vecDotBF16,
	gguf.TypeQ8_0: vecDotQ8_0,
	gguf.TypeQ4_0: vecDotQ4_0,
	gguf.TypeQ5_0: vecDotQ5_0,
	gguf.TypeQ4_1: vecDotQ4_1,
	gguf.TypeQ5_1: vecDotQ5_1,
	gguf.TypeQ4_K: vecDotQ4_K,
	gguf.TypeQ5_K: vecDotQ5_K,
	gguf.TypeQ6_K: vecDotQ6_K,
}

// Multipliable reports whether there is a dot-product kernel for weights
// of type t (every Supported type but Q8_K, which only activations use).
func Multipliable(t gguf.TensorType) bool {
	_, ok := vecDots[t]
	return ok
}

// Kernel returns the dot-product kernel for weights of type t, to call
// once per row: VecDot without the per-call dispatch.
func Kernel(t gguf.TensorType) func(row, act []byte, n int) float32 {
	k, ok := vecDots[t]
	if !ok {
		panic(fmt.Sprintf("quant: no dot kernel for %s", t))
	}
	return k
}

// VecDot returns the dot product of a weight row of type t with n
// activations in VecDotType(t).
func VecDot(t gguf.TensorType, row, act []byte, n int) float32 { return Kernel(t)(row, act, n) }

func f32At(b []byte, i int) float32 { return math.Float32frombits(le32(b[4*i:])) }

func vecDotF32(row, act []byte, n int) float32 {
	var s0, s1 float32
	i := 0
	for ; i+2 <= n; i += 2 {
		s0 += f32At(row, i) * f32At(act, i)
		s1 += f32At(row, i+1) * f32At(act, i+1)
	}
	for ; i < n; i++ {
		s0 += f32At(row, i) * f32At(act, i)
	}
	return s0 + s1
}

func vecDotF16(row, act []byte, n int) float32 {
	var s float32
	for i := 0; i < n; i++ {
		s += f16Table[le16(row[2*i:])] * f32At(act, i)
	}
	return s
}

func vecDotBF16(row, act []byte, n int) float32 {
	var s float32
	for i := 0; i < n; i++ {
		s += math.Float32frombits(uint32(le16(row[2*i:]))<<16) * f32At(act, i)
	}
	return s
}

func vecDotQ8_0(row, act []byte, n int) float32 {
	var sum float32
	for i := 0; i < n/32; i++ {
		x, y := row[34*i:34*i+34], act[34*i:34*i+34]
		var s int32
		for j := 0; j < 32; j++ {
			s += int32(int8(x[2+j])) * int32(int8(y[2+j]))
		}
		sum += float32(s) * (half(x) * half(y))
	}
	return sum
}

func vecDotQ4_0(row, act []byte, n int) float32 {
	var sum float32
	for i := 0; i < n/32; i++ {
		x, y := row[18*i:18*i+18], act[34*i:34*i+34]
		var s int32
		for j := 0; j < 16; j++ {
			q := x[2+j]
			s += (int32(q&0xF) - 8) * int32(int8(y[2+j]))
			s += (int32(q>>4) - 8) * int32(int8(y[2+j+16]))
		}
		sum += float32(s) * (half(x) * half(y))
	}
	return sum
}

func vecDotQ5_0(row, act []byte, n int) float32 {
	var sum float32
	for i := 0; i < n/32; i++ {
		x, y := row[22*i:22*i+22], act[34*i:34*i+34]
		qh := le32(x[2:])
		var s int32
		for j := 0; j < 16; j++ {
			q := x[6+j]
			h0 := int32((qh>>j)<<4) & 0x10
			h1 := int32(qh>>(j+12)) & 0x10
			s += (int32(q&0xF) | h0 - 16) * int32(int8(y[2+j]))
			s += (int32(q>>4) | h1 - 16) * int32(int8(y[2+j+16]))
		}
		sum += float32(s) * (half(x) * half(y))
	}
	return sum
}

func vecDotQ4_1(row, act []byte, n int) float32 {
	var sum float32
	for i := 0; i < n/32; i++ {
		x, y := row[20*i:20*i+20], act[36*i:36*i+36]
		var s int32
		for j := 0; j < 16; j++ {
			q := x[4+j]
			s += int32(q&0xF) * int32(int8(y[4+j]))
			s += int32(q>>4) * int32(int8(y[4+j+16]))
		}
		sum += half(x)*half(y)*float32(s) + half(x[2:])*half(y[2:])
	}
	return sum
}

func vecDotQ5_1(row, act []byte, n int) float32 {
	var sum float32
	for i := 0; i < n/32; i++ {
		x, y := row[24*i:24*i+24], act[36*i:36*i+36]
		qh := le32(x[4:])
		var s int32
		for j := 0; j < 16; j++ {
			q := x[8+j]
			h0 := int32((qh>>j)<<4) & 0x10
			h1 := int32(qh>>(j+12)) & 0x10
			s += (int32(q&0xF) | h0) * int32(int8(y[4+j]))
			s += (int32(q>>4) | h1) * int32(int8(y[4+j+16]))
		}
		sum += half(x)*half(y)*float32(s) + half(x[2:])*half(y[2:])
	}
	return sum
}

// q8K returns the parts of a Q8_K activation block.
func q8K(y []byte) (d float32, qs []byte, bsums []byte) {
	return math.Float32frombits(le32(y)), y[4:260], y[260:292]
}

func bsum(bsums []byte, j int) int32 { return int32(int16(le16(bsums[2*j:]))) }

func vecDotQ4_K(row, act []byte, n int) float32 {
	var sum float32
	for i := 0; i < n/256; i++ {
		x, y := row[144*i:144*i+144], act[292*i:292*i+292]
		yd, q8, bs := q8K(y)
		scales := x[4:16]
		q4 := x[16:144]
		var total, mins int32
		for c := 0; c < 4; c++ {
			sc0, m0 := scaleMinK4(2*c, scales)
			sc1, m1 := scaleMinK4(2*c+1, scales)
			var s0, s1 int32
			for l := 0; l < 32; l++ {
				q := q4[32*c+l]
				s0 += int32(q&0xF) * int32(int8(q8[64*c+l]))
				s1 += int32(q>>4) * int32(int8(q8[64*c+32+l]))
			}
			total += int32(sc0)*s0 + int32(sc1)*s1
			mins += int32(m0)*(bsum(bs, 4*c)+bsum(bs, 4*c+1)) + int32(m1)*(bsum(bs, 4*c+2)+bsum(bs, 4*c+3))
		}
		sum += yd*half(x)*float32(total) - yd*half(x[2:])*float32(mins)
	}
	return sum
}

func vecDotQ5_K(row, act []byte, n int) float32 {
	var sum float32
	for i := 0; i < n/256; i++ {
		x, y := row[176*i:176*i+176], act[292*i:292*i+292]
		yd, q8, bs := q8K(y)
		scales := x[4:16]
		qh := x[16:48]
		ql := x[48:176]
		var total, mins int32
		for c := 0; c < 4; c++ {
			sc0, m0 := scaleMinK4(2*c, scales)
			sc1, m1 := scaleMinK4(2*c+1, scales)
			u1, u2 := byte(1)<<(2*c), byte(2)<<(2*c)
			var s0, s1 int32
			for l := 0; l < 32; l++ {
				q := ql[32*c+l]
				a0, a1 := int32(q&0xF), int32(q>>4)
				if qh[l]&u1 != 0 {
					a0 += 16
				}
				if qh[l]&u2 != 0 {
					a1 += 16
				}
				s0 += a0 * int32(int8(q8[64*c+l]))
				s1 += a1 * int32(int8(q8[64*c+32+l]))
			}
			total += int32(sc0)*s0 + int32(sc1)*s1
			mins += int32(m0)*(bsum(bs, 4*c)+bsum(bs, 4*c+1)) + int32(m1)*(bsum(bs, 4*c+2)+bsum(bs, 4*c+3))
		}
		sum += yd*half(x[0:])*float32(total) - yd*half(x[2:])*float32(mins)
	}
	return sum
}

func vecDotQ6_K(row, act []byte, n int) float32 {
	var sum float32
	for i := 0; i < n/256; i++ {
		x, y := row[210*i:210*i+210], act[292*i:292*i+292]
		yd, q8, _ := q8K(y)
		ql, qh, sc := x[0:128], x[128:192], x[192:208]
		var total int32
		for h := 0; h < 2; h++ {
			l8, h8, s8, y8 := ql[64*h:], qh[32*h:], sc[8*h:], q8[128*h:]
			var part [8]int32
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int32(l8[l]&0xF|(h8[l]>>0&3)<<4) - 32
				q2 := int32(l8[l+32]&0xF|(h8[l]>>2&3)<<4) - 32
				q3 := int32(l8[l]>>4|(h8[l]>>4&3)<<4) - 32
				q4 := int32(l8[l+32]>>4|(h8[l]>>6&3)<<4) - 32
				part[is] += q1 * int32(int8(y8[l]))
				part[is+2] += q2 * int32(int8(y8[l+32]))
				part[is+4] += q3 * int32(int8(y8[l+64]))
				part[is+6] += q4 * int32(int8(y8[l+96]))
			}
			for k := 0; k < 8; k++ {
				total += int32(int8(s8[k])) * part[k]
			}
		}
		sum += yd * half(x[208:]) * float32(total)
	}
	return sum
}
