//go:build !purego

#include "textflag.h"

// Tiled matrix kernels; gemm_amd64.go describes the packed activation
// layout (q8Group records: 8×64 interleaved quant bytes at 0, 16 int32
// corrections at 512, 16 float32 scales at 576, 640 bytes a record) and why
// the sums are exact.

DATA gemmiota<>+0(SB)/4, $0
DATA gemmiota<>+4(SB)/4, $1
DATA gemmiota<>+8(SB)/4, $2
DATA gemmiota<>+12(SB)/4, $3
DATA gemmiota<>+16(SB)/4, $4
DATA gemmiota<>+20(SB)/4, $5
DATA gemmiota<>+24(SB)/4, $6
DATA gemmiota<>+28(SB)/4, $7
DATA gemmiota<>+32(SB)/4, $8
DATA gemmiota<>+36(SB)/4, $9
DATA gemmiota<>+40(SB)/4, $10
DATA gemmiota<>+44(SB)/4, $11
DATA gemmiota<>+48(SB)/4, $12
DATA gemmiota<>+52(SB)/4, $13
DATA gemmiota<>+56(SB)/4, $14
DATA gemmiota<>+60(SB)/4, $15
GLOBL gemmiota<>(SB), RODATA|NOPTR, $64

// The Q8_0 VNNI kernels gemmQ8_0VNNI<R>x<U> multiply R weight rows with U
// groups of 16 tokens. Per block: the int32 sums start from the groups'
// corrections; each of eight steps loads the groups' activation bytes
// (Z24–Z27), and per row broadcasts four weight bytes to every lane (Z28),
// flips their top bits (Z29 holds 0x80 bytes) and adds VPDPBUSD products
// into the pair's sums (Z0–Z11, row r and group u in Z(U·r+u)); then each
// pair's sum is converted to float32 and added, times d_x·d_y (Z30 holds
// d_x, Z31 the products), to its float sums (Z12–Z23, likewise). At the
// end the float sums are scattered into out, lanes masked per group.
// SI, R11, R12, R13: weight block of rows 0, 3, 6, 9; DX: row stride;
// DI: packed block of group 0; R8: packed block stride; CX: blocks left.

#define PROLOGUE \
	MOVQ w+0(FP), SI;             \
	MOVQ rowBytes+8(FP), DX;      \
	MOVQ act+16(FP), DI;          \
	MOVQ blockStride+24(FP), R8;  \
	MOVQ nb+32(FP), CX;           \
	MOVL $0x80808080, AX;         \
	VPBROADCASTD AX, Z29

#define LANES \
	MOVQ out+40(FP), AX;          \
	MOVQ outStride+48(FP), BX;    \
	MOVQ masks+56(FP), R9;        \
	VPBROADCASTD BX, Z24;         \
	VPMULLD gemmiota<>(SB), Z24, Z24; \
	MOVQ BX, R10;                 \
	SHLQ $6, R10

#define STEP3x4(s) \
	VMOVDQU32 (64*s+0)(DI), Z24         ; \
	VMOVDQU32 (64*s+640)(DI), Z25       ; \
	VMOVDQU32 (64*s+1280)(DI), Z26      ; \
	VMOVDQU32 (64*s+1920)(DI), Z27      ; \
	VPBROADCASTD (2+4*s)(SI), Z28       ; \
	VPXORD Z29, Z28, Z28                ; \
	VPDPBUSD Z24, Z28, Z0               ; \
	VPDPBUSD Z25, Z28, Z1               ; \
	VPDPBUSD Z26, Z28, Z2               ; \
	VPDPBUSD Z27, Z28, Z3               ; \
	VPBROADCASTD (2+4*s)(SI)(DX*1), Z28 ; \
	VPXORD Z29, Z28, Z28                ; \
	VPDPBUSD Z24, Z28, Z4               ; \
	VPDPBUSD Z25, Z28, Z5               ; \
	VPDPBUSD Z26, Z28, Z6               ; \
	VPDPBUSD Z27, Z28, Z7               ; \
	VPBROADCASTD (2+4*s)(SI)(DX*2), Z28 ; \
	VPXORD Z29, Z28, Z28                ; \
	VPDPBUSD Z24, Z28, Z8               ; \
	VPDPBUSD Z25, Z28, Z9               ; \
	VPDPBUSD Z26, Z28, Z10              ; \
	VPDPBUSD Z27, Z28, Z11

#define SCALE3x4 \
	VPBROADCASTW (SI), Y30       ; \
	VCVTPH2PS Y30, Z30           ; \
	VMULPS 576(DI), Z30, Z31     ; \
	VCVTDQ2PS Z0, Z0             ; \
	VFMADD231PS Z31, Z0, Z12     ; \
	VMULPS 1216(DI), Z30, Z31    ; \
	VCVTDQ2PS Z1, Z1             ; \
	VFMADD231PS Z31, Z1, Z13     ; \
	VMULPS 1856(DI), Z30, Z31    ; \
	VCVTDQ2PS Z2, Z2             ; \
	VFMADD231PS Z31, Z2, Z14     ; \
	VMULPS 2496(DI), Z30, Z31    ; \
	VCVTDQ2PS Z3, Z3             ; \
	VFMADD231PS Z31, Z3, Z15     ; \
	VPBROADCASTW (SI)(DX*1), Y30 ; \
	VCVTPH2PS Y30, Z30           ; \
	VMULPS 576(DI), Z30, Z31     ; \
	VCVTDQ2PS Z4, Z4             ; \
	VFMADD231PS Z31, Z4, Z16     ; \
	VMULPS 1216(DI), Z30, Z31    ; \
	VCVTDQ2PS Z5, Z5             ; \
	VFMADD231PS Z31, Z5, Z17     ; \
	VMULPS 1856(DI), Z30, Z31    ; \
	VCVTDQ2PS Z6, Z6             ; \
	VFMADD231PS Z31, Z6, Z18     ; \
	VMULPS 2496(DI), Z30, Z31    ; \
	VCVTDQ2PS Z7, Z7             ; \
	VFMADD231PS Z31, Z7, Z19     ; \
	VPBROADCASTW (SI)(DX*2), Y30 ; \
	VCVTPH2PS Y30, Z30           ; \
	VMULPS 576(DI), Z30, Z31     ; \
	VCVTDQ2PS Z8, Z8             ; \
	VFMADD231PS Z31, Z8, Z20     ; \
	VMULPS 1216(DI), Z30, Z31    ; \
	VCVTDQ2PS Z9, Z9             ; \
	VFMADD231PS Z31, Z9, Z21     ; \
	VMULPS 1856(DI), Z30, Z31    ; \
	VCVTDQ2PS Z10, Z10           ; \
	VFMADD231PS Z31, Z10, Z22    ; \
	VMULPS 2496(DI), Z30, Z31    ; \
	VCVTDQ2PS Z11, Z11           ; \
	VFMADD231PS Z31, Z11, Z23

#define STEP1x4(s) \
	VMOVDQU32 (64*s+0)(DI), Z24    ; \
	VMOVDQU32 (64*s+640)(DI), Z25  ; \
	VMOVDQU32 (64*s+1280)(DI), Z26 ; \
	VMOVDQU32 (64*s+1920)(DI), Z27 ; \
	VPBROADCASTD (2+4*s)(SI), Z28  ; \
	VPXORD Z29, Z28, Z28           ; \
	VPDPBUSD Z24, Z28, Z0          ; \
	VPDPBUSD Z25, Z28, Z1          ; \
	VPDPBUSD Z26, Z28, Z2          ; \
	VPDPBUSD Z27, Z28, Z3

#define SCALE1x4 \
	VPBROADCASTW (SI), Y30    ; \
	VCVTPH2PS Y30, Z30        ; \
	VMULPS 576(DI), Z30, Z31  ; \
	VCVTDQ2PS Z0, Z0          ; \
	VFMADD231PS Z31, Z0, Z12  ; \
	VMULPS 1216(DI), Z30, Z31 ; \
	VCVTDQ2PS Z1, Z1          ; \
	VFMADD231PS Z31, Z1, Z13  ; \
	VMULPS 1856(DI), Z30, Z31 ; \
	VCVTDQ2PS Z2, Z2          ; \
	VFMADD231PS Z31, Z2, Z14  ; \
	VMULPS 2496(DI), Z30, Z31 ; \
	VCVTDQ2PS Z3, Z3          ; \
	VFMADD231PS Z31, Z3, Z15

#define STEP6x2(s) \
	VMOVDQU32 (64*s+0)(DI), Z24          ; \
	VMOVDQU32 (64*s+640)(DI), Z25        ; \
	VPBROADCASTD (2+4*s)(SI), Z28        ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z0                ; \
	VPDPBUSD Z25, Z28, Z1                ; \
	VPBROADCASTD (2+4*s)(SI)(DX*1), Z28  ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z2                ; \
	VPDPBUSD Z25, Z28, Z3                ; \
	VPBROADCASTD (2+4*s)(SI)(DX*2), Z28  ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z4                ; \
	VPDPBUSD Z25, Z28, Z5                ; \
	VPBROADCASTD (2+4*s)(R11), Z28       ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z6                ; \
	VPDPBUSD Z25, Z28, Z7                ; \
	VPBROADCASTD (2+4*s)(R11)(DX*1), Z28 ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z8                ; \
	VPDPBUSD Z25, Z28, Z9                ; \
	VPBROADCASTD (2+4*s)(R11)(DX*2), Z28 ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z10               ; \
	VPDPBUSD Z25, Z28, Z11

#define SCALE6x2 \
	VPBROADCASTW (SI), Y30        ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z0, Z0              ; \
	VFMADD231PS Z31, Z0, Z12      ; \
	VMULPS 1216(DI), Z30, Z31     ; \
	VCVTDQ2PS Z1, Z1              ; \
	VFMADD231PS Z31, Z1, Z13      ; \
	VPBROADCASTW (SI)(DX*1), Y30  ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z2, Z2              ; \
	VFMADD231PS Z31, Z2, Z14      ; \
	VMULPS 1216(DI), Z30, Z31     ; \
	VCVTDQ2PS Z3, Z3              ; \
	VFMADD231PS Z31, Z3, Z15      ; \
	VPBROADCASTW (SI)(DX*2), Y30  ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z4, Z4              ; \
	VFMADD231PS Z31, Z4, Z16      ; \
	VMULPS 1216(DI), Z30, Z31     ; \
	VCVTDQ2PS Z5, Z5              ; \
	VFMADD231PS Z31, Z5, Z17      ; \
	VPBROADCASTW (R11), Y30       ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z6, Z6              ; \
	VFMADD231PS Z31, Z6, Z18      ; \
	VMULPS 1216(DI), Z30, Z31     ; \
	VCVTDQ2PS Z7, Z7              ; \
	VFMADD231PS Z31, Z7, Z19      ; \
	VPBROADCASTW (R11)(DX*1), Y30 ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z8, Z8              ; \
	VFMADD231PS Z31, Z8, Z20      ; \
	VMULPS 1216(DI), Z30, Z31     ; \
	VCVTDQ2PS Z9, Z9              ; \
	VFMADD231PS Z31, Z9, Z21      ; \
	VPBROADCASTW (R11)(DX*2), Y30 ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z10, Z10            ; \
	VFMADD231PS Z31, Z10, Z22     ; \
	VMULPS 1216(DI), Z30, Z31     ; \
	VCVTDQ2PS Z11, Z11            ; \
	VFMADD231PS Z31, Z11, Z23

#define STEP1x2(s) \
	VMOVDQU32 (64*s+0)(DI), Z24   ; \
	VMOVDQU32 (64*s+640)(DI), Z25 ; \
	VPBROADCASTD (2+4*s)(SI), Z28 ; \
	VPXORD Z29, Z28, Z28          ; \
	VPDPBUSD Z24, Z28, Z0         ; \
	VPDPBUSD Z25, Z28, Z1

#define SCALE1x2 \
	VPBROADCASTW (SI), Y30    ; \
	VCVTPH2PS Y30, Z30        ; \
	VMULPS 576(DI), Z30, Z31  ; \
	VCVTDQ2PS Z0, Z0          ; \
	VFMADD231PS Z31, Z0, Z12  ; \
	VMULPS 1216(DI), Z30, Z31 ; \
	VCVTDQ2PS Z1, Z1          ; \
	VFMADD231PS Z31, Z1, Z13

#define STEP12x1(s) \
	VMOVDQU32 (64*s+0)(DI), Z24          ; \
	VPBROADCASTD (2+4*s)(SI), Z28        ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z0                ; \
	VPBROADCASTD (2+4*s)(SI)(DX*1), Z28  ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z1                ; \
	VPBROADCASTD (2+4*s)(SI)(DX*2), Z28  ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z2                ; \
	VPBROADCASTD (2+4*s)(R11), Z28       ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z3                ; \
	VPBROADCASTD (2+4*s)(R11)(DX*1), Z28 ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z4                ; \
	VPBROADCASTD (2+4*s)(R11)(DX*2), Z28 ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z5                ; \
	VPBROADCASTD (2+4*s)(R12), Z28       ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z6                ; \
	VPBROADCASTD (2+4*s)(R12)(DX*1), Z28 ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z7                ; \
	VPBROADCASTD (2+4*s)(R12)(DX*2), Z28 ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z8                ; \
	VPBROADCASTD (2+4*s)(R13), Z28       ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z9                ; \
	VPBROADCASTD (2+4*s)(R13)(DX*1), Z28 ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z10               ; \
	VPBROADCASTD (2+4*s)(R13)(DX*2), Z28 ; \
	VPXORD Z29, Z28, Z28                 ; \
	VPDPBUSD Z24, Z28, Z11

#define SCALE12x1 \
	VPBROADCASTW (SI), Y30        ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z0, Z0              ; \
	VFMADD231PS Z31, Z0, Z12      ; \
	VPBROADCASTW (SI)(DX*1), Y30  ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z1, Z1              ; \
	VFMADD231PS Z31, Z1, Z13      ; \
	VPBROADCASTW (SI)(DX*2), Y30  ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z2, Z2              ; \
	VFMADD231PS Z31, Z2, Z14      ; \
	VPBROADCASTW (R11), Y30       ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z3, Z3              ; \
	VFMADD231PS Z31, Z3, Z15      ; \
	VPBROADCASTW (R11)(DX*1), Y30 ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z4, Z4              ; \
	VFMADD231PS Z31, Z4, Z16      ; \
	VPBROADCASTW (R11)(DX*2), Y30 ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z5, Z5              ; \
	VFMADD231PS Z31, Z5, Z17      ; \
	VPBROADCASTW (R12), Y30       ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z6, Z6              ; \
	VFMADD231PS Z31, Z6, Z18      ; \
	VPBROADCASTW (R12)(DX*1), Y30 ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z7, Z7              ; \
	VFMADD231PS Z31, Z7, Z19      ; \
	VPBROADCASTW (R12)(DX*2), Y30 ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z8, Z8              ; \
	VFMADD231PS Z31, Z8, Z20      ; \
	VPBROADCASTW (R13), Y30       ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z9, Z9              ; \
	VFMADD231PS Z31, Z9, Z21      ; \
	VPBROADCASTW (R13)(DX*1), Y30 ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z10, Z10            ; \
	VFMADD231PS Z31, Z10, Z22     ; \
	VPBROADCASTW (R13)(DX*2), Y30 ; \
	VCVTPH2PS Y30, Z30            ; \
	VMULPS 576(DI), Z30, Z31      ; \
	VCVTDQ2PS Z11, Z11            ; \
	VFMADD231PS Z31, Z11, Z23

#define STEP1x1(s) \
	VMOVDQU32 (64*s+0)(DI), Z24   ; \
	VPBROADCASTD (2+4*s)(SI), Z28 ; \
	VPXORD Z29, Z28, Z28          ; \
	VPDPBUSD Z24, Z28, Z0

