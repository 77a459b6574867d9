//go:build !purego

#include "textflag.h"

// Dot-product kernels for the 32-element block types (weights Q8_0, Q4_0,
// Q5_0 against Q8_0 activations; Q4_1, Q5_1 against Q8_1) and the Q8_0
// activation quantiser. simd32_amd64.go describes the contracts.
//
// Every kernel takes (x = weight blocks, y = activation blocks, nb = number
// of blocks, nb ≥ 0) and returns float32. Within a block the 32 products
// are summed exactly in int32; each block's sum is scaled by d_x·d_y
// (rounded to float32, as ggml and the portable kernels do) and added to
// float32 accumulators.
//
// The AVX2 kernels follow ggml's pattern for a signed × signed byte dot
// product: VPMADDUBSW(|x|, sign(y, x)) then VPMADDWD with ones. That is
// exact while y holds no -128 (|x| ≤ 128, |y| ≤ 127: a pair sum is at most
// 32512, below the int16 limit); the activation quantiser gives -128 only
// for non-finite inputs. Four blocks run per iteration: their eight int32
// lanes are folded with VPHADDD into [b0 b1 b2 b3 | b0 b1 b2 b3] and
// multiplied by the four scales at once.

// Register conventions of the AVX2 kernels: Y0, Y1 float accumulators;
// Y2–Y5 per-block int32 sums; Y6, Y7 temporaries; Y8, Y9 scales;
// Y10–Y15 constants.

DATA c32<>+0(SB)/4, $0x0f0f0f0f   // low nibble mask
DATA c32<>+4(SB)/4, $0x08080808   // Q4_0 offset
DATA c32<>+8(SB)/4, $0xf0f0f0f0   // Q5_0: −16 for a clear fifth bit
DATA c32<>+12(SB)/4, $0x10101010  // Q5_1: +16 for a set fifth bit
DATA c32<>+16(SB)/4, $0x00010001  // int16 ones
DATA c32<>+20(SB)/4, $127.0
DATA c32<>+24(SB)/4, $1.0
DATA c32<>+28(SB)/4, $0x7fffffff  // float32 magnitude mask
GLOBL c32<>(SB), RODATA|NOPTR, $32

// bitshuf<> spreads a 32-bit word over 32 bytes (byte k gets byte k/8 of the
// word); bitsel<> then picks bit k%8 of byte k.
DATA bitshuf<>+0(SB)/8, $0x0000000000000000
DATA bitshuf<>+8(SB)/8, $0x0101010101010101
DATA bitshuf<>+16(SB)/8, $0x0202020202020202
DATA bitshuf<>+24(SB)/8, $0x0303030303030303
GLOBL bitshuf<>(SB), RODATA|NOPTR, $32

DATA bitsel<>+0(SB)/8, $0x8040201008040201
DATA bitsel<>+8(SB)/8, $0x8040201008040201
DATA bitsel<>+16(SB)/8, $0x8040201008040201
DATA bitsel<>+24(SB)/8, $0x8040201008040201
GLOBL bitsel<>(SB), RODATA|NOPTR, $32

// evens<> gathers lanes 0, 2, 4, 6 into both halves (VPERMPS index); odds<>
// keeps lanes 1, 3, 5, 7 (mask).
DATA evens<>+0(SB)/4, $0
DATA evens<>+4(SB)/4, $2
DATA evens<>+8(SB)/4, $4
DATA evens<>+12(SB)/4, $6
DATA evens<>+16(SB)/4, $0
DATA evens<>+20(SB)/4, $2
DATA evens<>+24(SB)/4, $4
DATA evens<>+28(SB)/4, $6
GLOBL evens<>(SB), RODATA|NOPTR, $32

DATA odds<>+0(SB)/8, $0xffffffff00000000
DATA odds<>+8(SB)/8, $0xffffffff00000000
DATA odds<>+16(SB)/8, $0xffffffff00000000
DATA odds<>+24(SB)/8, $0xffffffff00000000
GLOBL odds<>(SB), RODATA|NOPTR, $32

// packperm<> undoes the lane interleaving of VPACKSSDW+VPACKSSWB.
DATA packperm<>+0(SB)/4, $0
DATA packperm<>+4(SB)/4, $4
DATA packperm<>+8(SB)/4, $1
DATA packperm<>+12(SB)/4, $5
DATA packperm<>+16(SB)/4, $2
DATA packperm<>+20(SB)/4, $6
DATA packperm<>+24(SB)/4, $3
DATA packperm<>+28(SB)/4, $7
GLOBL packperm<>(SB), RODATA|NOPTR, $32

