/* batchring.h — the hand-over between a producing thread and a consuming one
 * through a ring of BATCHRING_N slots (the decoding threads of both passes
 * of a load: recq.c, store.c). The producer fills slot after slot, in ring
 * order, and publishes each; the consumer takes them in the same order and
 * gives each back by taking the next. Only the synchronization: the slots
 * and what is in them are the caller's. */
#ifndef PYMPLE_BATCHRING_H
#define PYMPLE_BATCHRING_H

#include <pthread.h>

#define BATCHRING_N 4

struct batchring {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned head, count; /* full slots: head, head + 1, ... (mod BATCHRING_N) */
	unsigned cur;         /* the consumer's slot; BATCHRING_N: none */
	int done, cancel;     /* the producer is finished; the consumer gave up */
};

void batchring_init(struct batchring *r);
void batchring_destroy(struct batchring *r);

/* Producer: the slot just filled is full; waits until the next one is free.
 * 0, or -1 once the consumer cancelled. */
int batchring_publish(struct batchring *r);
/* Producer: nothing more comes (after the last publish, or on failure: set
 * the failure before calling, the consumer reads it once take says end). */
void batchring_done(struct batchring *r);

/* Consumer: gives its slot back and waits for the next full one. Its
 * index, or -1 when the producer is done and every slot was taken. */
int batchring_take(struct batchring *r);
/* Consumer: stops the producer (its publish returns -1 from now on). */
void batchring_cancel(struct batchring *r);

#endif
