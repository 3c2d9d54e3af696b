/* demo_server.c - a tiny HTTP server on 127.0.0.1 that leaks a little on
 * every request, for memsnap's demo. Each request:
 *  - parses the request into a heap-allocated struct request (freed),
 *  - builds the response body in a growing buffer (freed),
 *  - records the path in an access log that is never trimmed (the leak:
 *    one struct log_entry and one strdup'ed path per request),
 *  - caches a per-path greeting forever (a smaller, bounded leak).
 * Usage: demo_server [PORT]   (0 or none: any free port, printed on stdout) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct request {
	char method[8];
	char path[256];
};

struct log_entry {
	struct log_entry *next;
	char *path;
	unsigned long serial;
	char client[48];
};

struct greeting {
	struct greeting *next;
	char *path;
	char *text;
};

static struct log_entry *access_log;
static struct greeting *greetings;
static unsigned long served;

static struct request *parse_request(const char *buf)
{
	struct request *r = calloc(1, sizeof(*r));

	if (r && sscanf(buf, "%7s %255s", r->method, r->path) != 2) {
		free(r);
		return NULL;
	}
	return r;
}

static void log_access(const struct request *r)
{
	struct log_entry *e = malloc(sizeof(*e));

	if (!e)
		return;
	e->path = strdup(r->path);
	e->serial = ++served;
	snprintf(e->client, sizeof(e->client), "127.0.0.1");
	e->next = access_log;
	access_log = e;
}

static const char *greeting_for(const char *path)
{
	struct greeting *g;

	for (g = greetings; g; g = g->next)
		if (strcmp(g->path, path) == 0)
			return g->text;
	g = malloc(sizeof(*g));
	if (!g)
		return "hello";
	g->path = strdup(path);
	g->text = malloc(64);
	snprintf(g->text, 64, "hello from %.40s", path);
	g->next = greetings;
	greetings = g;
	return g->text;
}

static char *render(const struct request *r, size_t *len)
{
	size_t cap = 128;
	char *body = malloc(cap);
	int n;

	for (;;) {
		n = snprintf(body, cap, "%s\nrequest #%lu\n", greeting_for(r->path),
			     served);
		if (n >= 0 && (size_t)n < cap)
			break;
		cap *= 2;
		body = realloc(body, cap);
	}
	*len = (size_t)n;
	return body;
}

static void handle(int fd)
{
	char buf[1024], head[128];
	size_t got = 0, len;
	struct request *r;
	char *body;

	/* read the whole request head: closing a socket with unread bytes
	 * makes the kernel answer the client with a reset */
	do {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);

		if (n <= 0)
			return;
		got += (size_t)n;
		buf[got] = '\0';
	} while (!strstr(buf, "\r\n\r\n") && got < sizeof(buf) - 1);
	r = parse_request(buf);
	if (!r)
		return;
	log_access(r);
	body = render(r, &len);
	snprintf(head, sizeof(head),
		 "HTTP/1.0 200 OK\r\nContent-Length: %zu\r\n\r\n", len);
	if (write(fd, head, strlen(head)) < 0 || write(fd, body, len) < 0)
		perror("demo_server: write");
	free(body);
	free(r);
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof(addr);
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

	signal(SIGPIPE, SIG_IGN);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons(argc > 1 ? (unsigned short)atoi(argv[1]) : 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(s, 64) < 0 ||
	    getsockname(s, (struct sockaddr *)&addr, &alen) < 0) {
		perror("demo_server");
		return 1;
	}
	printf("%d\n", ntohs(addr.sin_port));
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);

		if (c < 0)
			continue;
		handle(c);
		close(c);
	}
}