// SIGNDOT: r (32 signed bytes of x) · the 32 signed bytes at ym → 8 int32
// in r. t is clobbered. Y15 holds int16 ones.
#define SIGNDOT(ym, r, t) \
	VMOVDQU ym, t;         \
	VPSIGNB r, t, t;       \
	VPABSB r, r;           \
	VPMADDUBSW t, r, r;    \
	VPMADDWD Y15, r, r

// UDOT: r (32 unsigned bytes, each < 128) · the signed bytes at ym → 8
// int32 in r.
#define UDOT(ym, r) \
	VPMADDUBSW ym, r, r; \
	VPMADDWD Y15, r, r

// NIBBLES: the 16 bytes at m → 32 bytes in yr: low nibbles then high
// nibbles (elements 0–15 and 16–31 of a block). xt is clobbered; Y14 holds
// 0x0f bytes.
#define NIBBLES(m, xr, yr, xt) \
	VMOVDQU m, xr;              \
	VPSRLW $4, xr, xt;          \
	VINSERTI128 $1, xt, yr, yr; \
	VPAND Y14, yr, yr

// HIBITS: the 32-bit word at m → 32 bytes in yt, 0xff where bit k is set.
// Y13 holds bitshuf, Y12 bitsel.
#define HIBITS(m, yt) \
	VPBROADCASTD m, yt;  \
	VPSHUFB Y13, yt, yt; \
	VPAND Y12, yt, yt;   \
	VPCMPEQB Y12, yt, yt

// FOLD4: int32 sums of four blocks in Y2–Y5 → float32 [b0 b1 b2 b3 | b0 b1
// b2 b3] in Y2, then acc += Y2 · scales.
#define FOLD4(scales, acc) \
	VPHADDD Y3, Y2, Y2;         \
	VPHADDD Y5, Y4, Y4;         \
	VPHADDD Y4, Y2, Y2;         \
	VCVTDQ2PS Y2, Y2;           \
	VFMADD231PS scales, Y2, acc

// HSUM: the eight lanes of Y0 → X0 lane 0.
#define HSUM \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0;       \
	VPSHUFD $0x4e, X0, X1;   \
	VADDPS X1, X0, X0;       \
	VPSHUFD $0xb1, X0, X1;   \
	VADDSS X1, X0, X0

// SCALES4: four fp16 scales at stride sx from SI and four at stride sy
// from DI → their products, in both halves of Y8. Clobbers X9.
#define SCALES4(sx, sy) \
	MOVWLZX (SI), AX;                      \
	MOVWLZX (DI), BX;                      \
	VMOVD AX, X8;                          \
	VMOVD BX, X9;                          \
	VPINSRW $1, (1*sx)(SI), X8, X8;        \
	VPINSRW $1, (1*sy)(DI), X9, X9;        \
	VPINSRW $2, (2*sx)(SI), X8, X8;        \
	VPINSRW $2, (2*sy)(DI), X9, X9;        \
	VPINSRW $3, (3*sx)(SI), X8, X8;        \
	VPINSRW $3, (3*sy)(DI), X9, X9;        \
	VCVTPH2PS X8, X8;                      \
	VCVTPH2PS X9, X9;                      \
	VMULPS X9, X8, X8;                     \
	VINSERTF128 $1, X8, Y8, Y8

// SCALE1: the product of the fp16 scales at (SI) and (DI), broadcast to Y8.
#define SCALE1 \
	MOVWLZX (SI), AX;            \
	VMOVD AX, X8;                \
	VPINSRW $1, (DI), X8, X8;    \
	VCVTPH2PS X8, X8;            \
	VMOVSHDUP X8, X9;            \
	VMULSS X9, X8, X8;           \
	VBROADCASTSS X8, Y8

#define INTCONSTS \
	VPBROADCASTD c32<>+16(SB), Y15; \
	VPBROADCASTD c32<>+0(SB), Y14

#define ZEROACC \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1

// RESULT: Y0 + Y1 → X0 lane 0; the caller stores it and returns.
#define RESULT \
	VADDPS Y1, Y0, Y0; \
	HSUM;              \
	VZEROUPPER

// func dotQ8_0AVX2(x, y *byte, nb int) float32
TEXT ·dotQ8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	ZEROACC
	INTCONSTS

