-- schema.sql — the public SQL schema of a loaded pymple dump.
-- Users query the views `objects`, `refs`, `roots` and the table `meta`;
-- their column names are a stable contract. The *_data tables behind the
-- views are an implementation detail and may change between versions.
-- Addresses are the object addresses in the dumped process, as integers
-- (the 64-bit value read as a signed SQLite INTEGER).
-- The loader (analyzer/load.c) runs this file in two parts: everything above
-- the line `-- @after-load` before inserting rows, the rest (indexes) after.
-- It is compiled into pymple-analyze: this file is the one source of truth.

-- The dump's header (one row per META record) plus the loader's own keys:
--   python_version, pointer_size, pid, time, argv, rss, ...   from the dump
--   load.source, load.source_size, load.source_mtime, load.version,
--   load.complete ('1' only once the load finished), load.objects,
--   load.refs, load.missing_refs (references to addresses not in the dump),
--   load.duplicate_addresses, load.roots, load.unreachable, load.cycles (SCC count),
--   load.serials (objects with an allocation serial)
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT
) WITHOUT ROWID;

-- The dump's string table: type names, edge labels, root names.
CREATE TABLE strings (
    id   INTEGER PRIMARY KEY,   -- string id in the dump
    text TEXT NOT NULL
);

-- One row per distinct type seen in the dump.
CREATE TABLE types (
    id      INTEGER PRIMARY KEY, -- type index in the dump
    name    TEXT NOT NULL,       -- builtins bare (`dict`), others `module.qualname`
    address INTEGER              -- address of the type object
);

CREATE TABLE object_data (
    id          INTEGER PRIMARY KEY, -- 0..n-1 in dump order
    address     INTEGER NOT NULL,
    type_id     INTEGER NOT NULL,    -- types.id
    size        INTEGER NOT NULL,    -- sys.getsizeof(obj), or layout size if size_approx
    extra_size  INTEGER NOT NULL,    -- memory getsizeof does not show (3.11+ inline values)
    refcount    INTEGER NOT NULL,    -- minus the dumper's own references
    length      INTEGER,             -- len() for str/bytes/containers, NULL if none
    flags       INTEGER NOT NULL,    -- PYM_F_* bits from the dump (schema/FORMAT.md)
    value       TEXT,                -- short value preview, NULL if none
    reachable   INTEGER NOT NULL,    -- 1 if reachable from a root
    root        INTEGER NOT NULL,    -- 1 if a root (see README: roots)
    scc         INTEGER,             -- id of its reference cycle (strongly connected
                                     -- component of two or more objects, or one that refers
                                     -- to itself), NULL if in none. Computed on the strong
                                     -- references minus those INTO type objects (objects
                                     -- whose address is a types.address: classes): every
                                     -- instance refers to its class and a class reaches
                                     -- its module's globals, which would otherwise merge
                                     -- every live instance into one giant component.
                                     -- reachable and root use all strong references.
    fingerprint INTEGER NOT NULL,    -- identity hash for diffs (README: diff matching):
                                     -- FNV-1a 64 over H(type name), size, length (all ones
                                     -- if none), value bytes, a 0 byte, then H(referent's
                                     -- type name) per reference in order (0 if not in the
                                     -- dump); numbers as 8 little-endian bytes, H = FNV-1a 64
    serial      INTEGER              -- allocation serial (FORMAT.md: F_SERIAL), NULL if the
                                     -- dump has none for it; (address, serial) is an exact
                                     -- identity within one process
);

CREATE TABLE ref_data (
    src         INTEGER NOT NULL,    -- object_data.id of the referrer
    seq         INTEGER NOT NULL,    -- position among src's references, from 0
    dst         INTEGER,             -- object_data.id of the referent, NULL if not in the dump
    dst_address INTEGER,             -- address of the referent when dst is NULL (not in
                                     -- the dump); NULL otherwise: it is dst's address
    kind        INTEGER NOT NULL,    -- 0 none, 1 index, 2 dict key, 3 attribute, 4 weak
    label       INTEGER,             -- the index (kind 1) or strings.id (kinds 2, 3)
    PRIMARY KEY (src, seq)           -- rows arrive in this order: no separate src index
) WITHOUT ROWID;

-- The referrers of each object: one row per reference whose target is in
-- the dump (ref_data rows with dst not NULL), keyed by target. It serves as
-- the index on ref_data(dst), written in key order at load (no sort).
CREATE TABLE ref_in (
    dst INTEGER NOT NULL,            -- ref_data.dst
    src INTEGER NOT NULL,            -- ref_data.src
    seq INTEGER NOT NULL,            -- ref_data.seq
    PRIMARY KEY (dst, src, seq)
) WITHOUT ROWID;

