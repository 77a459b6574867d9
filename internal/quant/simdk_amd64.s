//go:build !purego

#include "textflag.h"

// K-quant dot kernels: one weight row (Q4_K, Q5_K or Q6_K blocks at x)
// times Q8_K activations (y), nb blocks of 256. Each block's integer dot
// product is exact in int32, as in ggml: quants times activations through
// VPMADDUBSW (unsigned quants × signed activations, pairs summed to int16,
// which cannot saturate with quants below 64), then times the 6- or 8-bit
// sub-block scales through VPMADDWD or VPDPWSSD into int32 lanes. The
// constant parts of the quants (the Q4_K/Q5_K mins, the −32 of Q6_K) come
// from the activations' block sums. Only the float scaling by d·yd and the
// final sum are reassociated.
//
// The AVX-512 kernels split nibbles and gather high bits with GFNI
// (VGF2P8AFFINEQB, one instruction per shift-and-mask) and accumulate
// with VNNI (VPDPWSSD); they work on a 32-byte quant chunk broadcast to
// both halves of a ZMM register and split to [low nibbles | high
// nibbles], which lines up with 64 consecutive activations.

// KPF is how far ahead of the block in hand the kernels prefetch weights,
// into L2 (PREFETCHT1): the hardware prefetchers alone leave a core well
// short of memory bandwidth when it also has this much arithmetic to do
// (measured on a 2-core Xeon: 9.5 GB/s per core with PREFETCHT0 or none,
// 12-13 GB/s with PREFETCHT1 2-9 KiB ahead, against 14 GB/s for a bare
// streaming read). Prefetches past the row are harmless hints.
#define KPF 4096

DATA knib<>+0(SB)/1, $0x0f
GLOBL knib<>(SB), RODATA|NOPTR, $1

DATA kbit4<>+0(SB)/1, $0x10
GLOBL kbit4<>(SB), RODATA|NOPTR, $1

DATA kq6Hi<>+0(SB)/1, $0x30
GLOBL kq6Hi<>(SB), RODATA|NOPTR, $1

// Unpacking the 12-byte scales/mins field of Q4_K and Q5_K. With u0, u1,
// u2 its three little-endian words:
//   sc[0:4] = u0 & 0x3f3f3f3f
//   sc[4:8] = u2 & 0x0f0f0f0f | (u0 >> 2) & 0x30303030
//   m[0:4]  = u1 & 0x3f3f3f3f
//   m[4:8]  = (u2 >> 4) & 0x0f0f0f0f | (u1 >> 2) & 0x30303030
// The constants are laid out for two fields, one per 128-bit lane.
DATA kscShift<>+0(SB)/8, $0
DATA kscShift<>+8(SB)/8, $0x0000000400000000
DATA kscShift<>+16(SB)/8, $0
DATA kscShift<>+24(SB)/8, $0x0000000400000000
GLOBL kscShift<>(SB), RODATA|NOPTR, $32

DATA kscMaskLo<>+0(SB)/8, $0x0f0f0f0f3f3f3f3f
DATA kscMaskLo<>+8(SB)/8, $0x0f0f0f0f3f3f3f3f
DATA kscMaskLo<>+16(SB)/8, $0x0f0f0f0f3f3f3f3f
DATA kscMaskLo<>+24(SB)/8, $0x0f0f0f0f3f3f3f3f
GLOBL kscMaskLo<>(SB), RODATA|NOPTR, $32

DATA kscMaskHi<>+0(SB)/8, $0x3030303000000000
DATA kscMaskHi<>+8(SB)/8, $0x3030303000000000
DATA kscMaskHi<>+16(SB)/8, $0x3030303000000000
DATA kscMaskHi<>+24(SB)/8, $0x3030303000000000
GLOBL kscMaskHi<>(SB), RODATA|NOPTR, $32

// KSCALES unpacks the scales field at off(SI) into X3 as bytes
// [sc0 … sc7, m0 … m7]; it uses X2 and X4. (The 16-byte load stays inside
// the block: the quants follow the field.)
#define KSCALES(off) \
	VMOVDQU off(SI), X2 \
	VPSHUFD $0x98, X2, X3 \
	VPSHUFD $0x50, X2, X4 \
	VPSRLVD kscShift<>(SB), X3, X3 \
	VPAND kscMaskLo<>(SB), X3, X3 \
	VPSRLD $2, X4, X4 \
	VPAND kscMaskHi<>(SB), X4, X4 \
	VPOR X4, X3, X3

