/*
 * parallel.c — a minimal parallel-for: `threads` threads (the caller is one of them) take items
 * from a shared atomic counter until none are left.  Items are independent and each writes only
 * its own outputs, so results never depend on the thread count or on scheduling.  If a thread
 * cannot be started the others (at least the caller) do its share.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "engine.h"

struct pf_shared {
	void (*fn)(void *ctx, size_t item, int thread);
	void *ctx;
	size_t n_items;
	atomic_size_t next;
};

struct pf_thread {
	struct pf_shared *sh;
	int id;
};

static void
pf_drain(struct pf_shared *sh, int id)
{
	for (;;) {
		size_t i = atomic_fetch_add_explicit(&sh->next, 1, memory_order_relaxed);

		if (i >= sh->n_items)
			return;
		sh->fn(sh->ctx, i, id);
	}
}

static void *
pf_main(void *arg)
{
	struct pf_thread *t = arg;

	pf_drain(t->sh, t->id);
	return NULL;
}

int
zx_parallel_for(int threads, size_t n_items, void (*fn)(void *ctx, size_t item, int thread),
    void *ctx)
{
	struct pf_shared sh = { fn, ctx, n_items, 0 };
	struct pf_thread t[ZX_MAX_THREADS];
	pthread_t tid[ZX_MAX_THREADS];
	int started = 0, rc = 0;

	if (threads < 1)
		threads = 1;
	if (threads > ZX_MAX_THREADS)
		threads = ZX_MAX_THREADS;
	if ((size_t)threads > n_items)
		threads = n_items > 0 ? (int)n_items : 1;
	/* Thread ids 1..threads-1 run on new threads, id 0 on the caller. */
	for (int i = 1; i < threads; i++) {
		t[started].sh = &sh;
		t[started].id = i;
		if (pthread_create(&tid[started], NULL, pf_main, &t[started]) != 0) {
			rc = -1;
			break;
		}
		started++;
	}
	pf_drain(&sh, 0);
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	return rc;
}

int
zx_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > ZX_MAX_THREADS ? ZX_MAX_THREADS : (int)n;
}
