//go:build !purego

#include "textflag.h"

// Constants for unpacking the 12-byte scales/mins field of Q4_K and Q5_K.
// With u0, u1, u2 its three little-endian words:
//   sc[0:4] = u0 & 0x3f3f3f3f
//   sc[4:8] = u2 & 0x0f0f0f0f | (u0 >> 2) & 0x30303030
//   m[0:4]  = u1 & 0x3f3f3f3f
//   m[4:8]  = (u2 >> 4) & 0x0f0f0f0f | (u1 >> 2) & 0x30303030
DATA kscShift<>+0(SB)/4, $0
DATA kscShift<>+4(SB)/4, $0
DATA kscShift<>+8(SB)/4, $0
DATA kscShift<>+12(SB)/4, $4
GLOBL kscShift<>(SB), RODATA|NOPTR, $16

DATA kscMaskLo<>+0(SB)/4, $0x3f3f3f3f
DATA kscMaskLo<>+4(SB)/4, $0x0f0f0f0f
DATA kscMaskLo<>+8(SB)/4, $0x3f3f3f3f
DATA kscMaskLo<>+12(SB)/4, $0x0f0f0f0f
GLOBL kscMaskLo<>(SB), RODATA|NOPTR, $16

DATA kscMaskHi<>+0(SB)/4, $0
DATA kscMaskHi<>+4(SB)/4, $0x30303030
DATA kscMaskHi<>+8(SB)/4, $0
DATA kscMaskHi<>+12(SB)/4, $0x30303030
GLOBL kscMaskHi<>(SB), RODATA|NOPTR, $16

DATA knib<>+0(SB)/1, $0x0f
GLOBL knib<>(SB), RODATA|NOPTR, $1

// KSCALES unpacks the scales field at off(ptr) into X3 as bytes
// [sc0 … sc7, m0 … m7]; it uses X2 and X4.
#define KSCALES(off, ptr) \
	VMOVDQU off(ptr), X2 \
	VPSHUFD $0x98, X2, X3 \
	VPSHUFD $0x50, X2, X4 \
	VPSRLVD kscShift<>(SB), X3, X3 \
	VPAND kscMaskLo<>(SB), X3, X3 \
	VPSRLD $2, X4, X4 \
	VPAND kscMaskHi<>(SB), X4, X4 \
	VPOR X4, X3, X3

// func dotQ4KAVX2(x, y *byte, nb int) float32
TEXT ·dotQ4KAVX2(SB), NOSPLIT, $32-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	VPBROADCASTB knib<>(SB), Y15
	VXORPS Y14, Y14, Y14 // Σ d·sumi
	VXORPS Y13, Y13, Y13 // Σ dmin·summ

q4kloop:
	// d·yd and dmin·yd
	VMOVD (SI), X0
	VCVTPH2PS X0, X0
	VBROADCASTSS (DI), X1
	VMULPS X1, X0, X0
	VBROADCASTSS X0, Y11
	VMOVSHDUP X0, X1
	VBROADCASTSS X1, Y12

	KSCALES(4, SI)

	// mins: Σ m_j·(bsum[2j] + bsum[2j+1])
	VPSRLDQ $8, X3, X4
	VPUNPCKLBW X4, X4, X4
	VPMOVZXBW X4, Y4
	VPMADDWD 260(DI), Y4, Y4
	VCVTDQ2PS Y4, Y4
	VFMADD231PS Y12, Y4, Y13

	// scales as word pairs (sc, sc) on the stack
	VPMOVZXBD X3, Y5
	VPSLLD $16, Y5, Y6
	VPOR Y6, Y5, Y5
	VMOVDQU Y5, sc-32(SP)

	VMOVDQU 16(SI), Y0
	VPSRLW $4, Y0, Y1
	VPAND Y15, Y0, Y0
	VPAND Y15, Y1, Y1
	VPMADDUBSW 4(DI), Y0, Y0
	VPMADDUBSW 36(DI), Y1, Y1
	VPBROADCASTD sc-32(SP), Y2
	VPBROADCASTD sc-28(SP), Y3
	VPMADDWD Y2, Y0, Y8
	VPMADDWD Y3, Y1, Y9

	VMOVDQU 48(SI), Y0
	VPSRLW $4, Y0, Y1
	VPAND Y15, Y0, Y0
	VPAND Y15, Y1, Y1
	VPMADDUBSW 68(DI), Y0, Y0
	VPMADDUBSW 100(DI), Y1, Y1
	VPBROADCASTD sc-24(SP), Y2
	VPBROADCASTD sc-20(SP), Y3
	VPMADDWD Y2, Y0, Y0
	VPMADDWD Y3, Y1, Y1
	VPADDD Y0, Y8, Y8
	VPADDD Y1, Y9, Y9

	VMOVDQU 80(SI), Y0
	VPSRLW $4, Y0, Y1
	VPAND Y15, Y0, Y0
	VPAND Y15, Y1, Y1
	VPMADDUBSW 132(DI), Y0, Y0
	VPMADDUBSW 164(DI), Y1, Y1
	VPBROADCASTD sc-16(SP), Y2
	VPBROADCASTD sc-12(SP), Y3
	VPMADDWD Y2, Y0, Y0
	VPMADDWD Y3, Y1, Y1
	VPADDD Y0, Y8, Y8
	VPADDD Y1, Y9, Y9

	VMOVDQU 112(SI), Y0
	VPSRLW $4, Y0, Y1
	VPAND Y15, Y0, Y0
	VPAND Y15, Y1, Y1
	VPMADDUBSW 196(DI), Y0, Y0
	VPMADDUBSW 228(DI), Y1, Y1
	VPBROADCASTD sc-8(SP), Y2
	VPBROADCASTD sc-4(SP), Y3
	VPMADDWD Y2, Y0, Y0
	VPMADDWD Y3, Y1, Y1
	VPADDD Y0, Y8, Y8
	VPADDD Y1, Y9, Y9

	VPADDD Y9, Y8, Y8
	VCVTDQ2PS Y8, Y8
	VFMADD231PS Y11, Y8, Y14

	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q4kloop

	VSUBPS Y13, Y14, Y14
	VEXTRACTF128 $1, Y14, X0
	VADDPS X0, X14, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