// KSCALES2 does the same for two blocks, off(SI) into lane 0 of Y3 and
// off+bs(SI) into lane 1; it uses Y2 and Y4.
#define KSCALES2(off, bs) \
	VMOVDQU off(SI), X2 \
	VINSERTI128 $1, off+bs(SI), Y2, Y2 \
	VPSHUFD $0x98, Y2, Y3 \
	VPSHUFD $0x50, Y2, Y4 \
	VPSRLVD kscShift<>(SB), Y3, Y3 \
	VPAND kscMaskLo<>(SB), Y3, Y3 \
	VPSRLD $2, Y4, Y4 \
	VPTERNLOGD $0xF8, kscMaskHi<>(SB), Y4, Y3

// HSUM8 leaves the sum of the eight floats of Y0 in X0; it uses X1.
#define HSUM8 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VMOVHLPS X0, X0, X1 \
	VADDPS X1, X0, X0 \
	VMOVSHDUP X0, X1 \
	VADDSS X1, X0, X0

// ---- Q4_K and Q5_K, AVX2 ----
//
// Q4_K block (144 bytes): f16 d, f16 dmin, scales[12], qs[128].
// Q5_K block (176 bytes): f16 d, f16 dmin, scales[12], qh[32], qs[128].
// Chunk c (0-3) is 32 qs bytes: low nibbles are sub-block 2c, high
// nibbles 2c+1; Q5_K adds bit 2c (2c+1) of qh[l] as the quant's bit 4.
// y = d·Σ sc_j·(q·y8)_j − dmin·Σ m_j·(bsum[2j] + bsum[2j+1]).

// Q4KNIB256 splits the chunk at qoff(SI) into Y0 (low nibbles) and Y1
// (high nibbles).
#define Q4KNIB256(qoff) \
	VMOVDQU qoff(SI), Y0 \
	VPSRLW $4, Y0, Y1 \
	VPAND Y15, Y0, Y0 \
	VPAND Y15, Y1, Y1

// Q5KNIB256 adds the fifth bits to Q4KNIB256's nibbles: bit j of the qh
// bytes (in Y12) is moved to bit 4 by SH0 $A0 (sub-block j = 2c) and by
// SH1 $A1 (j = 2c+1).
#define Q5KNIB256(qoff, SH0, A0, SH1, A1) \
	Q4KNIB256(qoff) \
	SH0 $A0, Y12, Y2 \
	SH1 $A1, Y12, Y3 \
	VPAND Y13, Y2, Y2 \
	VPAND Y13, Y3, Y3 \
	VPOR Y2, Y0, Y0 \
	VPOR Y3, Y1, Y1

// K45DOT256 multiplies chunk c's quants (Y0, Y1) with its 64 activations
// at yoff(DI) and its scale word pairs at sc(SP), adding into Y8, Y9.
#define K45DOT256(yoff, sc0, sc1) \
	VPMADDUBSW yoff(DI), Y0, Y0 \
	VPMADDUBSW yoff+32(DI), Y1, Y1 \
	VPBROADCASTD sc0, Y2 \
	VPBROADCASTD sc1, Y3 \
	VPMADDWD Y2, Y0, Y0 \
	VPMADDWD Y3, Y1, Y1 \
	VPADDD Y0, Y8, Y8 \
	VPADDD Y1, Y9, Y9

// K45HEAD256 starts a Q4_K or Q5_K block: d·yd to Y11, dmin·yd times the
// mins term added into Y10, the scale word pairs (sc, sc) to the stack,
// and zeroed integer accumulators Y8, Y9. It uses Y0-Y6.
#define K45HEAD256 \
	VMOVD (SI), X0 \
	VCVTPH2PS X0, X0 \
	VBROADCASTSS (DI), X1 \
	VMULPS X1, X0, X0 \
	VBROADCASTSS X0, Y11 \
	VMOVSHDUP X0, X1 \
	VBROADCASTSS X1, Y5 \
	KSCALES(4) \
	VPSRLDQ $8, X3, X4 \
	VPUNPCKLBW X4, X4, X4 \
	VPMOVZXBW X4, Y4 \
	VPMADDWD 260(DI), Y4, Y4 \
	VCVTDQ2PS Y4, Y4 \
	VFMADD231PS Y5, Y4, Y10 \
	VPMOVZXBD X3, Y5 \
	VPSLLD $16, Y5, Y6 \
	VPOR Y6, Y5, Y5 \
	VMOVDQU Y5, sc-32(SP) \
	VPXOR Y8, Y8, Y8 \
	VPXOR Y9, Y9, Y9

// K45TAIL256 scales the block's integer sums by d·yd into Y14 and steps
// to the next block.
#define K45TAIL256(bs) \
	VPADDD Y9, Y8, Y8 \
	VCVTDQ2PS Y8, Y8 \
	VFMADD231PS Y11, Y8, Y14 \
	ADDQ $bs, SI \
	ADDQ $292, DI \
	DECQ CX