#define SCALE1x1 \
	VPBROADCASTW (SI), Y30   ; \
	VCVTPH2PS Y30, Z30       ; \
	VMULPS 576(DI), Z30, Z31 ; \
	VCVTDQ2PS Z0, Z0         ; \
	VFMADD231PS Z31, Z0, Z12


// The gemmD32VNNI<R>x<U> kernels are the Q8_0 kernels for rows decoded
// into 36-byte records (gemmQ4_0Decode, gemmQ5_0Decode): the quants there
// are already unsigned with the same +128 offset, and d is float32.

#define DSTEP3x4(s) \
	VMOVDQU32 (64*s+0)(DI), Z24       ; \
	VMOVDQU32 (64*s+640)(DI), Z25     ; \
	VMOVDQU32 (64*s+1280)(DI), Z26    ; \
	VMOVDQU32 (64*s+1920)(DI), Z27    ; \
	VPBROADCASTD (4*s)(SI), Z28       ; \
	VPDPBUSD Z24, Z28, Z0             ; \
	VPDPBUSD Z25, Z28, Z1             ; \
	VPDPBUSD Z26, Z28, Z2             ; \
	VPDPBUSD Z27, Z28, Z3             ; \
	VPBROADCASTD (4*s)(SI)(DX*1), Z28 ; \
	VPDPBUSD Z24, Z28, Z4             ; \
	VPDPBUSD Z25, Z28, Z5             ; \
	VPDPBUSD Z26, Z28, Z6             ; \
	VPDPBUSD Z27, Z28, Z7             ; \
	VPBROADCASTD (4*s)(SI)(DX*2), Z28 ; \
	VPDPBUSD Z24, Z28, Z8             ; \
	VPDPBUSD Z25, Z28, Z9             ; \
	VPDPBUSD Z26, Z28, Z10            ; \
	VPDPBUSD Z27, Z28, Z11

#define DSCALE3x4 \
	VBROADCASTSS 32(SI), Z30       ; \
	VMULPS 576(DI), Z30, Z31       ; \
	VCVTDQ2PS Z0, Z0               ; \
	VFMADD231PS Z31, Z0, Z12       ; \
	VMULPS 1216(DI), Z30, Z31      ; \
	VCVTDQ2PS Z1, Z1               ; \
	VFMADD231PS Z31, Z1, Z13       ; \
	VMULPS 1856(DI), Z30, Z31      ; \
	VCVTDQ2PS Z2, Z2               ; \
	VFMADD231PS Z31, Z2, Z14       ; \
	VMULPS 2496(DI), Z30, Z31      ; \
	VCVTDQ2PS Z3, Z3               ; \
	VFMADD231PS Z31, Z3, Z15       ; \
	VBROADCASTSS 32(SI)(DX*1), Z30 ; \
	VMULPS 576(DI), Z30, Z31       ; \
	VCVTDQ2PS Z4, Z4               ; \
	VFMADD231PS Z31, Z4, Z16       ; \
	VMULPS 1216(DI), Z30, Z31      ; \
	VCVTDQ2PS Z5, Z5               ; \
	VFMADD231PS Z31, Z5, Z17       ; \
	VMULPS 1856(DI), Z30, Z31      ; \
	VCVTDQ2PS Z6, Z6               ; \
	VFMADD231PS Z31, Z6, Z18       ; \
	VMULPS 2496(DI), Z30, Z31      ; \
	VCVTDQ2PS Z7, Z7               ; \
	VFMADD231PS Z31, Z7, Z19       ; \
	VBROADCASTSS 32(SI)(DX*2), Z30 ; \
	VMULPS 576(DI), Z30, Z31       ; \
	VCVTDQ2PS Z8, Z8               ; \
	VFMADD231PS Z31, Z8, Z20       ; \
	VMULPS 1216(DI), Z30, Z31      ; \
	VCVTDQ2PS Z9, Z9               ; \
	VFMADD231PS Z31, Z9, Z21       ; \
	VMULPS 1856(DI), Z30, Z31      ; \
	VCVTDQ2PS Z10, Z10             ; \
	VFMADD231PS Z31, Z10, Z22      ; \
	VMULPS 2496(DI), Z30, Z31      ; \
	VCVTDQ2PS Z11, Z11             ; \
	VFMADD231PS Z31, Z11, Z23

#define DSTEP1x4(s) \
	VMOVDQU32 (64*s+0)(DI), Z24    ; \
	VMOVDQU32 (64*s+640)(DI), Z25  ; \
	VMOVDQU32 (64*s+1280)(DI), Z26 ; \
	VMOVDQU32 (64*s+1920)(DI), Z27 ; \
	VPBROADCASTD (4*s)(SI), Z28    ; \
	VPDPBUSD Z24, Z28, Z0          ; \
	VPDPBUSD Z25, Z28, Z1          ; \
	VPDPBUSD Z26, Z28, Z2          ; \
	VPDPBUSD Z27, Z28, Z3

#define DSCALE1x4 \
	VBROADCASTSS 32(SI), Z30  ; \
	VMULPS 576(DI), Z30, Z31  ; \
	VCVTDQ2PS Z0, Z0          ; \
	VFMADD231PS Z31, Z0, Z12  ; \
	VMULPS 1216(DI), Z30, Z31 ; \
	VCVTDQ2PS Z1, Z1          ; \
	VFMADD231PS Z31, Z1, Z13  ; \
	VMULPS 1856(DI), Z30, Z31 ; \
	VCVTDQ2PS Z2, Z2          ; \
	VFMADD231PS Z31, Z2, Z14  ; \
	VMULPS 2496(DI), Z30, Z31 ; \
	VCVTDQ2PS Z3, Z3          ; \
	VFMADD231PS Z31, Z3, Z15

#define DSTEP6x2(s) \
	VMOVDQU32 (64*s+0)(DI), Z24        ; \
	VMOVDQU32 (64*s+640)(DI), Z25      ; \
	VPBROADCASTD (4*s)(SI), Z28        ; \
	VPDPBUSD Z24, Z28, Z0              ; \
	VPDPBUSD Z25, Z28, Z1              ; \
	VPBROADCASTD (4*s)(SI)(DX*1), Z28  ; \
	VPDPBUSD Z24, Z28, Z2              ; \
	VPDPBUSD Z25, Z28, Z3              ; \
	VPBROADCASTD (4*s)(SI)(DX*2), Z28  ; \
	VPDPBUSD Z24, Z28, Z4              ; \
	VPDPBUSD Z25, Z28, Z5              ; \
	VPBROADCASTD (4*s)(R11), Z28       ; \
	VPDPBUSD Z24, Z28, Z6              ; \
	VPDPBUSD Z25, Z28, Z7              ; \
	VPBROADCASTD (4*s)(R11)(DX*1), Z28 ; \
	VPDPBUSD Z24, Z28, Z8              ; \
	VPDPBUSD Z25, Z28, Z9              ; \
	VPBROADCASTD (4*s)(R11)(DX*2), Z28 ; \
	VPDPBUSD Z24, Z28, Z10             ; \
	VPDPBUSD Z25, Z28, Z11

#define DSCALE6x2 \
	VBROADCASTSS 32(SI), Z30        ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z0, Z0                ; \
	VFMADD231PS Z31, Z0, Z12        ; \
	VMULPS 1216(DI), Z30, Z31       ; \
	VCVTDQ2PS Z1, Z1                ; \
	VFMADD231PS Z31, Z1, Z13        ; \
	VBROADCASTSS 32(SI)(DX*1), Z30  ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z2, Z2                ; \
	VFMADD231PS Z31, Z2, Z14        ; \
	VMULPS 1216(DI), Z30, Z31       ; \
	VCVTDQ2PS Z3, Z3                ; \
	VFMADD231PS Z31, Z3, Z15        ; \
	VBROADCASTSS 32(SI)(DX*2), Z30  ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z4, Z4                ; \
	VFMADD231PS Z31, Z4, Z16        ; \
	VMULPS 1216(DI), Z30, Z31       ; \
	VCVTDQ2PS Z5, Z5                ; \
	VFMADD231PS Z31, Z5, Z17        ; \
	VBROADCASTSS 32(R11), Z30       ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z6, Z6                ; \
	VFMADD231PS Z31, Z6, Z18        ; \
	VMULPS 1216(DI), Z30, Z31       ; \
	VCVTDQ2PS Z7, Z7                ; \
	VFMADD231PS Z31, Z7, Z19        ; \
	VBROADCASTSS 32(R11)(DX*1), Z30 ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z8, Z8                ; \
	VFMADD231PS Z31, Z8, Z20        ; \
	VMULPS 1216(DI), Z30, Z31       ; \
	VCVTDQ2PS Z9, Z9                ; \
	VFMADD231PS Z31, Z9, Z21        ; \
	VBROADCASTSS 32(R11)(DX*2), Z30 ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z10, Z10              ; \
	VFMADD231PS Z31, Z10, Z22       ; \
	VMULPS 1216(DI), Z30, Z31       ; \
	VCVTDQ2PS Z11, Z11              ; \
	VFMADD231PS Z31, Z11, Z23

#define DSTEP1x2(s) \
	VMOVDQU32 (64*s+0)(DI), Z24   ; \
	VMOVDQU32 (64*s+640)(DI), Z25 ; \
	VPBROADCASTD (4*s)(SI), Z28   ; \
	VPDPBUSD Z24, Z28, Z0         ; \
	VPDPBUSD Z25, Z28, Z1

#define DSCALE1x2 \
	VBROADCASTSS 32(SI), Z30  ; \
	VMULPS 576(DI), Z30, Z31  ; \
	VCVTDQ2PS Z0, Z0          ; \
	VFMADD231PS Z31, Z0, Z12  ; \
	VMULPS 1216(DI), Z30, Z31 ; \
	VCVTDQ2PS Z1, Z1          ; \
	VFMADD231PS Z31, Z1, Z13

#define DSTEP12x1(s) \
	VMOVDQU32 (64*s+0)(DI), Z24        ; \
	VPBROADCASTD (4*s)(SI), Z28        ; \
	VPDPBUSD Z24, Z28, Z0              ; \
	VPBROADCASTD (4*s)(SI)(DX*1), Z28  ; \
	VPDPBUSD Z24, Z28, Z1              ; \
	VPBROADCASTD (4*s)(SI)(DX*2), Z28  ; \
	VPDPBUSD Z24, Z28, Z2              ; \
	VPBROADCASTD (4*s)(R11), Z28       ; \
	VPDPBUSD Z24, Z28, Z3              ; \
	VPBROADCASTD (4*s)(R11)(DX*1), Z28 ; \
	VPDPBUSD Z24, Z28, Z4              ; \
	VPBROADCASTD (4*s)(R11)(DX*2), Z28 ; \
	VPDPBUSD Z24, Z28, Z5              ; \
	VPBROADCASTD (4*s)(R12), Z28       ; \
	VPDPBUSD Z24, Z28, Z6              ; \
	VPBROADCASTD (4*s)(R12)(DX*1), Z28 ; \
	VPDPBUSD Z24, Z28, Z7              ; \
	VPBROADCASTD (4*s)(R12)(DX*2), Z28 ; \
	VPDPBUSD Z24, Z28, Z8              ; \
	VPBROADCASTD (4*s)(R13), Z28       ; \
	VPDPBUSD Z24, Z28, Z9              ; \
	VPBROADCASTD (4*s)(R13)(DX*1), Z28 ; \
	VPDPBUSD Z24, Z28, Z10             ; \
	VPBROADCASTD (4*s)(R13)(DX*2), Z28 ; \
	VPDPBUSD Z24, Z28, Z11

#define DSCALE12x1 \
	VBROADCASTSS 32(SI), Z30        ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z0, Z0                ; \
	VFMADD231PS Z31, Z0, Z12        ; \
	VBROADCASTSS 32(SI)(DX*1), Z30  ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z1, Z1                ; \
	VFMADD231PS Z31, Z1, Z13        ; \
	VBROADCASTSS 32(SI)(DX*2), Z30  ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z2, Z2                ; \
	VFMADD231PS Z31, Z2, Z14        ; \
	VBROADCASTSS 32(R11), Z30       ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z3, Z3                ; \
	VFMADD231PS Z31, Z3, Z15        ; \
	VBROADCASTSS 32(R11)(DX*1), Z30 ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z4, Z4                ; \
	VFMADD231PS Z31, Z4, Z16        ; \
	VBROADCASTSS 32(R11)(DX*2), Z30 ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z5, Z5                ; \
	VFMADD231PS Z31, Z5, Z17        ; \
	VBROADCASTSS 32(R12), Z30       ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z6, Z6                ; \
	VFMADD231PS Z31, Z6, Z18        ; \
	VBROADCASTSS 32(R12)(DX*1), Z30 ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z7, Z7                ; \
	VFMADD231PS Z31, Z7, Z19        ; \
	VBROADCASTSS 32(R12)(DX*2), Z30 ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z8, Z8                ; \
	VFMADD231PS Z31, Z8, Z20        ; \
	VBROADCASTSS 32(R13), Z30       ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z9, Z9                ; \
	VFMADD231PS Z31, Z9, Z21        ; \
	VBROADCASTSS 32(R13)(DX*1), Z30 ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z10, Z10              ; \
	VFMADD231PS Z31, Z10, Z22       ; \
	VBROADCASTSS 32(R13)(DX*2), Z30 ; \
	VMULPS 576(DI), Z30, Z31        ; \
	VCVTDQ2PS Z11, Z11              ; \
	VFMADD231PS Z31, Z11, Z23

#define DSTEP1x1(s) \
	VMOVDQU32 (64*s+0)(DI), Z24 ; \
	VPBROADCASTD (4*s)(SI), Z28 ; \
	VPDPBUSD Z24, Z28, Z0

#define DSCALE1x1 \
	VBROADCASTSS 32(SI), Z30 ; \
	VMULPS 576(DI), Z30, Z31 ; \
	VCVTDQ2PS Z0, Z0         ; \
	VFMADD231PS Z31, Z0, Z12

// gemmbitshuf<> spreads a 32-bit word over 32 bytes (byte k gets byte k/8
// of the word); gemmbitsel<> then picks bit k%8 of byte k.
DATA gemmbitshuf<>+0(SB)/8, $0x0000000000000000
DATA gemmbitshuf<>+8(SB)/8, $0x0101010101010101
DATA gemmbitshuf<>+16(SB)/8, $0x0202020202020202
DATA gemmbitshuf<>+24(SB)/8, $0x0303030303030303
GLOBL gemmbitshuf<>(SB), RODATA|NOPTR, $32

DATA gemmbitsel<>+0(SB)/8, $0x8040201008040201
DATA gemmbitsel<>+8(SB)/8, $0x8040201008040201
DATA gemmbitsel<>+16(SB)/8, $0x8040201008040201
DATA gemmbitsel<>+24(SB)/8, $0x8040201008040201
GLOBL gemmbitsel<>(SB), RODATA|NOPTR, $32

// Q8_K activations for the K-quant kernels: one 5440-byte record per 16
// tokens and super-block. Chunk j (elements 32j…32j+31) takes 640 bytes at
// 640j: eight rows of 64 bytes (row s: bytes 4s…4s+3 of every token), then
// −32·Σy over its first and its second 16 elements as 16 int32 each (at
// 512 and 576). Then 16 float32 scales at 5120 and, at 5184 + 64i, the sums
// S_j of the 32-element sub-blocks 2i and 2i+1 as an int16 pair per token.

