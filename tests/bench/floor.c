/*
 * floor.c - the benchmark's floor prober: the least any prober can do.
 *
 * Probes the same guests at the same rate as yaokid, each probe a fresh
 * TCP connection, one HTTP/1.1 request, one read of the status line, then
 * close, all on one epoll loop. On loopback the kernel's share of a probe
 * (set-up and tear-down of both ends of the connection) dominates, and any
 * prober pays it; this program pays little more, so its CPU per probe is the
 * yardstick yaokid's is measured against.
 *
 * A measuring tool for tests/bench/run only: it parses no more HTTP than
 * "HTTP/1.x NNN" and must never be used as a health checker. It talks only
 * to the addresses it is given (loopback in the benchmark).
 *
 *   yaoki-bench-floor -f TARGETS [-i INTERVAL_MS] [-t TIMEOUT_MS]
 *       [-w WARMUP_S] [-d DURATION_S]
 *
 * TARGETS holds one "ADDRESS PORT" per line (IPv4). After the warm-up it
 * measures for DURATION_S seconds and prints one line of key=value words.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* asprintf, reallocarray */
#endif

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXEVENTS	256
#define RESP_MAX	4096

enum tstate { T_IDLE, T_CONNECTING, T_READING };

struct target {
	struct sockaddr_in	 sa;
	char			*req;
	size_t			 reqlen;
	int			 fd;
	enum tstate		 state;
	uint64_t		 started;	/* ns, CLOCK_MONOTONIC */
	uint64_t		 phase;		/* ns into each interval */
	TAILQ_ENTRY(target)	 entry;		/* inflight, in start order */
};
TAILQ_HEAD(targetq, target);

struct counts {
	unsigned long long	 started, ok, bad_status, failed, timeouts,
				    skipped;
};

static struct target	*targets;
static size_t		 ntargets;
static struct targetq	 inflight = TAILQ_HEAD_INITIALIZER(inflight);
static struct counts	 cnt;
static int		 ep;

static void	 usage(void) __attribute__((noreturn));
static uint64_t	 now_ns(void);
static void	 load_targets(const char *);
static void	 probe_start(struct target *);
static void	 probe_end(struct target *, int);
static void	 probe_event(struct target *, uint32_t);
static double	 tv_s(const struct timeval *);

static void
usage(void)
{
	fprintf(stderr, "usage: yaoki-bench-floor -f TARGETS [-i INTERVAL_MS] "
	    "[-t TIMEOUT_MS] [-w WARMUP_S] [-d DURATION_S]\n");
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double
tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static void
load_targets(const char *path)
{
	char line[256], addr[64];
	unsigned port;
	size_t cap = 0;
	FILE *f;
	struct target *t;

	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%63s %u", addr, &port) != 2)
			continue;
		if (ntargets == cap) {
			cap = cap ? cap * 2 : 1024;
			targets = reallocarray(targets, cap, sizeof(*targets));
			if (targets == NULL) {
				perror("reallocarray");
				exit(1);
			}
		}
		t = &targets[ntargets];
		memset(t, 0, sizeof(*t));
		t->sa.sin_family = AF_INET;
		t->sa.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, addr, &t->sa.sin_addr) != 1) {
			fprintf(stderr, "%s: not an IPv4 address: %s\n", path,
			    addr);
			exit(1);
		}
		/* What curl sends for a plain GET, minus nothing that matters. */
		if (asprintf(&t->req, "GET /healthz HTTP/1.1\r\nHost: %s:%u\r\n"
		    "User-Agent: floor\r\nAccept: */*\r\n\r\n", addr, port) < 0) {
			perror("asprintf");
			exit(1);
		}
		t->reqlen = strlen(t->req);
		t->fd = -1;
		ntargets++;
	}
	fclose(f);
	if (ntargets == 0) {
		fprintf(stderr, "%s: no targets\n", path);
		exit(1);
	}
}

static void
probe_start(struct target *t)
{
	struct epoll_event ev;

	if (t->state != T_IDLE) {
		cnt.skipped++;		/* still running from the last round */
		return;
	}
	cnt.started++;
	t->started = now_ns();
	t->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd == -1) {
		cnt.failed++;
		return;
	}
	if (connect(t->fd, (struct sockaddr *)&t->sa, sizeof(t->sa)) == -1 &&
	    errno != EINPROGRESS) {
		close(t->fd);
		t->fd = -1;
		cnt.failed++;
		return;
	}
	ev.events = EPOLLOUT;
	ev.data.ptr = t;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, t->fd, &ev) == -1) {
		close(t->fd);
		t->fd = -1;
		cnt.failed++;
		return;
	}
	t->state = T_CONNECTING;
	TAILQ_INSERT_TAIL(&inflight, t, entry);
}

