/* return_stub.h - the return stub that both front-ends (the attacher's
 * scratch page, the GDB plugin's scratch mapping) put in the target: return
 * capture without a stop. A call's return address is swapped for stub i,
 * which stores rax in its data, counts the return there and jumps to the
 * real return address kept there; the tracer collects the result at its
 * next stop. It clobbers r11, which no caller expects to survive a call.
 *
 * Layout of the code (MS_STUB_SIZE bytes, the rest int3), by offset:
 *   0  mov %rax, result(%rip)
 *   7  mov ret(%rip), %r11
 *  14  incq done(%rip)
 *  21  jmp *%r11
 * A thread stopped at offset 14 or later has the return address in r11
 * already (MS_STUB_HAS_RET). */
#ifndef MEMSNAP_RETURN_STUB_H
#define MEMSNAP_RETURN_STUB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MS_STUB_SIZE 32
#define MS_STUB_HAS_RET 14

typedef struct ms_stub_data {
	uint64_t ret;      /* the real return address */
	uint64_t result;   /* rax at the return */
	uint64_t done;     /* returns through the stub since it was armed */
	uint64_t pad;
} ms_stub_data;

/* The rel32 at p of an instruction ending at next_insn, to target. */
static inline void ms_put_rel32(uint8_t *p, uint64_t target,
				uint64_t next_insn)
{
	int32_t d = (int32_t)(target - next_insn);

	memcpy(p, &d, 4);
}

/* The stub's code, to live at address code, into p (MS_STUB_SIZE bytes),
 * with its ms_stub_data at address data. */
static inline void ms_return_stub_write(uint8_t *p, uint64_t code,
					uint64_t data)
{
	static const uint8_t tmpl[24] = {
		0x48, 0x89, 0x05, 0, 0, 0, 0,
		0x4c, 0x8b, 0x1d, 0, 0, 0, 0,
		0x48, 0xff, 0x05, 0, 0, 0, 0,
		0x41, 0xff, 0xe3 };

	memset(p, 0xcc, MS_STUB_SIZE);
	memcpy(p, tmpl, sizeof(tmpl));
	ms_put_rel32(p + 3, data + offsetof(ms_stub_data, result), code + 7);
	ms_put_rel32(p + 10, data + offsetof(ms_stub_data, ret), code + 14);
	ms_put_rel32(p + 17, data + offsetof(ms_stub_data, done), code + 21);
}

#endif
