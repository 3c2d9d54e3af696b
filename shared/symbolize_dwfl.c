/* symbolize_dwfl.c - PCs to frames with elfutils libdwfl, for a live
 * process, a core file or a stored module map (see memsnap_symbols.h).
 *
 * The three sources differ only in how modules are reported to libdwfl and
 * how their files are found; resolving a PC, the cache and the module map
 * are common. We keep our own sorted module list beside libdwfl's because
 * it must also hold modules libdwfl cannot use (file missing, build-id
 * mismatch), which have to be reported instead of symbolized as "??".
 */
#include "config.h"

#include "memsnap_symbols.h"
#include "memsnapP.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ strings */

/* Interned strings with stable addresses: cached frames point into the
 * arena, so it only grows, in chunks, until the ms_dwfl is freed. Each
 * string may carry its demangled form, computed once. */
struct chunk {
	struct chunk *next;
	size_t used, cap;
	char data[];
};

struct istr {
	const char *s;
	const char *demangled; /* NULL until asked for */
	uint64_t hash;
};

struct strings {
	struct chunk *chunks;
	struct istr *slots;
	size_t count, cap; /* cap is a power of two */
};

static void strings_destroy(struct strings *t)
{
	while (t->chunks) {
		struct chunk *next = t->chunks->next;
		free(t->chunks);
		t->chunks = next;
	}
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static char *arena_copy(struct strings *t, const char *s, size_t len)
{
	struct chunk *c = t->chunks;
	if (!c || c->cap - c->used < len + 1) {
		size_t cap = len + 1 > 65536 ? len + 1 : 65536;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = t->chunks;
		t->chunks = c;
	}
	char *p = c->data + c->used;
	memcpy(p, s, len);
	p[len] = '\0';
	c->used += len + 1;
	return p;
}

static int strings_grow(struct strings *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	struct istr *slots = ms__calloc_array(cap, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slots[i].s)
			continue;
		size_t j = t->slots[i].hash & (cap - 1);
		while (slots[j].s)
			j = (j + 1) & (cap - 1);
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

/* The interned entry of s, NULL when out of memory. */
static struct istr *strings_intern(struct strings *t, const char *s)
{
	size_t len = strlen(s);
	if (2 * (t->count + 1) > t->cap && strings_grow(t) < 0)
		return NULL;
	uint64_t h = ms__hash_bytes(s, len, 0);
	size_t j = h & (t->cap - 1);
	while (t->slots[j].s) {
		if (t->slots[j].hash == h && strcmp(t->slots[j].s, s) == 0)
			return &t->slots[j];
		j = (j + 1) & (t->cap - 1);
	}
	char *copy = arena_copy(t, s, len);
	if (!copy)
		return NULL;
	t->slots[j].s = copy;
	t->slots[j].demangled = NULL;
	t->slots[j].hash = h;
	t->count++;
	return &t->slots[j];
}

/* ------------------------------------------------------------ demangling */

/* libdw has no demangler and libmemsnap is C: the C++ runtime's demangler
 * is looked up at run time, so the library does not drag libstdc++ into
 * every front-end (it is already loaded in GDB and in C++ programs). */
typedef char *(*cxa_demangle_fn)(const char *, char *, size_t *, int *);
static cxa_demangle_fn cxa_demangle;
static pthread_once_t demangle_once = PTHREAD_ONCE_INIT;

static void demangle_init(void)
{
	void *sym = dlsym(RTLD_DEFAULT, "__cxa_demangle");
	if (!sym) {
		void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
		if (h)
			sym = dlsym(h, "__cxa_demangle"); /* h stays open */
	}
	/* POSIX dlsym returns object pointers; the cast through uintptr_t
	 * keeps -Wpedantic quiet about function pointer conversion. */
	cxa_demangle = (cxa_demangle_fn)(uintptr_t)sym;
}

/* The display name of a symbol: demangled when it is a C++ name. NULL when
 * out of memory. */
static const char *display_name(struct strings *t, const char *name)
{
	struct istr *e = strings_intern(t, name);
	if (!e)
		return NULL;
	if (e->demangled)
		return e->demangled;
	e->demangled = e->s;
	if (name[0] == '_' && name[1] == 'Z') {
		pthread_once(&demangle_once, demangle_init);
		int status = -1;
		char *dem = cxa_demangle ? cxa_demangle(name, NULL, NULL, &status)
					 : NULL;
		if (dem && status == 0) {
			/* slots move when the table grows: keep strings, not slots */
			const char *key = e->s;
			struct istr *de = strings_intern(t, dem);
			free(dem);
			if (!de)
				return NULL;
			const char *demangled = de->s;
			if (!(e = strings_intern(t, key)))
				return NULL;
			e->demangled = demangled;
		} else {
			free(dem);
		}
	}
	return e->demangled;
}

static const char *intern(struct strings *t, const char *s)
{
	struct istr *e = strings_intern(t, s);
	return e ? e->s : NULL;
}

/* ------------------------------------------------------------ modules */

enum source { SOURCE_PID, SOURCE_CORE, SOURCE_MODULES };

struct mod {
	struct ms_dwfl *d;
	const char *path;        /* interned */
	uint64_t start, end;     /* [start, end) */
	uint64_t map_start, map_end; /* first mapping (for map_files) */
	uint64_t dev, ino;       /* live process: identity of the file */
	uint64_t gen;            /* refresh round that last saw it */
	const char *expect_id;   /* build-id recorded before opening, hex */
	const char *build_id;    /* build-id of the file in use, hex */
	uint64_t bias;
	bool bias_known;
	bool elf_tried;
	Dwfl_Module *dm;         /* NULL when libdwfl has no such module */
	char *problem;           /* why the module cannot be used, or NULL */
	struct symtab *symtab;   /* built on first use */
	struct cu_index **cus;   /* open addressing by CU offset */
	size_t ncus, cus_cap;
};

/* A cached PC: frames[first .. first + n) of the frame store. */
struct entry {
	uint64_t pc;
	const struct mod *mod;   /* NULL: outside every module */
	uint32_t first;
	uint16_t n;
	uint8_t is_return;
	uint8_t used;
};

struct cframe {
	const char *function;
	const char *filename;
	uint32_t lineno;
};

struct ms_dwfl {
	enum source source;
	int pid;
	char *sysroot;
	char *debug_dir;
	char *debuginfo_path;
	Dwfl_Callbacks callbacks;
	Dwfl *dwfl;
	int core_fd;
	Elf *core_elf;

	struct mod **mods;       /* sorted by start */
	size_t nmods;
	uint64_t gen;

	struct entry *slots;
	size_t nentries, cap;    /* cap is a power of two */
	struct cframe *frames;
	size_t nframes, frames_cap;

	struct strings strings;
	ms_dwfl_stats stats;
};

static void symtab_free(struct symtab *t);
static void cu_index_free(struct cu_index *ix);

static void mod_free(struct mod *m)
{
	if (!m)
		return;
	free(m->problem);
	symtab_free(m->symtab);
	for (size_t i = 0; i < m->cus_cap; i++)
		cu_index_free(m->cus[i]);
	free(m->cus);
	free(m);
}

static int mod_cmp(const void *a, const void *b)
{
	const struct mod *x = *(const struct mod *const *)a;
	const struct mod *y = *(const struct mod *const *)b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static struct mod *find_mod(const ms_dwfl *d, uint64_t addr)
{
	size_t lo = 0, hi = d->nmods;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->mods[mid]->start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* modules may overlap in a hostile map: the nearest start wins */
	if (lo > 0 && addr < d->mods[lo - 1]->end)
		return d->mods[lo - 1];
	return NULL;
}

static void hex_id(char *out, const unsigned char *bits, int len)
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < len; i++) {
		out[2 * i] = digits[bits[i] >> 4];
		out[2 * i + 1] = digits[bits[i] & 15];
	}
	out[2 * len] = '\0';
}

/* The build-id of elf in hex into out (at least 2 * 64 + 1 bytes); false
 * when it has none. */
static bool elf_build_id(Elf *elf, char *out)
{
	const void *bits;
	ssize_t len = dwelf_elf_gnu_build_id(elf, &bits);
	if (len <= 0 || len > 64)
		return false;
	hex_id(out, bits, (int)len);
	return true;
}

/* Opens path as an ELF file whose build-id must be expect (when not NULL).
 * Returns the fd and *elfp, or -1 with why in problem (left as is when the
 * file simply does not exist). */
static int open_checked(const char *path, const char *expect, Elf **elfp,
			char *problem, size_t problem_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	struct stat st;
	/* a FIFO or device in a map would hang or mislead the ELF reader */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		snprintf(problem, problem_len, "%s: not an ELF file", path);
		elf_end(elf);
		close(fd);
		return -1;
	}
	if (expect) {
		char id[129];
		if (!elf_build_id(elf, id))
			snprintf(problem, problem_len,
				 "%s: has no build-id, expected %s", path,
				 expect);
		else if (strcmp(id, expect) != 0)
			snprintf(problem, problem_len,
				 "%s: build-id %s differs from the recorded %s",
				 path, id, expect);
		else
			goto ok;
		elf_end(elf);
		close(fd);
		return -1;
	}
ok:
	*elfp = elf;
	return fd;
}

