/* symbols.c - allocator entry points from the loaded modules' ELF symbols.
 *
 * The modules are searched in the order the dynamic linker resolves a
 * global symbol: the executable, then the LD_PRELOAD libraries, then the
 * needed libraries in load order. That is the order of the link map
 * (r_debug.r_map, found through the executable's DT_DEBUG), so a preloaded
 * jemalloc wins over libc. A static executable has no link map: its own
 * symbol table is the only one. */
#include "config.h"

#include "tracer.h"
#include "remote_unwind.h"

#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const tracer_fn_names[FN_COUNT] = {
#define TRACER__FNNAME(e, name) name,
	TRACER_FUNCTIONS(TRACER__FNNAME)
#undef TRACER__FNNAME
};

typedef struct module_ref {
	char *path;
	uint64_t bias;
} module_ref;

typedef struct module_list {
	module_ref *v;
	size_t n, cap;
} module_list;

static int modules_add(module_list *l, const char *path, uint64_t bias)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].path, path) == 0)
			return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		module_ref *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].path = strdup(path);
	if (!l->v[l->n].path)
		return -1;
	l->v[l->n++].bias = bias;
	return 0;
}

static void modules_destroy(module_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
}

static int read_auxv(pid_t pid, uint64_t *entry, uint64_t *phdr,
		     uint64_t *phnum)
{
	char path[64];
	uint64_t av[2];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	*entry = *phdr = *phnum = 0;
	while (fread(av, sizeof(av), 1, f) == 1 && av[0] != AT_NULL) {
		if (av[0] == AT_ENTRY)
			*entry = av[1];
		else if (av[0] == AT_PHDR)
			*phdr = av[1];
		else if (av[0] == AT_PHNUM)
			*phnum = av[1];
	}
	fclose(f);
	return *entry ? 0 : -1;
}

/* The link map through the executable's DT_DEBUG; 0 modules when there is
 * none (static executable). */
static int link_map_modules(pid_t pid, const target_mem *m, uint64_t exe_bias,
			    uint64_t phdr, uint64_t phnum, module_list *l)
{
	uint64_t dyn = 0, rdebug = 0, lm;

	for (uint64_t i = 0; i < phnum && i < 256; i++) {
		Elf64_Phdr ph;
		if (target_read(m, phdr + i * sizeof(ph), &ph, sizeof(ph)) < 0)
			return -1;
		if (ph.p_type == PT_DYNAMIC)
			dyn = ph.p_vaddr + exe_bias;
	}
	if (!dyn)
		return 0;
	for (int i = 0; i < 4096; i++) {
		Elf64_Dyn d;
		if (target_read(m, dyn + (uint64_t)i * sizeof(d), &d,
				sizeof(d)) < 0 || d.d_tag == DT_NULL)
			break;
		if (d.d_tag == DT_DEBUG)
			rdebug = d.d_un.d_ptr;
	}
	if (!rdebug || target_read(m, rdebug + 8, &lm, 8) < 0)
		return 0;
	for (int guard = 0; lm && guard < 4096; guard++) {
		uint64_t f[4]; /* l_addr, l_name, l_ld, l_next */
		char name[4096];
		if (target_read(m, lm, f, sizeof(f)) < 0)
			return -1;
		name[0] = 0;
		for (size_t k = 0; f[1] && k < sizeof(name) - 1; k += 64) {
			if (target_read(m, f[1] + k, name + k, 64) < 0)
				break;
			name[sizeof(name) - 1] = 0;
			if (memchr(name + k, 0, 64))
				break;
		}
		/* The first entry is the executable (empty name). */
		if (name[0] == '/' && modules_add(l, name, f[0]) < 0)
			return -1;
		lm = f[3];
	}
	(void)pid;
	return 0;
}

static void add_range(symbols *s, uint64_t start, uint64_t size)
{
	addr_range *v = realloc(s->wrappers, (s->nwrappers + 1) * sizeof(*v));

	if (!v)
		return;
	s->wrappers = v;
	s->wrappers[s->nwrappers].start = start;
	s->wrappers[s->nwrappers++].end = start + size;
}

static void scan_module(symbols *s, const char *path, uint64_t bias,
			uint64_t *low)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *e;
	Elf_Scn *scn = NULL;
	size_t nph;
	bool hooked_here = false; /* defines the malloc we hook */

	if (fd < 0)
		return;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e) {
		close(fd);
		return;
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) ||
		    !(data = elf_getdata(scn, NULL)) || sh.sh_entsize == 0)
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;
			int bind;
			if (!gelf_getsym(data, (int)i, &sym) ||
			    GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    sym.st_shndx == SHN_UNDEF || sym.st_value == 0)
				continue;
			bind = GELF_ST_BIND(sym.st_info);
			if (bind != STB_GLOBAL && bind != STB_WEAK)
				continue;
			name = elf_strptr(e, sh.sh_link, sym.st_name);
			if (!name)
				continue;
			for (int f = 0; f < FN_COUNT; f++)
				if (!s->fn_addr[f] &&
				    strcmp(name, tracer_fn_names[f]) == 0) {
					s->fn_addr[f] = bias + sym.st_value;
					s->fn_module[f] = strdup(path);
					hooked_here |= f == FN_MALLOC;
				}
			/* functions that only wrap an allocation: their
			 * frames are skipped (shared/remote_unwind.h) */
			if (sym.st_size && ms_unwind_is_wrapper_name(name))
				add_range(s, bias + sym.st_value, sym.st_size);
		}
	}
	if (hooked_here && elf_getphdrnum(e, &nph) == 0) {
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(e, (int)i, &ph) &&
			    ph.p_type == PT_LOAD && (!*low ||
						     ph.p_vaddr + bias < *low))
				*low = ph.p_vaddr + bias;
		}
	}
	elf_end(e);
	close(fd);
}

