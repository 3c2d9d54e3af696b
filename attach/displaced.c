/* displaced.c - the first instruction under each breakpoint.
 *
 * The int3 replaces the first byte of an allocator entry point and stays
 * there for the whole session, so the instruction it covers must run
 * somewhere else: emulated here when it only moves registers (mov, endbr64,
 * nop, jmp/call rel), else copied to a slot of the scratch page with its
 * RIP-relative displacement re-aimed, else single-stepped in place with
 * every other thread held (tracer.c). A push is emulated only when it cannot
 * run out of line: emulating it costs the tracer a memory write, running it
 * out of line costs nothing. */
#include "config.h"

#include "tracer.h"

#include <capstone/capstone.h>
#include <stdio.h>
#include <string.h>

/* Register numbering: the x86-64 encoding order. */
enum { R_RAX, R_RCX, R_RDX, R_RBX, R_RSP, R_RBP, R_RSI, R_RDI, R_R8, R_R9,
       R_R10, R_R11, R_R12, R_R13, R_R14, R_R15, R_NONE = -1 };

static int gpr_index(x86_reg r, bool *wide)
{
	static const x86_reg r64[] = {
		X86_REG_RAX, X86_REG_RCX, X86_REG_RDX, X86_REG_RBX,
		X86_REG_RSP, X86_REG_RBP, X86_REG_RSI, X86_REG_RDI,
		X86_REG_R8, X86_REG_R9, X86_REG_R10, X86_REG_R11,
		X86_REG_R12, X86_REG_R13, X86_REG_R14, X86_REG_R15 };
	static const x86_reg r32[] = {
		X86_REG_EAX, X86_REG_ECX, X86_REG_EDX, X86_REG_EBX,
		X86_REG_ESP, X86_REG_EBP, X86_REG_ESI, X86_REG_EDI,
		X86_REG_R8D, X86_REG_R9D, X86_REG_R10D, X86_REG_R11D,
		X86_REG_R12D, X86_REG_R13D, X86_REG_R14D, X86_REG_R15D };
	for (int i = 0; i < 16; i++) {
		if (r64[i] == r) {
			*wide = true;
			return i;
		}
		if (r32[i] == r) {
			*wide = false;
			return i;
		}
	}
	return R_NONE;
}

static unsigned long long *gpr(struct user_regs_struct *r, int i)
{
	switch (i) {
	case R_RAX: return &r->rax;
	case R_RCX: return &r->rcx;
	case R_RDX: return &r->rdx;
	case R_RBX: return &r->rbx;
	case R_RSP: return &r->rsp;
	case R_RBP: return &r->rbp;
	case R_RSI: return &r->rsi;
	case R_RDI: return &r->rdi;
	case R_R8: return &r->r8;
	case R_R9: return &r->r9;
	case R_R10: return &r->r10;
	case R_R11: return &r->r11;
	case R_R12: return &r->r12;
	case R_R13: return &r->r13;
	case R_R14: return &r->r14;
	default: return &r->r15;
	}
}

/* Registers-only instructions the tracer can apply itself. */
static bool classify_emulated(displaced *d, const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	bool w1, w2;

	switch (insn->id) {
	case X86_INS_ENDBR64:
	case X86_INS_NOP:
		d->op = EMU_NOP;
		return true;
	case X86_INS_PUSH:
		if (x->op_count != 1 || x->operands[0].type != X86_OP_REG)
			return false;
		d->src = gpr_index(x->operands[0].reg, &w1);
		if (d->src == R_NONE || !w1)
			return false;
		d->op = EMU_PUSH;
		return true;
	case X86_INS_MOV:
		if (x->op_count != 2 || x->operands[0].type != X86_OP_REG)
			return false;
		d->dst = gpr_index(x->operands[0].reg, &w1);
		if (d->dst == R_NONE)
			return false;
		d->wide = w1;
		if (x->operands[1].type == X86_OP_REG) {
			d->src = gpr_index(x->operands[1].reg, &w2);
			if (d->src == R_NONE || w1 != w2)
				return false;
			d->op = EMU_MOV_REG;
			return true;
		}
		if (x->operands[1].type == X86_OP_IMM) {
			d->imm = (uint64_t)x->operands[1].imm;
			d->op = EMU_MOV_IMM;
			return true;
		}
		return false;
	case X86_INS_JMP:
	case X86_INS_CALL:
		if (x->op_count != 1 || x->operands[0].type != X86_OP_IMM)
			return false;
		d->imm = (uint64_t)x->operands[0].imm;
		d->op = insn->id == X86_INS_JMP ? EMU_JMP : EMU_CALL;
		return true;
	default:
		return false;
	}
}

/* Whether a copy of the instruction elsewhere behaves the same, given its
 * RIP-relative displacement re-aimed: not for anything whose effect
 * depends on where it sits (relative branches, call/ret pushing or popping
 * return addresses). */