/* Candidate files for a module, most specific first: the path under the
 * sysroot, the path itself, then by build-id in the debug directories
 * (where distributions keep the ELF next to its .debug). */
static int find_module_file(ms_dwfl *d, struct mod *m, char **found,
			    Elf **elfp)
{
	char problem[512] = "";
	char buf[4096];
	int fd;

	if (d->sysroot && m->path[0] == '/') {
		snprintf(buf, sizeof(buf), "%s%s", d->sysroot, m->path);
		fd = open_checked(buf, m->expect_id, elfp, problem,
				  sizeof(problem));
		if (fd >= 0)
			goto found;
	}
	if (d->source == SOURCE_PID && strstr(m->path, " (deleted)")) {
		/* the file is gone from the file system but still mapped */
		snprintf(buf, sizeof(buf), "/proc/%d/map_files/%" PRIx64
			 "-%" PRIx64, d->pid, m->map_start, m->map_end);
		fd = open_checked(buf, m->expect_id, elfp, problem,
				  sizeof(problem));
		if (fd >= 0)
			goto found;
	}
	snprintf(buf, sizeof(buf), "%s", m->path);
	fd = open_checked(buf, m->expect_id, elfp, problem, sizeof(problem));
	if (fd >= 0)
		goto found;
	if (m->expect_id && strlen(m->expect_id) > 2) {
		const char *dirs[3] = { NULL, NULL, "/usr/lib/debug" };
		char sys_debug[4096];
		if (d->sysroot) {
			snprintf(sys_debug, sizeof(sys_debug),
				 "%s/usr/lib/debug", d->sysroot);
			dirs[1] = sys_debug;
		}
		dirs[0] = d->debug_dir;
		for (int i = 0; i < 3; i++) {
			if (!dirs[i])
				continue;
			snprintf(buf, sizeof(buf), "%s/.build-id/%.2s/%s",
				 dirs[i], m->expect_id, m->expect_id + 2);
			char ignored[512];
			fd = open_checked(buf, m->expect_id, elfp, ignored,
					  sizeof(ignored));
			if (fd >= 0)
				goto found;
		}
	}
	if (!problem[0] && d->source != SOURCE_MODULES)
		return -1; /* symbolized as "??" like any module without symbols */
	free(m->problem);
	if (!problem[0])
		snprintf(problem, sizeof(problem), "%s: no such file%s%s%s",
			 m->path, d->sysroot ? " (also looked under " : "",
			 d->sysroot ? d->sysroot : "", d->sysroot ? ")" : "");
	m->problem = strdup(problem);
	return -1;
found:
	*found = strdup(buf);
	if (!*found) {
		elf_end(*elfp);
		close(fd);
		return -1;
	}
	return fd;
}

/* libdwfl's find_elf for a live process and a core: userdata is our mod
 * (set once the module is reported; a core may ask before that). */
static int find_elf(Dwfl_Module *dm, void **userdata, const char *name,
		    Dwarf_Addr base, char **file_name, Elf **elfp)
{
	struct mod *m = *userdata;
	if (!m)
		return dwfl_build_id_find_elf(dm, userdata, name, base,
					      file_name, elfp);
	int fd = find_module_file(m->d, m, file_name, elfp);
	if (fd < 0 && !m->problem)
		fd = dwfl_build_id_find_elf(dm, userdata, name, base,
					    file_name, elfp);
	return fd;
}