// kidx<>: where dword d (0–15) of 64 quant bytes goes, relative to the
// first of the two chunks they cover: (d/8)·640 + (d%8)·64.
DATA kidx<>+0(SB)/4, $0
DATA kidx<>+4(SB)/4, $64
DATA kidx<>+8(SB)/4, $128
DATA kidx<>+12(SB)/4, $192
DATA kidx<>+16(SB)/4, $256
DATA kidx<>+20(SB)/4, $320
DATA kidx<>+24(SB)/4, $384
DATA kidx<>+28(SB)/4, $448
DATA kidx<>+32(SB)/4, $640
DATA kidx<>+36(SB)/4, $704
DATA kidx<>+40(SB)/4, $768
DATA kidx<>+44(SB)/4, $832
DATA kidx<>+48(SB)/4, $896
DATA kidx<>+52(SB)/4, $960
DATA kidx<>+56(SB)/4, $1024
DATA kidx<>+60(SB)/4, $1088
GLOBL kidx<>(SB), RODATA|NOPTR, $64

// KSUM: Σ of the four quant rows at off(R12) (16 elements), per token,
// into z. Z30 holds 0x01 bytes.
#define KSUM(off, z) \
	VPXORD z, z, z;                   \
	VPDPBUSD off(R12), Z30, z;        \
	VPDPBUSD (off+64)(R12), Z30, z;   \
	VPDPBUSD (off+128)(R12), Z30, z;  \
	VPDPBUSD (off+192)(R12), Z30, z

// KNEG32: −32·z stored at off(R12). Z28 is zero.
#define KNEG32(z, off) \
	VPSLLD $5, z, Z7;   \
	VPSUBD Z7, Z28, Z7; \
	VMOVDQU32 Z7, off(R12)

// KSCATTER: the 64 quant bytes at off(R11) into the two chunks from R12+base.
#define KSCATTER(off, base) \
	VMOVDQU32 off(R11), Z0; \
	KXNORW K1, K1, K1;      \
	VPSCATTERDD Z0, K1, base(R12)(Z31*1)

#define KPROLOGUE \
	MOVQ w+0(FP), SI;            \
	MOVQ rowBytes+8(FP), DX;     \
	MOVQ act+16(FP), DI;         \
	MOVQ blockStride+24(FP), R8; \
	SUBQ $5120, R8;              \
	MOVQ nb+32(FP), CX

// Q4NIB: 32 Q4_K quant bytes at src(SI) → low nibbles at dst(DI), high
// nibbles 36 bytes further (the next sub-block). Y15 holds 0x0f bytes.
#define Q4NIB(src, dst) \
	VMOVDQU src(SI), Y0;     \
	VPAND Y15, Y0, Y1;       \
	VMOVDQU Y1, dst(DI);     \
	VPSRLW $4, Y0, Y0;       \
	VPAND Y15, Y0, Y0;       \
	VMOVDQU Y0, (dst+36)(DI)

// SCALEB: the low byte of r as int32 at off(DI); r moves to its next byte.
#define SCALEB(r, off) \
	MOVL r, AX;      \
	ANDL $0xff, AX;  \
	MOVL AX, off(DI); \
	SHRL $8, r

// Q6HALF: one 128-element half of a Q6_K block: ql at ql(SI) (64 bytes),
// qh at qh(SI) (32 bytes), into chunks 4h…4h+3 from dst(DI). Y15 holds
// 0x0f bytes, Y14 0x30 bytes.
#define Q6HALF(ql, qh, dst) \
	VMOVDQU ql(SI), Y0;           \
	VMOVDQU (ql+32)(SI), Y1;      \
	VMOVDQU qh(SI), Y2;           \
	VPAND Y15, Y0, Y3;            \
	VPSLLW $4, Y2, Y4;            \
	VPAND Y14, Y4, Y4;            \
	VPOR Y4, Y3, Y3;              \
	VMOVDQU Y3, dst(DI);          \
	VPAND Y15, Y1, Y3;            \
	VPSLLW $2, Y2, Y4;            \
	VPAND Y14, Y4, Y4;            \
	VPOR Y4, Y3, Y3;              \
	VMOVDQU Y3, (dst+40)(DI);     \
	VPSRLW $4, Y0, Y3;            \
	VPAND Y15, Y3, Y3;            \
	VPAND Y14, Y2, Y4;            \
	VPOR Y4, Y3, Y3;              \
	VMOVDQU Y3, (dst+80)(DI);     \
	VPSRLW $4, Y1, Y3;            \
	VPAND Y15, Y3, Y3;            \
	VPSRLW $2, Y2, Y4;            \
	VPAND Y14, Y4, Y4;            \
	VPOR Y4, Y3, Y3;              \
	VMOVDQU Y3, (dst+120)(DI)

// Q6SC: the int8 scales of chunk j's two halves as int32.
#define Q6SC(j) \
	MOVBQSX (192+2*j)(SI), AX;  \
	MOVL AX, (32+40*j)(DI);     \
	MOVBQSX (193+2*j)(SI), AX;  \
	MOVL AX, (36+40*j)(DI)

// The K-quant VNNI kernels gemmQ<4|6>_KVNNI<R>x<U> run over rows decoded
// by gemmQ4_KDecode or gemmQ6_KDecode (unsigned quants, int32 scales) and
// Q8_K records. Per 32-element chunk: eight steps as in the Q8_0 kernels
// (without the top-bit flip: the decoded quants are unsigned) add into
// the sub-block sums P (Z0–Z7), which are multiplied by the sub-block
// scale and added to the super-block's int32 totals T (Z8–Z15). Q4_K
// starts P at zero and one P covers the chunk; Q6_K starts P at −32·Σy
// per 16 elements (its quants carry +32) and scales each half. At the end
// of a super-block the totals, times d·yd, go into the float sums F
// (Z16–Z23); for Q4_K, P is reused for Σ m_j·S_j (VPDPWSSD of the int16
// mins with the int16 sub-block sums), subtracted times dmin·yd.
// SI, R11, R12: decoded rows 0, 3, 6; DX: decoded row stride; DI: Q8_K
// record of group 0; R8: record stride less the 5120 bytes the chunk loop
// advances; CX: super-blocks left; BX: chunks left.

#define KSTEP2x4(s) \
	VMOVDQU32 (64*s+0)(DI), Z24       ; \
	VMOVDQU32 (64*s+5440)(DI), Z25    ; \
	VMOVDQU32 (64*s+10880)(DI), Z26   ; \
	VMOVDQU32 (64*s+16320)(DI), Z27   ; \
	VPBROADCASTD (4*s)(SI), Z28       ; \
	VPDPBUSD Z24, Z28, Z0             ; \
	VPDPBUSD Z25, Z28, Z1             ; \
	VPDPBUSD Z26, Z28, Z2             ; \
	VPDPBUSD Z27, Z28, Z3             ; \
	VPBROADCASTD (4*s)(SI)(DX*1), Z28 ; \
	VPDPBUSD Z24, Z28, Z4             ; \
	VPDPBUSD Z25, Z28, Z5             ; \
	VPDPBUSD Z26, Z28, Z6             ; \
	VPDPBUSD Z27, Z28, Z7

#define KSUB2x4(off) \
	VPMULLD.BCST off(SI), Z0, Z0       ; \
	VPADDD Z0, Z8, Z8                  ; \
	VPMULLD.BCST off(SI), Z1, Z1       ; \
	VPADDD Z1, Z9, Z9                  ; \
	VPMULLD.BCST off(SI), Z2, Z2       ; \
	VPADDD Z2, Z10, Z10                ; \
	VPMULLD.BCST off(SI), Z3, Z3       ; \
	VPADDD Z3, Z11, Z11                ; \
	VPMULLD.BCST off(SI)(DX*1), Z4, Z4 ; \
	VPADDD Z4, Z12, Z12                ; \
	VPMULLD.BCST off(SI)(DX*1), Z5, Z5 ; \
	VPADDD Z5, Z13, Z13                ; \
	VPMULLD.BCST off(SI)(DX*1), Z6, Z6 ; \
	VPADDD Z6, Z14, Z14                ; \
	VPMULLD.BCST off(SI)(DX*1), Z7, Z7 ; \
	VPADDD Z7, Z15, Z15

#define KINIT2x4(off) \
	VMOVDQU32 (off+0)(DI), Z0     ; \
	VMOVDQU32 (off+5440)(DI), Z1  ; \
	VMOVDQU32 (off+10880)(DI), Z2 ; \
	VMOVDQU32 (off+16320)(DI), Z3 ; \
	VMOVDQA32 Z0, Z4              ; \
	VMOVDQA32 Z1, Z5              ; \
	VMOVDQA32 Z2, Z6              ; \
	VMOVDQA32 Z3, Z7

#define KZEROP2x4 \
	VPXORD Z0, Z0, Z0 ; \
	VPXORD Z1, Z1, Z1 ; \
	VPXORD Z2, Z2, Z2 ; \
	VPXORD Z3, Z3, Z3 ; \
	VPXORD Z4, Z4, Z4 ; \
	VPXORD Z5, Z5, Z5 ; \
	VPXORD Z6, Z6, Z6 ; \
	VPXORD Z7, Z7, Z7

#define KZEROT2x4 \
	VPXORD Z8, Z8, Z8    ; \
	VPXORD Z9, Z9, Z9    ; \
	VPXORD Z10, Z10, Z10 ; \
	VPXORD Z11, Z11, Z11 ; \
	VPXORD Z12, Z12, Z12 ; \
	VPXORD Z13, Z13, Z13 ; \
	VPXORD Z14, Z14, Z14 ; \
	VPXORD Z15, Z15, Z15

#define KZEROF2x4 \
	VPXORD Z16, Z16, Z16 ; \
	VPXORD Z17, Z17, Z17 ; \
	VPXORD Z18, Z18, Z18 ; \
	VPXORD Z19, Z19, Z19 ; \
	VPXORD Z20, Z20, Z20 ; \
	VPXORD Z21, Z21, Z21 ; \
	VPXORD Z22, Z22, Z22 ; \
	VPXORD Z23, Z23, Z23

#define KMINS2x4 \
	VMOVDQU32 64(DI), Z24               ; \
	VMOVDQU32 5504(DI), Z25             ; \
	VMOVDQU32 10944(DI), Z26            ; \
	VMOVDQU32 16384(DI), Z27            ; \
	VPDPWSSD.BCST 0(SI), Z24, Z0        ; \
	VPDPWSSD.BCST 0(SI), Z25, Z1        ; \
	VPDPWSSD.BCST 0(SI), Z26, Z2        ; \
	VPDPWSSD.BCST 0(SI), Z27, Z3        ; \
	VPDPWSSD.BCST 0(SI)(DX*1), Z24, Z4  ; \
	VPDPWSSD.BCST 0(SI)(DX*1), Z25, Z5  ; \
	VPDPWSSD.BCST 0(SI)(DX*1), Z26, Z6  ; \
	VPDPWSSD.BCST 0(SI)(DX*1), Z27, Z7  ; \
	VMOVDQU32 128(DI), Z24              ; \
	VMOVDQU32 5568(DI), Z25             ; \
	VMOVDQU32 11008(DI), Z26            ; \
	VMOVDQU32 16448(DI), Z27            ; \
	VPDPWSSD.BCST 4(SI), Z24, Z0        ; \
	VPDPWSSD.BCST 4(SI), Z25, Z1        ; \
	VPDPWSSD.BCST 4(SI), Z26, Z2        ; \
	VPDPWSSD.BCST 4(SI), Z27, Z3        ; \
	VPDPWSSD.BCST 4(SI)(DX*1), Z24, Z4  ; \
	VPDPWSSD.BCST 4(SI)(DX*1), Z25, Z5  ; \
	VPDPWSSD.BCST 4(SI)(DX*1), Z26, Z6  ; \
	VPDPWSSD.BCST 4(SI)(DX*1), Z27, Z7  ; \
	VMOVDQU32 192(DI), Z24              ; \
	VMOVDQU32 5632(DI), Z25             ; \
	VMOVDQU32 11072(DI), Z26            ; \
	VMOVDQU32 16512(DI), Z27            ; \
	VPDPWSSD.BCST 8(SI), Z24, Z0        ; \
	VPDPWSSD.BCST 8(SI), Z25, Z1        ; \
	VPDPWSSD.BCST 8(SI), Z26, Z2        ; \
	VPDPWSSD.BCST 8(SI), Z27, Z3        ; \
	VPDPWSSD.BCST 8(SI)(DX*1), Z24, Z4  ; \
	VPDPWSSD.BCST 8(SI)(DX*1), Z25, Z5  ; \
	VPDPWSSD.BCST 8(SI)(DX*1), Z26, Z6  ; \
	VPDPWSSD.BCST 8(SI)(DX*1), Z27, Z7  ; \
	VMOVDQU32 256(DI), Z24              ; \
	VMOVDQU32 5696(DI), Z25             ; \
	VMOVDQU32 11136(DI), Z26            ; \
	VMOVDQU32 16576(DI), Z27            ; \
	VPDPWSSD.BCST 12(SI), Z24, Z0       ; \
	VPDPWSSD.BCST 12(SI), Z25, Z1       ; \
	VPDPWSSD.BCST 12(SI), Z26, Z2       ; \
	VPDPWSSD.BCST 12(SI), Z27, Z3       ; \
	VPDPWSSD.BCST 12(SI)(DX*1), Z24, Z4 ; \
	VPDPWSSD.BCST 12(SI)(DX*1), Z25, Z5 ; \
	VPDPWSSD.BCST 12(SI)(DX*1), Z26, Z6 ; \
	VPDPWSSD.BCST 12(SI)(DX*1), Z27, Z7

#define KFIN42x4 \
	VBROADCASTSS 16(SI), Z29       ; \
	VBROADCASTSS 20(SI), Z30       ; \
	VMULPS 0(DI), Z29, Z31         ; \
	VCVTDQ2PS Z8, Z8               ; \
	VFMADD231PS Z31, Z8, Z16       ; \
	VMULPS 0(DI), Z30, Z31         ; \
	VCVTDQ2PS Z0, Z0               ; \
	VFNMADD231PS Z31, Z0, Z16      ; \
	VMULPS 5440(DI), Z29, Z31      ; \
	VCVTDQ2PS Z9, Z9               ; \
	VFMADD231PS Z31, Z9, Z17       ; \
	VMULPS 5440(DI), Z30, Z31      ; \
	VCVTDQ2PS Z1, Z1               ; \
	VFNMADD231PS Z31, Z1, Z17      ; \
	VMULPS 10880(DI), Z29, Z31     ; \
	VCVTDQ2PS Z10, Z10             ; \
	VFMADD231PS Z31, Z10, Z18      ; \
	VMULPS 10880(DI), Z30, Z31     ; \
	VCVTDQ2PS Z2, Z2               ; \
	VFNMADD231PS Z31, Z2, Z18      ; \
	VMULPS 16320(DI), Z29, Z31     ; \
	VCVTDQ2PS Z11, Z11             ; \
	VFMADD231PS Z31, Z11, Z19      ; \
	VMULPS 16320(DI), Z30, Z31     ; \
	VCVTDQ2PS Z3, Z3               ; \
	VFNMADD231PS Z31, Z3, Z19      ; \
	VBROADCASTSS 16(SI)(DX*1), Z29 ; \
	VBROADCASTSS 20(SI)(DX*1), Z30 ; \
	VMULPS 0(DI), Z29, Z31         ; \
	VCVTDQ2PS Z12, Z12             ; \
	VFMADD231PS Z31, Z12, Z20      ; \
	VMULPS 0(DI), Z30, Z31         ; \
	VCVTDQ2PS Z4, Z4               ; \
	VFNMADD231PS Z31, Z4, Z20      ; \
	VMULPS 5440(DI), Z29, Z31      ; \
	VCVTDQ2PS Z13, Z13             ; \
	VFMADD231PS Z31, Z13, Z21      ; \
	VMULPS 5440(DI), Z30, Z31      ; \
	VCVTDQ2PS Z5, Z5               ; \
	VFNMADD231PS Z31, Z5, Z21      ; \
	VMULPS 10880(DI), Z29, Z31     ; \
	VCVTDQ2PS Z14, Z14             ; \
	VFMADD231PS Z31, Z14, Z22      ; \
	VMULPS 10880(DI), Z30, Z31     ; \
	VCVTDQ2PS Z6, Z6               ; \
	VFNMADD231PS Z31, Z6, Z22      ; \
	VMULPS 16320(DI), Z29, Z31     ; \
	VCVTDQ2PS Z15, Z15             ; \
	VFMADD231PS Z31, Z15, Z23      ; \
	VMULPS 16320(DI), Z30, Z31     ; \
	VCVTDQ2PS Z7, Z7               ; \
	VFNMADD231PS Z31, Z7, Z23