// K45END256 returns Σ Y14 − Σ Y10.
#define K45END256 \
	VSUBPS Y10, Y14, Y0 \
	HSUM8 \
	VZEROUPPER \
	MOVSS X0, ret+24(FP) \
	RET

// func dotQ4KAVX2(x, y *byte, nb int) float32
TEXT ·dotQ4KAVX2(SB), NOSPLIT, $32-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	VPBROADCASTB knib<>(SB), Y15
	VXORPS Y14, Y14, Y14 // Σ d·sumi
	VXORPS Y10, Y10, Y10 // Σ dmin·summ

q4kavx2loop:
	PREFETCHT1 KPF(SI)
	PREFETCHT1 KPF+64(SI)
	PREFETCHT1 KPF+128(SI)
	K45HEAD256
	Q4KNIB256(16)
	K45DOT256(4, sc-32(SP), sc-28(SP))
	Q4KNIB256(48)
	K45DOT256(68, sc-24(SP), sc-20(SP))
	Q4KNIB256(80)
	K45DOT256(132, sc-16(SP), sc-12(SP))
	Q4KNIB256(112)
	K45DOT256(196, sc-8(SP), sc-4(SP))
	K45TAIL256(144)
	JNZ q4kavx2loop
	K45END256

// func dotQ5KAVX2(x, y *byte, nb int) float32
TEXT ·dotQ5KAVX2(SB), NOSPLIT, $32-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	VPBROADCASTB knib<>(SB), Y15
	VPBROADCASTB kbit4<>(SB), Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y10, Y10, Y10

q5kavx2loop:
	PREFETCHT1 KPF(SI)
	PREFETCHT1 KPF+64(SI)
	PREFETCHT1 KPF+128(SI)
	K45HEAD256
	VMOVDQU 16(SI), Y12
	Q5KNIB256(48, VPSLLW, 4, VPSLLW, 3)
	K45DOT256(4, sc-32(SP), sc-28(SP))
	Q5KNIB256(80, VPSLLW, 2, VPSLLW, 1)
	K45DOT256(68, sc-24(SP), sc-20(SP))
	Q5KNIB256(112, VPSRLW, 0, VPSRLW, 1)
	K45DOT256(132, sc-16(SP), sc-12(SP))
	Q5KNIB256(144, VPSRLW, 2, VPSRLW, 3)
	K45DOT256(196, sc-8(SP), sc-4(SP))
	K45TAIL256(176)
	JNZ q5kavx2loop
	K45END256

// ---- Q4_K and Q5_K, AVX-512 VNNI + GFNI ----
//
// Two blocks (A at SI, B at SI+bs) per iteration, so that unpacking the
// scales and the mins and the float scaling serve both; an odd first block
// goes through a one-block path.

// Bit matrices for VGF2P8AFFINEQB (the byte of a qword at 7-i selects the
// source bits of result bit i). kgfNib: low qwords keep the low nibble,
// high qwords move the high nibble down, so a chunk broadcast to both
// halves becomes [low nibbles | high nibbles].
DATA kgfNib<>+0(SB)/8, $0x0102040800000000
DATA kgfNib<>+8(SB)/8, $0x0102040800000000
DATA kgfNib<>+16(SB)/8, $0x0102040800000000
DATA kgfNib<>+24(SB)/8, $0x0102040800000000
DATA kgfNib<>+32(SB)/8, $0x1020408000000000
DATA kgfNib<>+40(SB)/8, $0x1020408000000000
DATA kgfNib<>+48(SB)/8, $0x1020408000000000
DATA kgfNib<>+56(SB)/8, $0x1020408000000000
GLOBL kgfNib<>(SB), RODATA|NOPTR, $64

// kq5gf<c>: qh broadcast to both halves to [bit 2c | bit 2c+1] at bit 4.
#define KQ5GF(name, c) \
	DATA name+0(SB)/8, $(1<<(2*c+24)) \
	DATA name+8(SB)/8, $(1<<(2*c+24)) \
	DATA name+16(SB)/8, $(1<<(2*c+24)) \
	DATA name+24(SB)/8, $(1<<(2*c+24)) \
	DATA name+32(SB)/8, $(1<<(2*c+25)) \
	DATA name+40(SB)/8, $(1<<(2*c+25)) \
	DATA name+48(SB)/8, $(1<<(2*c+25)) \
	DATA name+56(SB)/8, $(1<<(2*c+25)) \
	GLOBL name(SB), RODATA|NOPTR, $64

KQ5GF(kq5gf0<>, 0)
KQ5GF(kq5gf1<>, 1)
KQ5GF(kq5gf2<>, 2)
KQ5GF(kq5gf3<>, 3)