/* Loads the module's ELF (once) for its bias and build-id. */
static void mod_load(struct mod *m)
{
	if (m->elf_tried)
		return;
	m->elf_tried = true;
	if (!m->dm || m->problem)
		return;
	Dwarf_Addr bias;
	if (!dwfl_module_getelf(m->dm, &bias))
		return;
	if (!m->bias_known) {
		m->bias = bias;
		m->bias_known = true;
	}
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(m->dm, &bits, &vaddr);
	if (len > 0 && len <= 64) {
		char id[129];
		hex_id(id, bits, len);
		m->build_id = intern(&m->d->strings, id);
	}
}

/* ------------------------------------------------------------ the cache */

static int cache_grow(ms_dwfl *d)
{
	size_t cap = d->cap ? d->cap * 2 : 4096;
	struct entry *slots = ms__calloc_array(cap, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < d->cap; i++) {
		if (!d->slots[i].used)
			continue;
		const struct entry *e = &d->slots[i];
		size_t j = ms__hash64(e->pc ^ e->is_return) & (cap - 1);
		while (slots[j].used)
			j = (j + 1) & (cap - 1);
		slots[j] = *e;
	}
	free(d->slots);
	d->slots = slots;
	d->cap = cap;
	return 0;
}

static struct entry *cache_slot(ms_dwfl *d, uint64_t pc, bool is_return)
{
	if (!d->cap)
		return NULL;
	size_t j = ms__hash64(pc ^ is_return) & (d->cap - 1);
	while (d->slots[j].used) {
		if (d->slots[j].pc == pc && d->slots[j].is_return == is_return)
			return &d->slots[j];
		j = (j + 1) & (d->cap - 1);
	}
	return &d->slots[j];
}

/* Keeps the cached PCs whose module survives (keep(mod) true) and packs
 * their frames; entries outside every module are always dropped. */
static int cache_filter(ms_dwfl *d, bool (*keep)(const struct mod *m,
						void *arg), void *arg)
{
	struct entry *old = d->slots;
	size_t old_cap = d->cap;
	struct cframe *old_frames = d->frames;
	d->slots = NULL;
	d->cap = d->nentries = 0;
	d->frames = NULL;
	d->nframes = d->frames_cap = 0;
	int rc = 0;
	for (size_t i = 0; i < old_cap && rc == 0; i++) {
		struct entry e = old[i];
		if (!e.used || !e.mod || !keep(e.mod, arg))
			continue;
		if (2 * (d->nentries + 1) > d->cap && cache_grow(d) < 0) {
			rc = -1;
			break;
		}
		if (ms__grow((void **)&d->frames, &d->frames_cap,
			     d->nframes + e.n, sizeof(*d->frames)) < 0) {
			rc = -1;
			break;
		}
		memcpy(d->frames + d->nframes, old_frames + e.first,
		       e.n * sizeof(*d->frames));
		e.first = (uint32_t)d->nframes;
		d->nframes += e.n;
		*cache_slot(d, e.pc, e.is_return) = e;
		d->nentries++;
	}
	free(old);
	free(old_frames);
	if (rc < 0) {
		/* out of memory: an empty cache is still a correct cache */
		free(d->slots);
		free(d->frames);
		d->slots = NULL;
		d->frames = NULL;
		d->cap = d->nentries = d->nframes = d->frames_cap = 0;
	}
	d->stats.cached = d->nentries;
	return rc;
}

static bool keep_none(const struct mod *m, void *arg)
{
	return false;
}

void ms_dwfl_forget(ms_dwfl *d)
{
	if (d)
		cache_filter(d, keep_none, NULL);
}

/* ------------------------------------------------------------ indexes */

/* libdwfl looks symbols up by a linear scan of the symbol table and
 * dwarf_getscopes walks a CU from its root for every address: both are far
 * too slow for 100,000 PCs. So each module gets a sorted symbol table and
 * each CU touched an interval index of its subprograms and inlined
 * instances, built once. */
struct sym {
	uint64_t addr, size;
	const char *name;
	uint32_t rank;   /* lower is better at one address */
};

struct symtab {
	struct sym *syms;
	size_t n;
};

