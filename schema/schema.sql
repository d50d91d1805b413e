-- schema.sql — the public SQL schema of a loaded pymple dump.
-- Users query the views `objects`, `refs`, `roots` and the table `meta`;
-- their column names are a stable contract. The *_data and *_rows tables
-- and views behind them are an implementation detail and may change
-- between versions.
-- Addresses are the object addresses in the dumped process, as integers
-- (the 64-bit value read as a signed SQLite INTEGER).
-- The loader (analyzer/store.c) runs this file in parts: everything above
-- the line `-- @after-load` before any row (object_rows and its index
-- object_address are then filled page by page, analyzer/sqlbulk.c), the
-- part up to `-- @refs` (indexes) after; the `@refs` part builds the refs table on demand and the
-- `@refs-index` part indexes it once its rows are in.
-- It is compiled into pymple-analyze: this file is the one source of truth.

-- The dump's header (one row per META record) plus the loader's own keys:
--   python_version, pointer_size, pid, time, argv, rss, ...   from the dump
--   load.source, load.source_size, load.source_mtime, load.version,
--   load.complete ('1' only once the load finished), load.objects,
--   load.refs, load.missing_refs (references to addresses not in the dump),
--   load.refs_table ('1' once the refs table is built),
--   load.duplicate_addresses, load.roots, load.unreachable, load.cycles (SCC count),
--   load.serials (objects with an allocation serial),
--   load.sites (SITE records), load.alloc_objects (objects with a site),
--   heap.* (counts of the heap kept in heap_chunk, checked when it is read),
--   dominators.cut ('classes': references into class objects were cut for
--     the dominator tree, the default; 'none': `load --dominators=all`;
--     README: retained size), dominators.reachable and
--     dominators.unreachable (bytes: size + extra_size summed over the
--     super-root's and the garbage root's trees)
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

