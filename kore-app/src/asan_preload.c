/*
 * asan_preload.c
 *	A shared object preloaded after libasan by bin/asan/zixly-app, the
 *	sanitizer build (see kore-app/Makefile). Not part of the module.
 *
 * Debian's kore is not instrumented, so libasan is preloaded and starts
 * lazily, on the first malloc. That malloc comes from libp11-kit's
 * constructor (libpq -> libldap -> gnutls), inside newlocale() with
 * glibc's locale lock held. ASan's start-up then looks up swift_demangle
 * with dlsym; the failed lookup's dlerror() translates its message and
 * takes the same lock again, leaving it corrupt: every later duplocale()
 * -- json-c calls it for each JSON text it parses -- waits forever. With
 * the symbol defined here the lookup succeeds and no message is made.
 * ASan may call it to demangle Swift names; there are none.
 */
#include <stddef.h>
#include <stdint.h>

char	*swift_demangle(const char *, size_t, char *, size_t *, uint32_t);

char *
swift_demangle(const char *mangled, size_t len, char *out, size_t *outlen,
    uint32_t flags)
{
	(void)mangled;
	(void)len;
	(void)out;
	(void)outlen;
	(void)flags;
	return (NULL);
}