static void symtab_free(struct symtab *t)
{
	if (t)
		free(t->syms);
	free(t);
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* NULL when out of memory; an empty table when there are no symbols. */
static struct symtab *symtab_build(struct mod *m)
{
	struct symtab *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	int count = dwfl_module_getsymtab(m->dm);
	size_t cap = 0;
	for (int i = 1; i < count; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name = dwfl_module_getsym_info(m->dm, i, &sym,
							   &addr, &shndx,
							   NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		/* the symbols dwfl_module_addrinfo would consider */
		if (!name || !name[0] || shndx == SHN_UNDEF ||
		    type == STT_SECTION || type == STT_FILE || type == STT_TLS)
			continue;
		if (ms__grow((void **)&t->syms, &cap, t->n + 1,
			     sizeof(*t->syms)) < 0) {
			symtab_free(t);
			return NULL;
		}
		int bind = GELF_ST_BIND(sym.st_info);
		uint32_t rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
		rank = (rank << 1 | (sym.st_size == 0)) << 24 | (uint32_t)i;
		const char *iname = intern(&m->d->strings, name);
		if (!iname) {
			symtab_free(t);
			return NULL;
		}
		t->syms[t->n++] = (struct sym){ addr, sym.st_size, iname, rank };
	}
	if (t->n) /* no symbol: syms is NULL, which qsort may not take */
		qsort(t->syms, t->n, sizeof(*t->syms), sym_cmp);
	return t;
}

/* The symbol containing addr: a sized one that contains it, else the
 * nearest sizeless one before it, as libdwfl chooses. */
static const char *symtab_lookup(const struct symtab *t, uint64_t addr)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const char *sizeless = NULL;
	/* a few symbols back: labels inside a sized function come after it */
	for (size_t i = lo, seen = 0; i > 0 && seen < 64; i--, seen++) {
		const struct sym *s = &t->syms[i - 1];
		if (i < lo && s->addr == t->syms[i].addr)
			continue; /* the best of one address comes first */
		/* step to the best symbol at this address */
		size_t j = i - 1;
		while (j > 0 && t->syms[j - 1].addr == s->addr)
			j--;
		s = &t->syms[j];
		i = j + 1;
		if (s->size == 0) {
			if (!sizeless)
				sizeless = s->name;
		} else if (addr < s->addr + s->size) {
			return s->name;
		}
	}
	return sizeless;
}

struct node {
	Dwarf_Off off;
	int32_t parent;   /* index of the enclosing node, -1 at the top */
	uint32_t first, n; /* its ranges in node_ranges */
};

struct range_ix {
	uint64_t lo, hi;
	int32_t node;
	uint32_t depth;
};

struct cu_index {
	Dwarf_Off cu_off;
	struct node *nodes;
	size_t nnodes, nodes_cap;
	struct range_ix *node_ranges; /* by node */
	struct range_ix *sorted;      /* by (lo, depth) */
	size_t nranges, ranges_cap;
};

static void cu_index_free(struct cu_index *ix)
{
	if (!ix)
		return;
	free(ix->nodes);
	free(ix->node_ranges);
	free(ix->sorted);
	free(ix);
}

static int range_cmp(const void *a, const void *b)
{
	const struct range_ix *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->depth < y->depth ? -1 : x->depth > y->depth;
}

static bool may_hold_code(int tag)
{
	switch (tag) {
	case DW_TAG_formal_parameter:
	case DW_TAG_variable:
	case DW_TAG_member:
	case DW_TAG_enumeration_type:
	case DW_TAG_enumerator:
	case DW_TAG_subrange_type:
	case DW_TAG_array_type:
	case DW_TAG_template_type_parameter:
	case DW_TAG_template_value_parameter:
	case DW_TAG_GNU_call_site:
	case DW_TAG_call_site:
		return false;
	default:
		return true;
	}
}

static int index_walk(struct cu_index *ix, Dwarf_Die *die, int32_t parent,
		      uint32_t depth)
{
	Dwarf_Die child;
	if (depth > 256 || dwarf_child(die, &child) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&child);
		int32_t p = parent;
		if (tag == DW_TAG_subprogram ||
		    tag == DW_TAG_inlined_subroutine) {
			if (ix->nnodes >= INT32_MAX ||
			    ms__grow((void **)&ix->nodes, &ix->nodes_cap,
				     ix->nnodes + 1, sizeof(*ix->nodes)) < 0)
				return -1;
			p = (int32_t)ix->nnodes++;
			struct node *n = &ix->nodes[p];
			n->off = dwarf_dieoffset(&child);
			n->parent = parent;
			n->first = (uint32_t)ix->nranges;
			n->n = 0;
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;
			while ((off = dwarf_ranges(&child, off, &base, &lo,
						   &hi)) > 0) {
				if (lo >= hi)
					continue;
				if (ms__grow((void **)&ix->node_ranges,
					     &ix->ranges_cap, ix->nranges + 1,
					     sizeof(*ix->node_ranges)) < 0)
					return -1;
				ix->node_ranges[ix->nranges++] =
					(struct range_ix){ lo, hi, p, depth };
				n->n++;
			}
		}
		if (dwarf_haschildren(&child) && may_hold_code(tag) &&
		    index_walk(ix, &child, p, depth + 1) < 0)
			return -1;
	} while (dwarf_siblingof(&child, &child) == 0);
	return 0;
}

static struct cu_index *cu_index_build(Dwarf_Die *cu)
{
	struct cu_index *ix = calloc(1, sizeof(*ix));
	if (!ix)
		return NULL;
	ix->cu_off = dwarf_dieoffset(cu);
	if (index_walk(ix, cu, -1, 0) < 0 ||
	    !(ix->sorted = ms__malloc_array(ix->nranges ? ix->nranges : 1,
					    sizeof(*ix->sorted)))) {
		cu_index_free(ix);
		return NULL;
	}
	memcpy(ix->sorted, ix->node_ranges,
	       ix->nranges * sizeof(*ix->sorted));
	qsort(ix->sorted, ix->nranges, sizeof(*ix->sorted), range_cmp);
	return ix;
}

/* The index of the CU, built on first use; NULL when out of memory. */
static struct cu_index *cu_index_get(struct mod *m, Dwarf_Die *cu)
{
	Dwarf_Off off = dwarf_dieoffset(cu);
	if (2 * (m->ncus + 1) > m->cus_cap) {
		size_t cap = m->cus_cap ? 2 * m->cus_cap : 64;
		struct cu_index **cus = ms__calloc_array(cap, sizeof(*cus));
		if (!cus)
			return NULL;
		for (size_t i = 0; i < m->cus_cap; i++) {
			if (!m->cus[i])
				continue;
			size_t j = ms__hash64(m->cus[i]->cu_off) & (cap - 1);
			while (cus[j])
				j = (j + 1) & (cap - 1);
			cus[j] = m->cus[i];
		}
		free(m->cus);
		m->cus = cus;
		m->cus_cap = cap;
	}
	size_t j = ms__hash64(off) & (m->cus_cap - 1);
	while (m->cus[j]) {
		if (m->cus[j]->cu_off == off)
			return m->cus[j];
		j = (j + 1) & (m->cus_cap - 1);
	}
	m->cus[j] = cu_index_build(cu);
	if (m->cus[j])
		m->ncus++;
	return m->cus[j];
}

static bool node_contains(const struct cu_index *ix, int32_t n, uint64_t a)
{
	const struct node *nd = &ix->nodes[n];
	for (uint32_t i = 0; i < nd->n; i++) {
		const struct range_ix *r = &ix->node_ranges[nd->first + i];
		if (r->lo <= a && a < r->hi)
			return true;
	}
	return false;
}

/* The innermost subprogram or inlined instance containing a (a DWARF
 * address), -1 when none. Scopes nest, so it is the range starting last
 * at or before a, or one of its enclosing scopes. */
