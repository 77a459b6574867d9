//go:build !purego

#include "textflag.h"

// Multi-row Q8_0 kernel for generation (one activation vector, many weight
// rows); rows_amd64.go states the contract.
//
// VPDPBUSD multiplies unsigned by signed bytes. Rather than take |x| and
// move x's sign onto y for every block of every row (the row kernel's way),
// the weights are made unsigned by flipping their top bit (x+128, one XOR),
// which adds 128·Σy to each block's sum. Σy depends on the activations
// only, so q8RowsPrep computes the correction −128·Σy once per call for
// every block, together with the activation scale as float32; the row loop
// then does one XOR and one VPDPBUSD per block, exact for every byte value.
//
// Every instruction on vector registers is VEX or EVEX encoded: a legacy
// SSE move between general and vector registers, with the upper halves
// dirty, stalled the preparation loop for hundreds of cycles per block on
// the development VM.
//
// The prepared record per four blocks is 32 bytes: four float32 scales dy,
// then four int32 corrections.

#define PF 4096

DATA rowsc<>+0(SB)/4, $0x80808080
GLOBL rowsc<>(SB), RODATA|NOPTR, $4

// func q8RowsPrep(y *byte, nb int, dst *byte, w *byte)
//
// It first prefetches the PF bytes of weights at w, which the row loop's
// prefetches (PF ahead of where it reads) never cover: their fetch then
// overlaps the reading of the activations, often just written by another
// core.
TEXT ·q8RowsPrep(SB), NOSPLIT, $0-32
	MOVQ w+24(FP), SI
	XORQ AX, AX

warm:
	PREFETCHT1 (SI)(AX*1)
	ADDQ $64, AX
	CMPQ AX, $PF
	JLT  warm
	MOVQ y+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ dst+16(FP), DI
	VPBROADCASTD rowsc<>+0(SB), Y15
	VPXOR Y14, Y14, Y14
	XORQ BX, BX

prep:
	CMPQ BX, CX
	JGE  prepdone
	MOVQ BX, DX
	SHRQ $2, DX
	SHLQ $5, DX
	MOVQ BX, R8
	ANDQ $3, R8
	LEAQ (DX)(R8*4), DX
	ADDQ DI, DX
	VPBROADCASTW (SI), X0
	VCVTPH2PS X0, X0
	VMOVSS X0, (DX)
	VPXOR 2(SI), Y15, Y1 // y+128 as unsigned bytes
	VPSADBW Y14, Y1, Y1  // four partial sums of them
	VEXTRACTI128 $1, Y1, X2
	VPADDQ X2, X1, X1
	VPSHUFD $0x4e, X1, X2
	VPADDQ X2, X1, X1
	VMOVD X1, AX         // Σ(y+128) = Σy + 4096
	SHLL $7, AX
	NEGL AX
	ADDL $524288, AX     // −128·Σy
	MOVL AX, 16(DX)
	ADDQ $34, SI
	INCQ BX
	JMP  prep

prepdone:
	VZEROUPPER
	RET

// func dotQ8_0RowsFlip(x, y, prep *byte, nb, rows, stride int, out *float32)
//
// Four blocks per iteration: their 8-lane sums fold to [b0 b1 b2 b3] in
// X16, take the corrections, and are scaled by dx·dy (rounded to float32
// first, as the portable kernel does) into the four lanes of X0.
TEXT ·dotQ8_0RowsFlip(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), R8
	MOVQ rows+32(FP), R9
	MOVQ stride+40(FP), R10
	MOVQ out+48(FP), R11
	VPBROADCASTD rowsc<>+0(SB), Y15
	TESTQ R9, R9
	JEQ   done

row:
	MOVQ R8, SI
	MOVQ y+8(FP), DI
	MOVQ prep+16(FP), DX
	MOVQ nb+24(FP), CX
	VXORPS X0, X0, X0
	SUBQ $4, CX
	JLT  tail

loop:
	PREFETCHT1 PF(SI)
	PREFETCHT1 (PF+64)(SI)
	VMOVD (SI), X8
	VPINSRW $1, 34(SI), X8, X8
	VPINSRW $2, 68(SI), X8, X8
	VPINSRW $3, 102(SI), X8, X8
	VCVTPH2PS X8, X8
	VMULPS (DX), X8, X8
	VPXOR 2(SI), Y15, Y2
	VPXOR 36(SI), Y15, Y3
	VPXOR 70(SI), Y15, Y4
	VPXOR 104(SI), Y15, Y5
	VPXORD Y16, Y16, Y16
	VPXORD Y17, Y17, Y17
	VPXORD Y18, Y18, Y18
	VPXORD Y19, Y19, Y19
	VPDPBUSD 2(DI), Y2, Y16
	VPDPBUSD 36(DI), Y3, Y17
	VPDPBUSD 70(DI), Y4, Y18
	VPDPBUSD 104(DI), Y5, Y19
	VPUNPCKLDQ Y17, Y16, Y20
	VPUNPCKHDQ Y17, Y16, Y16
	VPUNPCKLDQ Y19, Y18, Y21
	VPUNPCKHDQ Y19, Y18, Y18
	VPADDD Y20, Y16, Y16
	VPADDD Y21, Y18, Y18
	VPUNPCKLQDQ Y18, Y16, Y20
	VPUNPCKHQDQ Y18, Y16, Y16
	VPADDD Y20, Y16, Y16
	VEXTRACTI32X4 $1, Y16, X20
	VPADDD X20, X16, X16
	VPADDD 16(DX), X16, X16
	VCVTDQ2PS X16, X16
	VFMADD231PS X8, X16, X0
	ADDQ $136, SI
	ADDQ $136, DI
	ADDQ $32, DX
	SUBQ $4, CX
	JGE  loop

tail:
	ADDQ $4, CX
	JEQ  sum
	XORQ BX, BX

more:
	VPBROADCASTW (SI), X8
	VCVTPH2PS X8, X8
	VMULSS (DX)(BX*4), X8, X8
	VPXOR 2(SI), Y15, Y2
	VPXORD Y16, Y16, Y16
	VPDPBUSD 2(DI), Y2, Y16
	VEXTRACTI32X4 $1, Y16, X20
	VPADDD X20, X16, X16
	VPSHUFD $0x4e, X16, X20
	VPADDD X20, X16, X16
	VPSHUFD $0xb1, X16, X20
	VPADDD X20, X16, X16
	VMOVD 16(DX)(BX*4), X20
	VPADDD X20, X16, X16
	VCVTDQ2PS X16, X16
	VFMADD231SS X8, X16, X0
	ADDQ $34, SI
	ADDQ $34, DI
	INCQ BX
	DECQ CX
	JNZ  more

sum:
	VPSHUFD $0x4e, X0, X1
	VADDPS X1, X0, X0
	VPSHUFD $0xb1, X0, X1
	VADDSS X1, X0, X0
	VMOVSS X0, (R11)
	ADDQ $4, R11
	ADDQ R10, R8
	DECQ R9
	JNZ  row

done:
	VZEROUPPER
	RET
