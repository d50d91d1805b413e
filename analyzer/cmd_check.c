/* cmd_check.c — `pymple-analyze check DUMP` (verify every byte through the one
 * reader, print counts, version and META) and `pymple-analyze inspect DUMP`
 * (every record in readable form, one per line). Both only print what
 * reader.c decodes: no second parser of the format lives here. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "pymple_format.h"
#include "reader.h"

static const char *const check_usage[] = {
        "check DUMP",
        "",
        "Reads the whole dump through the reader the loader uses, verifying the",
        "header, every chunk checksum, every record and the trailer's counts, then",
        "prints the format version, the counts and the header (META) entries.",
        "Exit status 0 when the dump is intact, 2 with one line naming what is",
        "wrong and at which byte otherwise.",
        "",
        "  -h, --help   this help",
        NULL,
};

static const char *const inspect_usage[] = {
        "inspect DUMP [--limit N]",
        "",
        "Prints the dump's records in file order, one per line: META, STRING (with",
        "its id), TYPE (with its index), OBJECT (address, type, size, refcount,",
        "flags, optional fields, value and references with their labels; at most",
        "32 references per line, then a count of the rest), ROOT and SITE (an",
        "allocation traceback, innermost frame first; objects then show site=N).",
        "The last line says whether the trailer verified. Decoding stops at the",
        "first damage.",
        "",
        "  -n, --limit N   stop after N records (0: all, the default)",
        "  -h, --help      this help",
        NULL,
};

/* Exit status for a reader failure: a damaged or unreadable dump is bad
 * input; running out of memory is a runtime failure. */
static int fail_status(const struct pym_error *err)
{
	return err->code == PYM_ERR_NOMEM ? CLI_RUNTIME : CLI_BAD_INPUT; /* LIMIT: 2 */
}

/* The same wording as load and summary (db.c) for the same condition. */
static void report(const char *file, const struct pym_error *err)
{
	char buf[sizeof err->msg];
	const char *msg = pym_error_text(err, buf, sizeof buf);
	if (cli_verbose && err->where)
		cli_error(file, "%s [byte %llu, %s]", msg, (unsigned long long)err->offset,
		          err->where);
	else
		cli_error(file, "%s", msg);
}

/* Prints s as a double-quoted C-style literal, at most max bytes of it. */
static void put_quoted(const char *s, size_t n, size_t max)
{
	putchar('"');
	for (size_t i = 0; i < n && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('"');
	if (n > max)
		printf("...(%zu bytes)", n);
}

/* Parses "DUMP" (and --limit when limit is not NULL). Returns -1 with *file
 * set to go on, or the exit status to return at once (help, usage error). */
static int parse_args(int argc, char **argv, const char *const *usage, long long *limit,
                      const char **file)
{
	static const struct option longopts[] = {
	        {"limit", required_argument, NULL, 'n'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, limit ? ":n:h" : ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!limit)
				break; /* --limit given to check: the default case's job */
			if (cli_parse_limit(optarg, limit) != 0)
				return CLI_BAD_INPUT;
			continue;
		case 'h':
			cli_usage(stdout, usage);
			return CLI_OK;
		default:
			break;
		}
		return cli_option_error(c, argv);
	}
	if (optind + 1 != argc)
		return cli_usage_error(optind == argc ? "missing DUMP"
		                                      : "expected one DUMP, got %d files",
		                       argc - optind);
	*file = argv[optind];
	return -1;
}

/* ---- check ---------------------------------------------------------------- */

#define CHECK_META_MAX   1000
#define CHECK_META_BYTES (4u << 20)
struct meta_ent {
	char *key, *value;
	size_t key_len, value_len;
};