static int32_t cu_index_lookup(const struct cu_index *ix, uint64_t a)
{
	size_t lo = 0, hi = ix->nranges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->sorted[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -1;
	int32_t n = ix->sorted[lo - 1].node;
	while (n >= 0 && !node_contains(ix, n, a))
		n = ix->nodes[n].parent;
	return n;
}

/* ------------------------------------------------------------ resolving */

struct collect {
	ms_dwfl *d;
	struct cframe f[MS_MAX_INLINE];
	size_t n;
	bool nomem;
};

/* Source paths as one name per file: DWARF gives a file relative to its
 * directory entry, which may itself be relative to the CU's comp_dir (an
 * out-of-tree build with a relative srcdir: "../src/x.c"; glibc:
 * comp_dir "./csu", file "../sysdeps/x86/abi-note.c"). Join comp_dir when
 * the name does not already start with it, then clean lexically ("a/./b",
 * "a/x/../b" -> "a/b"), so filters and source lookups see one name per
 * file. Returns buf, or file itself when the result would not fit. */
static const char *source_path(const char *comp_dir, const char *file,
			       char *buf, size_t len)
{
	char joined[4096];
	const char *p = file;
	size_t starts[512], depth = 0, n = 0;
	bool abs;

	if (file[0] != '/' && comp_dir && *comp_dir) {
		size_t cl = strlen(comp_dir);

		if (!(strncmp(file, comp_dir, cl) == 0 && file[cl] == '/')) {
			int w = snprintf(joined, sizeof(joined), "%s/%s",
					 comp_dir, file);

			if (w > 0 && (size_t)w < sizeof(joined))
				p = joined;
		}
	}
	abs = p[0] == '/';
	while (*p) {
		const char *e;
		size_t clen;

		while (*p == '/')
			p++;
		e = strchrnul(p, '/');
		clen = (size_t)(e - p);
		if (clen == 0 || (clen == 1 && p[0] == '.')) {
			p = e;
			continue;
		}
		if (clen == 2 && p[0] == '.' && p[1] == '.' && depth > 0 &&
		    !(n - starts[depth - 1] == 2 + (starts[depth - 1] > 0 || abs) &&
		      buf[n - 1] == '.' && buf[n - 2] == '.')) {
			n = starts[--depth];
			p = e;
			continue;
		}
		if (clen == 2 && p[0] == '.' && p[1] == '.' && abs) {
			p = e; /* above the root is the root */
			continue;
		}
		if (depth == 512 || n + clen + 2 > len)
			return file;
		starts[depth++] = n;
		if (n > 0 || abs)
			buf[n++] = '/';
		memcpy(buf + n, p, clen);
		n += clen;
		p = e;
	}
	if (n == 0)
		buf[n++] = abs ? '/' : '.';
	buf[n] = '\0';
	return buf;
}

static void collect_add(struct collect *c, const char *function,
			const char *filename, uint32_t lineno)
{

	if (c->n == MS_MAX_INLINE)
		return; /* deeper inlining than we keep: outer frames go */
	struct strings *t = &c->d->strings;
	struct cframe *f = &c->f[c->n];
	f->function = function ? display_name(t, function) : NULL;
	f->filename = intern(t, filename);
	f->lineno = lineno;
	if ((function && !f->function) || !f->filename)
		c->nomem = true;
	else
		c->n++;
}

/* The name of a subprogram or an inlined instance: the linkage name when
 * there is one (a C++ name, demangled with its scope and parameters, as
 * addr2line -C shows it), else DW_AT_name; both through the abstract
 * origin or specification. */
static const char *die_function_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name = NULL;
	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
		name = dwarf_formstring(&attr);
	if (!name)
		name = dwarf_diename(die);
	return name;
}

static const char *call_file(Dwarf_Die *cu, Dwarf_Die *inlined)
{
	Dwarf_Attribute attr;
	Dwarf_Word idx;
	Dwarf_Files *files;
	size_t nfiles;
	if (!dwarf_attr(inlined, DW_AT_call_file, &attr) ||
	    dwarf_formudata(&attr, &idx) != 0 ||
	    dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || idx >= nfiles)
		return NULL;
	return dwarf_filesrc(files, idx, NULL, NULL);
}

static uint32_t call_line(Dwarf_Die *inlined)
{
	Dwarf_Attribute attr;
	Dwarf_Word line;
	if (!dwarf_attr(inlined, DW_AT_call_line, &attr) ||
	    dwarf_formudata(&attr, &line) != 0 || line > UINT32_MAX)
		return 0;
	return (uint32_t)line;
}

/* Frames for addr from DWARF: the innermost inlined instance first, each
 * outer one at the call site of the inner one, ending at the subprogram.
 * The function comes from the symbol table when no subprogram covers addr
 * (assembly sources have lines but no DIEs). */
static void resolve_module(struct collect *c, struct mod *m,
			   Dwarf_Addr addr)
{
	Dwfl_Module *dm = m->dm;
	const char *file = NULL;
	int line = 0;
	Dwfl_Line *l = dwfl_module_getsrc(dm, addr);
	if (l)
		file = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL);
	if (!file || line < 0) {
		file = NULL;
		line = 0;
	}

	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(dm, addr, &bias);
	struct cu_index *ix = cu ? cu_index_get(m, cu) : NULL;
	if (cu && !ix) {
		c->nomem = true;
		return;
	}
	Dwarf_Attribute attr;
	const char *comp_dir =
		cu ? dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr))
		   : NULL;
	char path[4096];
	Dwarf *dbg = cu ? dwfl_module_getdwarf(dm, &bias) : NULL;
	int32_t n = ix && dbg ? cu_index_lookup(ix, addr - bias) : -1;
	for (; n >= 0; n = ix->nodes[n].parent) {
		Dwarf_Die die;
		if (!dwarf_offdie(dbg, ix->nodes[n].off, &die))
			break;
		int tag = dwarf_tag(&die);
		collect_add(c, die_function_name(&die),
			    file ? source_path(comp_dir, file, path, sizeof(path))
				 : m->path,
			    file ? (uint32_t)line : 0);
		if (tag == DW_TAG_subprogram)
			break;
		file = call_file(cu, &die);
		line = (int)call_line(&die);
	}
	if (c->n > 0 || c->nomem)
		return;

	if (!m->symtab && !(m->symtab = symtab_build(m))) {
		c->nomem = true;
		return;
	}
	collect_add(c, symtab_lookup(m->symtab, addr),
		    file ? source_path(comp_dir, file, path, sizeof(path))
			 : m->path,
		    file ? (uint32_t)line : 0);
}

static int store(ms_dwfl *d, uint64_t pc, bool is_return,
		 const struct mod *m, const struct collect *c,
		 struct entry **out)
{
	if (2 * (d->nentries + 1) > d->cap && cache_grow(d) < 0)
		return -1;
	if (d->nframes + c->n > UINT32_MAX ||
	    ms__grow((void **)&d->frames, &d->frames_cap, d->nframes + c->n,
		     sizeof(*d->frames)) < 0)
		return -1;
	memcpy(d->frames + d->nframes, c->f, c->n * sizeof(*c->f));
	struct entry *e = cache_slot(d, pc, is_return);
	e->pc = pc;
	e->mod = m;
	e->first = (uint32_t)d->nframes;
	e->n = (uint16_t)c->n;
	e->is_return = is_return;
	e->used = 1;
	d->nframes += c->n;
	d->nentries++;
	d->stats.cached = d->nentries;
	*out = e;
	return 0;
}

