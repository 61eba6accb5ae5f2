/* unwind_user: registers and a user-stack copy from untrusted bytes (in profkit they come
 * from a perf sample or the off-CPU eBPF record) never crash the DWARF unwinder nor make
 * it read outside the copy, and always give between 1 and max frames. The fuzzer's own
 * process is the one unwound, so that the program counters land in real code with real
 * CFI: each register word from the input is taken as an offset into an executable mapping
 * or as it is, as the selector byte says. */
#include "fuzz.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "stack/maps.h"
#include "stack/unwind.h"

#define MAX_FRAMES 64

static struct unwinder *unw;
static struct proc_maps maps;
static const struct map_entry *exec_maps[64];
static size_t nexec;

static int setup(void)
{
	if (unw)
		return 0;
	if (unwinder_new(&unw) < 0)
		return -1;
	if (unwinder_add_process(unw, getpid()) < 0 || proc_maps_read(getpid(), &maps) < 0)
		return -1;
	for (size_t i = 0; i < maps.n && nexec < 64; i++)
		if (maps.v[i].perms[2] == 'x' && maps.v[i].path[0] == '/')
			exec_maps[nexec++] = &maps.v[i];
	return nexec ? 0 : -1;
}

static uint64_t word_at(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, sizeof(w));
	return w;
}

int fuzz_unwind(const uint8_t *data, size_t size)
{
	const size_t head = 1 + UREG_COUNT * 8;
	if (size < head || setup() < 0)
		return 0;
	const uint8_t *stack = data + head;
	size_t stack_size = size - head;
	struct user_regs regs = { .valid = (1u << UREG_COUNT) - 1 };
	uint8_t sel = data[0];
	for (int i = 0; i < UREG_COUNT; i++) {
		uint64_t w = word_at(data + 1 + 8 * i);
		const struct map_entry *x = exec_maps[(w >> 56) % nexec];
		if ((sel & 1) && (i == UREG_RIP || (sel & 2)))
			w = x->start + w % (x->end - x->start);
		regs.r[i] = w;
	}
	if (sel & 4)
		regs.valid = (uint32_t)word_at(data + 1) | UREGS_MIN_VALID;
	/* Stack words that look like return addresses become real ones. */
	uint8_t *copy = malloc(stack_size ? stack_size : 1);
	if (!copy)
		return 0;
	memcpy(copy, stack, stack_size);
	for (size_t i = 0; (sel & 8) && i + 8 <= stack_size; i += 8) {
		uint64_t w = word_at(copy + i);
		if ((w & 0xff) < 0x40) {
			const struct map_entry *x = exec_maps[(w >> 56) % nexec];
			w = x->start + (w >> 8) % (x->end - x->start);
			memcpy(copy + i, &w, 8);
		}
	}
	uint64_t ips[MAX_FRAMES];
	size_t n = 0;
	/* The copy starts at the stack pointer, wherever the input put it. */
	int r = unwind_user(unw, getpid(), getpid(), &regs, copy, stack_size, ips, MAX_FRAMES, &n);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOTSUP);
	FUZZ_CHECK(n <= MAX_FRAMES);
	FUZZ_CHECK(r != 0 || r == -ENOTSUP || n >= 1);
	FUZZ_CHECK(r != 0 || ips[0] == regs.r[UREG_RIP]);
	free(copy);
	return 0;
}

#ifdef PK_FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_unwind(data, size);
}
#endif
