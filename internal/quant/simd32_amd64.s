//go:build !purego

#include "textflag.h"

// Dot-product kernels for the 32-element block types (weights Q8_0, Q4_0,
// Q5_0 against Q8_0 activations; Q4_1, Q5_1 against Q8_1) and the Q8_0
// activation quantiser. simd32_amd64.go states the contracts.
//
// Every kernel takes (x = weight blocks, y = activation blocks, nb = number
// of blocks ≥ 0) and returns float32. Within a block the 32 products are
// summed exactly in int32; each block's sum is scaled by dx·dy (rounded to
// float32, as ggml and the portable kernels do) and added to float32
// accumulators in whatever order suits the vector lanes.
//
// Signed weights against signed activations (Q8_0) use ggml's pattern:
// |x| (unsigned) times sign(y, x) (signed), by VPMADDUBSW + VPMADDWD(ones)
// on AVX2 or one VPDPBUSD with AVX-512 VNNI. Nibble weights stay unsigned
// (n for Q4, n + 16·h for Q5) and their offset (8 or 16) comes off as a
// second product with the offset: VPMADDUBSW(8, y) subtracted in int16 on
// AVX2, VPDPBUSD(offset, −y) accumulated on VNNI. All of it is exact while
// y holds no -128 (|x| ≤ 128, |y| ≤ 127: a VPMADDUBSW pair sum is at most
// 32512, inside int16, and −y still fits a byte); the activation quantiser
// gives -128 only for non-finite inputs. Q4_1 and Q5_1 weights go straight
// in as the unsigned operand.
//
// Four blocks run per iteration: their 8-lane int32 sums are folded by
// unpack-and-add into [b0 b1 b2 b3 | b0 b1 b2 b3] (each lane holding half
// a block) and multiplied by the four scales at once. The VNNI variants
// unpack Q4 nibbles without a shift: a broadcast 16-byte row ANDed with
// nib16 is [low nibbles | 16 · high nibbles], and the fold's high half is
// then scaled by 1/16 (exact). They use 256-bit EVEX instructions only: on
// Intel cores a 512-bit µop in flight shuts port 1's vector ALU, which
// costs more here than the wider registers gain (measured).
//
// Every kernel prefetches PF bytes ahead of the weights (into L2): rows of
// a matrix are contiguous, so this runs ahead into the next rows and keeps
// more DRAM reads in flight than the hardware prefetcher alone: on the
// development VM (Intel Xeon, AVX-512) one thread over a 570 MB matrix went
// from 10.1 to 11.5 GB/s for Q8_0 and from 4.2 to 9.8 GB/s for Q4_0.
#define PF 4096

// Registers: Y0, Y1 float accumulators; Y2–Y5 weight bytes of four blocks
// (and their sums on AVX2); Y6, Y7 temporaries; Y8, Y9 scales; Y10–Y15
// constants; the VNNI variants keep sums in Y16–Y19 and fold with Y20, Y21.

DATA c32<>+0(SB)/4, $0x0f0f0f0f  // low nibble mask
DATA c32<>+4(SB)/4, $0x08080808  // Q4_0 offset
DATA c32<>+8(SB)/4, $0xf0f0f0f0  // Q5_0: −16 for a clear fifth bit
DATA c32<>+12(SB)/4, $0x10101010 // Q5_1: +16 for a set fifth bit
DATA c32<>+16(SB)/4, $0x00010001 // int16 ones
DATA c32<>+20(SB)/4, $127.0
DATA c32<>+24(SB)/4, $1.0
DATA c32<>+28(SB)/4, $0x7fffffff // float32 magnitude mask
GLOBL c32<>(SB), RODATA|NOPTR, $32

// bitshuf<> spreads a 32-bit word over 32 bytes (byte k gets byte k/8 of
// the word); bitsel<> then picks bit k%8 of byte k.
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

// evens<> gathers lanes 0, 2, 4, 6 into both halves (a VPERMPS index);
// odds<> keeps lanes 1, 3, 5, 7 (a mask).
DATA evens<>+0(SB)/8, $0x0000000200000000
DATA evens<>+8(SB)/8, $0x0000000600000004
DATA evens<>+16(SB)/8, $0x0000000200000000
DATA evens<>+24(SB)/8, $0x0000000600000004
GLOBL evens<>(SB), RODATA|NOPTR, $32