// VPSHUFB indices that spread scale bytes 2c (low 256 bits) and 2c+1
// (high 256 bits) of a 16-byte lane over zero-extended word pairs.
#define KSCIDX(name, lo, hi) \
	DATA name+0(SB)/8, $(0x8000800080008000|lo|lo<<16|lo<<32|lo<<48) \
	DATA name+8(SB)/8, $(0x8000800080008000|lo|lo<<16|lo<<32|lo<<48) \
	DATA name+16(SB)/8, $(0x8000800080008000|lo|lo<<16|lo<<32|lo<<48) \
	DATA name+24(SB)/8, $(0x8000800080008000|lo|lo<<16|lo<<32|lo<<48) \
	DATA name+32(SB)/8, $(0x8000800080008000|hi|hi<<16|hi<<32|hi<<48) \
	DATA name+40(SB)/8, $(0x8000800080008000|hi|hi<<16|hi<<32|hi<<48) \
	DATA name+48(SB)/8, $(0x8000800080008000|hi|hi<<16|hi<<32|hi<<48) \
	DATA name+56(SB)/8, $(0x8000800080008000|hi|hi<<16|hi<<32|hi<<48) \
	GLOBL name(SB), RODATA|NOPTR, $64

KSCIDX(kscIdx0<>, 0, 1)
KSCIDX(kscIdx1<>, 2, 3)
KSCIDX(kscIdx2<>, 4, 5)
KSCIDX(kscIdx3<>, 6, 7)

// VPERMI2PS indices [0 ×8, 16 ×8] and [1 ×8, 17 ×8]: from (dA, dminA) and
// (dB, dminB) to [dA ×8 | dB ×8] and [dminA ×8 | dminB ×8].
DATA kdIdx2<>+0(SB)/8, $0
DATA kdIdx2<>+8(SB)/8, $0
DATA kdIdx2<>+16(SB)/8, $0
DATA kdIdx2<>+24(SB)/8, $0
DATA kdIdx2<>+32(SB)/8, $0x0000001000000010
DATA kdIdx2<>+40(SB)/8, $0x0000001000000010
DATA kdIdx2<>+48(SB)/8, $0x0000001000000010
DATA kdIdx2<>+56(SB)/8, $0x0000001000000010
DATA kdIdx2<>+64(SB)/8, $0x0000000100000001
DATA kdIdx2<>+72(SB)/8, $0x0000000100000001
DATA kdIdx2<>+80(SB)/8, $0x0000000100000001
DATA kdIdx2<>+88(SB)/8, $0x0000000100000001
DATA kdIdx2<>+96(SB)/8, $0x0000001100000011
DATA kdIdx2<>+104(SB)/8, $0x0000001100000011
DATA kdIdx2<>+112(SB)/8, $0x0000001100000011
DATA kdIdx2<>+120(SB)/8, $0x0000001100000011
GLOBL kdIdx2<>(SB), RODATA|NOPTR, $128

// Q4KCHUNK512 adds chunk c of the Q4_K block (32 quant bytes at qoff(SI),
// 64 activations at yoff(DI)) times its scale pairs Zsc into ACC.
#define Q4KCHUNK512(qoff, yoff, Zsc, ACC, H, gf) \
	VBROADCASTI64X4 qoff(SI), Z0 \
	VGF2P8AFFINEQB $0, Z14, Z0, Z0 \
	VPMADDUBSW yoff(DI), Z0, Z0 \
	VPDPWSSD Zsc, Z0, ACC

// Q5KCHUNK512 is Q4KCHUNK512 with the fifth bits taken from H (the
// block's qh broadcast to both halves) by the matrix gf.
#define Q5KCHUNK512(qoff, yoff, Zsc, ACC, H, gf) \
	VBROADCASTI64X4 qoff(SI), Z0 \
	VGF2P8AFFINEQB $0, Z14, Z0, Z0 \
	VGF2P8AFFINEQB $0, gf(SB), H, Z1 \
	VPORD Z1, Z0, Z0 \
	VPMADDUBSW yoff(DI), Z0, Z0 \
	VPDPWSSD Zsc, Z0, ACC

#define NOQH(off, Z)
#define LOADQH(off, Z) VBROADCASTI64X4 off(SI), Z