static uint64_t elf_entry(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf64_Ehdr eh;
	uint64_t entry = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &eh, sizeof(eh), 0) == sizeof(eh))
		entry = eh.e_entry;
	close(fd);
	return entry;
}

int symbols_resolve(symbols *s, pid_t pid, const target_mem *m,
		    char *err, size_t errlen)
{
	module_list l = { 0 };
	char exe[64];
	uint64_t entry, phdr, phnum, exe_bias, low = 0;
	size_t len = 0;

	memset(s, 0, sizeof(*s));
	elf_version(EV_CURRENT);
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	if (read_auxv(pid, &entry, &phdr, &phnum) < 0) {
		snprintf(err, errlen, "cannot read /proc/%d/auxv", (int)pid);
		return -1;
	}
	exe_bias = entry - elf_entry(exe);
	if (modules_add(&l, exe, exe_bias) < 0 ||
	    link_map_modules(pid, m, exe_bias, phdr, phnum, &l) < 0) {
		modules_destroy(&l);
		snprintf(err, errlen, "cannot read the link map of %d",
			 (int)pid);
		return -1;
	}
	for (size_t i = 0; i < l.n; i++)
		scan_module(s, l.v[i].path, l.v[i].bias, &low);
	modules_destroy(&l);
	s->libc_low = low;
	if (!s->fn_addr[FN_MALLOC] || !s->fn_addr[FN_FREE]) {
		snprintf(err, errlen,
			 "no allocator found in process %d (no malloc/free in "
			 "its executable or libraries)", (int)pid);
		symbols_destroy(s);
		return -1;
	}
	s->hooked = calloc(1, 256);
	for (int f = 0; s->hooked && f < FN_COUNT; f++)
		if (s->fn_addr[f])
			len += (size_t)snprintf(s->hooked + len, 256 - len,
						"%s%s", len ? "," : "",
						tracer_fn_names[f]);
	return 0;
}

void symbols_destroy(symbols *s)
{
	for (int f = 0; f < FN_COUNT; f++)
		free(s->fn_module[f]);
	free(s->wrappers);
	free(s->hooked);
	memset(s, 0, sizeof(*s));
}

bool symbols_is_wrapper(const symbols *s, uint64_t pc)
{
	for (size_t i = 0; i < s->nwrappers; i++)
		if (pc >= s->wrappers[i].start && pc < s->wrappers[i].end)
			return true;
	return false;
}

/* The file mapped at offset 0 at address base, from /proc/PID/maps. */
static int mapped_file(pid_t pid, uint64_t base, char *path, size_t len)
{
	char maps[64], line[4096 + 128];
	int found = -1;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	f = fopen(maps, "re");
	if (!f)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), f)) {
		unsigned long long lo, off;
		char *name = strchr(line, '/');
		if (sscanf(line, "%llx-%*x %*s %llx", &lo, &off) == 2 &&
		    lo == base && off == 0 && name) {
			name[strcspn(name, "\n")] = 0;
			snprintf(path, len, "%s", name);
			found = 0;
		}
	}
	fclose(f);
	return found;
}

int symbols_dynamic_linker(pid_t pid, uint64_t *brk, uint64_t *rdebug)
{
	char path[64], interp[4096];
	uint64_t av[2], base = 0;
	Elf *e;
	Elf_Scn *scn = NULL;
	FILE *f;
	int fd;

	*brk = *rdebug = 0;
	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fread(av, sizeof(av), 1, f) == 1 && av[0] != AT_NULL)
		if (av[0] == AT_BASE)
			base = av[1];
	fclose(f);
	if (!base || mapped_file(pid, base, interp, sizeof(interp)) < 0)
		return -1;
	elf_version(EV_CURRENT);
	fd = open(interp, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	e = elf_begin(fd, ELF_C_READ, NULL);
	while (e && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM ||
		    !(data = elf_getdata(scn, NULL)) || sh.sh_entsize == 0)
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;
			if (!gelf_getsym(data, (int)i, &sym) ||
			    sym.st_shndx == SHN_UNDEF || !sym.st_value ||
			    !(name = elf_strptr(e, sh.sh_link, sym.st_name)))
				continue;
			/* the dynamic linker is linked at 0: base is its bias */
			if (strcmp(name, "_dl_debug_state") == 0)
				*brk = base + sym.st_value;
			else if (strcmp(name, "_r_debug") == 0)
				*rdebug = base + sym.st_value;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return *brk && *rdebug ? 0 : -1;
}

int symbols_each_module(pid_t pid, const target_mem *m,
			void (*cb)(void *arg, const char *path, uint64_t bias),
			void *arg)
{
	module_list l = { 0 };
	char exe[64];
	uint64_t entry, phdr, phnum, exe_bias;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	if (read_auxv(pid, &entry, &phdr, &phnum) < 0)
		return -1;
	exe_bias = entry - elf_entry(exe);
	if (modules_add(&l, exe, exe_bias) < 0 ||
	    link_map_modules(pid, m, exe_bias, phdr, phnum, &l) < 0) {
		modules_destroy(&l);
		return -1;
	}
	for (size_t i = 0; i < l.n; i++)
		cb(arg, l.v[i].path, l.v[i].bias);
	modules_destroy(&l);
	return 0;
}

void symbols_module_entries(const char *path, uint64_t bias,
			    uint64_t fn_addr[FN_COUNT])
{
	symbols one;
	uint64_t low = 0;

	memset(&one, 0, sizeof(one));
	elf_version(EV_CURRENT);
	scan_module(&one, path, bias, &low);
	memcpy(fn_addr, one.fn_addr, sizeof(one.fn_addr));
	symbols_destroy(&one);
}
