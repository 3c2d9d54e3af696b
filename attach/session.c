/* session.c - the live command line: -c/--script commands, the interactive
 * prompt (libedit on a reader thread), `wait`, snapshot file names with
 * --keep. See session.h for the threading. */
#include "config.h"

#include "session.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <histedit.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define BLANKS " \t\r\n"

struct live_session {
	const tracer_options *o;
	ms_session *session;
	ms_output out;
	int status;            /* exit status part: 0, 1 or 2 */
	size_t next;           /* next scripted command */
	bool quit;             /* quit/detach/end of input */
	bool gone;             /* the target has ended */
	double wait_until;     /* `wait` in progress: its deadline */
	/* snapshot files (-o, --keep): the newest keep paths, oldest first */
	unsigned seq;
	char **kept;
	size_t nkept;
	/* interactive: the reader thread and its hand-over, under mu */
	bool interactive;
	bool reader_started;
	pthread_t reader, tracer_thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *line;            /* handed over, not yet taken (mu) */
	bool eof;              /* end of input handed over (mu) */
	bool busy;             /* a line is being run (mu) */
	bool running;          /* the tracer has taken a line, not done */
	bool closing;          /* no more lines will be taken (mu) */
	bool in_gets;          /* the reader is in el_gets (mu) */
	bool tty_in;           /* stdin is a terminal */
	atomic_bool ready;     /* line or eof handed over (cheap check) */
	EditLine *el;
	History *hist;
	char *hist_file;
	bool saved_tty;
	struct termios tty;
};

static const char live_help[] =
	"Commands of the live command line:\n"
	"  wait SECONDS (sleep)     keep tracing for SECONDS before the "
	"next command\n"
	"  quit (detach, exit)      detach, leaving the process as it was "
	"(also end of\n"
	"                           input, Ctrl-D)\n";

