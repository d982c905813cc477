/*
 * pages.h
 *	The dashboard's files, embedded in the module at build time
 *	(assets_gen.sh writes the table), and the HTTP handlers that serve
 *	them (pages.c).
 */
#ifndef ZX_PAGES_H
#define ZX_PAGES_H

#include <stddef.h>

struct zx_asset {
	const char		*path;	/* URL path: "/assets/app.css" */
	const char		*type;	/* Content-Type */
	const char		*etag;	/* quoted, strong */
	const unsigned char	*data;
	size_t			 len;
};

extern const struct zx_asset	zx_assets[];
extern const size_t		zx_assets_count;

#endif