#define KFIN62x4 \
	VBROADCASTSS (SI), Z29       ; \
	VMULPS 0(DI), Z29, Z31       ; \
	VCVTDQ2PS Z8, Z8             ; \
	VFMADD231PS Z31, Z8, Z16     ; \
	VMULPS 5440(DI), Z29, Z31    ; \
	VCVTDQ2PS Z9, Z9             ; \
	VFMADD231PS Z31, Z9, Z17     ; \
	VMULPS 10880(DI), Z29, Z31   ; \
	VCVTDQ2PS Z10, Z10           ; \
	VFMADD231PS Z31, Z10, Z18    ; \
	VMULPS 16320(DI), Z29, Z31   ; \
	VCVTDQ2PS Z11, Z11           ; \
	VFMADD231PS Z31, Z11, Z19    ; \
	VBROADCASTSS (SI)(DX*1), Z29 ; \
	VMULPS 0(DI), Z29, Z31       ; \
	VCVTDQ2PS Z12, Z12           ; \
	VFMADD231PS Z31, Z12, Z20    ; \
	VMULPS 5440(DI), Z29, Z31    ; \
	VCVTDQ2PS Z13, Z13           ; \
	VFMADD231PS Z31, Z13, Z21    ; \
	VMULPS 10880(DI), Z29, Z31   ; \
	VCVTDQ2PS Z14, Z14           ; \
	VFMADD231PS Z31, Z14, Z22    ; \
	VMULPS 16320(DI), Z29, Z31   ; \
	VCVTDQ2PS Z15, Z15           ; \
	VFMADD231PS Z31, Z15, Z23

#define KSTEP1x4(s) \
	VMOVDQU32 (64*s+0)(DI), Z24     ; \
	VMOVDQU32 (64*s+5440)(DI), Z25  ; \
	VMOVDQU32 (64*s+10880)(DI), Z26 ; \
	VMOVDQU32 (64*s+16320)(DI), Z27 ; \
	VPBROADCASTD (4*s)(SI), Z28     ; \
	VPDPBUSD Z24, Z28, Z0           ; \
	VPDPBUSD Z25, Z28, Z1           ; \
	VPDPBUSD Z26, Z28, Z2           ; \
	VPDPBUSD Z27, Z28, Z3

#define KSUB1x4(off) \
	VPMULLD.BCST off(SI), Z0, Z0 ; \
	VPADDD Z0, Z8, Z8            ; \
	VPMULLD.BCST off(SI), Z1, Z1 ; \
	VPADDD Z1, Z9, Z9            ; \
	VPMULLD.BCST off(SI), Z2, Z2 ; \
	VPADDD Z2, Z10, Z10          ; \
	VPMULLD.BCST off(SI), Z3, Z3 ; \
	VPADDD Z3, Z11, Z11

#define KINIT1x4(off) \
	VMOVDQU32 (off+0)(DI), Z0     ; \
	VMOVDQU32 (off+5440)(DI), Z1  ; \
	VMOVDQU32 (off+10880)(DI), Z2 ; \
	VMOVDQU32 (off+16320)(DI), Z3

#define KZEROP1x4 \
	VPXORD Z0, Z0, Z0 ; \
	VPXORD Z1, Z1, Z1 ; \
	VPXORD Z2, Z2, Z2 ; \
	VPXORD Z3, Z3, Z3

#define KZEROT1x4 \
	VPXORD Z8, Z8, Z8    ; \
	VPXORD Z9, Z9, Z9    ; \
	VPXORD Z10, Z10, Z10 ; \
	VPXORD Z11, Z11, Z11

#define KZEROF1x4 \
	VPXORD Z16, Z16, Z16 ; \
	VPXORD Z17, Z17, Z17 ; \
	VPXORD Z18, Z18, Z18 ; \
	VPXORD Z19, Z19, Z19

#define KMINS1x4 \
	VMOVDQU32 64(DI), Z24         ; \
	VMOVDQU32 5504(DI), Z25       ; \
	VMOVDQU32 10944(DI), Z26      ; \
	VMOVDQU32 16384(DI), Z27      ; \
	VPDPWSSD.BCST 0(SI), Z24, Z0  ; \
	VPDPWSSD.BCST 0(SI), Z25, Z1  ; \
	VPDPWSSD.BCST 0(SI), Z26, Z2  ; \
	VPDPWSSD.BCST 0(SI), Z27, Z3  ; \
	VMOVDQU32 128(DI), Z24        ; \
	VMOVDQU32 5568(DI), Z25       ; \
	VMOVDQU32 11008(DI), Z26      ; \
	VMOVDQU32 16448(DI), Z27      ; \
	VPDPWSSD.BCST 4(SI), Z24, Z0  ; \
	VPDPWSSD.BCST 4(SI), Z25, Z1  ; \
	VPDPWSSD.BCST 4(SI), Z26, Z2  ; \
	VPDPWSSD.BCST 4(SI), Z27, Z3  ; \
	VMOVDQU32 192(DI), Z24        ; \
	VMOVDQU32 5632(DI), Z25       ; \
	VMOVDQU32 11072(DI), Z26      ; \
	VMOVDQU32 16512(DI), Z27      ; \
	VPDPWSSD.BCST 8(SI), Z24, Z0  ; \
	VPDPWSSD.BCST 8(SI), Z25, Z1  ; \
	VPDPWSSD.BCST 8(SI), Z26, Z2  ; \
	VPDPWSSD.BCST 8(SI), Z27, Z3  ; \
	VMOVDQU32 256(DI), Z24        ; \
	VMOVDQU32 5696(DI), Z25       ; \
	VMOVDQU32 11136(DI), Z26      ; \
	VMOVDQU32 16576(DI), Z27      ; \
	VPDPWSSD.BCST 12(SI), Z24, Z0 ; \
	VPDPWSSD.BCST 12(SI), Z25, Z1 ; \
	VPDPWSSD.BCST 12(SI), Z26, Z2 ; \
	VPDPWSSD.BCST 12(SI), Z27, Z3

#define KFIN41x4 \
	VBROADCASTSS 16(SI), Z29   ; \
	VBROADCASTSS 20(SI), Z30   ; \
	VMULPS 0(DI), Z29, Z31     ; \
	VCVTDQ2PS Z8, Z8           ; \
	VFMADD231PS Z31, Z8, Z16   ; \
	VMULPS 0(DI), Z30, Z31     ; \
	VCVTDQ2PS Z0, Z0           ; \
	VFNMADD231PS Z31, Z0, Z16  ; \
	VMULPS 5440(DI), Z29, Z31  ; \
	VCVTDQ2PS Z9, Z9           ; \
	VFMADD231PS Z31, Z9, Z17   ; \
	VMULPS 5440(DI), Z30, Z31  ; \
	VCVTDQ2PS Z1, Z1           ; \
	VFNMADD231PS Z31, Z1, Z17  ; \
	VMULPS 10880(DI), Z29, Z31 ; \
	VCVTDQ2PS Z10, Z10         ; \
	VFMADD231PS Z31, Z10, Z18  ; \
	VMULPS 10880(DI), Z30, Z31 ; \
	VCVTDQ2PS Z2, Z2           ; \
	VFNMADD231PS Z31, Z2, Z18  ; \
	VMULPS 16320(DI), Z29, Z31 ; \
	VCVTDQ2PS Z11, Z11         ; \
	VFMADD231PS Z31, Z11, Z19  ; \
	VMULPS 16320(DI), Z30, Z31 ; \
	VCVTDQ2PS Z3, Z3           ; \
	VFNMADD231PS Z31, Z3, Z19

#define KFIN61x4 \
	VBROADCASTSS (SI), Z29     ; \
	VMULPS 0(DI), Z29, Z31     ; \
	VCVTDQ2PS Z8, Z8           ; \
	VFMADD231PS Z31, Z8, Z16   ; \
	VMULPS 5440(DI), Z29, Z31  ; \
	VCVTDQ2PS Z9, Z9           ; \
	VFMADD231PS Z31, Z9, Z17   ; \
	VMULPS 10880(DI), Z29, Z31 ; \
	VCVTDQ2PS Z10, Z10         ; \
	VFMADD231PS Z31, Z10, Z18  ; \
	VMULPS 16320(DI), Z29, Z31 ; \
	VCVTDQ2PS Z11, Z11         ; \
	VFMADD231PS Z31, Z11, Z19

#define KSTEP4x2(s) \
	VMOVDQU32 (64*s+0)(DI), Z24       ; \
	VMOVDQU32 (64*s+5440)(DI), Z25    ; \
	VPBROADCASTD (4*s)(SI), Z28       ; \
	VPDPBUSD Z24, Z28, Z0             ; \
	VPDPBUSD Z25, Z28, Z1             ; \
	VPBROADCASTD (4*s)(SI)(DX*1), Z28 ; \
	VPDPBUSD Z24, Z28, Z2             ; \
	VPDPBUSD Z25, Z28, Z3             ; \
	VPBROADCASTD (4*s)(SI)(DX*2), Z28 ; \
	VPDPBUSD Z24, Z28, Z4             ; \
	VPDPBUSD Z25, Z28, Z5             ; \
	VPBROADCASTD (4*s)(R11), Z28      ; \
	VPDPBUSD Z24, Z28, Z6             ; \
	VPDPBUSD Z25, Z28, Z7

#define KSUB4x2(off) \
	VPMULLD.BCST off(SI), Z0, Z0       ; \
	VPADDD Z0, Z8, Z8                  ; \
	VPMULLD.BCST off(SI), Z1, Z1       ; \
	VPADDD Z1, Z9, Z9                  ; \
	VPMULLD.BCST off(SI)(DX*1), Z2, Z2 ; \
	VPADDD Z2, Z10, Z10                ; \
	VPMULLD.BCST off(SI)(DX*1), Z3, Z3 ; \
	VPADDD Z3, Z11, Z11                ; \
	VPMULLD.BCST off(SI)(DX*2), Z4, Z4 ; \
	VPADDD Z4, Z12, Z12                ; \
	VPMULLD.BCST off(SI)(DX*2), Z5, Z5 ; \
	VPADDD Z5, Z13, Z13                ; \
	VPMULLD.BCST off(R11), Z6, Z6      ; \
	VPADDD Z6, Z14, Z14                ; \
	VPMULLD.BCST off(R11), Z7, Z7      ; \
	VPADDD Z7, Z15, Z15

#define KINIT4x2(off) \
	VMOVDQU32 (off+0)(DI), Z0    ; \
	VMOVDQU32 (off+5440)(DI), Z1 ; \
	VMOVDQA32 Z0, Z2             ; \
	VMOVDQA32 Z1, Z3             ; \
	VMOVDQA32 Z0, Z4             ; \
	VMOVDQA32 Z1, Z5             ; \
	VMOVDQA32 Z0, Z6             ; \
	VMOVDQA32 Z1, Z7

#define KZEROP4x2 \
	VPXORD Z0, Z0, Z0 ; \
	VPXORD Z1, Z1, Z1 ; \
	VPXORD Z2, Z2, Z2 ; \
	VPXORD Z3, Z3, Z3 ; \
	VPXORD Z4, Z4, Z4 ; \
	VPXORD Z5, Z5, Z5 ; \
	VPXORD Z6, Z6, Z6 ; \
	VPXORD Z7, Z7, Z7

#define KZEROT4x2 \
	VPXORD Z8, Z8, Z8    ; \
	VPXORD Z9, Z9, Z9    ; \
	VPXORD Z10, Z10, Z10 ; \
	VPXORD Z11, Z11, Z11 ; \
	VPXORD Z12, Z12, Z12 ; \
	VPXORD Z13, Z13, Z13 ; \
	VPXORD Z14, Z14, Z14 ; \
	VPXORD Z15, Z15, Z15

#define KZEROF4x2 \
	VPXORD Z16, Z16, Z16 ; \
	VPXORD Z17, Z17, Z17 ; \
	VPXORD Z18, Z18, Z18 ; \
	VPXORD Z19, Z19, Z19 ; \
	VPXORD Z20, Z20, Z20 ; \
	VPXORD Z21, Z21, Z21 ; \
	VPXORD Z22, Z22, Z22 ; \
	VPXORD Z23, Z23, Z23

#define KMINS4x2 \
	VMOVDQU32 64(DI), Z24               ; \
	VMOVDQU32 5504(DI), Z25             ; \
	VPDPWSSD.BCST 0(SI), Z24, Z0        ; \
	VPDPWSSD.BCST 0(SI), Z25, Z1        ; \
	VPDPWSSD.BCST 0(SI)(DX*1), Z24, Z2  ; \
	VPDPWSSD.BCST 0(SI)(DX*1), Z25, Z3  ; \
	VPDPWSSD.BCST 0(SI)(DX*2), Z24, Z4  ; \
	VPDPWSSD.BCST 0(SI)(DX*2), Z25, Z5  ; \
	VPDPWSSD.BCST 0(R11), Z24, Z6       ; \
	VPDPWSSD.BCST 0(R11), Z25, Z7       ; \
	VMOVDQU32 128(DI), Z24              ; \
	VMOVDQU32 5568(DI), Z25             ; \
	VPDPWSSD.BCST 4(SI), Z24, Z0        ; \
	VPDPWSSD.BCST 4(SI), Z25, Z1        ; \
	VPDPWSSD.BCST 4(SI)(DX*1), Z24, Z2  ; \
	VPDPWSSD.BCST 4(SI)(DX*1), Z25, Z3  ; \
	VPDPWSSD.BCST 4(SI)(DX*2), Z24, Z4  ; \
	VPDPWSSD.BCST 4(SI)(DX*2), Z25, Z5  ; \
	VPDPWSSD.BCST 4(R11), Z24, Z6       ; \
	VPDPWSSD.BCST 4(R11), Z25, Z7       ; \
	VMOVDQU32 192(DI), Z24              ; \
	VMOVDQU32 5632(DI), Z25             ; \
	VPDPWSSD.BCST 8(SI), Z24, Z0        ; \
	VPDPWSSD.BCST 8(SI), Z25, Z1        ; \
	VPDPWSSD.BCST 8(SI)(DX*1), Z24, Z2  ; \
	VPDPWSSD.BCST 8(SI)(DX*1), Z25, Z3  ; \
	VPDPWSSD.BCST 8(SI)(DX*2), Z24, Z4  ; \
	VPDPWSSD.BCST 8(SI)(DX*2), Z25, Z5  ; \
	VPDPWSSD.BCST 8(R11), Z24, Z6       ; \
	VPDPWSSD.BCST 8(R11), Z25, Z7       ; \
	VMOVDQU32 256(DI), Z24              ; \
	VMOVDQU32 5696(DI), Z25             ; \
	VPDPWSSD.BCST 12(SI), Z24, Z0       ; \
	VPDPWSSD.BCST 12(SI), Z25, Z1       ; \
	VPDPWSSD.BCST 12(SI)(DX*1), Z24, Z2 ; \
	VPDPWSSD.BCST 12(SI)(DX*1), Z25, Z3 ; \
	VPDPWSSD.BCST 12(SI)(DX*2), Z24, Z4 ; \
	VPDPWSSD.BCST 12(SI)(DX*2), Z25, Z5 ; \
	VPDPWSSD.BCST 12(R11), Z24, Z6      ; \
	VPDPWSSD.BCST 12(R11), Z25, Z7

