//go:build !purego

#include "textflag.h"

// Vector kernels behind SwiGLUF32, SoftmaxF32, DotRowsF32 and AxpyRowsF32
// (simdf_amd64.go states the contracts). Counts are in elements, positive
// and multiples of the vector step (8 for AVX2, 16 for AVX-512); the Go
// wrappers finish the rest.

// expc: ExpF32's constants (floatops.go), each in eight lanes so that
// AVX2 code can use a row as a memory operand; AVX-512 code broadcasts
// lane 0.
#define C8(off, v) \
	DATA expc<>+(off)(SB)/8, $v;    \
	DATA expc<>+(off+8)(SB)/8, $v;  \
	DATA expc<>+(off+16)(SB)/8, $v; \
	DATA expc<>+(off+24)(SB)/8, $v

C8(0, 0x3fb8aa3b3fb8aa3b)   // log2e
C8(32, 0x3f0000003f000000)  // 0.5
C8(64, 0x3f3180003f318000)  // ln2hi
C8(96, 0xb95e8083b95e8083)  // ln2lo
C8(128, 0x3ab60b613ab60b61) // 1/720
C8(160, 0x3c0888893c088889) // 1/120
C8(192, 0x3d2aaaab3d2aaaab) // 1/24
C8(224, 0x3e2aaaab3e2aaaab) // 1/6
C8(256, 0x3f8000003f800000) // 1
C8(288, 0x42b170a442b170a4) // 88.72: above, +Inf
C8(320, 0xc2cfcccdc2cfcccd) // -103.9: below, 0
C8(352, 0x7f8000007f800000) // +Inf
C8(384, 0x0000007f0000007f) // 127, the exponent bias (int32)
GLOBL expc<>(SB), RODATA|NOPTR, $416

// ---- AVX-512 ----

// EXPCONSTZ loads the constants into Z16–Z28 for EXPZ.
#define EXPCONSTZ \
	VBROADCASTSS expc<>+0(SB), Z16;   \
	VBROADCASTSS expc<>+32(SB), Z17;  \
	VBROADCASTSS expc<>+64(SB), Z18;  \
	VBROADCASTSS expc<>+96(SB), Z19;  \
	VBROADCASTSS expc<>+128(SB), Z20; \
	VBROADCASTSS expc<>+160(SB), Z21; \
	VBROADCASTSS expc<>+192(SB), Z22; \
	VBROADCASTSS expc<>+224(SB), Z23; \
	VBROADCASTSS expc<>+256(SB), Z24; \
	VBROADCASTSS expc<>+288(SB), Z25; \
	VBROADCASTSS expc<>+320(SB), Z26; \
	VBROADCASTSS expc<>+352(SB), Z27; \
	VPBROADCASTD expc<>+384(SB), Z28

// EXPZ sets p = e^x lane by lane, ExpF32's steps with fused multiply-adds:
// n = floor(x·log2e + 0.5); r = x - n·ln2hi - n·ln2lo; p = the polynomial
// in r (Horner); p ·= 2^(n>>1) · 2^(n - n>>1); then +Inf where x > 88.72,
// 0 where x < -103.9, x where x is NaN. n and r are scratch, K1–K3 too.
#define EXPZ(x, p, n, r) \
	VMULPS Z16, x, n;           \
	VADDPS Z17, n, n;           \
	VRNDSCALEPS $9, n, n;       \
	VMOVAPS x, r;               \
	VFNMADD231PS Z18, n, r;     \
	VFNMADD231PS Z19, n, r;     \
	VMOVAPS Z20, p;             \
	VFMADD213PS Z21, r, p;      \
	VFMADD213PS Z22, r, p;      \
	VFMADD213PS Z23, r, p;      \
	VFMADD213PS Z17, r, p;      \
	VFMADD213PS Z24, r, p;      \
	VFMADD213PS Z24, r, p;      \
	VCVTPS2DQ n, n;             \
	VPSRAD $1, n, r;            \
	VPSUBD r, n, n;             \
	VPADDD Z28, r, r;           \
	VPSLLD $23, r, r;           \
	VMULPS r, p, p;             \
	VPADDD Z28, n, n;           \
	VPSLLD $23, n, n;           \
	VMULPS n, p, p;             \
	VCMPPS $0x1e, Z25, x, K1;   \
	VMOVAPS Z27, K1, p;         \
	VCMPPS $0x11, Z26, x, K2;   \
	VPXORD p, p, K2, p;         \
	VCMPPS $3, x, x, K3;        \
	VMOVAPS x, K3, p