static int resolve(void *ctx, uint64_t pc, bool is_return, ms_frame *out,
		   size_t max, ms_error *err)
{
	ms_dwfl *d = ctx;
	if (max == 0)
		return ms__fail(err, MS_EINVAL, "resolve: no room for a frame");
	d->stats.lookups++;
	struct entry *e = cache_slot(d, pc, is_return);
	if (!e || !e->used) {
		/* a return address points after the call: look up the call */
		uint64_t addr = is_return && pc > 0 ? pc - 1 : pc;
		struct mod *m = find_mod(d, addr);
		if (m) {
			mod_load(m);
			if (m->problem)
				return ms__fail(err, MS_ESYMBOL,
						"cannot symbolize 0x%" PRIx64
						": %s", pc, m->problem);
		}
		d->stats.misses++;
		struct collect c = { .d = d };
		if (m && m->dm)
			resolve_module(&c, m, addr);
		if (c.n == 0 && !c.nomem)
			collect_add(&c, NULL, m ? m->path : "??", 0);
		if (c.nomem || store(d, pc, is_return, m, &c, &e) < 0)
			return ms__nomem(err, "symbolizing a PC");
	}
	const struct mod *m = e->mod;
	size_t n = e->n < max ? e->n : max;
	for (size_t i = 0; i < n; i++) {
		const struct cframe *f = &d->frames[e->first + i];
		out[i].filename = f->filename;
		out[i].lineno = f->lineno;
		out[i].function = f->function;
		out[i].module = m ? m->path : NULL;
		out[i].build_id = m ? m->build_id : NULL;
		out[i].address = pc;
		out[i].offset = m ? pc - (m->bias_known ? m->bias : m->start)
				  : 0;
	}
	return (int)n;
}

static int modules(void *ctx, ms_module_cb cb, void *arg, ms_error *err)
{
	ms_dwfl *d = ctx;
	for (size_t i = 0; i < d->nmods; i++) {
		struct mod *m = d->mods[i];
		mod_load(m);
		ms_module out = {
			.path = m->path,
			.build_id = m->build_id ? m->build_id : m->expect_id,
			.bias = m->bias_known ? m->bias : 0,
			.start = m->start,
			.end = m->end,
		};
		int rc = cb(arg, &out);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static const ms_symbolizer_ops dwfl_ops = { resolve, modules };

ms_symbolizer ms_dwfl_symbolizer(ms_dwfl *d)
{
	ms_symbolizer s = { &dwfl_ops, d };
	return s;
}

void ms_dwfl_get_stats(const ms_dwfl *d, ms_dwfl_stats *out)
{
	*out = d->stats;
	out->cached = d->nentries;
	out->modules = d->nmods;
}

int ms_dwfl_verify(ms_dwfl *d, ms_error *err)
{
	size_t bad = 0;
	const struct mod *first = NULL;
	for (size_t i = 0; i < d->nmods; i++) {
		mod_load(d->mods[i]);
		if (d->mods[i]->problem && bad++ == 0)
			first = d->mods[i];
	}
	if (!bad)
		return 0;
	if (bad == 1)
		return ms__fail(err, MS_ESYMBOL, "%s", first->problem);
	return ms__fail(err, MS_ESYMBOL, "%s (and %zu more unusable modules)",
			first->problem, bad - 1);
}

/* ------------------------------------------------------------ sources */

static void set_userdata(struct mod *m)
{
	void **userdata;
	if (m->dm && dwfl_module_info(m->dm, &userdata, NULL, NULL, NULL,
				      NULL, NULL, NULL))
		*userdata = m;
}

static void free_mods(struct mod **mods, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mod_free(mods[i]);
	free(mods);
}

static ms_dwfl *dwfl_alloc(enum source source, const ms_dwfl_options *o,
			   ms_error *err)
{
	elf_version(EV_CURRENT);
	ms_dwfl *d = calloc(1, sizeof(*d));
	if (!d) {
		ms__nomem(err, "creating a symbolizer");
		return NULL;
	}
	d->source = source;
	d->core_fd = -1;
	const char *debug_dir = o && o->debug_dir && o->debug_dir[0]
				? o->debug_dir : NULL;
	const char *sysroot = o && o->sysroot && o->sysroot[0] &&
			      strcmp(o->sysroot, "/") != 0 ? o->sysroot : NULL;
	/* libdwfl's search path: next to the file, its .debug/, our debug
	 * dir, the sysroot's and the system's /usr/lib/debug (by build-id
	 * and by .gnu_debuglink name) */
	if ((debug_dir && !(d->debug_dir = strdup(debug_dir))) ||
	    (sysroot && !(d->sysroot = strdup(sysroot))) ||
	    asprintf(&d->debuginfo_path, ":.debug:%s%s%s%s/usr/lib/debug",
		     debug_dir ? debug_dir : "", debug_dir ? ":" : "",
		     sysroot ? sysroot : "", sysroot ? "/usr/lib/debug:" : "")
		    < 0) {
		d->debuginfo_path = NULL;
		ms_dwfl_free(d);
		ms__nomem(err, "creating a symbolizer");
		return NULL;
	}
	d->callbacks.find_elf = find_elf;
	d->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
	d->callbacks.section_address = dwfl_offline_section_address;
	d->callbacks.debuginfo_path = &d->debuginfo_path;
	d->dwfl = dwfl_begin(&d->callbacks);
	if (!d->dwfl) {
		ms__fail(err, MS_ESYMBOL, "libdwfl: %s", dwfl_errmsg(-1));
		ms_dwfl_free(d);
		return NULL;
	}
	return d;
}

void ms_dwfl_free(ms_dwfl *d)
{
	if (!d)
		return;
	if (d->dwfl)
		dwfl_end(d->dwfl);
	if (d->core_elf)
		elf_end(d->core_elf);
	if (d->core_fd >= 0)
		close(d->core_fd);
	free_mods(d->mods, d->nmods);
	free(d->slots);
	free(d->frames);
	strings_destroy(&d->strings);
	free(d->sysroot);
	free(d->debug_dir);
	free(d->debuginfo_path);
	free(d);
}

static int push_mod(struct mod ***mods, size_t *n, size_t *cap,
		    struct mod *m)
{
	if (ms__grow((void **)mods, cap, *n + 1, sizeof(**mods)) < 0)
		return -1;
	(*mods)[(*n)++] = m;
	return 0;
}

/* The modules of a live process: consecutive mappings of one file make one
 * module; files without an executable mapping (data files, fonts, the
 * locale archive) are not modules. */
static int read_maps(ms_dwfl *d, struct mod ***out, size_t *nout,
		     ms_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", d->pid);
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return ms__fail(err, MS_ENOTFOUND,
					"no process %d", d->pid);
		return ms__fail(err, MS_EIO, "%s: %s", path, strerror(errno));
	}
	struct mod **mods = NULL, *cur = NULL;
	size_t n = 0, cap = 0;
	bool cur_exec = false;
	char *line = NULL;
	size_t line_cap = 0;
	int rc = 0;
	for (;;) {
		ssize_t len = getline(&line, &line_cap, f);
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		uint64_t start = 0, end = 0, off, ino = 0;
		unsigned major = 0, minor = 0;
		char perms[8] = "";
		int name_at = 0;
		const char *name = NULL;
		if (len > 0 && sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %"
				      SCNx64 " %x:%x %" SCNu64 " %n", &start,
				      &end, perms, &off, &major, &minor, &ino,
				      &name_at) >= 7 && name_at > 0 &&
		    line[name_at] == '/')
			name = line + name_at;
		uint64_t dev = ((uint64_t)major << 32) | minor;
		if (cur && name && strcmp(name, cur->path) == 0 &&
		    ino == cur->ino && dev == cur->dev) {
			cur->end = end;
			cur_exec |= strchr(perms, 'x') != NULL;
			continue;
		}
		if (cur) {
			if (cur_exec && push_mod(&mods, &n, &cap, cur) == 0)
				cur = NULL;
			else if (cur_exec)
				break; /* out of memory: rc set below */
			mod_free(cur);
			cur = NULL;
		}
		if (len < 0)
			break;
		if (!name)
			continue;
		cur = calloc(1, sizeof(*cur));
		if (!cur)
			break;
		cur->d = d;
		cur->path = intern(&d->strings, name);
		if (!cur->path)
			break;
		cur->start = cur->map_start = start;
		cur->end = cur->map_end = end;
		cur->dev = dev;
		cur->ino = ino;
		cur_exec = strchr(perms, 'x') != NULL;
	}
	if (cur || !feof(f)) {
		mod_free(cur);
		rc = ferror(f) ? ms__fail(err, MS_EIO, "%s: read error", path)
			       : ms__nomem(err, "reading the module map");
	}
	free(line);
	fclose(f);
	if (rc < 0) {
		free_mods(mods, n);
		return rc;
	}
	qsort(mods, n, sizeof(*mods), mod_cmp);
	*out = mods;
	*nout = n;
	return 0;
}

