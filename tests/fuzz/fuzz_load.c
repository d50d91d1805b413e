/* fuzz_load.c — libFuzzer entry over the whole way from a dump to answers:
 * load (reader, graph passes, rows into SQLite), then opening the database
 * as every command does and running summary, garbage and cycles on it. Any
 * input must end in a clean error or a complete database, never a crash, a
 * leak or a hang. Works in a private directory under /dev/shm (fsync is
 * cheap there); stdout goes to /dev/null. Inputs starting with 'R' are raw
 * records (frame.h). garbage opens the heap the load kept; damaged heaps
 * are fuzz_heap.c's. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "frame.h"
#include "load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], dump[128], db[128];

static void setup(void)
{
	snprintf(dir, sizeof dir, "/dev/shm/pymple-fuzz-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(dump, sizeof dump, "%s/in.dump", dir);
	snprintf(db, sizeof db, "%s/in.db", dir);
	if (!freopen("/dev/null", "w", stdout))
		abort();
	cli_quiet = 1;
	load_max_memory = 256u << 20; /* bombs are refused, as --max-memory 256M */
}

static void command(int (*fn)(int, char **), const char *name)
{
	char *argv[] = {(char *)name, db, NULL};
	optind = 0;
	fn(2, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0])
		setup();
	unsigned char *framed;
	size_t len;
	const uint8_t *in = fuzz_input(data, size, &len, &framed);
	if (!in)
		return 0;
	FILE *f = fopen(dump, "wb");
	if (!f)
		abort();
	fwrite(in, 1, len, f);
	fclose(f);
	free(framed);
	unlink(db);
	struct db_error err;
	if (load_dump(dump, db, NULL, NULL, NULL, &err) == 0) {
		command(cmd_summary, "summary");
		command(cmd_garbage, "garbage");
		command(cmd_cycles, "cycles");
	}
	return 0;
}