-- References to addresses not in the dump, by that address. Partial and
-- small, so it is kept up to date during the load instead of built after.
CREATE INDEX ref_missing ON ref_data(dst_address) WHERE dst IS NULL;

-- Per-type totals computed at load (what `summary` prints without scanning
-- object_data). Synthetic records (threads, frames) are not counted.
CREATE TABLE type_stats (
    type_id          INTEGER PRIMARY KEY, -- types.id
    count            INTEGER NOT NULL,    -- objects of this type
    size             INTEGER NOT NULL,    -- sum of their size
    extra_size       INTEGER NOT NULL,    -- sum of their extra_size
    unreachable      INTEGER NOT NULL,    -- how many of them are unreachable
    unreachable_size INTEGER NOT NULL     -- sum of size of those
);

-- Names the dumped process knew for objects that do not carry them (the
-- dump's NAME records, format 1.1; empty for older dumps):
--   kind 1: a closure cell, named by the free variable it holds
--   kind 2: a dict that is a function's __globals__, named by its __name__
CREATE TABLE names (
    address INTEGER NOT NULL,        -- the object's address
    kind    INTEGER NOT NULL,
    name    TEXT NOT NULL
);

CREATE TABLE root_data (
    object  INTEGER,                 -- object_data.id, NULL if not in the dump
    address INTEGER NOT NULL,
    kind    INTEGER NOT NULL,        -- PYM_ROOT_* from the dump
    name    TEXT
);

-- objects: one row per object in the dump.
--   address, type, size, extra_size, refcount, length, value, flags,
--   size_approx (0/1), synthetic (0/1: thread/frame records, not Python objects),
--   reachable (0/1), root (0/1), scc (cycle id or NULL), fingerprint, id,
--   serial (allocation serial or NULL)
CREATE VIEW objects AS
SELECT o.address, t.name AS type, o.size, o.extra_size, o.refcount, o.length,
       o.value, o.flags, (o.flags & 1) AS size_approx, ((o.flags >> 6) & 1) AS synthetic,
       o.reachable, o.root, o.scc, o.fingerprint, o.id, o.serial
FROM object_data o JOIN types t ON t.id = o.type_id;

-- refs: one row per reference. label is the edge label as text:
--   [7] (index), ['key'] (dict key), .name (attribute), NULL (none);
--   weak is 1 for weak references; missing is 1 if dst is not in the dump.
-- Two parts so that `WHERE dst = X` and `WHERE src = X` use indexes: the
-- resolved references (dst = the referent's address, found through
-- object_address then ref_in) and the unresolved ones (ref_missing).
CREATE VIEW refs AS
SELECT s.address AS src, d.address AS dst,
       CASE r.kind WHEN 1 THEN '[' || r.label || ']'
                   WHEN 2 THEN '[' || quote(k.text) || ']'
                   WHEN 3 THEN '.' || k.text END AS label,
       (r.kind = 4) AS weak, 0 AS missing
FROM object_data d JOIN ref_in i ON i.dst = d.id
JOIN ref_data r ON r.src = i.src AND r.seq = i.seq AND r.dst = i.dst
JOIN object_data s ON s.id = r.src
LEFT JOIN strings k ON r.kind IN (2, 3) AND k.id = r.label
UNION ALL
SELECT s.address AS src, r.dst_address AS dst,
       CASE r.kind WHEN 1 THEN '[' || r.label || ']'
                   WHEN 2 THEN '[' || quote(k.text) || ']'
                   WHEN 3 THEN '.' || k.text END AS label,
       (r.kind = 4) AS weak, 1 AS missing
FROM ref_data r JOIN object_data s ON s.id = r.src
LEFT JOIN strings k ON r.kind IN (2, 3) AND k.id = r.label
WHERE r.dst IS NULL;

CREATE VIEW roots AS
SELECT address, CASE kind WHEN 1 THEN 'sys.modules' WHEN 2 THEN 'builtins'
       WHEN 3 THEN 'sys' WHEN 4 THEN 'thread' WHEN 5 THEN 'interned'
       WHEN 6 THEN 'interpreter' ELSE 'other' END AS kind, name
FROM root_data;

-- @after-load
-- Indexes, built once the rows are in (faster than maintaining them).
-- No index on object_data(type_id): per-type questions read type_stats or
-- scan object_data; ref_data needs none on src (its primary key) nor on
-- dst (ref_in is that index).
CREATE INDEX object_address ON object_data(address);
CREATE INDEX names_address ON names(address);