/* Reports d->mods to libdwfl; modules reported before with the same name
 * and range keep their loaded debug information. */
static int report_mods(ms_dwfl *d, ms_error *err)
{
	dwfl_report_begin(d->dwfl);
	for (size_t i = 0; i < d->nmods; i++) {
		struct mod *m = d->mods[i];
		m->dm = dwfl_report_module(d->dwfl, m->path, m->start, m->end);
		if (!m->dm) {
			dwfl_report_end(d->dwfl, NULL, NULL);
			return ms__fail(err, MS_ESYMBOL, "%s: %s", m->path,
					dwfl_errmsg(-1));
		}
		set_userdata(m);
	}
	if (dwfl_report_end(d->dwfl, NULL, NULL) != 0)
		return ms__fail(err, MS_ESYMBOL, "libdwfl: %s",
				dwfl_errmsg(-1));
	return 0;
}

ms_dwfl *ms_dwfl_new_pid(int pid, const ms_dwfl_options *o, ms_error *err)
{
	if (pid <= 0) {
		ms__fail(err, MS_EINVAL, "invalid pid %d", pid);
		return NULL;
	}
	ms_dwfl *d = dwfl_alloc(SOURCE_PID, o, err);
	if (!d)
		return NULL;
	d->pid = pid;
	if (read_maps(d, &d->mods, &d->nmods, err) < 0 ||
	    report_mods(d, err) < 0) {
		ms_dwfl_free(d);
		return NULL;
	}
	return d;
}

static bool keep_current(const struct mod *m, void *arg)
{
	return m->gen == *(uint64_t *)arg;
}

int ms_dwfl_refresh(ms_dwfl *d, ms_error *err)
{
	if (d->source != SOURCE_PID)
		return ms__fail(err, MS_EINVAL,
				"only a live process can be refreshed");
	struct mod **mods;
	size_t n;
	int rc = read_maps(d, &mods, &n, err);
	if (rc < 0)
		return rc;
	uint64_t gen = ++d->gen;
	bool replaced = false;
	/* a module still mapped from the same file keeps its cached PCs */
	for (size_t i = 0, j = 0; i < n; i++) {
		struct mod *m = mods[i];
		while (j < d->nmods && d->mods[j]->start < m->start)
			j++;
		if (j == d->nmods)
			continue;
		struct mod *old = d->mods[j];
		if (old->start != m->start || old->end != m->end ||
		    strcmp(old->path, m->path) != 0)
			continue;
		if (old->dev != m->dev || old->ino != m->ino) {
			replaced = true;
			continue;
		}
		old->gen = gen;
		mod_free(m);
		mods[i] = old;
		d->mods[j++] = NULL;
	}
	/* libdwfl would keep a replaced file's module (same name, same
	 * range): start it afresh; the debug information is loaded again as
	 * PCs ask for it */
	if (replaced) {
		Dwfl *fresh = dwfl_begin(&d->callbacks);
		if (!fresh) {
			free_mods(mods, n);
			return ms__fail(err, MS_ESYMBOL, "libdwfl: %s",
					dwfl_errmsg(-1));
		}
		dwfl_end(d->dwfl);
		d->dwfl = fresh;
		for (size_t i = 0; i < n; i++)
			mods[i]->elf_tried = false;
	}
	cache_filter(d, keep_current, &gen);
	free_mods(d->mods, d->nmods);
	d->mods = mods;
	d->nmods = n;
	return report_mods(d, err);
}

struct core_collect {
	ms_dwfl *d;
	const char *executable;
	struct mod **mods;
	size_t n, cap;
	bool nomem;
};