// K45VNNI is the body of the AVX-512 Q4_K (CHUNK = Q4KCHUNK512, QH =
// NOQH, bs = 144, qs = 16) and Q5_K (Q5KCHUNK512, LOADQH, 176, 48)
// kernels; pairs, loop and done name its labels. Registers: Z13 and Z12
// accumulate d·sumi and dmin·summ (floats); per pair, Z20 = [dA ×8 | dB
// ×8] and Z21 the same for dmin (both times yd), Y3 the unpacked scales
// and mins of A and B, Z4 their mins terms, Z22-Z25 (A) and Z28-Z31 (B)
// the scale word pairs of chunks 0-3, Z15 and Z7 their qh (Q5_K), Z8 and
// Z9 their int32 sums; Z14 holds the nibble matrices, Z16-Z19 the scale
// shuffles. The one-block path before the loop uses the low halves of
// Z12, Z13, Z20 and Z21 only.
#define K45VNNI(CHUNK, QH, bs, qs, pairs, loop, done) \
	MOVQ x+0(FP), SI \
	MOVQ y+8(FP), DI \
	MOVQ nb+16(FP), CX \
	VMOVDQU64 kgfNib<>(SB), Z14 \
	VMOVDQU64 kscIdx0<>(SB), Z16 \
	VMOVDQU64 kscIdx1<>(SB), Z17 \
	VMOVDQU64 kscIdx2<>(SB), Z18 \
	VMOVDQU64 kscIdx3<>(SB), Z19 \
	VPXORD Z13, Z13, Z13 \
	VPXORD Z12, Z12, Z12 \
	TESTQ $1, CX \
	JZ pairs \
	VCVTPH2PS (SI), X0 \
	VMULPS.BCST (DI), X0, X0 \
	VBROADCASTSS X0, Y20 \
	VMOVSHDUP X0, X1 \
	VBROADCASTSS X1, Y21 \
	KSCALES(4) \
	VPSRLDQ $8, X3, X4 \
	VPUNPCKLBW X4, X4, X4 \
	VPMOVZXBW X4, Y4 \
	VPMADDWD 260(DI), Y4, Y4 \
	VSHUFI32X4 $0, Z3, Z3, Z5 \
	VPSHUFB Z16, Z5, Z22 \
	VPSHUFB Z17, Z5, Z23 \
	VPSHUFB Z18, Z5, Z24 \
	VPSHUFB Z19, Z5, Z25 \
	QH(16, Z15) \
	VPXORD Z8, Z8, Z8 \
	CHUNK(qs, 4, Z22, Z8, Z15, kq5gf0<>) \
	CHUNK(qs+32, 68, Z23, Z8, Z15, kq5gf1<>) \
	CHUNK(qs+64, 132, Z24, Z8, Z15, kq5gf2<>) \
	CHUNK(qs+96, 196, Z25, Z8, Z15, kq5gf3<>) \
	VEXTRACTI64X4 $1, Z8, Y9 \
	VPADDD Y9, Y8, Y8 \
	VCVTDQ2PS Y8, Y8 \
	VFMADD231PS Y20, Y8, Y13 \
	VCVTDQ2PS Y4, Y4 \
	VFMADD231PS Y21, Y4, Y12 \
	ADDQ $bs, SI \
	ADDQ $292, DI \
	DECQ CX \
pairs: \
	SHRQ $1, CX \
	JZ done \
loop: \
	PREFETCHT1 KPF(SI) \
	PREFETCHT1 KPF+64(SI) \
	PREFETCHT1 KPF+128(SI) \
	PREFETCHT1 KPF+192(SI) \
	PREFETCHT1 KPF+256(SI) \
	PREFETCHT1 KPF+320(SI) \
	VCVTPH2PS (SI), X0 \
	VMULPS.BCST (DI), X0, X0 \
	VCVTPH2PS bs(SI), X1 \
	VMULPS.BCST 292(DI), X1, X1 \
	VMOVDQU64 kdIdx2<>(SB), Z20 \
	VPERMI2PS Z1, Z0, Z20 \
	VMOVDQU64 kdIdx2<>+64(SB), Z21 \
	VPERMI2PS Z1, Z0, Z21 \
	KSCALES2(4, bs) \
	VPSRLDQ $8, Y3, Y4 \
	VPUNPCKLBW Y4, Y4, Y4 \
	VPMOVZXBW Y4, Z4 \
	VMOVDQU 260(DI), Y5 \
	VINSERTI64X4 $1, 552(DI), Z5, Z5 \
	VPMADDWD Z5, Z4, Z4 \
	VSHUFI32X4 $0x00, Z3, Z3, Z5 \
	VSHUFI32X4 $0x55, Z3, Z3, Z6 \
	VPSHUFB Z16, Z5, Z22 \
	VPSHUFB Z17, Z5, Z23 \
	VPSHUFB Z18, Z5, Z24 \
	VPSHUFB Z19, Z5, Z25 \
	VPSHUFB Z16, Z6, Z28 \
	VPSHUFB Z17, Z6, Z29 \
	VPSHUFB Z18, Z6, Z30 \
	VPSHUFB Z19, Z6, Z31 \
	QH(16, Z15) \
	QH(bs+16, Z7) \
	VPXORD Z8, Z8, Z8 \
	VPXORD Z9, Z9, Z9 \
	CHUNK(qs, 4, Z22, Z8, Z15, kq5gf0<>) \
	CHUNK(bs+qs, 296, Z28, Z9, Z7, kq5gf0<>) \
	CHUNK(qs+32, 68, Z23, Z8, Z15, kq5gf1<>) \
	CHUNK(bs+qs+32, 360, Z29, Z9, Z7, kq5gf1<>) \
	CHUNK(qs+64, 132, Z24, Z8, Z15, kq5gf2<>) \
	CHUNK(bs+qs+64, 424, Z30, Z9, Z7, kq5gf2<>) \
	CHUNK(qs+96, 196, Z25, Z8, Z15, kq5gf3<>) \
	CHUNK(bs+qs+96, 488, Z31, Z9, Z7, kq5gf3<>) \
	VSHUFI64X2 $0x44, Z9, Z8, Z10 \
	VSHUFI64X2 $0xEE, Z9, Z8, Z11 \
	VPADDD Z11, Z10, Z10 \
	VCVTDQ2PS Z10, Z10 \
	VFMADD231PS Z20, Z10, Z13 \
	VCVTDQ2PS Z4, Z4 \
	VFMADD231PS Z21, Z4, Z12 \
	ADDQ $(2*bs), SI \
	ADDQ $584, DI \
	DECQ CX \
	JNZ loop \