q80loop:
	CMPQ CX, $4
	JLT  q80tail
	SCALES4(34, 34)
	VPABSB 2(SI), Y2
	VPABSB 36(SI), Y3
	VPABSB 70(SI), Y4
	VPABSB 104(SI), Y5
	VMOVDQU 2(DI), Y6
	VMOVDQU 36(DI), Y7
	VPSIGNB 2(SI), Y6, Y6
	VPSIGNB 36(SI), Y7, Y7
	VPMADDUBSW Y6, Y2, Y2
	VPMADDUBSW Y7, Y3, Y3
	VMOVDQU 70(DI), Y6
	VMOVDQU 104(DI), Y7
	VPSIGNB 70(SI), Y6, Y6
	VPSIGNB 104(SI), Y7, Y7
	VPMADDUBSW Y6, Y4, Y4
	VPMADDUBSW Y7, Y5, Y5
	VPMADDWD Y15, Y2, Y2
	VPMADDWD Y15, Y3, Y3
	VPMADDWD Y15, Y4, Y4
	VPMADDWD Y15, Y5, Y5
	FOLD4(Y8, Y0)
	ADDQ $136, SI
	ADDQ $136, DI
	SUBQ $4, CX
	JMP  q80loop

q80tail:
	TESTQ CX, CX
	JEQ   q80done
	SCALE1
	VMOVDQU 2(SI), Y2
	SIGNDOT(2(DI), Y2, Y6)
	VCVTDQ2PS Y2, Y2
	VFMADD231PS Y8, Y2, Y1
	ADDQ $34, SI
	ADDQ $34, DI
	DECQ CX
	JMP  q80tail

q80done:
	RESULT
	MOVSS X0, ret+24(FP)
	RET

// Q40X: Q4_0 weights at offset o of SI → 32 signed bytes in yr.
#define Q40X(o, xr, yr, xt) \
	NIBBLES(o+2(SI), xr, yr, xt); \
	VPSUBB Y13, yr, yr

// func dotQ4_0AVX2(x, y *byte, nb int) float32
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	ZEROACC
	INTCONSTS
	VPBROADCASTD c32<>+4(SB), Y13

q40loop:
	CMPQ CX, $4
	JLT  q40tail
	SCALES4(18, 34)
	Q40X(0, X2, Y2, X6)
	Q40X(18, X3, Y3, X7)
	SIGNDOT(2(DI), Y2, Y6)
	SIGNDOT(36(DI), Y3, Y7)
	Q40X(36, X4, Y4, X6)
	Q40X(54, X5, Y5, X7)
	SIGNDOT(70(DI), Y4, Y6)
	SIGNDOT(104(DI), Y5, Y7)
	FOLD4(Y8, Y0)
	ADDQ $72, SI
	ADDQ $136, DI
	SUBQ $4, CX
	JMP  q40loop

q40tail:
	TESTQ CX, CX
	JEQ   q40done
	SCALE1
	Q40X(0, X2, Y2, X6)
	SIGNDOT(2(DI), Y2, Y6)
	VCVTDQ2PS Y2, Y2
	VFMADD231PS Y8, Y2, Y1
	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JMP  q40tail

q40done:
	RESULT
	MOVSS X0, ret+24(FP)
	RET

// Q50X: Q5_0 weights at offset o of SI → 32 signed bytes in yr: a set
// fifth bit keeps the nibble (n+16−16), a clear one ORs in 0xf0 (n−16).
#define Q50X(o, xr, yr, xt, yt) \
	NIBBLES(o+6(SI), xr, yr, xt); \
	HIBITS(o+2(SI), yt);          \
	VPANDN Y11, yt, yt;           \
	VPOR yt, yr, yr

// func dotQ5_0AVX2(x, y *byte, nb int) float32
TEXT ·dotQ5_0AVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	ZEROACC
	INTCONSTS
	VMOVDQU bitshuf<>(SB), Y13
	VMOVDQU bitsel<>(SB), Y12
	VPBROADCASTD c32<>+8(SB), Y11

q50loop:
	CMPQ CX, $4
	JLT  q50tail
	SCALES4(22, 34)
	Q50X(0, X2, Y2, X6, Y6)
	Q50X(22, X3, Y3, X7, Y7)
	SIGNDOT(2(DI), Y2, Y6)
	SIGNDOT(36(DI), Y3, Y7)
	Q50X(44, X4, Y4, X6, Y6)
	Q50X(66, X5, Y5, X7, Y7)
	SIGNDOT(70(DI), Y4, Y6)
	SIGNDOT(104(DI), Y5, Y7)
	FOLD4(Y8, Y0)
	ADDQ $88, SI
	ADDQ $136, DI
	SUBQ $4, CX
	JMP  q50loop

