/* dbfile.h — the files of a load: the output check (never overwrite the dump
 * or a file that is not a pymple database), the temporary file a database is
 * built in, its durable rename into place, and the removal of temporaries a
 * killed load left. Library code: fills a struct db_error, never prints. */
#ifndef PYMPLE_DBFILE_H
#define PYMPLE_DBFILE_H

#include <stddef.h>
#include <sys/stat.h>

#include "db.h"

/* 0 if dbpath may be (over)written by a load of dump (dump_sb: its stat);
 * -1 with err (status 2) if it is the dump itself or not ours. */
int dbfile_check_output(const char *dump, const char *dbpath, const struct stat *dump_sb,
                        struct db_error *err);
/* Creates the empty temporary ".pym-<pid>-<n>.tmp" (mode 0600) in the
 * directory of dbpath, its path into tmp (n bytes), and arms
 * load_cleanup_signal_safe() for it; first removes the temporaries in that
 * directory whose process is gone. 0, or -1 with err. */
int dbfile_create_temp(const char *dbpath, char *tmp, size_t n, struct db_error *err);
/* fsync()s tmp and renames it to dbpath; disarms the cleanup. 0 or -1. */
int dbfile_commit(const char *tmp, const char *dbpath, struct db_error *err);
/* Removes tmp and disarms the cleanup (after a failure). */
void dbfile_abort(const char *tmp);

#endif