#define KFIN44x2 \
	VBROADCASTSS 16(SI), Z29       ; \
	VBROADCASTSS 20(SI), Z30       ; \
	VMULPS 0(DI), Z29, Z31         ; \
	VCVTDQ2PS Z8, Z8               ; \
	VFMADD231PS Z31, Z8, Z16       ; \
	VMULPS 0(DI), Z30, Z31         ; \
	VCVTDQ2PS Z0, Z0               ; \
	VFNMADD231PS Z31, Z0, Z16      ; \
	VMULPS 5440(DI), Z29, Z31      ; \
	VCVTDQ2PS Z9, Z9               ; \
	VFMADD231PS Z31, Z9, Z17       ; \
	VMULPS 5440(DI), Z30, Z31      ; \
	VCVTDQ2PS Z1, Z1               ; \
	VFNMADD231PS Z31, Z1, Z17      ; \
	VBROADCASTSS 16(SI)(DX*1), Z29 ; \
	VBROADCASTSS 20(SI)(DX*1), Z30 ; \
	VMULPS 0(DI), Z29, Z31         ; \
	VCVTDQ2PS Z10, Z10             ; \
	VFMADD231PS Z31, Z10, Z18      ; \
	VMULPS 0(DI), Z30, Z31         ; \
	VCVTDQ2PS Z2, Z2               ; \
	VFNMADD231PS Z31, Z2, Z18      ; \
	VMULPS 5440(DI), Z29, Z31      ; \
	VCVTDQ2PS Z11, Z11             ; \
	VFMADD231PS Z31, Z11, Z19      ; \
	VMULPS 5440(DI), Z30, Z31      ; \
	VCVTDQ2PS Z3, Z3               ; \
	VFNMADD231PS Z31, Z3, Z19      ; \
	VBROADCASTSS 16(SI)(DX*2), Z29 ; \
	VBROADCASTSS 20(SI)(DX*2), Z30 ; \
	VMULPS 0(DI), Z29, Z31         ; \
	VCVTDQ2PS Z12, Z12             ; \
	VFMADD231PS Z31, Z12, Z20      ; \
	VMULPS 0(DI), Z30, Z31         ; \
	VCVTDQ2PS Z4, Z4               ; \
	VFNMADD231PS Z31, Z4, Z20      ; \
	VMULPS 5440(DI), Z29, Z31      ; \
	VCVTDQ2PS Z13, Z13             ; \
	VFMADD231PS Z31, Z13, Z21      ; \
	VMULPS 5440(DI), Z30, Z31      ; \
	VCVTDQ2PS Z5, Z5               ; \
	VFNMADD231PS Z31, Z5, Z21      ; \
	VBROADCASTSS 16(R11), Z29      ; \
	VBROADCASTSS 20(R11), Z30      ; \
	VMULPS 0(DI), Z29, Z31         ; \
	VCVTDQ2PS Z14, Z14             ; \
	VFMADD231PS Z31, Z14, Z22      ; \
	VMULPS 0(DI), Z30, Z31         ; \
	VCVTDQ2PS Z6, Z6               ; \
	VFNMADD231PS Z31, Z6, Z22      ; \
	VMULPS 5440(DI), Z29, Z31      ; \
	VCVTDQ2PS Z15, Z15             ; \
	VFMADD231PS Z31, Z15, Z23      ; \
	VMULPS 5440(DI), Z30, Z31      ; \
	VCVTDQ2PS Z7, Z7               ; \
	VFNMADD231PS Z31, Z7, Z23

#define KFIN64x2 \
	VBROADCASTSS (SI), Z29       ; \
	VMULPS 0(DI), Z29, Z31       ; \
	VCVTDQ2PS Z8, Z8             ; \
	VFMADD231PS Z31, Z8, Z16     ; \
	VMULPS 5440(DI), Z29, Z31    ; \
	VCVTDQ2PS Z9, Z9             ; \
	VFMADD231PS Z31, Z9, Z17     ; \
	VBROADCASTSS (SI)(DX*1), Z29 ; \
	VMULPS 0(DI), Z29, Z31       ; \
	VCVTDQ2PS Z10, Z10           ; \
	VFMADD231PS Z31, Z10, Z18    ; \
	VMULPS 5440(DI), Z29, Z31    ; \
	VCVTDQ2PS Z11, Z11           ; \
	VFMADD231PS Z31, Z11, Z19    ; \
	VBROADCASTSS (SI)(DX*2), Z29 ; \
	VMULPS 0(DI), Z29, Z31       ; \
	VCVTDQ2PS Z12, Z12           ; \
	VFMADD231PS Z31, Z12, Z20    ; \
	VMULPS 5440(DI), Z29, Z31    ; \
	VCVTDQ2PS Z13, Z13           ; \
	VFMADD231PS Z31, Z13, Z21    ; \
	VBROADCASTSS (R11), Z29      ; \
	VMULPS 0(DI), Z29, Z31       ; \
	VCVTDQ2PS Z14, Z14           ; \
	VFMADD231PS Z31, Z14, Z22    ; \
	VMULPS 5440(DI), Z29, Z31    ; \
	VCVTDQ2PS Z15, Z15           ; \
	VFMADD231PS Z31, Z15, Z23

#define KSTEP1x2(s) \
	VMOVDQU32 (64*s+0)(DI), Z24    ; \
	VMOVDQU32 (64*s+5440)(DI), Z25 ; \
	VPBROADCASTD (4*s)(SI), Z28    ; \
	VPDPBUSD Z24, Z28, Z0          ; \
	VPDPBUSD Z25, Z28, Z1

#define KSUB1x2(off) \
	VPMULLD.BCST off(SI), Z0, Z0 ; \
	VPADDD Z0, Z8, Z8            ; \
	VPMULLD.BCST off(SI), Z1, Z1 ; \
	VPADDD Z1, Z9, Z9

#define KINIT1x2(off) \
	VMOVDQU32 (off+0)(DI), Z0    ; \
	VMOVDQU32 (off+5440)(DI), Z1

#define KZEROP1x2 \
	VPXORD Z0, Z0, Z0 ; \
	VPXORD Z1, Z1, Z1

#define KZEROT1x2 \
	VPXORD Z8, Z8, Z8 ; \
	VPXORD Z9, Z9, Z9

#define KZEROF1x2 \
	VPXORD Z16, Z16, Z16 ; \
	VPXORD Z17, Z17, Z17

#define KMINS1x2 \
	VMOVDQU32 64(DI), Z24         ; \
	VMOVDQU32 5504(DI), Z25       ; \
	VPDPWSSD.BCST 0(SI), Z24, Z0  ; \
	VPDPWSSD.BCST 0(SI), Z25, Z1  ; \
	VMOVDQU32 128(DI), Z24        ; \
	VMOVDQU32 5568(DI), Z25       ; \
	VPDPWSSD.BCST 4(SI), Z24, Z0  ; \
	VPDPWSSD.BCST 4(SI), Z25, Z1  ; \
	VMOVDQU32 192(DI), Z24        ; \
	VMOVDQU32 5632(DI), Z25       ; \
	VPDPWSSD.BCST 8(SI), Z24, Z0  ; \
	VPDPWSSD.BCST 8(SI), Z25, Z1  ; \
	VMOVDQU32 256(DI), Z24        ; \
	VMOVDQU32 5696(DI), Z25       ; \
	VPDPWSSD.BCST 12(SI), Z24, Z0 ; \
	VPDPWSSD.BCST 12(SI), Z25, Z1

#define KFIN41x2 \
	VBROADCASTSS 16(SI), Z29  ; \
	VBROADCASTSS 20(SI), Z30  ; \
	VMULPS 0(DI), Z29, Z31    ; \
	VCVTDQ2PS Z8, Z8          ; \
	VFMADD231PS Z31, Z8, Z16  ; \
	VMULPS 0(DI), Z30, Z31    ; \
	VCVTDQ2PS Z0, Z0          ; \
	VFNMADD231PS Z31, Z0, Z16 ; \
	VMULPS 5440(DI), Z29, Z31 ; \
	VCVTDQ2PS Z9, Z9          ; \
	VFMADD231PS Z31, Z9, Z17  ; \
	VMULPS 5440(DI), Z30, Z31 ; \
	VCVTDQ2PS Z1, Z1          ; \
	VFNMADD231PS Z31, Z1, Z17

#define KFIN61x2 \
	VBROADCASTSS (SI), Z29    ; \
	VMULPS 0(DI), Z29, Z31    ; \
	VCVTDQ2PS Z8, Z8          ; \
	VFMADD231PS Z31, Z8, Z16  ; \
	VMULPS 5440(DI), Z29, Z31 ; \
	VCVTDQ2PS Z9, Z9          ; \
	VFMADD231PS Z31, Z9, Z17

#define KSTEP8x1(s) \
	VMOVDQU32 (64*s+0)(DI), Z24        ; \
	VPBROADCASTD (4*s)(SI), Z28        ; \
	VPDPBUSD Z24, Z28, Z0              ; \
	VPBROADCASTD (4*s)(SI)(DX*1), Z28  ; \
	VPDPBUSD Z24, Z28, Z1              ; \
	VPBROADCASTD (4*s)(SI)(DX*2), Z28  ; \
	VPDPBUSD Z24, Z28, Z2              ; \
	VPBROADCASTD (4*s)(R11), Z28       ; \
	VPDPBUSD Z24, Z28, Z3              ; \
	VPBROADCASTD (4*s)(R11)(DX*1), Z28 ; \
	VPDPBUSD Z24, Z28, Z4              ; \
	VPBROADCASTD (4*s)(R11)(DX*2), Z28 ; \
	VPDPBUSD Z24, Z28, Z5              ; \
	VPBROADCASTD (4*s)(R12), Z28       ; \
	VPDPBUSD Z24, Z28, Z6              ; \
	VPBROADCASTD (4*s)(R12)(DX*1), Z28 ; \
	VPDPBUSD Z24, Z28, Z7

#define KSUB8x1(off) \
	VPMULLD.BCST off(SI), Z0, Z0        ; \
	VPADDD Z0, Z8, Z8                   ; \
	VPMULLD.BCST off(SI)(DX*1), Z1, Z1  ; \
	VPADDD Z1, Z9, Z9                   ; \
	VPMULLD.BCST off(SI)(DX*2), Z2, Z2  ; \
	VPADDD Z2, Z10, Z10                 ; \
	VPMULLD.BCST off(R11), Z3, Z3       ; \
	VPADDD Z3, Z11, Z11                 ; \
	VPMULLD.BCST off(R11)(DX*1), Z4, Z4 ; \
	VPADDD Z4, Z12, Z12                 ; \
	VPMULLD.BCST off(R11)(DX*2), Z5, Z5 ; \
	VPADDD Z5, Z13, Z13                 ; \
	VPMULLD.BCST off(R12), Z6, Z6       ; \
	VPADDD Z6, Z14, Z14                 ; \
	VPMULLD.BCST off(R12)(DX*1), Z7, Z7 ; \
	VPADDD Z7, Z15, Z15

#define KINIT8x1(off) \
	VMOVDQU32 (off+0)(DI), Z0 ; \
	VMOVDQA32 Z0, Z1          ; \
	VMOVDQA32 Z0, Z2          ; \
	VMOVDQA32 Z0, Z3          ; \
	VMOVDQA32 Z0, Z4          ; \
	VMOVDQA32 Z0, Z5          ; \
	VMOVDQA32 Z0, Z6          ; \
	VMOVDQA32 Z0, Z7

#define KZEROP8x1 \
	VPXORD Z0, Z0, Z0 ; \
	VPXORD Z1, Z1, Z1 ; \
	VPXORD Z2, Z2, Z2 ; \
	VPXORD Z3, Z3, Z3 ; \
	VPXORD Z4, Z4, Z4 ; \
	VPXORD Z5, Z5, Z5 ; \
	VPXORD Z6, Z6, Z6 ; \
	VPXORD Z7, Z7, Z7

#define KZEROT8x1 \
	VPXORD Z8, Z8, Z8    ; \
	VPXORD Z9, Z9, Z9    ; \
	VPXORD Z10, Z10, Z10 ; \
	VPXORD Z11, Z11, Z11 ; \
	VPXORD Z12, Z12, Z12 ; \
	VPXORD Z13, Z13, Z13 ; \
	VPXORD Z14, Z14, Z14 ; \
	VPXORD Z15, Z15, Z15

#define KZEROF8x1 \
	VPXORD Z16, Z16, Z16 ; \
	VPXORD Z17, Z17, Z17 ; \
	VPXORD Z18, Z18, Z18 ; \
	VPXORD Z19, Z19, Z19 ; \
	VPXORD Z20, Z20, Z20 ; \
	VPXORD Z21, Z21, Z21 ; \
	VPXORD Z22, Z22, Z22 ; \
	VPXORD Z23, Z23, Z23

#define KMINS8x1 \
	VMOVDQU32 64(DI), Z24                ; \
	VPDPWSSD.BCST 0(SI), Z24, Z0         ; \
	VPDPWSSD.BCST 0(SI)(DX*1), Z24, Z1   ; \
	VPDPWSSD.BCST 0(SI)(DX*2), Z24, Z2   ; \
	VPDPWSSD.BCST 0(R11), Z24, Z3        ; \
	VPDPWSSD.BCST 0(R11)(DX*1), Z24, Z4  ; \
	VPDPWSSD.BCST 0(R11)(DX*2), Z24, Z5  ; \
	VPDPWSSD.BCST 0(R12), Z24, Z6        ; \
	VPDPWSSD.BCST 0(R12)(DX*1), Z24, Z7  ; \
	VMOVDQU32 128(DI), Z24               ; \
	VPDPWSSD.BCST 4(SI), Z24, Z0         ; \
	VPDPWSSD.BCST 4(SI)(DX*1), Z24, Z1   ; \
	VPDPWSSD.BCST 4(SI)(DX*2), Z24, Z2   ; \
	VPDPWSSD.BCST 4(R11), Z24, Z3        ; \
	VPDPWSSD.BCST 4(R11)(DX*1), Z24, Z4  ; \
	VPDPWSSD.BCST 4(R11)(DX*2), Z24, Z5  ; \
	VPDPWSSD.BCST 4(R12), Z24, Z6        ; \
	VPDPWSSD.BCST 4(R12)(DX*1), Z24, Z7  ; \
	VMOVDQU32 192(DI), Z24               ; \
	VPDPWSSD.BCST 8(SI), Z24, Z0         ; \
	VPDPWSSD.BCST 8(SI)(DX*1), Z24, Z1   ; \
	VPDPWSSD.BCST 8(SI)(DX*2), Z24, Z2   ; \
	VPDPWSSD.BCST 8(R11), Z24, Z3        ; \
	VPDPWSSD.BCST 8(R11)(DX*1), Z24, Z4  ; \
	VPDPWSSD.BCST 8(R11)(DX*2), Z24, Z5  ; \
	VPDPWSSD.BCST 8(R12), Z24, Z6        ; \
	VPDPWSSD.BCST 8(R12)(DX*1), Z24, Z7  ; \
	VMOVDQU32 256(DI), Z24               ; \
	VPDPWSSD.BCST 12(SI), Z24, Z0        ; \
	VPDPWSSD.BCST 12(SI)(DX*1), Z24, Z1  ; \
	VPDPWSSD.BCST 12(SI)(DX*2), Z24, Z2  ; \
	VPDPWSSD.BCST 12(R11), Z24, Z3       ; \
	VPDPWSSD.BCST 12(R11)(DX*1), Z24, Z4 ; \
	VPDPWSSD.BCST 12(R11)(DX*2), Z24, Z5 ; \
	VPDPWSSD.BCST 12(R12), Z24, Z6       ; \
	VPDPWSSD.BCST 12(R12)(DX*1), Z24, Z7

