/* batchring.c — one mutex and one condition variable over the ring's
 * counters (batchring.h); no allocation. */
#include "batchring.h"

void batchring_init(struct batchring *r)
{
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->head = r->count = 0;
	r->cur = BATCHRING_N;
	r->done = r->cancel = 0;
}

void batchring_destroy(struct batchring *r)
{
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
}

int batchring_publish(struct batchring *r)
{
	pthread_mutex_lock(&r->mu);
	r->count++;
	pthread_cond_broadcast(&r->cv);
	while (r->count == BATCHRING_N && !r->cancel)
		pthread_cond_wait(&r->cv, &r->mu);
	int rc = r->cancel ? -1 : 0;
	pthread_mutex_unlock(&r->mu);
	return rc;
}

void batchring_done(struct batchring *r)
{
	pthread_mutex_lock(&r->mu);
	r->done = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

int batchring_take(struct batchring *r)
{
	pthread_mutex_lock(&r->mu);
	if (r->cur < BATCHRING_N) { /* give the finished slot back */
		r->head = (r->head + 1) % BATCHRING_N;
		r->count--;
		r->cur = BATCHRING_N;
		pthread_cond_broadcast(&r->cv);
	}
	while (r->count == 0 && !r->done)
		pthread_cond_wait(&r->cv, &r->mu);
	if (r->count > 0)
		r->cur = r->head;
	int slot = r->cur < BATCHRING_N ? (int)r->cur : -1;
	pthread_mutex_unlock(&r->mu);
	return slot;
}

void batchring_cancel(struct batchring *r)
{
	pthread_mutex_lock(&r->mu);
	r->cancel = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}