done: \
	VSUBPS Z12, Z13, Z13 \
	VEXTRACTF64X4 $1, Z13, Y1 \
	VADDPS Y1, Y13, Y0 \
	HSUM8 \
	VZEROUPPER \
	MOVSS X0, ret+24(FP) \
	RET

// func dotQ4KVNNI(x, y *byte, nb int) float32
TEXT ·dotQ4KVNNI(SB), NOSPLIT, $0-28
	K45VNNI(Q4KCHUNK512, NOQH, 144, 16, q4kvnnipairs, q4kvnniloop, q4kvnnidone)

// func dotQ5KVNNI(x, y *byte, nb int) float32
TEXT ·dotQ5KVNNI(SB), NOSPLIT, $0-28
	K45VNNI(Q5KCHUNK512, LOADQH, 176, 48, q5kvnnipairs, q5kvnniloop, q5kvnnidone)

// ---- Q6_K ----
//
// Q6_K block (210 bytes): ql[128], qh[64], int8 scales[16], f16 d. Each half
// (128 elements) takes 64 ql and 32 qh bytes; see dequantQ6_K.
// y = d·Σ s_k·(q·y8)_k − 32·d·Σ s_k·bsum_k over the sixteen groups of 16.

// kq6Deint reorders the sixteen scales to evens then odds, so that after
// sign extension to words lane 0 of a YMM register holds s0, s2, …, s14 and
// lane 1 holds s1, s3, …, s15.
DATA kq6Deint<>+0(SB)/8, $0x0e0c0a0806040200
DATA kq6Deint<>+8(SB)/8, $0x0f0d0b0907050301
GLOBL kq6Deint<>(SB), RODATA|NOPTR, $16

// kq6Sc<k> spreads word k of each lane of the deinterleaved scales over the
// lane: [s2k ×8 | s2k+1 ×8], the scales of the two 16-element halves of
// 32-element group k.
#define KQ6SC(name, k) \
	DATA name+0(SB)/8, $(0x0001000100010001*(2*k)+0x0100010001000100*(2*k+1)) \
	DATA name+8(SB)/8, $(0x0001000100010001*(2*k)+0x0100010001000100*(2*k+1)) \
	DATA name+16(SB)/8, $(0x0001000100010001*(2*k)+0x0100010001000100*(2*k+1)) \
	DATA name+24(SB)/8, $(0x0001000100010001*(2*k)+0x0100010001000100*(2*k+1)) \
	GLOBL name(SB), RODATA|NOPTR, $32

KQ6SC(kq6Sc0<>, 0)
KQ6SC(kq6Sc1<>, 1)
KQ6SC(kq6Sc2<>, 2)
KQ6SC(kq6Sc3<>, 3)
KQ6SC(kq6Sc4<>, 4)
KQ6SC(kq6Sc5<>, 5)
KQ6SC(kq6Sc6<>, 6)
KQ6SC(kq6Sc7<>, 7)