#define KFIN48x1 \
	VBROADCASTSS 16(SI), Z29        ; \
	VBROADCASTSS 20(SI), Z30        ; \
	VMULPS 0(DI), Z29, Z31          ; \
	VCVTDQ2PS Z8, Z8                ; \
	VFMADD231PS Z31, Z8, Z16        ; \
	VMULPS 0(DI), Z30, Z31          ; \
	VCVTDQ2PS Z0, Z0                ; \
	VFNMADD231PS Z31, Z0, Z16       ; \
	VBROADCASTSS 16(SI)(DX*1), Z29  ; \
	VBROADCASTSS 20(SI)(DX*1), Z30  ; \
	VMULPS 0(DI), Z29, Z31          ; \
	VCVTDQ2PS Z9, Z9                ; \
	VFMADD231PS Z31, Z9, Z17        ; \
	VMULPS 0(DI), Z30, Z31          ; \
	VCVTDQ2PS Z1, Z1                ; \
	VFNMADD231PS Z31, Z1, Z17       ; \
	VBROADCASTSS 16(SI)(DX*2), Z29  ; \
	VBROADCASTSS 20(SI)(DX*2), Z30  ; \
	VMULPS 0(DI), Z29, Z31          ; \
	VCVTDQ2PS Z10, Z10              ; \
	VFMADD231PS Z31, Z10, Z18       ; \
	VMULPS 0(DI), Z30, Z31          ; \
	VCVTDQ2PS Z2, Z2                ; \
	VFNMADD231PS Z31, Z2, Z18       ; \
	VBROADCASTSS 16(R11), Z29       ; \
	VBROADCASTSS 20(R11), Z30       ; \
	VMULPS 0(DI), Z29, Z31          ; \
	VCVTDQ2PS Z11, Z11              ; \
	VFMADD231PS Z31, Z11, Z19       ; \
	VMULPS 0(DI), Z30, Z31          ; \
	VCVTDQ2PS Z3, Z3                ; \
	VFNMADD231PS Z31, Z3, Z19       ; \
	VBROADCASTSS 16(R11)(DX*1), Z29 ; \
	VBROADCASTSS 20(R11)(DX*1), Z30 ; \
	VMULPS 0(DI), Z29, Z31          ; \
	VCVTDQ2PS Z12, Z12              ; \
	VFMADD231PS Z31, Z12, Z20       ; \
	VMULPS 0(DI), Z30, Z31          ; \
	VCVTDQ2PS Z4, Z4                ; \
	VFNMADD231PS Z31, Z4, Z20       ; \
	VBROADCASTSS 16(R11)(DX*2), Z29 ; \
	VBROADCASTSS 20(R11)(DX*2), Z30 ; \
	VMULPS 0(DI), Z29, Z31          ; \
	VCVTDQ2PS Z13, Z13              ; \
	VFMADD231PS Z31, Z13, Z21       ; \
	VMULPS 0(DI), Z30, Z31          ; \
	VCVTDQ2PS Z5, Z5                ; \
	VFNMADD231PS Z31, Z5, Z21       ; \
	VBROADCASTSS 16(R12), Z29       ; \
	VBROADCASTSS 20(R12), Z30       ; \
	VMULPS 0(DI), Z29, Z31          ; \
	VCVTDQ2PS Z14, Z14              ; \
	VFMADD231PS Z31, Z14, Z22       ; \
	VMULPS 0(DI), Z30, Z31          ; \
	VCVTDQ2PS Z6, Z6                ; \
	VFNMADD231PS Z31, Z6, Z22       ; \
	VBROADCASTSS 16(R12)(DX*1), Z29 ; \
	VBROADCASTSS 20(R12)(DX*1), Z30 ; \
	VMULPS 0(DI), Z29, Z31          ; \
	VCVTDQ2PS Z15, Z15              ; \
	VFMADD231PS Z31, Z15, Z23       ; \
	VMULPS 0(DI), Z30, Z31          ; \
	VCVTDQ2PS Z7, Z7                ; \
	VFNMADD231PS Z31, Z7, Z23

#define KFIN68x1 \
	VBROADCASTSS (SI), Z29        ; \
	VMULPS 0(DI), Z29, Z31        ; \
	VCVTDQ2PS Z8, Z8              ; \
	VFMADD231PS Z31, Z8, Z16      ; \
	VBROADCASTSS (SI)(DX*1), Z29  ; \
	VMULPS 0(DI), Z29, Z31        ; \
	VCVTDQ2PS Z9, Z9              ; \
	VFMADD231PS Z31, Z9, Z17      ; \
	VBROADCASTSS (SI)(DX*2), Z29  ; \
	VMULPS 0(DI), Z29, Z31        ; \
	VCVTDQ2PS Z10, Z10            ; \
	VFMADD231PS Z31, Z10, Z18     ; \
	VBROADCASTSS (R11), Z29       ; \
	VMULPS 0(DI), Z29, Z31        ; \
	VCVTDQ2PS Z11, Z11            ; \
	VFMADD231PS Z31, Z11, Z19     ; \
	VBROADCASTSS (R11)(DX*1), Z29 ; \
	VMULPS 0(DI), Z29, Z31        ; \
	VCVTDQ2PS Z12, Z12            ; \
	VFMADD231PS Z31, Z12, Z20     ; \
	VBROADCASTSS (R11)(DX*2), Z29 ; \
	VMULPS 0(DI), Z29, Z31        ; \
	VCVTDQ2PS Z13, Z13            ; \
	VFMADD231PS Z31, Z13, Z21     ; \
	VBROADCASTSS (R12), Z29       ; \
	VMULPS 0(DI), Z29, Z31        ; \
	VCVTDQ2PS Z14, Z14            ; \
	VFMADD231PS Z31, Z14, Z22     ; \
	VBROADCASTSS (R12)(DX*1), Z29 ; \
	VMULPS 0(DI), Z29, Z31        ; \
	VCVTDQ2PS Z15, Z15            ; \
	VFMADD231PS Z31, Z15, Z23

#define KSTEP1x1(s) \
	VMOVDQU32 (64*s+0)(DI), Z24 ; \
	VPBROADCASTD (4*s)(SI), Z28 ; \
	VPDPBUSD Z24, Z28, Z0

#define KSUB1x1(off) \
	VPMULLD.BCST off(SI), Z0, Z0 ; \
	VPADDD Z0, Z8, Z8

#define KINIT1x1(off) \
	VMOVDQU32 (off+0)(DI), Z0

#define KZEROP1x1 \
	VPXORD Z0, Z0, Z0

#define KZEROT1x1 \
	VPXORD Z8, Z8, Z8

#define KZEROF1x1 \
	VPXORD Z16, Z16, Z16

#define KMINS1x1 \
	VMOVDQU32 64(DI), Z24         ; \
	VPDPWSSD.BCST 0(SI), Z24, Z0  ; \
	VMOVDQU32 128(DI), Z24        ; \
	VPDPWSSD.BCST 4(SI), Z24, Z0  ; \
	VMOVDQU32 192(DI), Z24        ; \
	VPDPWSSD.BCST 8(SI), Z24, Z0  ; \
	VMOVDQU32 256(DI), Z24        ; \
	VPDPWSSD.BCST 12(SI), Z24, Z0

#define KFIN41x1 \
	VBROADCASTSS 16(SI), Z29  ; \
	VBROADCASTSS 20(SI), Z30  ; \
	VMULPS 0(DI), Z29, Z31    ; \
	VCVTDQ2PS Z8, Z8          ; \
	VFMADD231PS Z31, Z8, Z16  ; \
	VMULPS 0(DI), Z30, Z31    ; \
	VCVTDQ2PS Z0, Z0          ; \
	VFNMADD231PS Z31, Z0, Z16

#define KFIN61x1 \
	VBROADCASTSS (SI), Z29   ; \
	VMULPS 0(DI), Z29, Z31   ; \
	VCVTDQ2PS Z8, Z8         ; \
	VFMADD231PS Z31, Z8, Z16

// func gemmQ8_0PackAct(act *byte, actStride, ntok, nb int, dst *byte, blockStride int)
//
// Packs nb Q8_0 blocks of 16 tokens (token t at act + min(t, ntok−1)·actStride)
// into one q8Group record per block, blockStride bytes apart. ntok ≥ 1.
TEXT ·gemmQ8_0PackAct(SB), NOSPLIT, $0-48
	MOVQ act+0(FP), SI
	MOVQ actStride+8(FP), R8
	MOVQ ntok+16(FP), R9
	MOVQ nb+24(FP), CX
	MOVQ dst+32(FP), DI
	MOVQ blockStride+40(FP), R10
	MOVL $0x80808080, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	VPXOR Y14, Y14, Y14

pkblock:
	TESTQ CX, CX
	JEQ   pkdone
	MOVQ  SI, R11
	XORQ  DX, DX

pktok:
	MOVWLZX (R11), AX
	MOVW    AX, 576(DI)(DX*2)   // the scale, converted below
	VMOVDQU 2(R11), Y0
	VEXTRACTI128 $1, Y0, X1
	VMOVD   X0, 0(DI)(DX*4)
	VPEXTRD $1, X0, 64(DI)(DX*4)
	VPEXTRD $2, X0, 128(DI)(DX*4)
	VPEXTRD $3, X0, 192(DI)(DX*4)
	VMOVD   X1, 256(DI)(DX*4)
	VPEXTRD $1, X1, 320(DI)(DX*4)
	VPEXTRD $2, X1, 384(DI)(DX*4)
	VPEXTRD $3, X1, 448(DI)(DX*4)

	// Σ(y+128) by VPSADBW against zero, then −128·Σy = 128·4096 − 128·Σ(y+128).
	VPXOR   Y15, Y0, Y0
	VPSADBW Y14, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDQ  X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VPADDQ  X1, X0, X0
	VMOVD   X0, AX
	SHLL    $7, AX
	NEGL    AX
	ADDL    $524288, AX
	MOVL    AX, 512(DI)(DX*4)

	INCQ DX
	CMPQ DX, R9
	JGE  pksame
	ADDQ R8, R11

pksame:
	CMPQ DX, $16
	JLT  pktok

	VCVTPH2PS 576(DI), Z0
	VMOVUPS   Z0, 576(DI)
	ADDQ $34, SI
	ADDQ R10, DI
	DECQ CX
	JMP  pkblock

pkdone:
	VZEROUPPER
	RET

// func gemmQ8_0VNNI3x4(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ8_0VNNI3x4(SB), NOSPLIT, $0-64
	PROLOGUE
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