// HSUM16 adds the lanes of Z0 into X0 lane 0 (Y1 is scratch).
#define HSUM16 \
	VEXTRACTF64X4 $1, Z0, Y1; \
	VADDPS Y1, Y0, Y0;        \
	HSUM8

// HSUM8 adds the lanes of Y0 into X0 lane 0 (X1 is scratch).
#define HSUM8 \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0;       \
	VPSHUFD $0x4e, X0, X1;   \
	VADDPS X1, X0, X0;       \
	VPSHUFD $0xb1, X0, X1;   \
	VADDSS X1, X0, X0

// func swigluF32AVX512(gs, u *byte, n int)
TEXT ·swigluF32AVX512(SB), NOSPLIT, $0-24
	MOVQ gs+0(FP), DI
	MOVQ u+8(FP), SI
	MOVQ n+16(FP), CX
	EXPCONSTZ
	VPXORD Z5, Z5, Z5

loop:
	VMOVUPS (DI), Z0
	VSUBPS Z0, Z5, Z1 // -g
	EXPZ(Z1, Z2, Z3, Z4)
	VADDPS Z24, Z2, Z2
	VDIVPS Z2, Z0, Z0
	VMULPS (SI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ  loop
	VZEROUPPER
	RET

// func expSubF32AVX512(x *byte, m float32, n int) float32
//
// x[i] = e^(x[i]-m); returns the sum.
TEXT ·expSubF32AVX512(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	VBROADCASTSS m+8(FP), Z5
	MOVQ n+16(FP), CX
	EXPCONSTZ
	VPXORD Z6, Z6, Z6

loop:
	VMOVUPS (DI), Z1
	VSUBPS Z5, Z1, Z1
	EXPZ(Z1, Z2, Z3, Z4)
	VMOVUPS Z2, (DI)
	VADDPS Z2, Z6, Z6
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ  loop
	VMOVAPS Z6, Z0
	HSUM16
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func maxF32AVX512(x *byte, n int) float32
TEXT ·maxF32AVX512(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VMOVUPS (DI), Z0
	ADDQ $64, DI
	SUBQ $16, CX
	JEQ  done

loop:
	VMAXPS (DI), Z0, Z0
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ  loop

done:
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPSHUFD $0xb1, X0, X1
	VMAXSS X1, X0, X0
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func dotRowsF32AVX512(q, k *byte, d, stride, n int, out *byte)
//
// out[t] = q·k[t·stride:][:d] for t < n; d is a multiple of 16.
TEXT ·dotRowsF32AVX512(SB), NOSPLIT, $0-48
	MOVQ k+8(FP), DI
	MOVQ stride+24(FP), BX
	SHLQ $2, BX
	MOVQ n+32(FP), DX
	MOVQ out+40(FP), R8

row:
	MOVQ q+0(FP), SI
	MOVQ DI, R9
	MOVQ d+16(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	SUBQ $64, CX
	JLT  tail

loop:
	VMOVUPS (SI), Z4
	VMOVUPS 64(SI), Z5
	VMOVUPS 128(SI), Z6
	VMOVUPS 192(SI), Z7
	VFMADD231PS (R9), Z4, Z0
	VFMADD231PS 64(R9), Z5, Z1
	VFMADD231PS 128(R9), Z6, Z2
	VFMADD231PS 192(R9), Z7, Z3
	ADDQ $256, SI
	ADDQ $256, R9
	SUBQ $64, CX
	JGE  loop

tail:
	ADDQ $64, CX
	JEQ  sum

more:
	VMOVUPS (SI), Z4
	VFMADD231PS (R9), Z4, Z0
	ADDQ $64, SI
	ADDQ $64, R9
	SUBQ $16, CX
	JNZ  more

sum:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	HSUM16
	VMOVSS X0, (R8)
	ADDQ $4, R8
	ADDQ BX, DI
	DECQ DX
	JNZ  row
	VZEROUPPER
	RET

// func axpyRowsF32AVX512(out, w, v *byte, d, stride, n int)
//
// out[:d] += w[t]·v[t·stride:][:d] for t = 0 … n-1 in turn, fused; d is a
// multiple of 16. Four vectors of out at a time stay in registers over
// all n rows.
TEXT ·axpyRowsF32AVX512(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ v+16(FP), SI
	MOVQ d+24(FP), CX
	MOVQ stride+32(FP), BX
	SHLQ $2, BX
	SUBQ $64, CX
	JLT  one

four:
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z1
	VMOVUPS 128(DI), Z2
	VMOVUPS 192(DI), Z3
	MOVQ w+8(FP), R8
	MOVQ SI, R9
	MOVQ n+40(FP), DX

four_t:
	VBROADCASTSS (R8), Z4
	VFMADD231PS (R9), Z4, Z0
	VFMADD231PS 64(R9), Z4, Z1
	VFMADD231PS 128(R9), Z4, Z2
	VFMADD231PS 192(R9), Z4, Z3
	ADDQ $4, R8
	ADDQ BX, R9
	DECQ DX
	JNZ  four_t
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, DI
	ADDQ $256, SI
	SUBQ $64, CX
	JGE  four

one:
	ADDQ $64, CX
	JEQ  done

one_v:
	VMOVUPS (DI), Z0
	MOVQ w+8(FP), R8
	MOVQ SI, R9
	MOVQ n+40(FP), DX

one_t:
	VBROADCASTSS (R8), Z4
	VFMADD231PS (R9), Z4, Z0
	ADDQ $4, R8
	ADDQ BX, R9
	DECQ DX
	JNZ  one_t
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ  one_v

done:
	VZEROUPPER
	RET

// ---- AVX2 ----

// EXPY is EXPZ for eight lanes, the constants read from expc; m is
// scratch too.
#define EXPY(x, p, n, r, m) \
	VMULPS expc<>+0(SB), x, n;              \
	VADDPS expc<>+32(SB), n, n;             \
	VROUNDPS $9, n, n;                      \
	VMOVAPS x, r;                           \
	VFNMADD231PS expc<>+64(SB), n, r;       \
	VFNMADD231PS expc<>+96(SB), n, r;       \
	VMOVUPS expc<>+128(SB), p;              \
	VFMADD213PS expc<>+160(SB), r, p;       \
	VFMADD213PS expc<>+192(SB), r, p;       \
	VFMADD213PS expc<>+224(SB), r, p;       \
	VFMADD213PS expc<>+32(SB), r, p;        \
	VFMADD213PS expc<>+256(SB), r, p;       \
	VFMADD213PS expc<>+256(SB), r, p;       \
	VCVTPS2DQ n, n;                         \
	VPSRAD $1, n, r;                        \
	VPSUBD r, n, n;                         \
	VPADDD expc<>+384(SB), r, r;            \
	VPSLLD $23, r, r;                       \
	VMULPS r, p, p;                         \
	VPADDD expc<>+384(SB), n, n;            \
	VPSLLD $23, n, n;                       \
	VMULPS n, p, p;                         \
	VCMPPS $0x1e, expc<>+288(SB), x, m;     \
	VMOVUPS expc<>+352(SB), n;              \
	VBLENDVPS m, n, p, p;                   \
	VCMPPS $0x11, expc<>+320(SB), x, m;     \
	VANDNPS p, m, p;                        \
	VCMPPS $3, x, x, m;                     \
	VBLENDVPS m, x, p, p

// func swigluF32AVX2(gs, u *byte, n int)
TEXT ·swigluF32AVX2(SB), NOSPLIT, $0-24
	MOVQ gs+0(FP), DI
	MOVQ u+8(FP), SI
	MOVQ n+16(FP), CX
	VXORPS Y7, Y7, Y7

loop:
	VMOVUPS (DI), Y0
	VSUBPS Y0, Y7, Y1
	EXPY(Y1, Y2, Y3, Y4, Y5)
	VADDPS expc<>+256(SB), Y2, Y2
	VDIVPS Y2, Y0, Y0
	VMULPS (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  loop
	VZEROUPPER
	RET

// func expSubF32AVX2(x *byte, m float32, n int) float32
TEXT ·expSubF32AVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	VBROADCASTSS m+8(FP), Y6
	MOVQ n+16(FP), CX
	VXORPS Y7, Y7, Y7

loop:
	VMOVUPS (DI), Y1
	VSUBPS Y6, Y1, Y1
	EXPY(Y1, Y2, Y3, Y4, Y5)
	VMOVUPS Y2, (DI)
	VADDPS Y2, Y7, Y7
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  loop
	VMOVAPS Y7, Y0
	HSUM8
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func maxF32AVX2(x *byte, n int) float32
TEXT ·maxF32AVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VMOVUPS (DI), Y0
	ADDQ $32, DI
	SUBQ $8, CX
	JEQ  done

loop:
	VMAXPS (DI), Y0, Y0
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  loop

done:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPSHUFD $0xb1, X0, X1
	VMAXSS X1, X0, X0
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func dotRowsF32AVX2(q, k *byte, d, stride, n int, out *byte)
TEXT ·dotRowsF32AVX2(SB), NOSPLIT, $0-48
	MOVQ k+8(FP), DI
	MOVQ stride+24(FP), BX
	SHLQ $2, BX
	MOVQ n+32(FP), DX
	MOVQ out+40(FP), R8

row:
	MOVQ q+0(FP), SI
	MOVQ DI, R9
	MOVQ d+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	SUBQ $32, CX
	JLT  tail

loop:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (R9), Y4, Y0
	VFMADD231PS 32(R9), Y5, Y1
	VFMADD231PS 64(R9), Y6, Y2
	VFMADD231PS 96(R9), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, R9
	SUBQ $32, CX
	JGE  loop

tail:
	ADDQ $32, CX
	JEQ  sum

more:
	VMOVUPS (SI), Y4
	VFMADD231PS (R9), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, R9
	SUBQ $8, CX
	JNZ  more

sum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8
	VMOVSS X0, (R8)
	ADDQ $4, R8
	ADDQ BX, DI
	DECQ DX
	JNZ  row
	VZEROUPPER
	RET

// func axpyRowsF32AVX2(out, w, v *byte, d, stride, n int)
TEXT ·axpyRowsF32AVX2(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ v+16(FP), SI
	MOVQ d+24(FP), CX
	MOVQ stride+32(FP), BX
	SHLQ $2, BX
	SUBQ $32, CX
	JLT  one

four:
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	MOVQ w+8(FP), R8
	MOVQ SI, R9
	MOVQ n+40(FP), DX

four_t:
	VBROADCASTSS (R8), Y4
	VFMADD231PS (R9), Y4, Y0
	VFMADD231PS 32(R9), Y4, Y1
	VFMADD231PS 64(R9), Y4, Y2
	VFMADD231PS 96(R9), Y4, Y3
	ADDQ $4, R8
	ADDQ BX, R9
	DECQ DX
	JNZ  four_t
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, DI
	ADDQ $128, SI
	SUBQ $32, CX
	JGE  four

one:
	ADDQ $32, CX
	JEQ  done

one_v:
	VMOVUPS (DI), Y0
	MOVQ w+8(FP), R8
	MOVQ SI, R9
	MOVQ n+40(FP), DX

one_t:
	VBROADCASTSS (R8), Y4
	VFMADD231PS (R9), Y4, Y0
	ADDQ $4, R8
	ADDQ BX, R9
	DECQ DX
	JNZ  one_t
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  one_v

done:
	VZEROUPPER
	RET