int cmd_check(int argc, char **argv)
{
	const char *file;
	int st = parse_args(argc, argv, check_usage, NULL, &file);
	if (st >= 0)
		return st;
	struct pym_error err;
	struct pym_reader *r = pym_reader_open(file, &err);
	if (!r) {
		report(file, &err);
		return fail_status(&err);
	}
	/* One chunk at a time, no string or type table, references in pieces:
	 * memory does not grow with the file. The META lines shown are capped
	 * (CHECK_META_MAX of them, CHECK_META_BYTES in all); the rest counted. */
	pym_reader_set_mode(r, PYM_READ_PIECES | PYM_READ_NO_TABLES);
	pym_reader_set_budget(r, cli_memory_budget());
	uint64_t n[PYM_R_NAME + 1] = {0}, refs = 0, bytes = 0, meta_bytes = 0;
	struct meta_ent *meta = NULL;
	size_t nmeta = 0, capmeta = 0;
	struct pym_record rec;
	int rc;
	while ((rc = pym_reader_next(r, &rec, &err)) == 1) {
		n[rec.type]++;
		if (rec.type == PYM_R_OBJECT || rec.type == PYM_R_REFS) {
			refs += rec.nrefs;
			bytes += rec.type == PYM_R_OBJECT ? rec.size : 0;
		} else if (rec.type == PYM_R_META && nmeta < CHECK_META_MAX &&
		           meta_bytes + rec.key_len + rec.text_len <= CHECK_META_BYTES) {
			meta_bytes += rec.key_len + rec.text_len;
			if (nmeta == capmeta) {
				capmeta = capmeta ? 2 * capmeta : 32;
				struct meta_ent *m = realloc(meta, capmeta * sizeof *meta);
				if (!m) {
					rc = -2;
					break;
				}
				meta = m;
			}
			struct meta_ent *m = &meta[nmeta];
			m->key = malloc(rec.key_len + 1);
			m->value = malloc(rec.text_len + 1);
			if (!m->key || !m->value) {
				free(m->key);
				free(m->value);
				rc = -2;
				break;
			}
			memcpy(m->key, rec.key, rec.key_len);
			memcpy(m->value, rec.text, rec.text_len);
			m->key_len = rec.key_len;
			m->value_len = rec.text_len;
			nmeta++;
		}
	}
	int status = CLI_OK;
	if (rc == -2) {
		cli_error(file, "out of memory");
		status = CLI_RUNTIME;
	} else if (rc < 0) {
		report(file, &err);
		status = fail_status(&err);
	} else {
		printf("%s: ok, format %u.%u, %llu bytes\n", file, pym_reader_major(r),
		       pym_reader_minor(r), (unsigned long long)pym_reader_file_size(r));
		printf("objects     %llu (%llu bytes by size)\n",
		       (unsigned long long)n[PYM_R_OBJECT], (unsigned long long)bytes);
		printf("references  %llu\n", (unsigned long long)refs);
		printf("strings     %llu\n", (unsigned long long)n[PYM_R_STRING]);
		printf("types       %llu\n", (unsigned long long)n[PYM_R_TYPE]);
		printf("roots       %llu\n", (unsigned long long)n[PYM_R_ROOT]);
		if (n[PYM_R_SITE])
			printf("sites       %llu\n", (unsigned long long)n[PYM_R_SITE]);
		printf("meta        %llu\n", (unsigned long long)n[PYM_R_META]);
		for (size_t k = 0; k < nmeta; k++) {
			printf("  ");
			fwrite(meta[k].key, 1, meta[k].key_len, stdout);
			printf(" = ");
			put_quoted(meta[k].value, meta[k].value_len, 200);
			putchar('\n');
		}
		if (n[PYM_R_META] > nmeta)
			printf("  ... %llu more\n", (unsigned long long)(n[PYM_R_META] - nmeta));
	}
	for (size_t k = 0; k < nmeta; k++) {
		free(meta[k].key);
		free(meta[k].value);
	}
	free(meta);
	pym_reader_close(r);
	return status;
}

/* ---- inspect -------------------------------------------------------------- */

static const char *const flag_names[] = {
        "SIZE_APPROX", "IMMORTAL",  "GC_TRACKED",  "LENGTH", "EXTRA",
        "VALUE",       "SYNTHETIC", "VALUE_TRUNC", "SERIAL", "MORE_REFS",
};

static const char *const root_names[] = {
        NULL, "modules", "builtins", "sysdict", "thread", "interned", "interp", "other",
};

static void put_string_id(const struct pym_reader *r, uint64_t id)
{
	size_t len;
	const char *s = id <= UINT32_MAX ? pym_reader_string(r, (uint32_t)id, &len) : NULL;
	printf("#%llu", (unsigned long long)id);
	if (s) {
		putchar(' ');
		put_quoted(s, len, 80);
	}
}