-- The objects as stored (private; object_data below reads them back as the
-- loader's columns). Values that are the same for most objects are stored
-- as the difference from the common case, because SQLite spends no byte
-- on a 0 or a NULL and fewer on small numbers:
--   bits        the dump's PYM_F_* flags (32 bits), plus 2^32 if the
--               object is NOT reachable and 2^33 if it is a root
--   idom_back   id - idom (NULL if idom is NULL)
--   retained_in retained - size - extra_size (0 for a leaf of the tree)
-- The columns most often NULL or 0 come last, the most often last: a row
-- leaves out the trailing columns that hold their default (SQLite reads a
-- column a record does not have as its DEFAULT), one byte each saved.
CREATE TABLE object_rows (
    id          INTEGER PRIMARY KEY,
    address     INTEGER NOT NULL,
    type_id     INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    refcount    INTEGER NOT NULL,
    bits        INTEGER NOT NULL,
    fingerprint INTEGER NOT NULL,
    idom_back   INTEGER,
    value       TEXT,
    length      INTEGER,
    retained_in INTEGER NOT NULL DEFAULT 0,
    scc         INTEGER,
    extra_size  INTEGER NOT NULL DEFAULT 0,
    serial      INTEGER,
    site        INTEGER
);

-- One row per object, the loader's columns (a view of object_rows):
CREATE VIEW object_data(id, address, type_id, size, extra_size, refcount, length, flags, value,
                        reachable, root, scc, fingerprint, serial, site, idom, retained) AS
--  id          0..n-1 in dump order
--  address
--  type_id     types.id
--  size        sys.getsizeof(obj), or layout size if size_approx
--  extra_size  memory getsizeof does not show (3.11+ inline values)
--  refcount    minus the dumper's own references
--  length      len() for str/bytes/containers, NULL if none
--  flags       PYM_F_* bits from the dump (schema/FORMAT.md)
--  value       short value preview, NULL if none
--  reachable   1 if reachable from a root
--  root        1 if a root (see README: roots)
--  scc         id of its reference cycle (strongly connected
--              component of two or more objects, or one that refers
--              to itself), NULL if in none. Computed on the strong
--              references minus those INTO type objects (objects
--              whose address is a types.address: classes): every
--              instance refers to its class and a class reaches
--              its module's globals, which would otherwise merge
--              every live instance into one giant component.
--              reachable and root use all strong references.
--  fingerprint identity hash for diffs (README: diff matching):
--              FNV-1a 64 over H(type name), size, length (all ones
--              if none), value bytes, a 0 byte, then H(referent's
--              type name) per reference in order (0 if not in the
--              dump); numbers as 8 little-endian bytes, H = FNV-1a 64
--  serial      allocation serial (FORMAT.md: F_SERIAL), NULL if the
--              dump has none for it; (address, serial) is an exact
--              identity within one process
--  site        sites.id: where tracemalloc saw it allocated, NULL if
--              untraced (README: allocation sites)
--  idom        object_data.id of the immediate dominator in the
--              dominator tree of the strong references (README:
--              retained size): every path from a root to this
--              object passes through it. NULL when only a virtual
--              root dominates it: the super-root above all roots
--              if reachable = 1, the garbage root (above the
--              objects no root reaches) if reachable = 0
--  retained    retained size in bytes: size + extra_size of this
--              object and of every object it dominates (what
--              would be freed with it)
SELECT id, address, type_id, size, extra_size, refcount, length, bits & 4294967295, value,
       (bits & 4294967296) = 0, (bits >> 33) & 1, scc, fingerprint, serial, site, id - idom_back,
       retained_in + size + extra_size
FROM object_rows;

-- Allocation sites (FORMAT.md: SITE records): one row per distinct
-- tracemalloc traceback in the dump. Empty when the process did not run
-- tracemalloc.
CREATE TABLE sites (
    id     INTEGER PRIMARY KEY,  -- site id in the dump, from 1
    alloc  TEXT NOT NULL,        -- the innermost frame, 'file:line'
    frames INTEGER NOT NULL      -- frames in its traceback (at most tracemalloc's limit N)
);

-- The full tracebacks: one row per frame, depth 0 the innermost (the line
-- that allocated), then its callers.
CREATE TABLE site_frames (
    site  INTEGER NOT NULL,      -- sites.id
    depth INTEGER NOT NULL,      -- 0 innermost
    file  TEXT NOT NULL,
    line  INTEGER NOT NULL,      -- 0 if unknown
    PRIMARY KEY (site, depth)
) WITHOUT ROWID;

-- The heap model (analyzer/heap.h) kept with the rows: its arrays as zlib
-- chunks of varints (layout in analyzer/heap_store.c). Private: read by
-- pymple-analyze's graph commands, which check it before use.
CREATE TABLE heap_chunk (
    id        INTEGER PRIMARY KEY,
    part      INTEGER NOT NULL,      -- 0 objects, 1 references
    first     INTEGER NOT NULL,      -- first object id / reference index
    count     INTEGER NOT NULL,      -- objects / references in the chunk
    base      INTEGER NOT NULL,      -- objects: index of first's first reference;
                                     -- references: index of the first missing address
    missing   INTEGER NOT NULL,      -- references to addresses not in the dump
    wide_base INTEGER NOT NULL,      -- labels of 32 bits or more: first index, count
    wide      INTEGER NOT NULL,
    ulen      INTEGER NOT NULL,      -- bytes before compression
    data      BLOB NOT NULL
);

-- Per-type totals computed at load (what `summary` prints without scanning
-- object_data). Synthetic records (threads, frames) are not counted.
CREATE TABLE type_stats (
    type_id          INTEGER PRIMARY KEY, -- types.id
    count            INTEGER NOT NULL,    -- objects of this type
    size             INTEGER NOT NULL,    -- sum of their size
    extra_size       INTEGER NOT NULL,    -- sum of their extra_size
    unreachable      INTEGER NOT NULL,    -- how many of them are unreachable
    unreachable_size INTEGER NOT NULL,    -- sum of size of those
    retained         INTEGER NOT NULL     -- retained size (object_data.retained) summed over
                                          -- its objects that no other object of this type
                                          -- dominates: nothing counted twice within a type
);

-- Names the dumped process knew for objects that do not carry them (the
-- dump's NAME records, format 1.2; empty for older dumps):
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
--   serial (allocation serial or NULL),
--   alloc (where it was allocated, the innermost frame 'file:line', NULL if
--   untraced), site (sites.id or NULL: its whole traceback in site_frames),
--   idom (id of the immediate dominator or NULL), retained (bytes)
CREATE VIEW objects AS
SELECT o.address, t.name AS type, o.size, o.extra_size, o.refcount, o.length,
       o.value, o.flags, (o.flags & 1) AS size_approx, ((o.flags >> 6) & 1) AS synthetic,
       o.reachable, o.root, o.scc, o.fingerprint, o.id, o.serial, s.alloc, o.site,
       o.idom, o.retained
FROM object_data o JOIN types t ON t.id = o.type_id LEFT JOIN sites s ON s.id = o.site;

-- refs: one row per reference, built the first time it is needed (a
-- `pymple-analyze sql` query naming refs, or `pymple-analyze load --refs`):
-- until then `refs` is a view of a table that does not exist, so a query
-- fails with an error that names the command to run. Once built, refs is
-- the table below (section @refs), indexed on src and on dst.
CREATE VIEW refs(src, dst, label, weak, missing) AS SELECT * FROM
"refs (not built yet: run 'pymple-analyze load --refs DUMP', or any 'pymple-analyze sql' query naming refs)";

CREATE VIEW roots AS
SELECT address, CASE kind WHEN 1 THEN 'sys.modules' WHEN 2 THEN 'builtins'
       WHEN 3 THEN 'sys' WHEN 4 THEN 'thread' WHEN 5 THEN 'interned'
       WHEN 6 THEN 'interpreter' ELSE 'other' END AS kind, name
FROM root_data;

-- The index on address is created empty here: the loader writes its pages
-- together with object_rows' (analyzer/sqlbulk.c). No index on
-- object_rows(type_id): per-type questions read type_stats or scan
-- object_data.
CREATE INDEX object_address ON object_rows(address);

-- @after-load
-- Indexes, built once the rows are in (faster than maintaining them).
CREATE INDEX names_address ON names(address);

-- @refs
-- refs: one row per reference, in dump order of src. src and dst are
-- addresses; label is the edge label as text: [7] (index), ['key'] (dict
-- key), .name (attribute), NULL (none); weak is 1 for weak references;
-- missing is 1 if dst is not in the dump.
DROP VIEW refs;
CREATE TABLE refs (
    src     INTEGER NOT NULL,
    dst     INTEGER NOT NULL,
    label   TEXT,
    weak    INTEGER NOT NULL,
    missing INTEGER NOT NULL
);

-- @refs-index
CREATE INDEX refs_src ON refs(src);
CREATE INDEX refs_dst ON refs(dst);
