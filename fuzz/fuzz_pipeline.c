/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_pipeline.c — libFuzzer harness for wardd's side of the kernel
 * boundary: daemon/pipeline.c parsing sensor records (bpf/events.h) and
 * building client records, and the container-id parser of proctable.c.
 * Invariant: whatever the sensors' ring holds, wardd neither crashes nor
 * hands a client a record that libward's validator would refuse.
 * The broker and the sensors are stubbed: every type is subscribed, and each
 * record wardd would deliver is checked instead.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>

#include <ward/ward.h>
#include "events.h"
#include "log.h"
#include "pipeline.h"
#include "proctable.h"
#include "record.h"

int sensors_pid_muted(uint32_t pid) { return pid == 4242; }
void protect_check_call(uint32_t type, pid_t actor, pid_t actor_tid, int64_t target, uint64_t sig, uint64_t cmd,
			int64_t result)
{
	(void)type, (void)actor, (void)actor_tid, (void)target, (void)sig, (void)cmd, (void)result;
}
const char *broker_client_name(uint32_t client_id) { (void)client_id; return "fuzz"; }
/* The hash cache: every other exec is a hit, the rest are refused (never
 * parked: the harness has no loop to take results). */
static unsigned hc_calls;
int hashcache_lookup(const struct stat *st, uint8_t out[32]) { (void)st; memset(out, 0xab, 32); return hc_calls++ & 1 ? 0 : -ENOENT; }
int hashcache_submit_path(const char *path, dev_t dev, ino_t ino, uint64_t cookie) { return -EBUSY; }
void hashcache_hex(const uint8_t d[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}
uint64_t broker_mask(void)
{
	return ~0ull;
}

void broker_deliver(uint32_t type, void *rec, size_t size)
{
	const struct ward_rec *r = rec;
	if (ward_rec_validate(rec, size) != 0 || r->type != type)
		abort(); /* wardd built a record its own clients would refuse */
}

uint64_t sensors_drops(uint32_t type)
{
	return type;
}

const char *sensors_syscall_name(uint32_t nr)
{
	return nr == 2 ? "open" : NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_quiet = 1;
	if (proctable_init())
		abort();
	pipeline_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the ring buffer hands wardd 8-byte aligned records */
	uint64_t *buf = malloc(size + 8);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct wk_hdr *h = (struct wk_hdr *)buf;
	if (size >= sizeof(*h))
		h->pid = 0x3ffffff0 + (h->pid & 7); /* no such process: /proc says no at once */
	pipeline_on_record(NULL, buf, size);

	char path[512], id[72];
	size_t n = size < sizeof(path) - 1 ? size : sizeof(path) - 1;
	memcpy(path, data, n);
	path[n] = '\0';
	if (container_id_from_cgroup_path(path, id, sizeof(id)) && strlen(id) != 64)
		abort();
	free(buf);
	if (proctable_count() > 10000)
		proctable_sweep(); /* the fake pids never live */
	return 0;
}
