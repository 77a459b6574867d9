//go:build !purego

#include "textflag.h"

// Float kernels: dot products of F32, F16 and BF16 weight rows with float32
// activations, and the float32 vector helpers behind DotF32, AxpyF32 and
// ScaleF32. simdf_amd64.go states the contracts. Counts are in elements
// and are multiples of the vector step (8 for AVX2, 16 for AVX-512); the
// Go wrappers finish the rest. Four accumulators hide the FMA latency; the
// sum is reassociated across them.

// HSUMY0: the eight lanes of Y0 → X0 lane 0, then VZEROUPPER.
#define HSUMY0 \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0;       \
	VPSHUFD $0x4e, X0, X1;   \
	VADDPS X1, X0, X0;       \
	VPSHUFD $0xb1, X0, X1;   \
	VADDSS X1, X0, X0;       \
	VZEROUPPER

// FSUM8: Y0 + Y1 + Y2 + Y3 → X0 lane 0.
#define FSUM8 \
	VADDPS Y1, Y0, Y0; \
	VADDPS Y3, Y2, Y2; \
	VADDPS Y2, Y0, Y0; \
	HSUMY0

// FSUM16: Z0 + Z1 + Z2 + Z3 → X0 lane 0.
#define FSUM16 \
	VADDPS Z1, Z0, Z0;        \
	VADDPS Z3, Z2, Z2;        \
	VADDPS Z2, Z0, Z0;        \
	VEXTRACTF64X4 $1, Z0, Y1; \
	VADDPS Y1, Y0, Y0;        \
	HSUMY0

// Weight rows are streamed once per token: as the block kernels do, the
// loops prefetch PF bytes ahead (into L2), one line per 64 bytes read.
#define PF 2048
#define PF1 PREFETCHT1 PF(SI)
#define PF2 PF1; PREFETCHT1 (PF+64)(SI)
#define PF4 PF2; PREFETCHT1 (PF+128)(SI); PREFETCHT1 (PF+192)(SI)

// DOTLOOP runs LOAD(offset, register) (weights at SI, step wb bytes per
// vector of vn elements) times the float32 activations at DI into four
// accumulators (V0–V3), then one vector at a time for the rest. PREF
// prefetches the weights of a later iteration.
#define DOTLOOP(LOAD, PREF, wb, vn, V0, V1, V2, V3, T0, T1, T2, T3) \
	SUBQ $(4*vn), CX;                  \
	JLT  tail;                         \
loop:                                  \
	PREF;                              \
	LOAD(0, T0);                       \
	LOAD(wb, T1);                      \
	LOAD(2*wb, T2);                    \
	LOAD(3*wb, T3);                    \
	VFMADD231PS (DI), T0, V0;          \
	VFMADD231PS (4*vn)(DI), T1, V1;    \
	VFMADD231PS (8*vn)(DI), T2, V2;    \
	VFMADD231PS (12*vn)(DI), T3, V3;   \
	ADDQ $(4*wb), SI;                  \
	ADDQ $(16*vn), DI;                 \
	SUBQ $(4*vn), CX;                  \
	JGE  loop;                         \
tail:                                  \
	ADDQ $(4*vn), CX;                  \
	JEQ  done;                         \
more:                                  \
	LOAD(0, T0);                       \
	VFMADD231PS (DI), T0, V0;          \
	ADDQ $wb, SI;                      \
	ADDQ $(4*vn), DI;                  \
	SUBQ $vn, CX;                      \
	JNZ  more;                         \
done:

#define LOADF32Y(o, r) VMOVUPS o(SI), r
#define LOADF16Y(o, r) VCVTPH2PS o(SI), r
#define LOADBF16Y(o, r) VPMOVZXWD o(SI), r; VPSLLD $16, r, r
#define LOADF32Z(o, r) VMOVUPS o(SI), r
#define LOADF16Z(o, r) VCVTPH2PS o(SI), r
#define LOADBF16Z(o, r) VPMOVZXWD o(SI), r; VPSLLD $16, r, r