DATA odds<>+0(SB)/8, $0xffffffff00000000
DATA odds<>+8(SB)/8, $0xffffffff00000000
DATA odds<>+16(SB)/8, $0xffffffff00000000
DATA odds<>+24(SB)/8, $0xffffffff00000000
GLOBL odds<>(SB), RODATA|NOPTR, $32

// nib16<> keeps the low nibbles in the low 128 bits and the high nibbles
// (times 16) in the high 128 bits of a broadcast 16-byte row; off16<> is
// the matching Q4_0 offset (8, and 8·16); unscale16<> brings the high half's
// sums back down (1, and 1/16: exact, as every scale product is far from
// the float32 subnormals).
DATA nib16<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib16<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib16<>+16(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA nib16<>+24(SB)/8, $0xf0f0f0f0f0f0f0f0
GLOBL nib16<>(SB), RODATA|NOPTR, $32

DATA off16<>+0(SB)/8, $0x0808080808080808
DATA off16<>+8(SB)/8, $0x0808080808080808
DATA off16<>+16(SB)/8, $0x8080808080808080
DATA off16<>+24(SB)/8, $0x8080808080808080
GLOBL off16<>(SB), RODATA|NOPTR, $32

DATA unscale16<>+0(SB)/4, $1.0
DATA unscale16<>+4(SB)/4, $1.0
DATA unscale16<>+8(SB)/4, $1.0
DATA unscale16<>+12(SB)/4, $1.0
DATA unscale16<>+16(SB)/4, $0.0625
DATA unscale16<>+20(SB)/4, $0.0625
DATA unscale16<>+24(SB)/4, $0.0625
DATA unscale16<>+28(SB)/4, $0.0625
GLOBL unscale16<>(SB), RODATA|NOPTR, $32

// hishift<> shifts the high 128 bits' words right by 4 (VPSRLVW counts).
DATA hishift<>+0(SB)/8, $0
DATA hishift<>+8(SB)/8, $0
DATA hishift<>+16(SB)/8, $0x0004000400040004
DATA hishift<>+24(SB)/8, $0x0004000400040004
GLOBL hishift<>(SB), RODATA|NOPTR, $32

// packperm<> undoes the lane interleaving of VPACKSSDW + VPACKSSWB.
DATA packperm<>+0(SB)/8, $0x0000000400000000
DATA packperm<>+8(SB)/8, $0x0000000500000001
DATA packperm<>+16(SB)/8, $0x0000000600000002
DATA packperm<>+24(SB)/8, $0x0000000700000003
GLOBL packperm<>(SB), RODATA|NOPTR, $32

// ---- building blocks ----

// SDOT2 / SDOTV: xr (32 signed weight bytes) · the 32 signed activation
// bytes at ym → 8 int32 in res. xr and t are clobbered. SDOT2 needs int16
// ones in Y15.
#define SDOT2(ym, xr, t, res) \
	VMOVDQU ym, t;         \
	VPSIGNB xr, t, t;      \
	VPABSB xr, xr;         \
	VPMADDUBSW t, xr, xr;  \
	VPMADDWD Y15, xr, res

#define SDOTV(ym, xr, t, res) \
	VMOVDQU ym, t;          \
	VPSIGNB xr, t, t;       \
	VPABSB xr, xr;          \
	VPXORD res, res, res;   \
	VPDPBUSD t, xr, res

// UDOT2: xr (32 weight bytes, each < 128) · the signed bytes at ym → 8
// int32 in res. xr is clobbered.
#define UDOT2(ym, xr, res) \
	VPMADDUBSW ym, xr, xr; \
	VPMADDWD Y15, xr, res

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

// Q5U: the Q5 nibbles at mq and fifth bits at mh → 32 unsigned bytes
// n + 16·h in t (AVX-512 BW/VL: the 32 fifth bits are a byte mask as they
// stand). k is clobbered; Y14 holds 0x0f bytes, Y11 0x10 bytes, Y10
// hishift.
#define Q5U(mq, mh, t, k) \
	VBROADCASTI128 mq, t; \
	VPSRLVW Y10, t, t;    \
	VPAND Y14, t, t;      \
	KMOVD mh, k;          \
	VPADDB Y11, t, k, t

// FOLD4: the int32 sums of four blocks in a, b, c, d → float32 [b0 b1 b2
// b3 | b0 b1 b2 b3] (each lane half of a block's sum) in a, then
// acc += a · scales. t, u are clobbered.
#define FOLD4(a, b, c, d, t, u, scales, acc) \
	VPUNPCKLDQ b, a, t;      \
	VPUNPCKHDQ b, a, a;      \
	VPUNPCKLDQ d, c, u;      \
	VPUNPCKHDQ d, c, c;      \
	VPADDD t, a, a;          \
	VPADDD u, c, c;          \
	VPUNPCKLQDQ c, a, t;     \
	VPUNPCKHQDQ c, a, a;     \
	VPADDD t, a, a;          \
	VCVTDQ2PS a, a;          \
	VFMADD231PS scales, a, acc

// HSUM: the eight lanes of Y0 → X0 lane 0.
#define HSUM \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0;       \
	VPSHUFD $0x4e, X0, X1;   \
	VADDPS X1, X0, X0;       \
	VPSHUFD $0xb1, X0, X1;   \
	VADDSS X1, X0, X0

// SCALES4: four fp16 scales at stride sx from SI and four at stride sy
// from DI → their products, in both halves of Y8. Clobbers X9. The first
// load takes two bytes of the block too; VPINSRW $1 overwrites them.
#define SCALES4(sx, sy) \
	VMOVD (SI), X8;                \
	VMOVD (DI), X9;                \
	VPINSRW $1, (1*sx)(SI), X8, X8; \
	VPINSRW $1, (1*sy)(DI), X9, X9; \
	VPINSRW $2, (2*sx)(SI), X8, X8; \
	VPINSRW $2, (2*sy)(DI), X9, X9; \
	VPINSRW $3, (3*sx)(SI), X8, X8; \
	VPINSRW $3, (3*sy)(DI), X9, X9; \
	VCVTPH2PS X8, X8;              \
	VCVTPH2PS X9, X9;              \
	VMULPS X9, X8, X8;             \
	VINSERTF128 $1, X8, Y8, Y8

// SCALE1: the product of the fp16 scales at (SI) and (DI), broadcast to Y8.
#define SCALE1 \
	VMOVD (SI), X8;            \
	VPINSRW $1, (DI), X8, X8;  \
	VCVTPH2PS X8, X8;          \
	VMOVSHDUP X8, X9;          \
	VMULSS X9, X8, X8;         \
	VBROADCASTSS X8, Y8

// SCALES4M: four (d, m) fp16 pairs at stride sx from SI and four (d, s)
// pairs at stride sy from DI → Y8 = [dd0 ms0 dd1 ms1 dd2 ms2 dd3 ms3]
// (dd = dx·dy, ms = mx·sy), Y9 = [dd0 dd1 dd2 dd3 | dd0 dd1 dd2 dd3].
// idx holds evens.
#define SCALES4M(sx, sy, idx) \
	VMOVD (SI), X8;                 \
	VMOVD (DI), X9;                 \
	VPINSRD $1, (1*sx)(SI), X8, X8; \
	VPINSRD $1, (1*sy)(DI), X9, X9; \
	VPINSRD $2, (2*sx)(SI), X8, X8; \
	VPINSRD $2, (2*sy)(DI), X9, X9; \
	VPINSRD $3, (3*sx)(SI), X8, X8; \
	VPINSRD $3, (3*sy)(DI), X9, X9; \
	VCVTPH2PS X8, Y8;               \
	VCVTPH2PS X9, Y9;               \
	VMULPS Y9, Y8, Y8;              \
	VPERMPS Y8, idx, Y9

// SCALE1M: one (d, m) pair at SI and (d, s) at DI → Y8 = [dd ms 0 …],
// Y9 = dd broadcast.
#define SCALE1M \
	VMOVD (SI), X8;    \
	VMOVD (DI), X9;    \
	VCVTPH2PS X8, X8;  \
	VCVTPH2PS X9, X9;  \
	VMULPS X9, X8, X8; \
	VBROADCASTSS X8, Y9

#define ARGS \
	MOVQ x+0(FP), SI;  \
	MOVQ y+8(FP), DI;  \
	MOVQ nb+16(FP), CX; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VPBROADCASTD c32<>+16(SB), Y15; \
	VPBROADCASTD c32<>+0(SB), Y14

// RESULT: Y0 + Y1 → X0 lane 0; the caller stores it and returns.
#define RESULT \
	VADDPS Y1, Y0, Y0; \
	HSUM;              \
	VZEROUPPER

// LOOP4 / TAIL1 frame a kernel body: LOOP4 runs body4 while four blocks
// are left, advancing SI by 4·sx and DI by 4·sy; TAIL1 runs body1 once per
// remaining block. Labels are per function, so each TEXT may use them.
#define LOOP4(sx, sy, body4) \
	SUBQ $4, CX;             \
	JLT  tail;               \
loop:                        \
	PREFETCHT1 PF(SI);       \
	PREFETCHT1 (PF+64)(SI);  \
	body4;                   \
	ADDQ $(4*sx), SI;        \
	ADDQ $(4*sy), DI;        \
	SUBQ $4, CX;             \
	JGE  loop;               \
tail:                        \
	ADDQ $4, CX

#define TAIL1(sx, sy, body1) \
	JEQ  done;         \
more:                  \
	body1;             \
	ADDQ $sx, SI;      \
	ADDQ $sy, DI;      \
	DECQ CX;           \
	JNZ  more;         \
done:

// ---- Q8_0 × Q8_0 ----

#define Q80BODY4(DOT, r0, r1, r2, r3, t0, t1) \
	SCALES4(34, 34);           \
	VMOVDQU 2(SI), Y2;         \
	VMOVDQU 36(SI), Y3;        \
	VMOVDQU 70(SI), Y4;        \
	VMOVDQU 104(SI), Y5;       \
	DOT(2(DI), Y2, Y6, r0);    \
	DOT(36(DI), Y3, Y7, r1);   \
	DOT(70(DI), Y4, Y6, r2);   \
	DOT(104(DI), Y5, Y7, r3);  \
	FOLD4(r0, r1, r2, r3, t0, t1, Y8, Y0)

#define Q80BODY1 \
	SCALE1;                    \
	VMOVDQU 2(SI), Y2;         \
	SDOT2(2(DI), Y2, Y6, Y2);  \
	VCVTDQ2PS Y2, Y2;          \
	VFMADD231PS Y8, Y2, Y1

// func dotQ8_0AVX2(x, y *byte, nb int) float32
TEXT ·dotQ8_0AVX2(SB), NOSPLIT, $0-28
	ARGS
	LOOP4(34, 34, Q80BODY4(SDOT2, Y2, Y3, Y4, Y5, Y6, Y7))
	TAIL1(34, 34, Q80BODY1)
	RESULT
	MOVSS X0, ret+24(FP)
	RET

// func dotQ8_0VNNI(x, y *byte, nb int) float32
TEXT ·dotQ8_0VNNI(SB), NOSPLIT, $0-28
	ARGS
	LOOP4(34, 34, Q80BODY4(SDOTV, Y16, Y17, Y18, Y19, Y20, Y21))
	TAIL1(34, 34, Q80BODY1)
	RESULT
	MOVSS X0, ret+24(FP)
	RET

// ---- Q4_0 × Q8_0 ----

// Q40X: Q4_0 weights at offset o of SI → 32 signed bytes in yr. Y13 holds
// 0x08 bytes.
#define Q40X(o, xr, yr, xt) \
	NIBBLES(o+2(SI), xr, yr, xt); \
	VPSUBB Y13, yr, yr

// The AVX2 variant keeps the nibbles unsigned and takes the offset off in
// int16: VPMADDUBSW(n, y) − VPMADDUBSW(8, y), each pair sum well inside
// int16. Y13 holds 0x08 bytes.
#define Q40A(o, yo, xr, yr, xt, t) \
	NIBBLES(o+2(SI), xr, yr, xt);  \
	VPMADDUBSW yo+2(DI), yr, yr;   \
	VPMADDUBSW yo+2(DI), Y13, t;   \
	VPSUBW t, yr, yr;              \
	VPMADDWD Y15, yr, yr

#define Q40BODY4 \
	SCALES4(18, 34);               \
	Q40A(0, 0, X2, Y2, X6, Y6);    \
	Q40A(18, 34, X3, Y3, X7, Y7);  \
	Q40A(36, 68, X4, Y4, X6, Y6);  \
	Q40A(54, 102, X5, Y5, X7, Y7); \
	FOLD4(Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y0)

#define Q40BODY1 \
	SCALE1;                    \
	Q40X(0, X2, Y2, X6);       \
	SDOT2(2(DI), Y2, Y6, Y2);  \
	VCVTDQ2PS Y2, Y2;          \
	VFMADD231PS Y8, Y2, Y1

#define Q40CONSTS \
	VPBROADCASTD c32<>+4(SB), Y13

// func dotQ4_0AVX2(x, y *byte, nb int) float32
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-28
	ARGS
	Q40CONSTS
	LOOP4(18, 34, Q40BODY4)
	TAIL1(18, 34, Q40BODY1)
	RESULT
	MOVSS X0, ret+24(FP)
	RET

// The VNNI variant skips the nibble shift: a broadcast row ANDed with
// nib16 gives [low nibbles | 16 · high nibbles], all unsigned, so that
// VPDPBUSD takes it directly; the offset 8 (8·16 above) comes off as a
// second VPDPBUSD with the negated activations, and the fold's high half
// is scaled by 1/16. Y13 holds nib16, Y12 off16, Y11 zero, Y10 unscale16.
#define Q40V(o, yo, r, t) \
	VBROADCASTI128 o+2(SI), t; \
	VPAND Y13, t, t;           \
	VPXORD r, r, r;            \
	VPDPBUSD yo+2(DI), t, r;   \
	VPSUBB yo+2(DI), Y11, t;   \
	VPDPBUSD t, Y12, r

#define Q40BODY4V \
	SCALES4(18, 34);           \
	VMULPS Y10, Y8, Y8;        \
	Q40V(0, 0, Y16, Y2);       \
	Q40V(18, 34, Y17, Y3);     \
	Q40V(36, 68, Y18, Y4);     \
	Q40V(54, 102, Y19, Y5);    \
	FOLD4(Y16, Y17, Y18, Y19, Y20, Y21, Y8, Y0)

// func dotQ4_0VNNI(x, y *byte, nb int) float32
TEXT ·dotQ4_0VNNI(SB), NOSPLIT, $0-28
	ARGS
	VMOVDQU nib16<>(SB), Y13
	VMOVDQU off16<>(SB), Y12
	VPXOR Y11, Y11, Y11
	VMOVUPS unscale16<>(SB), Y10
	LOOP4(18, 34, Q40BODY4V)
	Q40CONSTS
	TAIL1(18, 34, Q40BODY1)
	RESULT
	MOVSS X0, ret+24(FP)
	RET

// ---- Q5_0 × Q8_0 ----

// Q50X: Q5_0 weights at offset o of SI → 32 signed bytes in yr: a set
// fifth bit keeps the nibble (n + 16 − 16), a clear one ORs in 0xf0
// (n − 16). Y11 holds 0xf0 bytes.
#define Q50X(o, xr, yr, xt, yt) \
	NIBBLES(o+6(SI), xr, yr, xt); \
	HIBITS(o+2(SI), yt);          \
	VPANDN Y11, yt, yt;           \
	VPOR yt, yr, yr

#define Q50BODY4 \
	SCALES4(22, 34);              \
	Q50X(0, X2, Y2, X6, Y6);      \
	Q50X(22, X3, Y3, X7, Y7);     \
	SDOT2(2(DI), Y2, Y6, Y2);     \
	SDOT2(36(DI), Y3, Y7, Y3);    \
	Q50X(44, X4, Y4, X6, Y6);     \
	Q50X(66, X5, Y5, X7, Y7);     \
	SDOT2(70(DI), Y4, Y6, Y4);    \
	SDOT2(104(DI), Y5, Y7, Y5);   \
	FOLD4(Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y0)

#define Q50BODY1 \
	SCALE1;                       \
	Q50X(0, X2, Y2, X6, Y6);      \
	SDOT2(2(DI), Y2, Y6, Y2);     \
	VCVTDQ2PS Y2, Y2;             \
	VFMADD231PS Y8, Y2, Y1

#define Q50CONSTS \
	VMOVDQU bitshuf<>(SB), Y13; \
	VMOVDQU bitsel<>(SB), Y12;  \
	VPBROADCASTD c32<>+8(SB), Y11

// func dotQ5_0AVX2(x, y *byte, nb int) float32
TEXT ·dotQ5_0AVX2(SB), NOSPLIT, $0-28
	ARGS
	Q50CONSTS
	LOOP4(22, 34, Q50BODY4)
	TAIL1(22, 34, Q50BODY1)
	RESULT
	MOVSS X0, ret+24(FP)
	RET

// The VNNI variant builds n + 16·h unsigned (Q5U) and takes the offset 16
// off with a second VPDPBUSD against the negated activations. Y12 holds
// zero.
#define Q50V(o, yo, x, t, r, k) \
	Q5U(o+6(SI), o+2(SI), x, k); \
	VPXORD r, r, r;              \
	VPDPBUSD yo+2(DI), x, r;     \
	VPSUBB yo+2(DI), Y12, t;     \
	VPDPBUSD t, Y11, r

#define Q50BODY4V \
	SCALES4(22, 34);                   \
	Q50V(0, 0, Y2, Y6, Y16, K1);       \
	Q50V(22, 34, Y3, Y7, Y17, K2);     \
	Q50V(44, 68, Y4, Y6, Y18, K3);     \
	Q50V(66, 102, Y5, Y7, Y19, K4);    \
	FOLD4(Y16, Y17, Y18, Y19, Y20, Y21, Y8, Y0)

// func dotQ5_0VNNI(x, y *byte, nb int) float32
TEXT ·dotQ5_0VNNI(SB), NOSPLIT, $0-28
	ARGS
	VPBROADCASTD c32<>+12(SB), Y11
	VMOVDQU hishift<>(SB), Y10
	VPXOR Y12, Y12, Y12
	LOOP4(22, 34, Q50BODY4V)
	Q50CONSTS
	TAIL1(22, 34, Q50BODY1)
	RESULT
	MOVSS X0, ret+24(FP)
	RET

// ---- Q4_1 × Q8_1 ----

// The min terms mx·sy ride in the odd lanes of Y1 (the even lanes collect
// dx·dy, which RESULTM masks off).
#define RESULTM \
	VANDPS odds<>(SB), Y1, Y1; \
	RESULT

#define Q41BODY4 \
	SCALES4M(20, 36, Y10);        \
	VADDPS Y8, Y1, Y1;            \
	NIBBLES(4(SI), X2, Y2, X6);   \
	NIBBLES(24(SI), X3, Y3, X7);  \
	UDOT2(4(DI), Y2, Y2);         \
	UDOT2(40(DI), Y3, Y3);        \
	NIBBLES(44(SI), X4, Y4, X6);  \
	NIBBLES(64(SI), X5, Y5, X7);  \
	UDOT2(76(DI), Y4, Y4);        \
	UDOT2(112(DI), Y5, Y5);       \
	FOLD4(Y2, Y3, Y4, Y5, Y6, Y7, Y9, Y0)

#define Q41BODY1 \
	SCALE1M;                     \
	VADDPS Y8, Y1, Y1;           \
	NIBBLES(4(SI), X2, Y2, X6);  \
	UDOT2(4(DI), Y2, Y2);        \
	VCVTDQ2PS Y2, Y2;            \
	VFMADD231PS Y9, Y2, Y0

#define Q41CONSTS \
	VMOVDQU evens<>(SB), Y10

// func dotQ4_1AVX2(x, y *byte, nb int) float32
TEXT ·dotQ4_1AVX2(SB), NOSPLIT, $0-28
	ARGS
	Q41CONSTS
	LOOP4(20, 36, Q41BODY4)
	TAIL1(20, 36, Q41BODY1)
	RESULTM
	MOVSS X0, ret+24(FP)
	RET

// The VNNI variant unpacks as Q4_0's does. Y13 holds nib16, Y12 unscale16.
#define Q41V(o, yo, r, t) \
	VBROADCASTI128 o+4(SI), t; \
	VPAND Y13, t, t;           \
	VPXORD r, r, r;            \
	VPDPBUSD yo+4(DI), t, r

#define Q41BODY4V \
	SCALES4M(20, 36, Y10);     \
	VADDPS Y8, Y1, Y1;         \
	VMULPS Y12, Y9, Y9;        \
	Q41V(0, 0, Y16, Y2);       \
	Q41V(20, 36, Y17, Y3);     \
	Q41V(40, 72, Y18, Y4);     \
	Q41V(60, 108, Y19, Y5);    \
	FOLD4(Y16, Y17, Y18, Y19, Y20, Y21, Y9, Y0)

// func dotQ4_1VNNI(x, y *byte, nb int) float32
TEXT ·dotQ4_1VNNI(SB), NOSPLIT, $0-28
	ARGS
	Q41CONSTS
	VMOVDQU nib16<>(SB), Y13
	VMOVUPS unscale16<>(SB), Y12
	LOOP4(20, 36, Q41BODY4V)
	TAIL1(20, 36, Q41BODY1)
	RESULTM
	MOVSS X0, ret+24(FP)
	RET

// ---- Q5_1 × Q8_1 ----

// Q51X: Q5_1 weights at offset o of SI → 32 unsigned bytes (0–31) in yr.
// Y11 holds 0x10 bytes.
#define Q51X(o, xr, yr, xt, yt) \
	NIBBLES(o+8(SI), xr, yr, xt); \
	HIBITS(o+4(SI), yt);          \
	VPAND Y11, yt, yt;            \
	VPOR yt, yr, yr

#define Q51BODY4 \
	SCALES4M(24, 36, Y10);        \
	VADDPS Y8, Y1, Y1;            \
	Q51X(0, X2, Y2, X6, Y6);      \
	Q51X(24, X3, Y3, X7, Y7);     \
	UDOT2(4(DI), Y2, Y2);         \
	UDOT2(40(DI), Y3, Y3);        \
	Q51X(48, X4, Y4, X6, Y6);     \
	Q51X(72, X5, Y5, X7, Y7);     \
	UDOT2(76(DI), Y4, Y4);        \
	UDOT2(112(DI), Y5, Y5);       \
	FOLD4(Y2, Y3, Y4, Y5, Y6, Y7, Y9, Y0)

#define Q51BODY1 \
	SCALE1M;                     \
	VADDPS Y8, Y1, Y1;           \
	Q51X(0, X2, Y2, X6, Y6);     \
	UDOT2(4(DI), Y2, Y2);        \
	VCVTDQ2PS Y2, Y2;            \
	VFMADD231PS Y9, Y2, Y0

#define Q51CONSTS \
	VMOVDQU bitshuf<>(SB), Y13;    \
	VMOVDQU bitsel<>(SB), Y12;     \
	VPBROADCASTD c32<>+12(SB), Y11; \
	VMOVDQU evens<>(SB), Y10

// func dotQ5_1AVX2(x, y *byte, nb int) float32
TEXT ·dotQ5_1AVX2(SB), NOSPLIT, $0-28
	ARGS
	Q51CONSTS
	LOOP4(24, 36, Q51BODY4)
	TAIL1(24, 36, Q51BODY1)
	RESULTM
	MOVSS X0, ret+24(FP)
	RET

// The VNNI variant builds n + 16·h with Q5U. Y12 holds evens (Y10 is
// hishift here).
#define Q51V(o, yo, x, r, k) \
	Q5U(o+8(SI), o+4(SI), x, k); \
	VPXORD r, r, r;              \
	VPDPBUSD yo+4(DI), x, r

#define Q51BODY4V \
	SCALES4M(24, 36, Y12);          \
	VADDPS Y8, Y1, Y1;              \
	Q51V(0, 0, Y2, Y16, K1);        \
	Q51V(24, 36, Y3, Y17, K2);      \
	Q51V(48, 72, Y4, Y18, K3);      \
	Q51V(72, 108, Y5, Y19, K4);     \
	FOLD4(Y16, Y17, Y18, Y19, Y20, Y21, Y9, Y0)

// func dotQ5_1VNNI(x, y *byte, nb int) float32
TEXT ·dotQ5_1VNNI(SB), NOSPLIT, $0-28
	ARGS
	VPBROADCASTD c32<>+12(SB), Y11
	VMOVDQU hishift<>(SB), Y10
	VMOVDQU evens<>(SB), Y12
	LOOP4(24, 36, Q51BODY4V)
	Q51CONSTS
	TAIL1(24, 36, Q51BODY1)
	RESULTM
	MOVSS X0, ret+24(FP)
	RET

// ---- Q8_0 activation quantiser ----

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