static bool relocatable(csh h, const cs_insn *insn)
{
	if (cs_insn_group(h, insn, CS_GRP_JUMP) ||
	    cs_insn_group(h, insn, CS_GRP_CALL) ||
	    cs_insn_group(h, insn, CS_GRP_RET) ||
	    cs_insn_group(h, insn, CS_GRP_IRET) ||
	    cs_insn_group(h, insn, CS_GRP_INT) ||
	    cs_insn_group(h, insn, CS_GRP_BRANCH_RELATIVE))
		return false;
	return true;
}

int displaced_decode(displaced *d, uint64_t addr, const uint8_t *code,
		     size_t len, enum displaced_mode mode)
{
	csh h;
	cs_insn *insn = NULL;
	int ret = -1;

	memset(d, 0, sizeof(*d));
	d->dst = d->src = R_NONE;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return -1;
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	if (cs_disasm(h, code, len, addr, 1, &insn) != 1)
		goto out;
	d->len = (uint8_t)insn->size;
	snprintf(d->text, sizeof(d->text), "%s %s", insn->mnemonic,
		 insn->op_str);
	for (uint8_t i = 0; i < insn->detail->x86.op_count; i++) {
		const cs_x86_op *op = &insn->detail->x86.operands[i];
		if (op->type == X86_OP_MEM && op->mem.base == X86_REG_RIP) {
			d->rip_relative = true;
			d->disp = (int32_t)op->mem.disp;
			d->disp_offset = insn->detail->x86.encoding.disp_offset;
		}
	}
	if (d->rip_relative && (d->disp_offset == 0 ||
				insn->detail->x86.encoding.disp_size != 4))
		d->rip_relative = false, d->how = DISP_STEP;
	else if (mode == DMODE_STEP)
		d->how = DISP_STEP;
	else if (mode == DMODE_OUTOFLINE && relocatable(h, insn))
		d->how = DISP_OUTOFLINE;
	else if (classify_emulated(d, insn) &&
		 (d->op != EMU_PUSH || !relocatable(h, insn)))
		d->how = DISP_EMULATE;
	else if (relocatable(h, insn))
		d->how = DISP_OUTOFLINE;
	else
		d->how = DISP_STEP;
	ret = 0;
out:
	if (insn)
		cs_free(insn, 1);
	cs_close(&h);
	return ret;
}

int displaced_emulate(const displaced *d, const target_mem *m,
		      struct user_regs_struct *regs, uint64_t addr)
{
	uint64_t next = addr + d->len;
	uint64_t v;

	switch (d->op) {
	case EMU_NOP:
		break;
	case EMU_PUSH:
		v = *gpr(regs, d->src);
		if (target_write(m, regs->rsp - 8, &v, 8) < 0)
			return -1;
		regs->rsp -= 8;
		break;
	case EMU_MOV_REG:
		v = *gpr(regs, d->src);
		*gpr(regs, d->dst) = d->wide ? v : (uint32_t)v;
		break;
	case EMU_MOV_IMM:
		*gpr(regs, d->dst) = d->wide ? d->imm : (uint32_t)d->imm;
		break;
	case EMU_JMP:
		next = d->imm;
		break;
	case EMU_CALL:
		v = addr + d->len;
		if (target_write(m, regs->rsp - 8, &v, 8) < 0)
			return -1;
		regs->rsp -= 8;
		next = d->imm;
		break;
	}
	regs->rip = next;
	return 0;
}

bool displaced_emulated_next(const displaced *d, uint64_t addr,
			     uint64_t *next)
{
	if (d->how != DISP_EMULATE)
		return false;
	switch (d->op) {
	case EMU_NOP:
		break;
	case EMU_MOV_REG:
	case EMU_MOV_IMM:
		if (d->dst == R_R11 || d->dst == R_RSP)
			return false;
		break;
	case EMU_JMP:
		*next = d->imm;
		return true;
	default:
		return false; /* the stack moves */
	}
	*next = addr + d->len;
	return true;
}

int displaced_relocate(const displaced *d, const uint8_t *code, uint64_t addr,
		       uint64_t slot, uint8_t *buf)
{
	static const uint8_t jmp_abs[6] = { 0xff, 0x25, 0, 0, 0, 0 };
	uint64_t back = addr + d->len;

	memset(buf, 0xcc, DISPLACED_SLOT);
	memcpy(buf, code, d->len);
	if (d->rip_relative) {
		int64_t nd = (int64_t)d->disp + (int64_t)(addr - slot);
		int32_t nd32 = (int32_t)nd;
		if (nd != nd32)
			return -1;
		memcpy(buf + d->disp_offset, &nd32, 4);
	}
	/* jmp *0(%rip) followed by the absolute address */
	memcpy(buf + d->len, jmp_abs, sizeof(jmp_abs));
	memcpy(buf + d->len + sizeof(jmp_abs), &back, 8);
	return 0;
}