#define DOTARGS \
	MOVQ a+0(FP), SI;   \
	MOVQ b+8(FP), DI;   \
	MOVQ n+16(FP), CX;  \
	VXORPS Y0, Y0, Y0;  \
	VXORPS Y1, Y1, Y1;  \
	VXORPS Y2, Y2, Y2;  \
	VXORPS Y3, Y3, Y3

#define DOTARGSZ \
	MOVQ a+0(FP), SI;   \
	MOVQ b+8(FP), DI;   \
	MOVQ n+16(FP), CX;  \
	VPXORD Z0, Z0, Z0;  \
	VPXORD Z1, Z1, Z1;  \
	VPXORD Z2, Z2, Z2;  \
	VPXORD Z3, Z3, Z3

// func dotF32AVX2(a, b *byte, n int) float32
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-28
	DOTARGS
	DOTLOOP(LOADF32Y, PF2, 32, 8, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	FSUM8
	MOVSS X0, ret+24(FP)
	RET

// func dotF16AVX2(a, b *byte, n int) float32
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-28
	DOTARGS
	DOTLOOP(LOADF16Y, PF1, 16, 8, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	FSUM8
	MOVSS X0, ret+24(FP)
	RET

// func dotBF16AVX2(a, b *byte, n int) float32
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-28
	DOTARGS
	DOTLOOP(LOADBF16Y, PF1, 16, 8, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	FSUM8
	MOVSS X0, ret+24(FP)
	RET

// func dotF32AVX512(a, b *byte, n int) float32
TEXT ·dotF32AVX512(SB), NOSPLIT, $0-28
	DOTARGSZ
	DOTLOOP(LOADF32Z, PF4, 64, 16, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	FSUM16
	MOVSS X0, ret+24(FP)
	RET

// func dotF16AVX512(a, b *byte, n int) float32
TEXT ·dotF16AVX512(SB), NOSPLIT, $0-28
	DOTARGSZ
	DOTLOOP(LOADF16Z, PF2, 32, 16, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	FSUM16
	MOVSS X0, ret+24(FP)
	RET

// func dotBF16AVX512(a, b *byte, n int) float32
TEXT ·dotBF16AVX512(SB), NOSPLIT, $0-28
	DOTARGSZ
	DOTLOOP(LOADBF16Z, PF2, 32, 16, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	FSUM16
	MOVSS X0, ret+24(FP)
	RET

// func axpyF32AVX2(dst, x *byte, a float32, n int)
//
// dst[i] = a·x[i] + dst[i], fused, for n (a multiple of 8) elements.
TEXT ·axpyF32AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	VBROADCASTSS a+16(FP), Y15
	MOVQ n+24(FP), CX
	SUBQ $32, CX
	JLT  tail

loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VFMADD213PS (DI), Y15, Y0
	VFMADD213PS 32(DI), Y15, Y1
	VFMADD213PS 64(DI), Y15, Y2
	VFMADD213PS 96(DI), Y15, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JGE  loop

tail:
	ADDQ $32, CX
	JEQ  done

more:
	VMOVUPS (SI), Y0
	VFMADD213PS (DI), Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  more

done:
	VZEROUPPER
	RET

// func scaleF32AVX2(x *byte, s float32, n int)
//
// x[i] *= s for n (a multiple of 8) elements.
TEXT ·scaleF32AVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	VBROADCASTSS s+8(FP), Y15
	MOVQ n+16(FP), CX
	SUBQ $32, CX
	JLT  tail

loop:
	VMULPS (DI), Y15, Y0
	VMULPS 32(DI), Y15, Y1
	VMULPS 64(DI), Y15, Y2
	VMULPS 96(DI), Y15, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, DI
	SUBQ $32, CX
	JGE  loop

tail:
	ADDQ $32, CX
	JEQ  done

more:
	VMULPS (DI), Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  more

done:
	VZEROUPPER
	RET
