/*
 * seccomp.c
 *	System calls the app needs beyond Kore's worker sandbox.
 *
 * Kore 4.1's filter predates glibc 2.33, which implements stat() and
 * fstat() with newfstatat(2); libpq stats ~/.pgpass and the socket
 * directory when it connects. Without this the worker dies with a
 * sandbox violation on its first database connection. Kerberos (libpq's
 * gssencmode, if someone turns it back on: init.c defaults it off) lists
 * its configuration directories with getdents64. Find others with
 * ZIXLY_SECCOMP_TRACING=1 bin/zixly-app, which logs each violation.
 */
#include <sys/types.h>

#include <stddef.h>

#include <kore/kore.h>
#include <kore/seccomp.h>

KORE_SECCOMP_FILTER("zixly",
	KORE_SYSCALL_ALLOW(newfstatat),
	KORE_SYSCALL_ALLOW(statx),
	KORE_SYSCALL_ALLOW(getdents64),
);