/* how: 0 ok, 1 bad status, 2 failed, 3 timeout */
static void
probe_end(struct target *t, int how)
{
	close(t->fd);		/* also leaves the epoll set */
	t->fd = -1;
	t->state = T_IDLE;
	TAILQ_REMOVE(&inflight, t, entry);
	switch (how) {
	case 0: cnt.ok++; break;
	case 1: cnt.bad_status++; break;
	case 2: cnt.failed++; break;
	default: cnt.timeouts++; break;
	}
}

static void
probe_event(struct target *t, uint32_t events)
{
	struct epoll_event ev;
	char buf[RESP_MAX];
	ssize_t n;
	int code;

	if (t->state == T_CONNECTING) {
		if (events & (EPOLLERR | EPOLLHUP)) {
			probe_end(t, 2);
			return;
		}
		n = send(t->fd, t->req, t->reqlen, MSG_NOSIGNAL);
		if (n != (ssize_t)t->reqlen) {
			probe_end(t, 2);
			return;
		}
		ev.events = EPOLLIN;
		ev.data.ptr = t;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, t->fd, &ev) == -1) {
			probe_end(t, 2);
			return;
		}
		t->state = T_READING;
		return;
	}
	n = recv(t->fd, buf, sizeof(buf) - 1, 0);
	if (n == -1 && errno == EAGAIN)
		return;
	if (n < 12) {
		probe_end(t, 2);
		return;
	}
	buf[n] = '\0';
	if (strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ') {
		probe_end(t, 2);
		return;
	}
	code = atoi(buf + 9);
	probe_end(t, code >= 200 && code < 400 ? 0 : 1);
}

int
main(int argc, char *argv[])
{
	struct epoll_event evs[MAXEVENTS];
	struct rusage ru0, ru1;
	struct counts c0;
	const char *file = NULL;
	uint64_t interval = 1000, timeout = 1000, warmup = 2, duration = 10;
	uint64_t t0, tm0, tm1, round_start, now, next, wait_ns;
	size_t cursor = 0, i;
	int ch, n, k, measuring = 0;
	struct target *t;

	while ((ch = getopt(argc, argv, "d:f:i:t:w:")) != -1) {
		switch (ch) {
		case 'd': duration = strtoull(optarg, NULL, 10); break;
		case 'f': file = optarg; break;
		case 'i': interval = strtoull(optarg, NULL, 10); break;
		case 't': timeout = strtoull(optarg, NULL, 10); break;
		case 'w': warmup = strtoull(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (file == NULL || interval == 0 || timeout == 0 || duration == 0)
		usage();
	load_targets(file);
	interval *= 1000000ull;
	timeout *= 1000000ull;
	/* Spread the guests evenly over one interval, as yaokid does. */
	for (i = 0; i < ntargets; i++)
		targets[i].phase = interval * i / ntargets;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("epoll_create1");
		return 1;
	}
	t0 = round_start = now_ns();
	tm0 = t0 + warmup * 1000000000ull;
	tm1 = tm0 + duration * 1000000000ull;
	memset(&c0, 0, sizeof(c0));
	for (;;) {
		now = now_ns();
		if (!measuring && now >= tm0) {
			getrusage(RUSAGE_SELF, &ru0);
			c0 = cnt;
			tm0 = now;
			measuring = 1;
		}
		if (measuring && now >= tm1)
			break;
		/* Start every probe that is due. */
		while (round_start + targets[cursor].phase <= now) {
			probe_start(&targets[cursor]);
			if (++cursor == ntargets) {
				cursor = 0;
				round_start += interval;
			}
		}
		/* Time out the oldest probes. */
		while ((t = TAILQ_FIRST(&inflight)) != NULL &&
		    t->started + timeout <= now)
			probe_end(t, 3);
		next = round_start + targets[cursor].phase;
		if ((t = TAILQ_FIRST(&inflight)) != NULL &&
		    t->started + timeout < next)
			next = t->started + timeout;
		wait_ns = next > now ? next - now : 0;
		n = epoll_wait(ep, evs, MAXEVENTS,
		    (int)((wait_ns + 999999) / 1000000));
		if (n == -1 && errno != EINTR) {
			perror("epoll_wait");
			return 1;
		}
		for (k = 0; k < n; k++)
			probe_event(evs[k].data.ptr, evs[k].events);
	}
	getrusage(RUSAGE_SELF, &ru1);
	/* One line of key=value words; tests/bench/run reads it. */
	printf("targets=%zu seconds=%.3f started=%llu ok=%llu bad_status=%llu "
	    "failed=%llu timeouts=%llu skipped=%llu utime=%.3f stime=%.3f "
	    "maxrss_kb=%ld\n",
	    ntargets, (double)(now - tm0) / 1e9, cnt.started - c0.started,
	    cnt.ok - c0.ok, cnt.bad_status - c0.bad_status,
	    cnt.failed - c0.failed, cnt.timeouts - c0.timeouts,
	    cnt.skipped - c0.skipped,
	    tv_s(&ru1.ru_utime) - tv_s(&ru0.ru_utime),
	    tv_s(&ru1.ru_stime) - tv_s(&ru0.ru_stime), ru1.ru_maxrss);
	return 0;
}
