/*
 * ids.c
 *	  cuid-style identifiers: 'c', 8 base-36 digits of the millisecond clock,
 *	  4 of a per-backend counter, 4 of a backend fingerprint (pid and start
 *	  time) and 8 random ones; 25 characters that sort roughly by creation.
 */
#include "postgres.h"

#include <sys/time.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "port.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "zixly.h"

PG_FUNCTION_INFO_V1(zixly_new_id);

static const char base36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
static uint32 id_counter;

/* Random bytes are drawn in blocks: a batch of 1,000 ids costs 16 draws, not 1,000. */
static uint64 random_pool[64];
static int	random_left = 0;

static uint64
next_random(void)
{
	if (random_left == 0)
	{
		if (!pg_strong_random(random_pool, sizeof(random_pool)))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate random bytes for a job id")));
		random_left = lengthof(random_pool);
	}
	return random_pool[--random_left];
}

static void
put_base36(char *dst, uint64 v, int width)
{
	for (int i = width - 1; i >= 0; i--)
	{
		dst[i] = base36[v % 36];
		v /= 36;
	}
}

void
ZixlyNewId(char *buf)
{
	struct timeval tv;
	uint64		ms;
	uint64		rnd;
	uint64		fingerprint;

	gettimeofday(&tv, NULL);
	ms = (uint64) tv.tv_sec * 1000 + tv.tv_usec / 1000;
	rnd = next_random();
	fingerprint = (uint64) MyProcPid * 2654435761u + (uint64) MyStartTimestamp;

	buf[0] = 'c';
	put_base36(buf + 1, ms, 8);
	put_base36(buf + 9, id_counter++, 4);
	put_base36(buf + 13, fingerprint, 4);
	put_base36(buf + 17, rnd, 8);
	buf[ZIXLY_ID_LEN] = '\0';
}

Datum
zixly_new_id(PG_FUNCTION_ARGS)
{
	char		buf[ZIXLY_ID_LEN + 1];

	ZixlyNewId(buf);
	PG_RETURN_TEXT_P(cstring_to_text(buf));
}