double live_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_error(ms_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_error(ms_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

/* -------------------------------------------------------- snapshot files */

void live_output_path(live_session *l, pid_t pid, char *buf, size_t len)
{
	const char *p = l->o->output;
	unsigned n = l->seq++;
	size_t k = 0;

	if (!p) {
		snprintf(buf, len, "memsnap.%d.%u.msnap", (int)pid, n);
		return;
	}
	if (!strstr(p, "%n")) {
		snprintf(buf, len, "%s.%u.msnap", p, n);
		return;
	}
	for (; *p && k + 1 < len; p++) {
		if (p[0] == '%' && p[1] == 'n') {
			k += (size_t)snprintf(buf + k, len - k, "%u", n);
			if (k >= len)
				k = len - 1;
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			buf[k++] = '%';
			p++;
		} else {
			buf[k++] = *p;
		}
	}
	buf[k] = 0;
}

void live_output_written(live_session *l, const char *path)
{
	char *copy;

	if (!l->o->keep || !(copy = strdup(path)))
		return;
	if (l->nkept == l->o->keep) {
		/* the new file is complete (renamed into place): the oldest
		 * one may go */
		if (unlink(l->kept[0]) < 0 && errno != ENOENT)
			tracer_msg("cannot remove %s: %s", l->kept[0],
				   strerror(errno));
		free(l->kept[0]);
		memmove(l->kept, l->kept + 1, (l->nkept - 1) * sizeof(char *));
		l->nkept--;
	}
	l->kept[l->nkept++] = copy;
}

/* ------------------------------------------------------------- commands */

/* The command word of line (after an optional "snapshot") into word;
 * returns where its arguments start. */
static const char *command_word(const char *line, char *word, size_t len)
{
	const char *p = line + strspn(line, BLANKS);
	size_t n = strcspn(p, BLANKS);

	if (n == 8 && strncmp(p, "snapshot", 8) == 0 && p[n]) {
		p += n;
		p += strspn(p, BLANKS);
		n = strcspn(p, BLANKS);
	}
	snprintf(word, len, "%.*s", (int)n, p);
	p += n;
	return p + strspn(p, BLANKS);
}

static bool is_wait(const char *w)
{
	return strcmp(w, "wait") == 0 || strcmp(w, "sleep") == 0;
}

static bool is_quit(const char *w)
{
	return strcmp(w, "quit") == 0 || strcmp(w, "detach") == 0 ||
	       strcmp(w, "exit") == 0;
}

/* The argument of `wait`: seconds >= 0. */
static int wait_seconds(const char *word, const char *args, double *out,
			ms_error *err)
{
	char *end;
	size_t n = strcspn(args, BLANKS);

	if (!n)
		return set_error(err, MS_EINVAL, "%s: missing argument (usage: "
				 "%s SECONDS)", word, word), -1;
	if (args[n + strspn(args + n, BLANKS)])
		return set_error(err, MS_EINVAL, "%s: unexpected argument "
				 "'%s' (usage: %s SECONDS)", word,
				 args + n + strspn(args + n, BLANKS), word),
		       -1;
	errno = 0;
	*out = strtod(args, &end);
	if (errno || end != args + n || !(*out >= 0) || *out > 1e9)
		return set_error(err, MS_EINVAL, "%s: bad number of seconds "
				 "'%.*s'", word, (int)n, args), -1;
	return 0;
}

int live_check_command(const char *line, ms_error *err)
{
	char word[64];
	const char *args = command_word(line, word, sizeof(word));
	ms_output sink;
	double secs;
	int rc;

	ms_error_clear(err);
	if (!word[0] || word[0] == '#')
		return 0;
	if (is_wait(word))
		return wait_seconds(word, args, &secs, err);
	if (is_quit(word)) {
		if (!*args)
			return 0;
		set_error(err, MS_EINVAL, "%s: unexpected argument '%s'", word,
			  args);
		return -1;
	}
	ms_output_init_buffer(&sink);
	rc = ms_session_help(&sink, word, err);
	ms_output_destroy(&sink);
	if (rc < 0)
		set_error(err, MS_EINVAL, "-c/--script: unknown command '%s' "
			  "(memsnap --help lists them)", word);
	return rc < 0 ? -1 : 0;
}

static void command_error(live_session *l, const ms_error *err, int rc)
{
	fflush(stdout);
	fprintf(stderr, "memsnap: %s\n", err->message);
	if (!l->interactive)
		l->status = rc == -MS_EINVAL ? EXIT_TRACER_USAGE
					     : EXIT_TRACER_ERROR;
}

/* Runs one line on the tracer thread; a `wait` only sets its deadline. */
static void run_line(live_session *l, const char *line)
{
	char word[64];
	const char *args = command_word(line, word, sizeof(word));
	ms_error err;
	double secs;
	int rc = 0;

	ms_error_clear(&err);
	if (is_wait(word)) {
		rc = wait_seconds(word, args, &secs, &err);
		if (rc == 0 && !l->gone)
			l->wait_until = live_now() + secs;
		rc = rc < 0 ? -MS_EINVAL : 0;
	} else if (is_quit(word)) {
		if (*args) {
			set_error(&err, MS_EINVAL, "%s: unexpected argument "
				  "'%s'", word, args);
			rc = -MS_EINVAL;
		} else {
			l->quit = true;
		}
	} else if (strcmp(word, "help") == 0 &&
		   (!*args || is_wait(args) || is_quit(args))) {
		if (!*args)
			rc = ms_session_help(&l->out, NULL, &err);
		if (rc == 0)
			ms_output_printf(&l->out, "%s", live_help);
	} else {
		progress_begin("%s", line + strspn(line, BLANKS));
		rc = ms_session_exec(l->session, line, &l->out, &err);
		progress_end();
	}
	if ((l->out.len && fwrite(l->out.buf, 1, l->out.len, stdout) !=
				   l->out.len) ||
	    fflush(stdout) != 0) {
		if (rc == 0) {
			set_error(&err, MS_EIO, "writing the output failed: %s",
				  strerror(errno));
			rc = -MS_EIO;
		}
		clearerr(stdout);
	}
	ms_output_reset(&l->out);
	if (rc < 0)
		command_error(l, &err, rc);
}

/* ----------------------------------------------------------- the prompt */

static const char *prompt(EditLine *el)
{
	return "memsnap> ";
}

static int add_candidate(ms_completion *c, size_t *cap, const char *w)
{
	if (c->count == *cap) {
		size_t n = *cap ? *cap * 2 : 16;
		char **v = realloc(c->words, n * sizeof(*v));
		if (!v)
			return -1;
		c->words = v;
		*cap = n;
	}
	if (!(c->words[c->count] = strdup(w)))
		return -1;
	c->count++;
	return 0;
}

/* File names starting with word: directories get a '/'. */
static void complete_files(const char *word, ms_completion *c, size_t *cap)
{
	const char *slash = strrchr(word, '/');
	char dir[4096], path[4096];
	const char *base = slash ? slash + 1 : word;
	size_t blen = strlen(base);
	struct dirent *de;
	DIR *d;

	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - word + 1),
			 word);
	else
		dir[0] = 0;
	d = opendir(dir[0] ? dir : ".");
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;
		if (strncmp(de->d_name, base, blen) != 0 ||
		    strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    (de->d_name[0] == '.' && base[0] != '.'))
			continue;
		snprintf(path, sizeof(path), "%s%s", dir, de->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			strncat(path, "/", sizeof(path) - strlen(path) - 1);
		if (add_candidate(c, cap, path) < 0)
			break;
	}
	closedir(d);
}