g3x4loop:
	VMOVDQU32 512(DI), Z0
	VMOVDQU32 1152(DI), Z1
	VMOVDQU32 1792(DI), Z2
	VMOVDQU32 2432(DI), Z3
	VMOVDQA32 Z0, Z4
	VMOVDQA32 Z1, Z5
	VMOVDQA32 Z2, Z6
	VMOVDQA32 Z3, Z7
	VMOVDQA32 Z0, Z8
	VMOVDQA32 Z1, Z9
	VMOVDQA32 Z2, Z10
	VMOVDQA32 Z3, Z11
	STEP3x4(0)
	STEP3x4(1)
	STEP3x4(2)
	STEP3x4(3)
	STEP3x4(4)
	STEP3x4(5)
	STEP3x4(6)
	STEP3x4(7)
	SCALE3x4
	ADDQ $34, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  g3x4loop

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z12, K1, 0(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 4(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z20, K1, 8(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 2(R9), K1
	VSCATTERDPS Z13, K1, 0(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z17, K1, 4(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z21, K1, 8(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 4(R9), K1
	VSCATTERDPS Z14, K1, 0(AX)(Z24*4)
	KMOVW 4(R9), K1
	VSCATTERDPS Z18, K1, 4(AX)(Z24*4)
	KMOVW 4(R9), K1
	VSCATTERDPS Z22, K1, 8(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 6(R9), K1
	VSCATTERDPS Z15, K1, 0(AX)(Z24*4)
	KMOVW 6(R9), K1
	VSCATTERDPS Z19, K1, 4(AX)(Z24*4)
	KMOVW 6(R9), K1
	VSCATTERDPS Z23, K1, 8(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ8_0VNNI1x4(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ8_0VNNI1x4(SB), NOSPLIT, $0-64
	PROLOGUE
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

g1x4loop:
	VMOVDQU32 512(DI), Z0
	VMOVDQU32 1152(DI), Z1
	VMOVDQU32 1792(DI), Z2
	VMOVDQU32 2432(DI), Z3
	STEP1x4(0)
	STEP1x4(1)
	STEP1x4(2)
	STEP1x4(3)
	STEP1x4(4)
	STEP1x4(5)
	STEP1x4(6)
	STEP1x4(7)
	SCALE1x4
	ADDQ $34, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  g1x4loop

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z12, K1, 0(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 2(R9), K1
	VSCATTERDPS Z13, K1, 0(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 4(R9), K1
	VSCATTERDPS Z14, K1, 0(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 6(R9), K1
	VSCATTERDPS Z15, K1, 0(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ8_0VNNI6x2(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ8_0VNNI6x2(SB), NOSPLIT, $0-64
	PROLOGUE
	LEAQ (SI)(DX*2), R11
	ADDQ DX, R11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

g6x2loop:
	VMOVDQU32 512(DI), Z0
	VMOVDQU32 1152(DI), Z1
	VMOVDQA32 Z0, Z2
	VMOVDQA32 Z1, Z3
	VMOVDQA32 Z0, Z4
	VMOVDQA32 Z1, Z5
	VMOVDQA32 Z0, Z6
	VMOVDQA32 Z1, Z7
	VMOVDQA32 Z0, Z8
	VMOVDQA32 Z1, Z9
	VMOVDQA32 Z0, Z10
	VMOVDQA32 Z1, Z11
	STEP6x2(0)
	STEP6x2(1)
	STEP6x2(2)
	STEP6x2(3)
	STEP6x2(4)
	STEP6x2(5)
	STEP6x2(6)
	STEP6x2(7)
	SCALE6x2
	ADDQ $34, SI
	ADDQ $34, R11
	ADDQ R8, DI
	DECQ CX
	JNZ  g6x2loop

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z12, K1, 0(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z14, K1, 4(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 8(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z18, K1, 12(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z20, K1, 16(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z22, K1, 20(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 2(R9), K1
	VSCATTERDPS Z13, K1, 0(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z15, K1, 4(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z17, K1, 8(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z19, K1, 12(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z21, K1, 16(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z23, K1, 20(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ8_0VNNI1x2(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ8_0VNNI1x2(SB), NOSPLIT, $0-64
	PROLOGUE
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13

g1x2loop:
	VMOVDQU32 512(DI), Z0
	VMOVDQU32 1152(DI), Z1
	STEP1x2(0)
	STEP1x2(1)
	STEP1x2(2)
	STEP1x2(3)
	STEP1x2(4)
	STEP1x2(5)
	STEP1x2(6)
	STEP1x2(7)
	SCALE1x2
	ADDQ $34, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  g1x2loop

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z12, K1, 0(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 2(R9), K1
	VSCATTERDPS Z13, K1, 0(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ8_0VNNI12x1(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ8_0VNNI12x1(SB), NOSPLIT, $0-64
	PROLOGUE
	LEAQ (SI)(DX*2), R11
	ADDQ DX, R11
	LEAQ (R11)(DX*2), R12
	ADDQ DX, R12
	LEAQ (R12)(DX*2), R13
	ADDQ DX, R13
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

g12x1loop:
	VMOVDQU32 512(DI), Z0
	VMOVDQA32 Z0, Z1
	VMOVDQA32 Z0, Z2
	VMOVDQA32 Z0, Z3
	VMOVDQA32 Z0, Z4
	VMOVDQA32 Z0, Z5
	VMOVDQA32 Z0, Z6
	VMOVDQA32 Z0, Z7
	VMOVDQA32 Z0, Z8
	VMOVDQA32 Z0, Z9
	VMOVDQA32 Z0, Z10
	VMOVDQA32 Z0, Z11
	STEP12x1(0)
	STEP12x1(1)
	STEP12x1(2)
	STEP12x1(3)
	STEP12x1(4)
	STEP12x1(5)
	STEP12x1(6)
	STEP12x1(7)
	SCALE12x1
	ADDQ $34, SI
	ADDQ $34, R11
	ADDQ $34, R12
	ADDQ $34, R13
	ADDQ R8, DI
	DECQ CX
	JNZ  g12x1loop

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z12, K1, 0(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z13, K1, 4(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z14, K1, 8(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z15, K1, 12(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 16(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z17, K1, 20(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z18, K1, 24(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z19, K1, 28(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z20, K1, 32(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z21, K1, 36(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z22, K1, 40(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z23, K1, 44(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ8_0VNNI1x1(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ8_0VNNI1x1(SB), NOSPLIT, $0-64
	PROLOGUE
	VPXORD Z12, Z12, Z12

g1x1loop:
	VMOVDQU32 512(DI), Z0
	STEP1x1(0)
	STEP1x1(1)
	STEP1x1(2)
	STEP1x1(3)
	STEP1x1(4)
	STEP1x1(5)
	STEP1x1(6)
	STEP1x1(7)
	SCALE1x1
	ADDQ $34, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  g1x1loop

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z12, K1, 0(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ8_KPackAct(act *byte, actStride, ntok, nb int, dst *byte, blockStride int)
//
// Packs nb Q8_K super-blocks of 16 tokens (token t at act +
// min(t, ntok−1)·actStride) into one record each, blockStride bytes apart.
// The block sums are computed from the quants, not read from bsums.
TEXT ·gemmQ8_KPackAct(SB), NOSPLIT, $0-48
	MOVQ act+0(FP), SI
	MOVQ actStride+8(FP), R8
	MOVQ ntok+16(FP), R9
	MOVQ nb+24(FP), CX
	MOVQ dst+32(FP), DI
	MOVQ blockStride+40(FP), R10
	VMOVDQU32 kidx<>(SB), Z31
	MOVL $0x01010101, AX
	VPBROADCASTD AX, Z30
	MOVL $0xffff, AX
	VPBROADCASTD AX, Z29
	VPXORD Z28, Z28, Z28

kpblock:
	TESTQ CX, CX
	JEQ   kpdone
	MOVQ  SI, R11
	XORQ  DX, DX

kptok:
	MOVL (R11), AX
	MOVL AX, 5120(DI)(DX*4)
	LEAQ (DI)(DX*4), R12
	KSCATTER(4, 0)
	KSCATTER(68, 1280)
	KSCATTER(132, 2560)
	KSCATTER(196, 3840)
	INCQ DX
	CMPQ DX, R9
	JGE  kpsame
	ADDQ R8, R11

kpsame:
	CMPQ DX, $16
	JLT  kptok

	MOVQ DI, R12
	LEAQ 5184(DI), R13
	MOVQ $4, BX

kpsum:
	KSUM(0, Z1)
	KSUM(256, Z2)
	KSUM(640, Z3)
	KSUM(896, Z4)
	KNEG32(Z1, 512)
	KNEG32(Z2, 576)
	KNEG32(Z3, 1152)
	KNEG32(Z4, 1216)
	VPADDD Z2, Z1, Z1
	VPADDD Z4, Z3, Z3
	VPANDD Z29, Z1, Z1
	VPSLLD $16, Z3, Z3
	VPORD  Z3, Z1, Z1
	VMOVDQU32 Z1, (R13)
	ADDQ $1280, R12
	ADDQ $64, R13
	DECQ BX
	JNZ  kpsum

	ADDQ $292, SI
	ADDQ R10, DI
	DECQ CX
	JMP  kpblock

kpdone:
	VZEROUPPER
	RET

// func gemmQ4_KDecode(src *byte, nb int, dst *byte)
//
// Unpacks nb Q4_K blocks into 312-byte records: for each 32-element
// sub-block j, 32 quant bytes (0–15) and its scale as int32 (36 bytes at
// 36j); at 288 the mins as four int16 pairs (m0 m1, m2 m3, …); d and dmin
// as float32 at 304 and 308.
TEXT ·gemmQ4_KDecode(SB), NOSPLIT, $0-24
	MOVQ src+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15

q4kdloop:
	TESTQ CX, CX
	JEQ   q4kddone
	Q4NIB(16, 0)
	Q4NIB(48, 72)
	Q4NIB(80, 144)
	Q4NIB(112, 216)

	// The 6-bit scales and mins, four to a register (as scaleMinK4).
	MOVL 4(SI), AX
	MOVL 8(SI), BX
	MOVL 12(SI), DX
	MOVL AX, R8
	ANDL $0x3f3f3f3f, R8 // sc0–sc3
	MOVL BX, R9
	ANDL $0x3f3f3f3f, R9 // m0–m3
	MOVL DX, R10
	ANDL $0x0f0f0f0f, R10
	SHRL $6, AX
	ANDL $0x03030303, AX
	SHLL $4, AX
	ORL  AX, R10         // sc4–sc7
	SHRL $4, DX
	ANDL $0x0f0f0f0f, DX
	SHRL $6, BX
	ANDL $0x03030303, BX
	SHLL $4, BX
	ORL  BX, DX          // m4–m7
	SCALEB(R8, 32)
	SCALEB(R8, 68)
	SCALEB(R8, 104)
	SCALEB(R8, 140)
	SCALEB(R10, 176)
	SCALEB(R10, 212)
	SCALEB(R10, 248)
	SCALEB(R10, 284)
	VMOVD R9, X0
	VPINSRD $1, DX, X0, X0
	VPMOVZXBW X0, X0
	VMOVDQU X0, 288(DI)
	VMOVD (SI), X0
	VCVTPH2PS X0, X0
	VMOVQ X0, 304(DI)

	ADDQ $144, SI
	ADDQ $312, DI
	DECQ CX
	JMP  q4kdloop

q4kddone:
	VZEROUPPER
	RET

// func gemmQ6_KDecode(src *byte, nb int, dst *byte)
//
// Unpacks nb Q6_K blocks into 324-byte records: for each 32-element chunk
// j, 32 quant bytes (0–63, without the −32) and the scales of its two
// 16-element halves as int32 (40 bytes at 40j); d as float32 at 320.
TEXT ·gemmQ6_KDecode(SB), NOSPLIT, $0-24
	MOVQ src+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x30303030, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14

q6kdloop:
	TESTQ CX, CX
	JEQ   q6kddone
	Q6HALF(0, 128, 0)
	Q6HALF(64, 160, 160)
	Q6SC(0)
	Q6SC(1)
	Q6SC(2)
	Q6SC(3)
	Q6SC(4)
	Q6SC(5)
	Q6SC(6)
	Q6SC(7)
	MOVWLZX 208(SI), AX
	VMOVD AX, X0
	VCVTPH2PS X0, X0
	VMOVSS X0, 320(DI)

	ADDQ $210, SI
	ADDQ $324, DI
	DECQ CX
	JMP  q6kdloop

q6kddone:
	VZEROUPPER
	RET

// func gemmQ4_KVNNI2x4(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ4_KVNNI2x4(SB), NOSPLIT, $0-64
	KPROLOGUE
	KZEROF2x4

q4k2x4sb:
	KZEROT2x4
	MOVQ $8, BX

q4k2x4sub:
	KZEROP2x4
	KSTEP2x4(0)
	KSTEP2x4(1)
	KSTEP2x4(2)
	KSTEP2x4(3)
	KSTEP2x4(4)
	KSTEP2x4(5)
	KSTEP2x4(6)
	KSTEP2x4(7)
	KSUB2x4(32)
	ADDQ $36, SI
	ADDQ $640, DI
	DECQ BX
	JNZ  q4k2x4sub

	KZEROP2x4
	KMINS2x4
	KFIN42x4
	ADDQ $24, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  q4k2x4sb

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 0(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z20, K1, 4(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 2(R9), K1
	VSCATTERDPS Z17, K1, 0(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z21, K1, 4(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 4(R9), K1
	VSCATTERDPS Z18, K1, 0(AX)(Z24*4)
	KMOVW 4(R9), K1
	VSCATTERDPS Z22, K1, 4(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 6(R9), K1
	VSCATTERDPS Z19, K1, 0(AX)(Z24*4)
	KMOVW 6(R9), K1
	VSCATTERDPS Z23, K1, 4(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ4_KVNNI1x4(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ4_KVNNI1x4(SB), NOSPLIT, $0-64
	KPROLOGUE
	KZEROF1x4

q4k1x4sb:
	KZEROT1x4
	MOVQ $8, BX

q4k1x4sub:
	KZEROP1x4
	KSTEP1x4(0)
	KSTEP1x4(1)
	KSTEP1x4(2)
	KSTEP1x4(3)
	KSTEP1x4(4)
	KSTEP1x4(5)
	KSTEP1x4(6)
	KSTEP1x4(7)
	KSUB1x4(32)
	ADDQ $36, SI
	ADDQ $640, DI
	DECQ BX
	JNZ  q4k1x4sub

	KZEROP1x4
	KMINS1x4
	KFIN41x4
	ADDQ $24, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  q4k1x4sb

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 0(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 2(R9), K1
	VSCATTERDPS Z17, K1, 0(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 4(R9), K1
	VSCATTERDPS Z18, K1, 0(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 6(R9), K1
	VSCATTERDPS Z19, K1, 0(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ4_KVNNI4x2(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ4_KVNNI4x2(SB), NOSPLIT, $0-64
	KPROLOGUE
	LEAQ (SI)(DX*2), R11
	ADDQ DX, R11
	KZEROF4x2

q4k4x2sb:
	KZEROT4x2
	MOVQ $8, BX

q4k4x2sub:
	KZEROP4x2
	KSTEP4x2(0)
	KSTEP4x2(1)
	KSTEP4x2(2)
	KSTEP4x2(3)
	KSTEP4x2(4)
	KSTEP4x2(5)
	KSTEP4x2(6)
	KSTEP4x2(7)
	KSUB4x2(32)
	ADDQ $36, SI
	ADDQ $36, R11
	ADDQ $640, DI
	DECQ BX
	JNZ  q4k4x2sub

	KZEROP4x2
	KMINS4x2
	KFIN44x2
	ADDQ $24, SI
	ADDQ $24, R11
	ADDQ R8, DI
	DECQ CX
	JNZ  q4k4x2sb

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 0(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z18, K1, 4(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z20, K1, 8(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z22, K1, 12(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 2(R9), K1
	VSCATTERDPS Z17, K1, 0(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z19, K1, 4(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z21, K1, 8(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z23, K1, 12(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ4_KVNNI1x2(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ4_KVNNI1x2(SB), NOSPLIT, $0-64
	KPROLOGUE
	KZEROF1x2

q4k1x2sb:
	KZEROT1x2
	MOVQ $8, BX

q4k1x2sub:
	KZEROP1x2
	KSTEP1x2(0)
	KSTEP1x2(1)
	KSTEP1x2(2)
	KSTEP1x2(3)
	KSTEP1x2(4)
	KSTEP1x2(5)
	KSTEP1x2(6)
	KSTEP1x2(7)
	KSUB1x2(32)
	ADDQ $36, SI
	ADDQ $640, DI
	DECQ BX
	JNZ  q4k1x2sub

	KZEROP1x2
	KMINS1x2
	KFIN41x2
	ADDQ $24, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  q4k1x2sb

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 0(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 2(R9), K1
	VSCATTERDPS Z17, K1, 0(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ4_KVNNI8x1(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ4_KVNNI8x1(SB), NOSPLIT, $0-64
	KPROLOGUE
	LEAQ (SI)(DX*2), R11
	ADDQ DX, R11
	LEAQ (R11)(DX*2), R12
	ADDQ DX, R12
	KZEROF8x1

q4k8x1sb:
	KZEROT8x1
	MOVQ $8, BX

q4k8x1sub:
	KZEROP8x1
	KSTEP8x1(0)
	KSTEP8x1(1)
	KSTEP8x1(2)
	KSTEP8x1(3)
	KSTEP8x1(4)
	KSTEP8x1(5)
	KSTEP8x1(6)
	KSTEP8x1(7)
	KSUB8x1(32)
	ADDQ $36, SI
	ADDQ $36, R11
	ADDQ $36, R12
	ADDQ $640, DI
	DECQ BX
	JNZ  q4k8x1sub

	KZEROP8x1
	KMINS8x1
	KFIN48x1
	ADDQ $24, SI
	ADDQ $24, R11
	ADDQ $24, R12
	ADDQ R8, DI
	DECQ CX
	JNZ  q4k8x1sb

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 0(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z17, K1, 4(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z18, K1, 8(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z19, K1, 12(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z20, K1, 16(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z21, K1, 20(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z22, K1, 24(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z23, K1, 28(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ4_KVNNI1x1(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ4_KVNNI1x1(SB), NOSPLIT, $0-64
	KPROLOGUE
	KZEROF1x1

q4k1x1sb:
	KZEROT1x1
	MOVQ $8, BX

q4k1x1sub:
	KZEROP1x1
	KSTEP1x1(0)
	KSTEP1x1(1)
	KSTEP1x1(2)
	KSTEP1x1(3)
	KSTEP1x1(4)
	KSTEP1x1(5)
	KSTEP1x1(6)
	KSTEP1x1(7)
	KSUB1x1(32)
	ADDQ $36, SI
	ADDQ $640, DI
	DECQ BX
	JNZ  q4k1x1sub

	KZEROP1x1
	KMINS1x1
	KFIN41x1
	ADDQ $24, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  q4k1x1sb

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 0(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ6_KVNNI2x4(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ6_KVNNI2x4(SB), NOSPLIT, $0-64
	KPROLOGUE
	KZEROF2x4

q6k2x4sb:
	KZEROT2x4
	MOVQ $8, BX

q6k2x4sub:
	KINIT2x4(512)
	KSTEP2x4(0)
	KSTEP2x4(1)
	KSTEP2x4(2)
	KSTEP2x4(3)
	KSUB2x4(32)
	KINIT2x4(576)
	KSTEP2x4(4)
	KSTEP2x4(5)
	KSTEP2x4(6)
	KSTEP2x4(7)
	KSUB2x4(36)
	ADDQ $40, SI
	ADDQ $640, DI
	DECQ BX
	JNZ  q6k2x4sub

	KFIN62x4
	ADDQ $4, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  q6k2x4sb

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 0(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z20, K1, 4(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 2(R9), K1
	VSCATTERDPS Z17, K1, 0(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z21, K1, 4(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 4(R9), K1
	VSCATTERDPS Z18, K1, 0(AX)(Z24*4)
	KMOVW 4(R9), K1
	VSCATTERDPS Z22, K1, 4(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 6(R9), K1
	VSCATTERDPS Z19, K1, 0(AX)(Z24*4)
	KMOVW 6(R9), K1
	VSCATTERDPS Z23, K1, 4(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ6_KVNNI1x4(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ6_KVNNI1x4(SB), NOSPLIT, $0-64
	KPROLOGUE
	KZEROF1x4

q6k1x4sb:
	KZEROT1x4
	MOVQ $8, BX

q6k1x4sub:
	KINIT1x4(512)
	KSTEP1x4(0)
	KSTEP1x4(1)
	KSTEP1x4(2)
	KSTEP1x4(3)
	KSUB1x4(32)
	KINIT1x4(576)
	KSTEP1x4(4)
	KSTEP1x4(5)
	KSTEP1x4(6)
	KSTEP1x4(7)
	KSUB1x4(36)
	ADDQ $40, SI
	ADDQ $640, DI
	DECQ BX
	JNZ  q6k1x4sub

	KFIN61x4
	ADDQ $4, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  q6k1x4sb

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 0(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 2(R9), K1
	VSCATTERDPS Z17, K1, 0(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 4(R9), K1
	VSCATTERDPS Z18, K1, 0(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 6(R9), K1
	VSCATTERDPS Z19, K1, 0(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ6_KVNNI4x2(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ6_KVNNI4x2(SB), NOSPLIT, $0-64
	KPROLOGUE
	LEAQ (SI)(DX*2), R11
	ADDQ DX, R11
	KZEROF4x2

q6k4x2sb:
	KZEROT4x2
	MOVQ $8, BX

q6k4x2sub:
	KINIT4x2(512)
	KSTEP4x2(0)
	KSTEP4x2(1)
	KSTEP4x2(2)
	KSTEP4x2(3)
	KSUB4x2(32)
	KINIT4x2(576)
	KSTEP4x2(4)
	KSTEP4x2(5)
	KSTEP4x2(6)
	KSTEP4x2(7)
	KSUB4x2(36)
	ADDQ $40, SI
	ADDQ $40, R11
	ADDQ $640, DI
	DECQ BX
	JNZ  q6k4x2sub

	KFIN64x2
	ADDQ $4, SI
	ADDQ $4, R11
	ADDQ R8, DI
	DECQ CX
	JNZ  q6k4x2sb

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 0(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z18, K1, 4(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z20, K1, 8(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z22, K1, 12(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 2(R9), K1
	VSCATTERDPS Z17, K1, 0(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z19, K1, 4(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z21, K1, 8(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z23, K1, 12(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ6_KVNNI1x2(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ6_KVNNI1x2(SB), NOSPLIT, $0-64
	KPROLOGUE
	KZEROF1x2

q6k1x2sb:
	KZEROT1x2
	MOVQ $8, BX

q6k1x2sub:
	KINIT1x2(512)
	KSTEP1x2(0)
	KSTEP1x2(1)
	KSTEP1x2(2)
	KSTEP1x2(3)
	KSUB1x2(32)
	KINIT1x2(576)
	KSTEP1x2(4)
	KSTEP1x2(5)
	KSTEP1x2(6)
	KSTEP1x2(7)
	KSUB1x2(36)
	ADDQ $40, SI
	ADDQ $640, DI
	DECQ BX
	JNZ  q6k1x2sub

	KFIN61x2
	ADDQ $4, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  q6k1x2sb

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 0(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 2(R9), K1
	VSCATTERDPS Z17, K1, 0(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ6_KVNNI8x1(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ6_KVNNI8x1(SB), NOSPLIT, $0-64
	KPROLOGUE
	LEAQ (SI)(DX*2), R11
	ADDQ DX, R11
	LEAQ (R11)(DX*2), R12
	ADDQ DX, R12
	KZEROF8x1

q6k8x1sb:
	KZEROT8x1
	MOVQ $8, BX

q6k8x1sub:
	KINIT8x1(512)
	KSTEP8x1(0)
	KSTEP8x1(1)
	KSTEP8x1(2)
	KSTEP8x1(3)
	KSUB8x1(32)
	KINIT8x1(576)
	KSTEP8x1(4)
	KSTEP8x1(5)
	KSTEP8x1(6)
	KSTEP8x1(7)
	KSUB8x1(36)
	ADDQ $40, SI
	ADDQ $40, R11
	ADDQ $40, R12
	ADDQ $640, DI
	DECQ BX
	JNZ  q6k8x1sub

	KFIN68x1
	ADDQ $4, SI
	ADDQ $4, R11
	ADDQ $4, R12
	ADDQ R8, DI
	DECQ CX
	JNZ  q6k8x1sb

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 0(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z17, K1, 4(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z18, K1, 8(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z19, K1, 12(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z20, K1, 16(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z21, K1, 20(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z22, K1, 24(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z23, K1, 28(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ6_KVNNI1x1(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmQ6_KVNNI1x1(SB), NOSPLIT, $0-64
	KPROLOGUE
	KZEROF1x1

q6k1x1sb:
	KZEROT1x1
	MOVQ $8, BX

q6k1x1sub:
	KINIT1x1(512)
	KSTEP1x1(0)
	KSTEP1x1(1)
	KSTEP1x1(2)
	KSTEP1x1(3)
	KSUB1x1(32)
	KINIT1x1(576)
	KSTEP1x1(4)
	KSTEP1x1(5)
	KSTEP1x1(6)
	KSTEP1x1(7)
	KSUB1x1(36)
	ADDQ $40, SI
	ADDQ $640, DI
	DECQ BX
	JNZ  q6k1x1sub

	KFIN61x1
	ADDQ $4, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  q6k1x1sb

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 0(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmQ4_0Decode(src *byte, nb int, dst *byte)
//
// Unpacks nb Q4_0 blocks into 36-byte records: the 32 quants as q−8+128
// (unsigned bytes whose VPDPBUSD products exceed the signed ones by
// 128·Σy, as the Q8_0 kernels' flipped bytes do), then d as float32.
TEXT ·gemmQ4_0Decode(SB), NOSPLIT, $0-24
	MOVQ src+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x78787878, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14

q40dloop:
	TESTQ CX, CX
	JEQ   q40ddone
	VMOVDQU 2(SI), X0
	VPSRLW $4, X0, X1
	VINSERTI128 $1, X1, Y0, Y0
	VPAND Y15, Y0, Y0
	VPADDB Y14, Y0, Y0
	VMOVDQU Y0, (DI)
	MOVWLZX (SI), AX
	VMOVD AX, X0
	VCVTPH2PS X0, X0
	VMOVSS X0, 32(DI)
	ADDQ $18, SI
	ADDQ $36, DI
	DECQ CX
	JMP  q40dloop

q40ddone:
	VZEROUPPER
	RET

// func gemmQ5_0Decode(src *byte, nb int, dst *byte)
//
// As gemmQ4_0Decode for Q5_0: quants q−16+128 with the fifth bit from qh.
TEXT ·gemmQ5_0Decode(SB), NOSPLIT, $0-24
	MOVQ src+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x70707070, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x10101010, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	VMOVDQU gemmbitshuf<>(SB), Y12
	VMOVDQU gemmbitsel<>(SB), Y11

q50dloop:
	TESTQ CX, CX
	JEQ   q50ddone
	VMOVDQU 6(SI), X0
	VPSRLW $4, X0, X1
	VINSERTI128 $1, X1, Y0, Y0
	VPAND Y15, Y0, Y0
	VPBROADCASTD 2(SI), Y1
	VPSHUFB Y12, Y1, Y1
	VPAND Y11, Y1, Y1
	VPCMPEQB Y11, Y1, Y1
	VPAND Y13, Y1, Y1
	VPOR Y1, Y0, Y0
	VPADDB Y14, Y0, Y0
	VMOVDQU Y0, (DI)
	MOVWLZX (SI), AX
	VMOVD AX, X0
	VCVTPH2PS X0, X0
	VMOVSS X0, 32(DI)
	ADDQ $22, SI
	ADDQ $36, DI
	DECQ CX
	JMP  q50dloop

q50ddone:
	VZEROUPPER
	RET

// func gemmD32VNNI3x4(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmD32VNNI3x4(SB), NOSPLIT, $0-64
	PROLOGUE
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

d3x4loop:
	VMOVDQU32 512(DI), Z0
	VMOVDQU32 1152(DI), Z1
	VMOVDQU32 1792(DI), Z2
	VMOVDQU32 2432(DI), Z3
	VMOVDQA32 Z0, Z4
	VMOVDQA32 Z1, Z5
	VMOVDQA32 Z2, Z6
	VMOVDQA32 Z3, Z7
	VMOVDQA32 Z0, Z8
	VMOVDQA32 Z1, Z9
	VMOVDQA32 Z2, Z10
	VMOVDQA32 Z3, Z11
	DSTEP3x4(0)
	DSTEP3x4(1)
	DSTEP3x4(2)
	DSTEP3x4(3)
	DSTEP3x4(4)
	DSTEP3x4(5)
	DSTEP3x4(6)
	DSTEP3x4(7)
	DSCALE3x4
	ADDQ $36, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  d3x4loop

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z12, K1, 0(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 4(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z20, K1, 8(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 2(R9), K1
	VSCATTERDPS Z13, K1, 0(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z17, K1, 4(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z21, K1, 8(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 4(R9), K1
	VSCATTERDPS Z14, K1, 0(AX)(Z24*4)
	KMOVW 4(R9), K1
	VSCATTERDPS Z18, K1, 4(AX)(Z24*4)
	KMOVW 4(R9), K1
	VSCATTERDPS Z22, K1, 8(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 6(R9), K1
	VSCATTERDPS Z15, K1, 0(AX)(Z24*4)
	KMOVW 6(R9), K1
	VSCATTERDPS Z19, K1, 4(AX)(Z24*4)
	KMOVW 6(R9), K1
	VSCATTERDPS Z23, K1, 8(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmD32VNNI1x4(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmD32VNNI1x4(SB), NOSPLIT, $0-64
	PROLOGUE
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

d1x4loop:
	VMOVDQU32 512(DI), Z0
	VMOVDQU32 1152(DI), Z1
	VMOVDQU32 1792(DI), Z2
	VMOVDQU32 2432(DI), Z3
	DSTEP1x4(0)
	DSTEP1x4(1)
	DSTEP1x4(2)
	DSTEP1x4(3)
	DSTEP1x4(4)
	DSTEP1x4(5)
	DSTEP1x4(6)
	DSTEP1x4(7)
	DSCALE1x4
	ADDQ $36, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  d1x4loop

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z12, K1, 0(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 2(R9), K1
	VSCATTERDPS Z13, K1, 0(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 4(R9), K1
	VSCATTERDPS Z14, K1, 0(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 6(R9), K1
	VSCATTERDPS Z15, K1, 0(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmD32VNNI6x2(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmD32VNNI6x2(SB), NOSPLIT, $0-64
	PROLOGUE
	LEAQ (SI)(DX*2), R11
	ADDQ DX, R11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

d6x2loop:
	VMOVDQU32 512(DI), Z0
	VMOVDQU32 1152(DI), Z1
	VMOVDQA32 Z0, Z2
	VMOVDQA32 Z1, Z3
	VMOVDQA32 Z0, Z4
	VMOVDQA32 Z1, Z5
	VMOVDQA32 Z0, Z6
	VMOVDQA32 Z1, Z7
	VMOVDQA32 Z0, Z8
	VMOVDQA32 Z1, Z9
	VMOVDQA32 Z0, Z10
	VMOVDQA32 Z1, Z11
	DSTEP6x2(0)
	DSTEP6x2(1)
	DSTEP6x2(2)
	DSTEP6x2(3)
	DSTEP6x2(4)
	DSTEP6x2(5)
	DSTEP6x2(6)
	DSTEP6x2(7)
	DSCALE6x2
	ADDQ $36, SI
	ADDQ $36, R11
	ADDQ R8, DI
	DECQ CX
	JNZ  d6x2loop

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z12, K1, 0(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z14, K1, 4(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 8(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z18, K1, 12(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z20, K1, 16(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z22, K1, 20(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 2(R9), K1
	VSCATTERDPS Z13, K1, 0(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z15, K1, 4(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z17, K1, 8(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z19, K1, 12(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z21, K1, 16(AX)(Z24*4)
	KMOVW 2(R9), K1
	VSCATTERDPS Z23, K1, 20(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmD32VNNI1x2(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmD32VNNI1x2(SB), NOSPLIT, $0-64
	PROLOGUE
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13

d1x2loop:
	VMOVDQU32 512(DI), Z0
	VMOVDQU32 1152(DI), Z1
	DSTEP1x2(0)
	DSTEP1x2(1)
	DSTEP1x2(2)
	DSTEP1x2(3)
	DSTEP1x2(4)
	DSTEP1x2(5)
	DSTEP1x2(6)
	DSTEP1x2(7)
	DSCALE1x2
	ADDQ $36, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  d1x2loop

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z12, K1, 0(AX)(Z24*4)
	ADDQ R10, AX
	KMOVW 2(R9), K1
	VSCATTERDPS Z13, K1, 0(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmD32VNNI12x1(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmD32VNNI12x1(SB), NOSPLIT, $0-64
	PROLOGUE
	LEAQ (SI)(DX*2), R11
	ADDQ DX, R11
	LEAQ (R11)(DX*2), R12
	ADDQ DX, R12
	LEAQ (R12)(DX*2), R13
	ADDQ DX, R13
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

d12x1loop:
	VMOVDQU32 512(DI), Z0
	VMOVDQA32 Z0, Z1
	VMOVDQA32 Z0, Z2
	VMOVDQA32 Z0, Z3
	VMOVDQA32 Z0, Z4
	VMOVDQA32 Z0, Z5
	VMOVDQA32 Z0, Z6
	VMOVDQA32 Z0, Z7
	VMOVDQA32 Z0, Z8
	VMOVDQA32 Z0, Z9
	VMOVDQA32 Z0, Z10
	VMOVDQA32 Z0, Z11
	DSTEP12x1(0)
	DSTEP12x1(1)
	DSTEP12x1(2)
	DSTEP12x1(3)
	DSTEP12x1(4)
	DSTEP12x1(5)
	DSTEP12x1(6)
	DSTEP12x1(7)
	DSCALE12x1
	ADDQ $36, SI
	ADDQ $36, R11
	ADDQ $36, R12
	ADDQ $36, R13
	ADDQ R8, DI
	DECQ CX
	JNZ  d12x1loop

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z12, K1, 0(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z13, K1, 4(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z14, K1, 8(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z15, K1, 12(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z16, K1, 16(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z17, K1, 20(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z18, K1, 24(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z19, K1, 28(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z20, K1, 32(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z21, K1, 36(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z22, K1, 40(AX)(Z24*4)
	KMOVW 0(R9), K1
	VSCATTERDPS Z23, K1, 44(AX)(Z24*4)
	VZEROUPPER
	RET

// func gemmD32VNNI1x1(w *byte, rowBytes int, act *byte, blockStride, nb int, out *float32, outStride int, masks *uint16)
TEXT ·gemmD32VNNI1x1(SB), NOSPLIT, $0-64
	PROLOGUE
	VPXORD Z12, Z12, Z12

d1x1loop:
	VMOVDQU32 512(DI), Z0
	DSTEP1x1(0)
	DSTEP1x1(1)
	DSTEP1x1(2)
	DSTEP1x1(3)
	DSTEP1x1(4)
	DSTEP1x1(5)
	DSTEP1x1(6)
	DSTEP1x1(7)
	DSCALE1x1
	ADDQ $36, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  d1x1loop

	LANES
	KMOVW 0(R9), K1
	VSCATTERDPS Z12, K1, 0(AX)(Z24*4)
	VZEROUPPER
	RET