// Q6KHALF256 adds half h of a Q6_K block (quants at ql(SI) and qh(SI),
// activations at y(DI)) into Y8: quants 0-63 unsigned, the −32 offset is
// taken off through the block sums.
#define Q6KHALF256(ql, qh, y, sc0, sc1, sc2, sc3) \
	VMOVDQU ql(SI), Y0 \
	VMOVDQU ql+32(SI), Y1 \
	VMOVDQU qh(SI), Y2 \
	VPSLLW $4, Y2, Y3 \
	VPAND Y14, Y3, Y3 \
	VPSLLW $2, Y2, Y4 \
	VPAND Y14, Y4, Y4 \
	VPAND Y14, Y2, Y5 \
	VPSRLW $2, Y2, Y2 \
	VPAND Y14, Y2, Y2 \
	VPAND Y15, Y0, Y6 \
	VPOR Y3, Y6, Y6 \
	VPAND Y15, Y1, Y7 \
	VPOR Y4, Y7, Y7 \
	VPSRLW $4, Y0, Y0 \
	VPAND Y15, Y0, Y0 \
	VPOR Y5, Y0, Y0 \
	VPSRLW $4, Y1, Y1 \
	VPAND Y15, Y1, Y1 \
	VPOR Y2, Y1, Y1 \
	VPMADDUBSW y(DI), Y6, Y6 \
	VPMADDUBSW y+32(DI), Y7, Y7 \
	VPMADDUBSW y+64(DI), Y0, Y0 \
	VPMADDUBSW y+96(DI), Y1, Y1 \
	VPSHUFB sc0(SB), Y13, Y9 \
	VPMADDWD Y9, Y6, Y6 \
	VPSHUFB sc1(SB), Y13, Y9 \
	VPMADDWD Y9, Y7, Y7 \
	VPSHUFB sc2(SB), Y13, Y9 \
	VPMADDWD Y9, Y0, Y0 \
	VPSHUFB sc3(SB), Y13, Y9 \
	VPMADDWD Y9, Y1, Y1 \
	VPADDD Y6, Y7, Y7 \
	VPADDD Y0, Y1, Y1 \
	VPADDD Y7, Y8, Y8 \
	VPADDD Y1, Y8, Y8

// func dotQ6KAVX2(x, y *byte, nb int) float32
TEXT ·dotQ6KAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	VPBROADCASTB knib<>(SB), Y15
	VPBROADCASTB kq6Hi<>(SB), Y14
	VXORPS Y10, Y10, Y10

q6kloop:
	PREFETCHT1 KPF(SI)
	PREFETCHT1 KPF+64(SI)
	PREFETCHT1 KPF+128(SI)
	PREFETCHT1 KPF+192(SI)

	// d·yd
	VPBROADCASTW 208(SI), X0
	VCVTPH2PS X0, Y11
	VBROADCASTSS (DI), Y1
	VMULPS Y1, Y11, Y11

	// Y8 = −32·Σ s_k·bsum_k; Y13 = deinterleaved scales
	VMOVDQU 192(SI), X2
	VPMOVSXBW X2, Y12
	VPMADDWD 260(DI), Y12, Y12
	VPSLLD $5, Y12, Y12
	VPXOR Y8, Y8, Y8
	VPSUBD Y12, Y8, Y8
	VPSHUFB kq6Deint<>(SB), X2, X2
	VPMOVSXBW X2, Y13

	Q6KHALF256(0, 128, 4, kq6Sc0<>, kq6Sc1<>, kq6Sc2<>, kq6Sc3<>)
	Q6KHALF256(64, 160, 132, kq6Sc4<>, kq6Sc5<>, kq6Sc6<>, kq6Sc7<>)

	VCVTDQ2PS Y8, Y8
	VFMADD231PS Y11, Y8, Y10

	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q6kloop

	VMOVAPS Y10, Y0
	HSUM8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// Bit matrices for the Q6_K high bits: kq6gfA turns qh broadcast to both
// halves into [(qh & 3) << 4 | (qh >> 2 & 3) << 4], kq6gfB into
// [(qh >> 4 & 3) << 4 | (qh >> 6) << 4], and kgfHi takes a byte's high
// nibble down.
DATA kq6gfA<>+0(SB)/8, $0x01020000
DATA kq6gfA<>+8(SB)/8, $0x01020000
DATA kq6gfA<>+16(SB)/8, $0x01020000
DATA kq6gfA<>+24(SB)/8, $0x01020000
DATA kq6gfA<>+32(SB)/8, $0x04080000
DATA kq6gfA<>+40(SB)/8, $0x04080000
DATA kq6gfA<>+48(SB)/8, $0x04080000
DATA kq6gfA<>+56(SB)/8, $0x04080000
GLOBL kq6gfA<>(SB), RODATA|NOPTR, $64

DATA kq6gfB<>+0(SB)/8, $0x10200000
DATA kq6gfB<>+8(SB)/8, $0x10200000
DATA kq6gfB<>+16(SB)/8, $0x10200000
DATA kq6gfB<>+24(SB)/8, $0x10200000
DATA kq6gfB<>+32(SB)/8, $0x40800000
DATA kq6gfB<>+40(SB)/8, $0x40800000
DATA kq6gfB<>+48(SB)/8, $0x40800000
DATA kq6gfB<>+56(SB)/8, $0x40800000
GLOBL kq6gfB<>(SB), RODATA|NOPTR, $64

