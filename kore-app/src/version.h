/* The app's version, reported by /health. */
#ifndef ZX_VERSION_H
#define ZX_VERSION_H
#define ZX_APP_VERSION	"0.1.2"
#endif