static int core_module(Dwfl_Module *dm, void **userdata, const char *name,
		       Dwarf_Addr start, void *arg)
{
	struct core_collect *c = arg;
	struct mod *m = calloc(1, sizeof(*m));
	if (!m || !(m->path = intern(&c->d->strings, name)) ||
	    push_mod(&c->mods, &c->n, &c->cap, m) < 0) {
		free(m);
		c->nomem = true;
		return DWARF_CB_ABORT;
	}
	m->d = c->d;
	m->dm = dm;
	/* the core names the executable by its short name only */
	const char *mainfile = NULL;
	dwfl_module_info(dm, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
	const char *exe = c->executable;
	const char *base = exe ? strrchr(exe, '/') : NULL;
	if (name[0] != '/' && mainfile && mainfile[0] == '/')
		m->path = intern(&c->d->strings, mainfile);
	else if (name[0] != '/' && base && strcmp(base + 1, name) == 0)
		m->path = intern(&c->d->strings, exe);
	if (!m->path) {
		c->nomem = true;
		return DWARF_CB_ABORT;
	}
	Dwarf_Addr end;
	dwfl_module_info(dm, NULL, &m->start, &end, NULL, NULL, NULL, NULL);
	m->end = end;
	/* the build-id the core saw in memory, before any file is opened */
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(dm, &bits, &vaddr);
	if (len > 0 && len <= 64) {
		char id[129];
		hex_id(id, bits, len);
		m->expect_id = intern(&c->d->strings, id);
	}
	*userdata = m;
	return DWARF_CB_OK;
}

ms_dwfl *ms_dwfl_new_core(const char *core, const char *executable,
			  const ms_dwfl_options *o, ms_error *err)
{
	ms_dwfl *d = dwfl_alloc(SOURCE_CORE, o, err);
	if (!d)
		return NULL;
	d->core_fd = open(core, O_RDONLY | O_CLOEXEC);
	if (d->core_fd < 0) {
		ms__fail(err, errno == ENOENT ? MS_ENOTFOUND : MS_EIO,
			 "%s: %s", core, strerror(errno));
		goto fail;
	}
	d->core_elf = elf_begin(d->core_fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr ehdr;
	if (!d->core_elf || !gelf_getehdr(d->core_elf, &ehdr) ||
	    ehdr.e_type != ET_CORE) {
		ms__fail(err, MS_EINVAL, "%s: not a core file", core);
		goto fail;
	}
	if (ehdr.e_machine != EM_X86_64 ||
	    ehdr.e_ident[EI_CLASS] != ELFCLASS64) {
		ms__fail(err, MS_EINVAL,
			 "%s: not an x86-64 core (only x86-64 is supported)",
			 core);
		goto fail;
	}
	dwfl_report_begin(d->dwfl);
	int n = dwfl_core_file_report(d->dwfl, d->core_elf, executable);
	if (n < 0 || dwfl_report_end(d->dwfl, NULL, NULL) != 0) {
		ms__fail(err, MS_ESYMBOL, "%s: %s", core, dwfl_errmsg(-1));
		goto fail;
	}
	struct core_collect c = { .d = d, .executable = executable };
	dwfl_getmodules(d->dwfl, core_module, &c, 0);
	d->mods = c.mods;
	d->nmods = c.n;
	if (c.nomem) {
		ms__nomem(err, "reading the core's modules");
		goto fail;
	}
	qsort(d->mods, d->nmods, sizeof(*d->mods), mod_cmp);
	return d;
fail:
	ms_dwfl_free(d);
	return NULL;
}

static bool is_hex_id(const char *s)
{
	size_t len = strlen(s);
	if (len < 2 || len > 128 || len % 2)
		return false;
	return strspn(s, "0123456789abcdef") == len;
}

ms_dwfl *ms_dwfl_new_modules(const ms_module *mods, size_t n,
			     const ms_dwfl_options *o, ms_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (!mods[i].path || !mods[i].path[0] ||
		    mods[i].start >= mods[i].end) {
			ms__fail(err, MS_EINVAL, "module %zu: %s", i,
				 !mods[i].path || !mods[i].path[0]
				 ? "no path" : "empty address range");
			return NULL;
		}
		if (mods[i].build_id && mods[i].build_id[0] &&
		    !is_hex_id(mods[i].build_id)) {
			ms__fail(err, MS_EINVAL,
				 "%s: build-id \"%s\" is not lower-case hex",
				 mods[i].path, mods[i].build_id);
			return NULL;
		}
	}
	ms_dwfl *d = dwfl_alloc(SOURCE_MODULES, o, err);
	if (!d)
		return NULL;
	size_t cap = 0;
	dwfl_report_begin(d->dwfl);
	for (size_t i = 0; i < n; i++) {
		struct mod *m = calloc(1, sizeof(*m));
		if (!m || push_mod(&d->mods, &d->nmods, &cap, m) < 0) {
			free(m);
			goto nomem;
		}
		m->d = d;
		m->start = mods[i].start;
		m->end = mods[i].end;
		m->bias = mods[i].bias;
		m->bias_known = true;
		if (!(m->path = intern(&d->strings, mods[i].path)))
			goto nomem;
		if (mods[i].build_id && mods[i].build_id[0] &&
		    !(m->expect_id = intern(&d->strings, mods[i].build_id)))
			goto nomem;
		char *found = NULL;
		Elf *elf = NULL;
		int fd = find_module_file(d, m, &found, &elf);
		if (fd < 0) {
			if (!m->problem)
				goto nomem;
			continue;
		}
		/* libdwfl reads the file through fd itself */
		elf_end(elf);
		m->dm = dwfl_report_elf(d->dwfl, m->path, found, fd, m->bias,
					true);
		if (!m->dm) {
			close(fd);
			if (asprintf(&m->problem, "%s: %s", found,
				     dwfl_errmsg(-1)) < 0) {
				m->problem = NULL;
				free(found);
				goto nomem;
			}
		}
		free(found);
		set_userdata(m);
	}
	if (dwfl_report_end(d->dwfl, NULL, NULL) != 0) {
		ms__fail(err, MS_ESYMBOL, "libdwfl: %s", dwfl_errmsg(-1));
		ms_dwfl_free(d);
		return NULL;
	}
	qsort(d->mods, d->nmods, sizeof(*d->mods), mod_cmp);
	return d;
nomem:
	dwfl_report_end(d->dwfl, NULL, NULL);
	ms_dwfl_free(d);
	ms__nomem(err, "reading the module map");
	return NULL;
}