DATA kgfHi<>+0(SB)/8, $0x1020408000000000
GLOBL kgfHi<>(SB), RODATA|NOPTR, $8

// VPERMW indices that spread words 4v … 4v+3 of the sign-extended scales
// over the four 128-bit lanes of a ZMM register, v = 0 … 3.
#define KQ6PERM(name, v) \
	DATA name+0(SB)/8, $(0x0001000100010001*(4*v)) \
	DATA name+8(SB)/8, $(0x0001000100010001*(4*v)) \
	DATA name+16(SB)/8, $(0x0001000100010001*(4*v+1)) \
	DATA name+24(SB)/8, $(0x0001000100010001*(4*v+1)) \
	DATA name+32(SB)/8, $(0x0001000100010001*(4*v+2)) \
	DATA name+40(SB)/8, $(0x0001000100010001*(4*v+2)) \
	DATA name+48(SB)/8, $(0x0001000100010001*(4*v+3)) \
	DATA name+56(SB)/8, $(0x0001000100010001*(4*v+3)) \
	GLOBL name(SB), RODATA|NOPTR, $64

KQ6PERM(kq6Perm0<>, 0)
KQ6PERM(kq6Perm1<>, 1)
KQ6PERM(kq6Perm2<>, 2)
KQ6PERM(kq6Perm3<>, 3)

// Q6KHALFGF adds half h of a Q6_K block into Z8: [q1 | q2] (low nibbles
// of the 64 ql bytes, high bits from kq6gfA in Z14) against the first 64
// activations of the half, [q3 | q4] (high nibbles through kgfHi in Z12,
// high bits from kq6gfB in Z13) against the next 64; Z15 holds 0x0f
// bytes, Zsc0 and Zsc1 the scale word pairs, one scale per 128-bit lane.
#define Q6KHALFGF(ql, qh, y, Zsc0, Zsc1) \
	VMOVDQU64 ql(SI), Z0 \
	VBROADCASTI64X4 qh(SI), Z1 \
	VGF2P8AFFINEQB $0, Z14, Z1, Z2 \
	VGF2P8AFFINEQB $0, Z13, Z1, Z1 \
	VPTERNLOGD $0xF8, Z15, Z0, Z2 \
	VGF2P8AFFINEQB $0, Z12, Z0, Z0 \
	VPORD Z1, Z0, Z0 \
	VPMADDUBSW y(DI), Z2, Z2 \
	VPMADDUBSW y+64(DI), Z0, Z0 \
	VPDPWSSD Zsc0, Z2, Z8 \
	VPDPWSSD Zsc1, Z0, Z8

// func dotQ6KVNNI(x, y *byte, nb int) float32
TEXT ·dotQ6KVNNI(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	VPBROADCASTB knib<>(SB), Z15
	VMOVDQU64 kq6gfA<>(SB), Z14
	VMOVDQU64 kq6gfB<>(SB), Z13
	VPBROADCASTQ kgfHi<>(SB), Z12
	VMOVDQU64 kq6Perm0<>(SB), Z16
	VMOVDQU64 kq6Perm1<>(SB), Z17
	VMOVDQU64 kq6Perm2<>(SB), Z18
	VMOVDQU64 kq6Perm3<>(SB), Z19
	VPXORD Z11, Z11, Z11

q6kvnniloop:
	PREFETCHT1 KPF(SI)
	PREFETCHT1 KPF+64(SI)
	PREFETCHT1 KPF+128(SI)
	PREFETCHT1 KPF+192(SI)

	// Z20 = d·yd; Y8 = −32·Σ s_k·bsum_k; Z22-Z25 the scale word pairs
	VPBROADCASTW 208(SI), Y0
	VCVTPH2PS Y0, Z20
	VMULPS.BCST (DI), Z20, Z20

	VPMOVSXBW 192(SI), Y1
	VPMADDWD 260(DI), Y1, Y2
	VPSLLD $5, Y2, Y2
	VPXOR Y8, Y8, Y8
	VPSUBD Y2, Y8, Y8
	VPERMW Z1, Z16, Z22
	VPERMW Z1, Z17, Z23
	VPERMW Z1, Z18, Z24
	VPERMW Z1, Z19, Z25

	Q6KHALFGF(0, 128, 4, Z22, Z23)
	Q6KHALFGF(64, 160, 132, Z24, Z25)

	VCVTDQ2PS Z8, Z8
	VFMADD231PS Z20, Z8, Z11

	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q6kvnniloop

	VEXTRACTF64X4 $1, Z11, Y1
	VADDPS Y1, Y11, Y0
	HSUM8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