q50tail:
	TESTQ CX, CX
	JEQ   q50done
	SCALE1
	Q50X(0, X2, Y2, X6, Y6)
	SIGNDOT(2(DI), Y2, Y6)
	VCVTDQ2PS Y2, Y2
	VFMADD231PS Y8, Y2, Y1
	ADDQ $22, SI
	ADDQ $34, DI
	DECQ CX
	JMP  q50tail

q50done:
	RESULT
	MOVSS X0, ret+24(FP)
	RET

// SCALES4M: four (d, m) fp16 pairs at stride sx from SI and four (d, s)
// pairs at stride sy from DI → Y8 = [dd0 ms0 dd1 ms1 dd2 ms2 dd3 ms3]
// (dd = dx·dy, ms = mx·sy), Y9 = [dd0 dd1 dd2 dd3 | dd0 dd1 dd2 dd3].
// Y10 holds evens<>.
#define SCALES4M(sx, sy) \
	VMOVD (SI), X8;                  \
	VMOVD (DI), X9;                  \
	VPINSRD $1, (1*sx)(SI), X8, X8;  \
	VPINSRD $1, (1*sy)(DI), X9, X9;  \
	VPINSRD $2, (2*sx)(SI), X8, X8;  \
	VPINSRD $2, (2*sy)(DI), X9, X9;  \
	VPINSRD $3, (3*sx)(SI), X8, X8;  \
	VPINSRD $3, (3*sy)(DI), X9, X9;  \
	VCVTPH2PS X8, Y8;                \
	VCVTPH2PS X9, Y9;                \
	VMULPS Y9, Y8, Y8;               \
	VPERMPS Y8, Y10, Y9

// SCALE1M: one (d, m) pair at SI and (d, s) at DI → Y8 = [dd ms 0 …],
// Y9 = dd broadcast.
#define SCALE1M \
	VMOVD (SI), X8;      \
	VMOVD (DI), X9;      \
	VCVTPH2PS X8, X8;    \
	VCVTPH2PS X9, X9;    \
	VMULPS X9, X8, X8;   \
	VBROADCASTSS X8, Y9

// RESULTM: Y0 + the odd lanes of Y1 (the min terms) → the result.
#define RESULTM \
	VANDPS odds<>(SB), Y1, Y1; \
	RESULT

// func dotQ4_1AVX2(x, y *byte, nb int) float32
TEXT ·dotQ4_1AVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	ZEROACC
	INTCONSTS
	VMOVDQU evens<>(SB), Y10

q41loop:
	CMPQ CX, $4
	JLT  q41tail
	SCALES4M(20, 36)
	VADDPS Y8, Y1, Y1
	NIBBLES(4(SI), X2, Y2, X6)
	NIBBLES(24(SI), X3, Y3, X7)
	UDOT(4(DI), Y2)
	UDOT(40(DI), Y3)
	NIBBLES(44(SI), X4, Y4, X6)
	NIBBLES(64(SI), X5, Y5, X7)
	UDOT(76(DI), Y4)
	UDOT(112(DI), Y5)
	FOLD4(Y9, Y0)
	ADDQ $80, SI
	ADDQ $144, DI
	SUBQ $4, CX
	JMP  q41loop

q41tail:
	TESTQ CX, CX
	JEQ   q41done
	SCALE1M
	VADDPS Y8, Y1, Y1
	NIBBLES(4(SI), X2, Y2, X6)
	UDOT(4(DI), Y2)
	VCVTDQ2PS Y2, Y2
	VFMADD231PS Y9, Y2, Y0
	ADDQ $20, SI
	ADDQ $36, DI
	DECQ CX
	JMP  q41tail

q41done:
	RESULTM
	MOVSS X0, ret+24(FP)
	RET

// Q51X: Q5_1 weights at offset o of SI → 32 unsigned bytes (0–31) in yr.
#define Q51X(o, xr, yr, xt, yt) \
	NIBBLES(o+8(SI), xr, yr, xt); \
	HIBITS(o+4(SI), yt);          \
	VPAND Y11, yt, yt;            \
	VPOR yt, yr, yr

// func dotQ5_1AVX2(x, y *byte, nb int) float32
TEXT ·dotQ5_1AVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	ZEROACC
	INTCONSTS
	VMOVDQU bitshuf<>(SB), Y13
	VMOVDQU bitsel<>(SB), Y12
	VPBROADCASTD c32<>+12(SB), Y11
	VMOVDQU evens<>(SB), Y10

