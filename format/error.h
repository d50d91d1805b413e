/* error.h — the one error of the dump format code (format/): what went wrong,
 * where in the file (a byte offset) and which source line noticed it. The
 * reader fills it; library code never prints, callers word the message. */
#ifndef PYMPLE_FORMAT_ERROR_H
#define PYMPLE_FORMAT_ERROR_H

#include <stdint.h>

enum pym_errcode {
	PYM_OK = 0,
	PYM_ERR_IO,        /* open/read failed: msg has strerror */
	PYM_ERR_EMPTY,     /* zero-length file */
	PYM_ERR_FOREIGN,   /* not a pymple dump (bad magic) */
	PYM_ERR_VERSION,   /* newer major version */
	PYM_ERR_TRUNCATED, /* file ends early (no TAIL) */
	PYM_ERR_CORRUPT,   /* checksum, encoding or consistency failure */
	PYM_ERR_NOMEM,
	PYM_ERR_LIMIT, /* reading would need more memory than the reader's budget */
};

struct pym_error {
	int code;          /* enum pym_errcode */
	uint64_t offset;   /* byte offset in the file where it went wrong */
	char msg[256];     /* lower case, no trailing period, no file name */
	const char *where; /* source file:line that detected it (debugging) */
};

#endif