static void put_object(const struct pym_reader *r, const struct pym_record *rec)
{
	printf("OBJECT 0x%llx type=#%u", (unsigned long long)rec->addr, rec->type_index);
	int64_t name = pym_reader_type_name(r, rec->type_index);
	size_t len;
	const char *tn = name >= 0 ? pym_reader_string(r, (uint32_t)name, &len) : NULL;
	if (tn) {
		putchar(' ');
		put_quoted(tn, len, 80);
	}
	printf(" size=%llu refcount=%llu flags=", (unsigned long long)rec->size,
	       (unsigned long long)rec->refcount);
	if (!rec->flags)
		putchar('0');
	const char *sep = "";
	for (unsigned b = 0; b < 32; b++) {
		if (!(rec->flags & (1u << b)))
			continue;
		if (b < sizeof flag_names / sizeof *flag_names)
			printf("%s%s", sep, flag_names[b]);
		else
			printf("%sbit%u", sep, b);
		sep = ",";
	}
	if (rec->flags & PYM_F_LENGTH)
		printf(" length=%llu", (unsigned long long)rec->length);
	if (rec->flags & PYM_F_EXTRA)
		printf(" extra=%llu", (unsigned long long)rec->extra);
	if (rec->flags & PYM_F_SERIAL)
		printf(" serial=%llu", (unsigned long long)rec->serial);
	if (rec->site)
		printf(" site=%u", rec->site);
	if (rec->flags & PYM_F_VALUE) {
		printf(" value=");
		put_quoted(rec->value, rec->value_len, PYM_VALUE_MAX);
	}
	printf(" refs=%llu", (unsigned long long)rec->refs_total);
	for (uint32_t k = 0; k < rec->nrefs && k < 32; k++) {
		const struct pym_rref *f = &rec->refs[k];
		printf("%s0x%llx", k ? ", " : ": ", (unsigned long long)f->addr);
		switch (f->kind) {
		case PYM_LABEL_INDEX:
			printf("[%llu]", (unsigned long long)f->value);
			break;
		case PYM_LABEL_KEY:
			printf(" key=");
			put_string_id(r, f->value);
			break;
		case PYM_LABEL_ATTR:
			printf(" attr=");
			put_string_id(r, f->value);
			break;
		case PYM_LABEL_WEAK:
			printf(" weak");
			break;
		}
	}
	uint64_t shown = rec->nrefs < 32 ? rec->nrefs : 32;
	if (rec->refs_total > shown)
		printf(", ... (%llu more)", (unsigned long long)(rec->refs_total - shown));
	putchar('\n');
}

int cmd_inspect(int argc, char **argv)
{
	long long limit = 0;
	const char *file;
	int st = parse_args(argc, argv, inspect_usage, &limit, &file);
	if (st >= 0)
		return st;
	struct pym_error err;
	struct pym_reader *r = pym_reader_open(file, &err);
	if (!r) {
		report(file, &err);
		return fail_status(&err);
	}
	pym_reader_set_mode(r, PYM_READ_PIECES);
	pym_reader_set_budget(r, cli_memory_budget());
	printf("HEADER format %u.%u, %llu bytes\n", pym_reader_major(r), pym_reader_minor(r),
	       (unsigned long long)pym_reader_file_size(r));
	struct pym_record rec;
	int rc;
	long long count = 0;
	while ((limit == 0 || count < limit) && (rc = pym_reader_next(r, &rec, &err)) == 1) {
		count++;
		switch (rec.type) {
		case PYM_R_META:
			printf("META ");
			put_quoted(rec.key, rec.key_len, 200);
			putchar(' ');
			put_quoted(rec.text, rec.text_len, 4096);
			break;
		case PYM_R_STRING:
			printf("STRING #%u ", rec.id);
			put_quoted(rec.text, rec.text_len, 4096);
			break;
		case PYM_R_TYPE:
			printf("TYPE #%u name=", rec.id);
			put_string_id(r, rec.name_id);
			printf(" addr=0x%llx", (unsigned long long)rec.addr);
			break;
		case PYM_R_OBJECT:
			put_object(r, &rec);
			continue;
		case PYM_R_NAME:
			printf("NAME kind=%u 0x%llx name=", rec.name_kind,
			       (unsigned long long)rec.addr);
			put_string_id(r, rec.name_id);
			break;
		case PYM_R_REFS: /* the rest of an object's references: counted above */
			count--;
			continue;
		case PYM_R_SITE:
			printf("SITE #%u", rec.id);
			for (uint32_t i = 0; i < rec.nframes; i++) {
				putchar(' ');
				put_string_id(r, rec.frames[i].file);
				printf(":%u", rec.frames[i].line);
			}
			break;
		case PYM_R_ROOT:
			if (rec.root_kind < sizeof root_names / sizeof *root_names &&
			    root_names[rec.root_kind])
				printf("ROOT %s", root_names[rec.root_kind]);
			else
				printf("ROOT kind=%u", rec.root_kind);
			printf(" 0x%llx", (unsigned long long)rec.addr);
			if (rec.root_name >= 0) {
				printf(" name=");
				put_string_id(r, (uint64_t)rec.root_name);
			}
			break;
		}
		putchar('\n');
	}
	int status = CLI_OK;
	if (limit && count >= limit) {
		printf("STOP after %lld records (--limit)\n", count);
	} else if (rc < 0) {
		fflush(stdout);
		report(file, &err);
		status = fail_status(&err);
	} else {
		printf("END trailer verified at byte %llu\n",
		       (unsigned long long)pym_reader_offset(r));
	}
	pym_reader_close(r);
	return status;
}