q51loop:
	CMPQ CX, $4
	JLT  q51tail
	SCALES4M(24, 36)
	VADDPS Y8, Y1, Y1
	Q51X(0, X2, Y2, X6, Y6)
	Q51X(24, X3, Y3, X7, Y7)
	UDOT(4(DI), Y2)
	UDOT(40(DI), Y3)
	Q51X(48, X4, Y4, X6, Y6)
	Q51X(72, X5, Y5, X7, Y7)
	UDOT(76(DI), Y4)
	UDOT(112(DI), Y5)
	FOLD4(Y9, Y0)
	ADDQ $96, SI
	ADDQ $144, DI
	SUBQ $4, CX
	JMP  q51loop

q51tail:
	TESTQ CX, CX
	JEQ   q51done
	SCALE1M
	VADDPS Y8, Y1, Y1
	Q51X(0, X2, Y2, X6, Y6)
	UDOT(4(DI), Y2)
	VCVTDQ2PS Y2, Y2
	VFMADD231PS Y9, Y2, Y0
	ADDQ $24, SI
	ADDQ $36, DI
	DECQ CX
	JMP  q51tail

q51done:
	RESULTM
	MOVSS X0, ret+24(FP)
	RET

// func quantQ8_0AVX2(x *float32, dst *byte, nb int)
//
// Per block: amax = the largest |x| ignoring NaNs (VMAXPS returns its
// second source when the first is NaN, so the data goes first and the
// running maximum second), d = amax/127, id = 1/d or 0, q = x·id rounded
// half away from zero: t = trunc(v), then t + trunc(2·(v − t)), all exact
// for |v| < 2^23. NaN and ±Inf convert to INT_MIN and saturate to −128,
// as the portable quantiser's int conversion and clamp give.
TEXT ·quantQ8_0AVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ nb+16(FP), CX
	VBROADCASTSS c32<>+28(SB), Y15 // magnitude mask
	VMOVDQU packperm<>(SB), Y14
	VMOVSS c32<>+20(SB), X13       // 127
	VMOVSS c32<>+24(SB), X12       // 1

qq8loop:
	TESTQ CX, CX
	JEQ   qq8done
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VXORPS Y4, Y4, Y4
	VANDPS Y15, Y0, Y5
	VMAXPS Y4, Y5, Y4
	VANDPS Y15, Y1, Y5
	VMAXPS Y4, Y5, Y4
	VANDPS Y15, Y2, Y5
	VMAXPS Y4, Y5, Y4
	VANDPS Y15, Y3, Y5
	VMAXPS Y4, Y5, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X5, X4, X4
	VPSHUFD $0x4e, X4, X5
	VMAXPS X5, X4, X4
	VPSHUFD $0xb1, X4, X5
	VMAXPS X5, X4, X4    // amax in every lane
	VDIVSS X13, X4, X4   // d = amax / 127
	VCVTPS2PH $0, X4, X5
	VMOVD X5, AX
	MOVW AX, (DI)
	VDIVSS X4, X12, X5   // 1/d
	VXORPS X6, X6, X6
	VCMPSS $4, X6, X4, X6 // d != 0
	VANDPS X6, X5, X5
	VBROADCASTSS X5, Y5  // id

	VMULPS Y5, Y0, Y0
	VMULPS Y5, Y1, Y1
	VMULPS Y5, Y2, Y2
	VMULPS Y5, Y3, Y3
	VROUNDPS $3, Y0, Y6
	VROUNDPS $3, Y1, Y7
	VROUNDPS $3, Y2, Y8
	VROUNDPS $3, Y3, Y9
	VSUBPS Y6, Y0, Y0
	VSUBPS Y7, Y1, Y1
	VSUBPS Y8, Y2, Y2
	VSUBPS Y9, Y3, Y3
	VADDPS Y0, Y0, Y0
	VADDPS Y1, Y1, Y1
	VADDPS Y2, Y2, Y2
	VADDPS Y3, Y3, Y3
	VROUNDPS $3, Y0, Y0
	VROUNDPS $3, Y1, Y1
	VROUNDPS $3, Y2, Y2
	VROUNDPS $3, Y3, Y3
	VADDPS Y6, Y0, Y0
	VADDPS Y7, Y1, Y1
	VADDPS Y8, Y2, Y2
	VADDPS Y9, Y3, Y3
	VCVTTPS2DQ Y0, Y0
	VCVTTPS2DQ Y1, Y1
	VCVTTPS2DQ Y2, Y2
	VCVTTPS2DQ Y3, Y3
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y14, Y0
	VMOVDQU Y0, 2(DI)
	ADDQ $128, SI
	ADDQ $34, DI
	DECQ CX
	JMP  qq8loop

qq8done:
	VZEROUPPER
	RET