static int cmp_words(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static unsigned char complete(EditLine *el, int ch)
{
	static const char *const own[] = { "wait", "sleep", "quit", "detach",
					   "exit" };
	const LineInfo *li = el_line(el);
	size_t len = (size_t)(li->cursor - li->buffer), cap, common, wlen;
	ms_completion c;
	ms_error err;
	char *text;
	live_session *l;
	unsigned char rc = CC_REFRESH;

	el_get(el, EL_CLIENTDATA, &l);
	text = strndup(li->buffer, len);
	if (!text || ms_session_complete(l->session, text, &c, &err) < 0) {
		free(text);
		return CC_ERROR;
	}
	cap = c.count;
	wlen = len - c.start;
	{
		/* the command word: the live commands complete too */
		const char *before = text + strspn(text, BLANKS);
		size_t blen = c.start - (size_t)(before - text);
		if (blen == 0 || (blen >= 8 && strncmp(before, "snapshot", 8) == 0 &&
				  strspn(before + 8, BLANKS) == blen - 8))
			for (size_t i = 0; i < 5; i++)
				if (strncmp(own[i], text + c.start, wlen) == 0)
					add_candidate(&c, &cap, own[i]);
	}
	if (c.filenames && !c.count)
		complete_files(text + c.start, &c, &cap);
	if (!c.count) {
		rc = CC_ERROR;
		goto out;
	}
	qsort(c.words, c.count, sizeof(*c.words), cmp_words);
	common = strlen(c.words[0]);
	for (size_t i = 1; i < c.count; i++) {
		size_t k = 0;
		while (k < common && c.words[i][k] == c.words[0][k])
			k++;
		common = k;
	}
	if (common > wlen) {
		char *ins = strndup(c.words[0] + wlen, common - wlen);
		if (ins)
			el_insertstr(el, ins);
		free(ins);
		if (c.count == 1 && c.words[0][common - 1] != '/')
			el_insertstr(el, " ");
	} else if (c.count == 1) {
		if (c.words[0][common - 1] != '/')
			el_insertstr(el, " ");
	} else {
		size_t col = 0;
		fputc('\n', stdout);
		for (size_t i = 0; i < c.count; i++) {
			size_t w = strlen(c.words[i]) + 2;
			if (col && col + w > 78) {
				fputc('\n', stdout);
				col = 0;
			}
			fprintf(stdout, "%s  ", c.words[i]);
			col += w;
		}
		fputc('\n', stdout);
		fflush(stdout);
		rc = CC_REDISPLAY;
	}
out:
	ms_completion_destroy(&c);
	free(text);
	return rc;
}

static void *reader_main(void *arg)
{
	live_session *l = arg;

	for (;;) {
		int n = 0;
		const char *got;
		char *line = NULL;
		HistEvent ev;
		bool stop;

		pthread_mutex_lock(&l->mu);
		stop = l->closing;
		l->in_gets = !stop;
		pthread_mutex_unlock(&l->mu);
		if (stop)
			break;
		got = el_gets(l->el, &n);
		pthread_mutex_lock(&l->mu);
		l->in_gets = false;
		pthread_mutex_unlock(&l->mu);
		if (got) {
			line = strdup(got);
			if (!line)
				continue;
			line[strcspn(line, "\r\n")] = 0;
			if (!line[strspn(line, BLANKS)]) {
				free(line);
				continue;
			}
			history(l->hist, &ev, H_ENTER, line);
			if (l->hist_file)
				history(l->hist, &ev, H_SAVE, l->hist_file);
		} else if (l->tty_in) {
			fputc('\n', stdout);
			fflush(stdout);
		}
		pthread_mutex_lock(&l->mu);
		l->line = line;
		l->eof = !got;
		l->busy = true;
		atomic_store(&l->ready, true);
		pthread_cond_broadcast(&l->cv);
		pthread_mutex_unlock(&l->mu);
		/* wake the tracer out of waitpid */
		pthread_kill(l->tracer_thread, SIGUSR2);
		pthread_mutex_lock(&l->mu);
		while (l->busy && !l->closing)
			pthread_cond_wait(&l->cv, &l->mu);
		stop = l->closing || !got;
		pthread_mutex_unlock(&l->mu);
		if (stop)
			break;
	}
	return NULL;
}

/* The line the reader handed over, if any: *line set (NULL at the end of
 * input). */
static bool take_line(live_session *l, char **line)
{
	bool got;

	if (!atomic_load(&l->ready))
		return false;
	pthread_mutex_lock(&l->mu);
	got = atomic_load(&l->ready);
	if (got) {
		*line = l->line;
		l->line = NULL;
		if (l->eof)
			l->quit = true;
		atomic_store(&l->ready, false);
		l->running = true;
	}
	pthread_mutex_unlock(&l->mu);
	return got;
}

/* The line is done: the reader may prompt again. */
static void line_done(live_session *l)
{
	l->running = false;
	pthread_mutex_lock(&l->mu);
	l->busy = false;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

/* ------------------------------------------------------------- session */

live_session *live_new(const tracer_options *o, ms_take_fn take, void *take_arg,
	       ms_error *err)
{
	live_session *l = calloc(1, sizeof(*l));
	bool tty = isatty(STDOUT_FILENO);

	if (!l || (o->keep && !(l->kept = calloc(o->keep, sizeof(char *))))) {
		free(l);
		set_error(err, MS_ENOMEM, "out of memory");
		return NULL;
	}
	l->o = o;
	l->session = ms_session_new(err);
	if (!l->session) {
		free(l->kept);
		free(l);
		return NULL;
	}
	ms_session_set_take(l->session, take, take_arg);
	ms_session_set_progress(l->session, progress_engine());
	ms_session_set_default_limit(l->session, tty ? 10 : 0);
	/* gathered, then printed once the progress line is gone */
	ms_output_init_buffer(&l->out);
	l->out.tty = tty;
	l->out.color = ms_color_wanted(tty);
	l->interactive = o->interactive;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	return l;
}

int live_start(live_session *l, pid_t pid)
{
	const char *home = getenv("HOME");
	HistEvent ev;

	if (!l->interactive)
		return 0;
	l->tracer_thread = pthread_self();
	l->saved_tty = tcgetattr(STDIN_FILENO, &l->tty) == 0;
	l->tty_in = isatty(STDIN_FILENO);
	l->hist = history_init();
	l->el = el_init("memsnap", stdin, stdout, stderr);
	if (!l->hist || !l->el) {
		tracer_msg("cannot set up the line editor");
		return -1;
	}
	history(l->hist, &ev, H_SETSIZE, 1000);
	history(l->hist, &ev, H_SETUNIQUE, 1);
	if (home && *home &&
	    asprintf(&l->hist_file, "%s/.memsnap_history", home) > 0)
		history(l->hist, &ev, H_LOAD, l->hist_file);
	el_set(l->el, EL_EDITOR, "emacs");
	el_set(l->el, EL_PROMPT, prompt);
	el_set(l->el, EL_HIST, history, l->hist);
	el_set(l->el, EL_CLIENTDATA, l);
	/* the wide call: the narrow one copies both strings and never
	 * frees them */
	el_wset(l->el, EL_ADDFN, L"memsnap-complete", L"complete a command",
		complete);
	el_set(l->el, EL_BIND, "^I", "memsnap-complete", NULL);
	el_source(l->el, NULL);
	fprintf(stderr, "memsnap: tracing process %d; 'help' lists the "
		"commands, 'quit' or Ctrl-D detaches\n", (int)pid);
	if (progress_thread_create(&l->reader, reader_main, l) != 0) {
		tracer_msg("cannot start the prompt: %s", strerror(errno));
		return -1;
	}
	l->reader_started = true;
	return 0;
}

bool live_service(live_session *l, double now, double *wake)
{
	char *line;

	*wake = 0;
	if (l->quit)
		return true;
	if (l->wait_until) {
		if (now < l->wait_until) {
			*wake = l->wait_until;
			return false;
		}
		l->wait_until = 0;
		if (l->interactive)
			line_done(l);
	}
	if (l->interactive) {
		if (!take_line(l, &line))
			return false;
		if (line)
			run_line(l, line);
		free(line);
		if (l->wait_until && !l->quit)
			*wake = l->wait_until;
		else if (!l->quit)
			line_done(l);
		return l->quit;
	}
	while (l->next < l->o->ncommands) {
		run_line(l, l->o->commands[l->next++]);
		if (l->status || l->quit)
			return true;
		if (l->wait_until) {
			*wake = l->wait_until;
			return false;
		}
	}
	return l->o->ncommands && !l->o->keep_going;
}

void live_finish(live_session *l, bool target_gone)
{
	if (l->wait_until) {
		l->wait_until = 0;
		if (l->interactive && !target_gone)
			line_done(l);
	}
	if (!target_gone)
		return;
	l->gone = true;
	/* the prompt ends with the program; a script goes on, its
	 * commands on what was taken (take fails) */
	while (!l->interactive && !l->status && !l->quit &&
	       l->next < l->o->ncommands)
		run_line(l, l->o->commands[l->next++]);
}

bool live_interactive(const live_session *l)
{
	return l->interactive;
}

int live_status(const live_session *l)
{
	return l->status;
}

void live_free(live_session *l)
{
	bool joined = false, in_gets;

	if (!l)
		return;
	if (l->reader_started) {
		pthread_mutex_lock(&l->mu);
		l->closing = true;
		in_gets = l->in_gets;
		pthread_cond_broadcast(&l->cv);
		pthread_mutex_unlock(&l->mu);
		/* a reader still in el_gets stays there until the process
		 * exits; the terminal gets its settings back now */
		if (!in_gets) {
			pthread_join(l->reader, NULL);
			joined = true;
		} else if (l->tty_in) {
			fputc('\n', stdout);
			fflush(stdout);
		}
	}
	if (l->saved_tty)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &l->tty);
	/* the exit is near: what the reader may still touch stays */
	if (l->reader_started && !joined)
		return;
	if (l->el)
		el_end(l->el);
	if (l->hist)
		history_end(l->hist);
	free(l->line);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l->hist_file);
	for (size_t i = 0; i < l->nkept; i++)
		free(l->kept[i]);
	free(l->kept);
	ms_session_free(l->session);
	ms_output_destroy(&l->out);
	free(l);
}
