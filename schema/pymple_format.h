/* pymple_format.h — on-disk constants of the pymple dump format, shared by the
 * dumper (writer) and the analyzer (reader). schema/FORMAT.md is normative;
 * if you change a value here, also update FORMAT.md and bump PYM_VERSION_*.
 * These are file constants only: never reuse them as in-memory enums. */
#ifndef PYMPLE_FORMAT_H
#define PYMPLE_FORMAT_H

/* File header, 16 bytes, uncompressed:
 *
 *   0        8      10     12           16
 *   +--------+------+------+------------+
 *   | magic  | major| minor| crc32(0..12)|   little-endian integers
 *   +--------+------+------+------------+
 */
#define PYM_MAGIC           "\x89PYMPLE\n"
#define PYM_MAGIC_LEN       8
#define PYM_FILE_HEADER_LEN 16
#define PYM_VERSION_MAJOR   1 /* readers refuse a larger major */
/* 1.1 added SITE and ALLOC records, 1.2 PYM_F_PAIRS and NAME records */
#define PYM_VERSION_MINOR 2 /* readers accept any minor of their major */

/* Chunk header, 16 bytes, then clen payload bytes:
 *
 *   0      4      8      12     16
 *   +------+------+------+------+=================+
 *   | tag  | clen | ulen | crc  | payload (clen)  |
 *   +------+------+------+------+=================+
 *
 * crc = crc32 of tag, clen and ulen (12 bytes) then of the payload.
 * DATA: payload is one zlib stream inflating to exactly ulen bytes of records.
 * TAIL: last chunk, payload uncompressed (clen == ulen == PYM_TAIL_LEN).
 * A tag whose first byte is a lower-case letter is ancillary: readers that
 * do not know it skip it. Any other unknown tag is an error. */
#define PYM_CHUNK_HEADER_LEN  16
#define PYM_TAG_DATA          "DATA"
#define PYM_TAG_TAIL          "TAIL"
#define PYM_CHUNK_MAX_ULEN    (16u << 20) /* readers reject larger chunks */
#define PYM_CHUNK_TARGET_ULEN (1u << 20)  /* writers flush near this size */

/* TAIL payload: six u64 little-endian counts, as the writer saw them. */
#define PYM_TAIL_LEN 48
/* order: objects, refs, strings, types, roots, data chunks */

/* Record types inside DATA payloads (first byte of every record).
 * Records never straddle chunks; address deltas restart at 0 per chunk.
 * Types >= PYM_REC_SKIPPABLE are followed by a varint byte length and
 * may be skipped by readers that do not know them. */
enum {
	PYM_REC_META = 0x01,   /* str key, str value; a later key wins */
	PYM_REC_STRING = 0x02, /* str text: gets the next string id, from 0 */
	PYM_REC_TYPE = 0x03,   /* varint name string id, varint type address:
	                          gets the next type index, from 0 */
	PYM_REC_OBJECT = 0x04, /* see FORMAT.md "OBJECT record" */
	PYM_REC_ROOT = 0x05,   /* varint kind, varint address, varint name id+1 */
	PYM_REC_REFS = 0x06,   /* varint n, n refs: more refs of the preceding
	                          OBJECT (which has PYM_F_MORE_REFS) */
};
#define PYM_REC_SKIPPABLE 0x40
/* Skippable records this version writes (FORMAT.md "Allocation sites"). */
#define PYM_REC_SITE                                                                               \
	0x40 /* varint nframes, nframes x (varint file string id,                                  \
	        varint line), innermost first: the next site id,                                   \
	        from 1 */
#define PYM_REC_ALLOC                                                                              \
	0x41                       /* varint site id: the site of the OBJECT record                \
	                              that follows it at once, in the same chunk */
#define PYM_SITE_FRAMES_MAX 65535u /* frames in one site */

/* NAME (1.2): type byte, varint body length, body:
 *
 *   42 | len | kind | address | string id      (three varints)
 *
 * a name the dumped process knew for the object at address and that the
 * object does not carry itself. Readers ignore kinds they do not know. */
#define PYM_REC_NAME 0x42
enum {
	PYM_NAME_CELL = 1,    /* a closure cell: its free variable's name */
	PYM_NAME_GLOBALS = 2, /* a function's globals dict: its __name__ */
};

/* OBJECT flags (varint). Unknown bits: readers ignore them. */
#define PYM_F_SIZE_APPROX (1u << 0) /* size is the layout size, not __sizeof__ */
#define PYM_F_IMMORTAL    (1u << 1) /* 3.12+ immortal object */
#define PYM_F_GC_TRACKED  (1u << 2) /* gc.is_tracked() was true */
#define PYM_F_LENGTH      (1u << 3) /* varint length follows */
#define PYM_F_EXTRA       (1u << 4) /* varint extra_size follows */
#define PYM_F_VALUE       (1u << 5) /* str value preview follows */
#define PYM_F_SYNTHETIC   (1u << 6) /* not a Python object: thread, frame */
#define PYM_F_VALUE_TRUNC (1u << 7) /* the value preview was cut short */
#define PYM_F_SERIAL      (1u << 8) /* varint allocation serial follows */
#define PYM_F_MORE_REFS                                                                            \
	(1u << 9) /* varint total refs follows; REFS records                                       \
	             after the OBJECT carry the rest */
#define PYM_F_PAIRS                                                                                \
	(1u << 10) /* informational (1.2+): the refs are                                           \
	              (key, value) pairs in order: a dict */

/* Reference label: varint L = (value << 3) | kind. */
enum {
	PYM_LABEL_NONE = 0,  /* value must be 0 */
	PYM_LABEL_INDEX = 1, /* list/tuple index: value */
	PYM_LABEL_KEY = 2,   /* dict value under a str key: string id */
	PYM_LABEL_ATTR = 3,  /* attribute or field name: string id */
	PYM_LABEL_WEAK = 4,  /* weak reference (not keeping dst alive) */
};
#define PYM_LABEL_KIND_MASK 7u
#define PYM_LABEL_SHIFT     3

/* ROOT kinds. */
enum {
	PYM_ROOT_MODULES = 1,  /* sys.modules */
	PYM_ROOT_BUILTINS = 2, /* builtins.__dict__ */
	PYM_ROOT_SYSDICT = 3,  /* sys.__dict__ */
	PYM_ROOT_THREAD = 4,   /* synthetic thread record: its frames */
	PYM_ROOT_INTERNED = 5, /* interned-strings dict (3.12+) */
	PYM_ROOT_INTERP = 6,   /* interpreter state dict and other fields */
	PYM_ROOT_OTHER = 7,
};

/* Sanity bounds a reader enforces. */
#define PYM_STR_MAX   (1u << 20)
#define PYM_VALUE_MAX 1024u

#endif
