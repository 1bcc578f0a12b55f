/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netpolicy.c — see netpolicy.h.
 *
 * The rules live in the BPF array wk_np_rules, which this file mmaps and
 * writes in place (no syscall per change, and stores we control: see
 * slot_publish).  A shadow copy is not kept: wardd is the only writer, so
 * the array is the truth.  Slots [0, wk_np_nslots) are the ones the programs
 * scan; a new rule takes the lowest free slot.
 *
 * Scoped rules carry the cgroup's level in the v2 hierarchy, because the
 * programs test bpf_get_current_ancestor_cgroup_id(level) == id.  A cgroup
 * id is the inode number of its directory, and nothing maps an id back to a
 * path, so the level is found by a bounded walk of the cgroup2 mount
 * (cgroup_level): adding a scoped rule is rare, the walk reads directory
 * entries only (d_ino is the id; no stat) and stops after
 * NP_WALK_MAX_DIRS directories.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <linux/magic.h>

#include <ward/event_types.h>
#include "log.h"
#include "cgroups.h"
#include "netpolicy.h"

#include "netpolicy.skel.h"

_Static_assert(WK_NP_CONNECT == WARD_EV_AUTH_CONNECT, "rule type numbers are event types");
_Static_assert(WK_NP_BIND == WARD_EV_AUTH_BIND, "rule type numbers are event types");
_Static_assert(sizeof(struct wk_net_rule) == 48, "wk_net_rule layout (see netpolicy.bpf.c)");
_Static_assert(sizeof(struct wk_net_enforce) == 88, "wk_net_enforce layout (see netpolicy.bpf.c)");

#define NP_WALK_MAX_DIRS 10000 /* cgroup directories visited to find a level */
#define NP_WALK_MAX_DEPTH 64

static struct wk_netpolicy_bpf *skel;
static struct bpf_link *links[4];
static struct ring_buffer *rb;
static struct wk_net_rule *rules; /* mmap of wk_np_rules: WK_NP_MAX_RULES slots */
static size_t rules_len;
static unsigned nrules;
static char cg_path[PATH_MAX];
/* Never reset, not even by netpolicy_stop: an id is never reused while
 * wardd runs, so a stale id a client kept cannot name someone's new rule. */
static uint32_t next_id = 1;

/* netpolicy_poll's callback, for the duration of one call. */
static netpolicy_enforce_fn poll_cb;
static void *poll_ctx;

/* ---- the rule slots ---- */

static uint32_t nslots(void)
{
	return skel->bss->wk_np_nslots;
}

/* Publish the scan limit: raised after a rule is in its slot, lowered after
 * the last slots were emptied.  A program that read the old value at worst
 * scans empty slots or misses a rule added during its run. */
static void set_nslots(uint32_t n)
{
	__atomic_store_n(&skel->bss->wk_np_nslots, n, __ATOMIC_RELEASE);
}

static void shrink_nslots(void)
{
	uint32_t n = nslots();
	while (n > 0 && rules[n - 1].id == 0)
		n--;
	set_nslots(n);
}

/*
 * Write rule @r into free slot @slot (its id is 0, so no program uses it).
 * The programs read id, fields, id again and use the copy only when both
 * ids are the same non-zero value (netpolicy.bpf.c, np_match_slot).  So the
 * fields are written first and the id last, with release ordering; and the
 * release fence before the fields keeps them after the store that zeroed
 * the id when the slot's previous rule was removed — a program still
 * copying that old rule then sees the id change and drops its copy.  A
 * program thus never uses a half-written rule.
 */
static void slot_publish(uint32_t slot, const struct wk_net_rule *r)
{
	struct wk_net_rule *s = &rules[slot];
	const size_t off = offsetof(struct wk_net_rule, client_id);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy((char *)s + off, (const char *)r + off, sizeof(*s) - off);
	__atomic_store_n(&s->id, r->id, __ATOMIC_RELEASE);
}

/* Take the rule in @slot out of force: one aligned 32-bit store, seen
 * whole by the programs.  The fields stay until the slot is reused. */
static void slot_clear(uint32_t slot)
{
	__atomic_store_n(&rules[slot].id, 0, __ATOMIC_RELEASE);
	nrules--;
}

static int zero_hits(uint32_t slot)
{
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	uint64_t zeros[ncpu];
	memset(zeros, 0, sizeof(zeros));
	return bpf_map_update_elem(bpf_map__fd(skel->maps.wk_np_hits), &slot, zeros, BPF_ANY) ? -errno : 0;
}

/* Sum of a per-CPU u64 counter. */
static uint64_t percpu_sum(struct bpf_map *m, uint32_t key)
{
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return 0;
	uint64_t vals[ncpu], sum = 0;
	if (bpf_map_lookup_elem(bpf_map__fd(m), &key, vals))
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

/* ---- cgroup levels ---- */


/* Mount point of the whole cgroup v2 hierarchy (a cgroup2 mount whose root
 * is the hierarchy's root), from /proc/self/mountinfo: /sys/fs/cgroup on a
 * unified layout, /sys/fs/cgroup/unified on a hybrid one.  0 or -ENOENT. */
static int cgroup2_mount(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	char *line = NULL;
	size_t cap = 0;
	int err = -ENOENT;
	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint options [optional...] - fstype ... */
		char root[PATH_MAX], mnt[PATH_MAX];
		const char *sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 || strcmp(root, "/") != 0)
			continue;
		cg_unescape_mountinfo(mnt);
		if (strlen(mnt) >= len)
			continue;
		strcpy(out, mnt);
		err = 0;
		break;
	}
	free(line);
	fclose(f);
	return err;
}

/* Depth-first search below directory @fd (at @depth) for the directory
 * whose inode number is @id; consumes @budget.  Returns 1 (found, *level
 * set), 0 (not here) or a negative errno.  Closes @fd. */
static int walk_for(int fd, uint64_t id, uint32_t depth, unsigned *budget, uint32_t *level)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		int err = -errno;
		close(fd);
		return err;
	}
	int found = 0;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (*budget == 0)
			break;
		(*budget)--;
		if ((uint64_t)de->d_ino == id) {
			*level = depth + 1;
			found = 1;
		} else if (depth + 1 < NP_WALK_MAX_DEPTH) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			/* a cgroup removed under us: not the one we look for */
			if (sub >= 0)
				found = walk_for(sub, id, depth + 1, budget, level);
			if (found < 0)
				break;
		}
	}
	closedir(d);
	return found;
}

/* The level of cgroup v2 @id below the root (root = 0).  0, -ENOENT (no such
 * cgroup among the first NP_WALK_MAX_DIRS directories), -EOPNOTSUPP (the
 * cgroup2 mount does not show the whole hierarchy: inside a cgroup
 * namespace levels cannot be known), or another negative errno. */
static int cgroup_level(uint64_t id, uint32_t *level)
{
	char mnt[PATH_MAX];
	struct stat st;
	int err = cgroup2_mount(mnt, sizeof(mnt));
	if (err)
		return err;
	int fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (st.st_ino != 1) { /* the root cgroup's id */
		close(fd);
		return -EOPNOTSUPP;
	}
	if (id == 1) {
		close(fd);
		*level = 0;
		return 0;
	}
	unsigned budget = NP_WALK_MAX_DIRS;
	err = walk_for(fd, id, 0, &budget, level);
	if (err == 0 && budget == 0)
		log_warnx("netpolicy: cgroup %llu not among the first %d cgroups",
			  (unsigned long long)id, NP_WALK_MAX_DIRS);
	return err < 0 ? err : err ? 0 : -ENOENT;
}

/* ---- rules ---- */

/* Check @r and turn it into a slot's contents (without id and owner). */
static int rule_build(const struct netpolicy_rule *r, struct wk_net_rule *out)
{
	memset(out, 0, sizeof(*out));
	if (r->type != WK_NP_CONNECT && r->type != WK_NP_BIND)
		return -EINVAL;
	if (r->protocol != 0 && r->protocol != IPPROTO_TCP && r->protocol != IPPROTO_UDP)
		return -EINVAL;
	if (r->port_lo > r->port_hi)
		return -EINVAL;
	unsigned alen;
	if (r->family == AF_INET) {
		alen = 4;
		for (int i = 4; i < 16; i++)
			if (r->addr[i])
				return -EINVAL; /* not an IPv4 address: a client's mistake */
	} else if (r->family == AF_INET6) {
		alen = 16;
	} else {
		return -EINVAL;
	}
	if (r->prefix_len > alen * 8)
		return -EINVAL;
	out->type = r->type;
	out->family = r->family;
	out->prefix_len = r->prefix_len;
	out->protocol = r->protocol;
	out->port_lo = r->port_lo;
	out->port_hi = r->port_hi;
	/* Keep only the prefix (10.1.2.3/8 is 10.0.0.0/8): the programs mask
	 * anyway; this makes what status shows canonical. */
	for (unsigned i = 0; i < alen; i++) {
		int bits = (int)r->prefix_len - 8 * (int)i;
		uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
		out->addr[i] = r->addr[i] & mask;
	}
	if (r->cgroup_id) {
		int err = cgroup_level(r->cgroup_id, &out->cgroup_level);
		if (err)
			return err;
		out->cgroup_id = r->cgroup_id;
	}
	return 0;
}

int netpolicy_add(const struct netpolicy_rule *r, uint32_t client_id, uint32_t *rule_id)
{
	struct wk_net_rule w;
	if (!skel)
		return -ENODEV;
	if (!r || !rule_id)
		return -EINVAL;
	int err = rule_build(r, &w);
	if (err)
		return err;
	uint32_t slot = 0;
	while (slot < WK_NP_MAX_RULES && rules[slot].id != 0)
		slot++;
	if (slot == WK_NP_MAX_RULES)
		return -ENOSPC;
	if (next_id == 0)
		return -EOVERFLOW; /* 2^32 - 1 ids handed out: never wrap */
	if ((err = zero_hits(slot)))
		return err;
	w.id = next_id++;
	w.client_id = client_id;
	slot_publish(slot, &w);
	nrules++;
	if (slot + 1 > nslots())
		set_nslots(slot + 1);
	*rule_id = w.id;
	return 0;
}

int netpolicy_remove(uint32_t rule_id, uint32_t client_id)
{
	if (!skel)
		return -ENODEV;
	if (rule_id == 0)
		return -ENOENT;
	uint32_t n = nslots();
	for (uint32_t i = 0; i < n; i++) {
		if (rules[i].id != rule_id)
			continue;
		if (rules[i].client_id != client_id)
			return -EPERM;
		slot_clear(i);
		shrink_nslots();
		return 0;
	}
	return -ENOENT;
}

void netpolicy_remove_client(uint32_t client_id)
{
	if (!skel)
		return;
	uint32_t n = nslots();
	for (uint32_t i = 0; i < n; i++)
		if (rules[i].id != 0 && rules[i].client_id == client_id)
			slot_clear(i);
	shrink_nslots();
}

unsigned netpolicy_rule_count(void)
{
	return nrules;
}

static int on_record(void *ctx, void *data, size_t size);

/* ---- start, stop ---- */

int netpolicy_start(const char *cgroup_dir)
{
	struct statfs sf;
	int err;
	if (skel)
		return -EALREADY;
	if (!cgroup_dir || strlen(cgroup_dir) >= sizeof(cg_path))
		return -EINVAL;
	int cg = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		err = -errno;
		log_warn("netpolicy: %s", cgroup_dir);
		return err;
	}
	if (fstatfs(cg, &sf) || sf.f_type != CGROUP2_SUPER_MAGIC) {
		log_warnx("netpolicy: %s is not a cgroup v2 directory", cgroup_dir);
		close(cg);
		return -EINVAL;
	}
	skel = wk_netpolicy_bpf__open_and_load();
	if (!skel) {
		err = -errno;
		log_warnx("netpolicy: load: %s", strerror(-err));
		goto fail;
	}
	/* An mmap-able array's values start at offset 0, WK_NP_MAX_RULES
	 * of them, 8-byte aligned (48 bytes each: no gaps). */
	rules_len = (sizeof(struct wk_net_rule) * WK_NP_MAX_RULES + (size_t)getpagesize() - 1) &
		    ~((size_t)getpagesize() - 1);
	rules = mmap(NULL, rules_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		     bpf_map__fd(skel->maps.wk_np_rules), 0);
	if (rules == MAP_FAILED) {
		err = -errno;
		rules = NULL;
		log_warn("netpolicy: mmap rules");
		goto fail;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.wk_np_events), on_record, NULL, NULL);
	if (!rb) {
		err = -errno;
		log_warnx("netpolicy: ring buffer: %s", strerror(-err));
		goto fail;
	}
	struct bpf_program *progs[4] = {skel->progs.wk_np_connect4, skel->progs.wk_np_connect6,
					skel->progs.wk_np_bind4, skel->progs.wk_np_bind6};
	for (int i = 0; i < 4; i++) {
		/* a BPF link: multi-attach, so other programs on this cgroup
		 * (systemd's, a container runtime's) keep running; detached
		 * when the link's fd closes, even if wardd is killed */
		links[i] = bpf_program__attach_cgroup(progs[i], cg);
		if (!links[i]) {
			err = -errno;
			log_warnx("netpolicy: attach %s to %s: %s", bpf_program__name(progs[i]), cgroup_dir,
				  strerror(-err));
			goto fail;
		}
	}
	close(cg);
	strcpy(cg_path, cgroup_dir);
	nrules = 0;
	log_info("netpolicy: connect/bind rules enforced under %s", cgroup_dir);
	return 0;
fail:
	close(cg);
	netpolicy_stop();
	return err ? err : -EINVAL;
}

void netpolicy_stop(void)
{
	for (int i = 0; i < 4; i++) {
		bpf_link__destroy(links[i]);
		links[i] = NULL;
	}
	ring_buffer__free(rb);
	rb = NULL;
	if (rules)
		munmap(rules, rules_len);
	rules = NULL;
	wk_netpolicy_bpf__destroy(skel);
	skel = NULL;
	nrules = 0;
	cg_path[0] = '\0';
}

/* ---- enforcement records ---- */

/* ring_buffer sample callback: hands the record to netpolicy_poll's caller. */
static int on_record(void *ctx, void *data, size_t size)
{
	if (size < sizeof(struct wk_net_enforce) || !poll_cb)
		return 0; /* not ours to judge: skipped */
	return poll_cb(poll_ctx, data);
}

int netpolicy_poll(netpolicy_enforce_fn cb, void *ctx)
{
	if (!rb)
		return -ENODEV;
	/* libbpf binds a ring buffer's callback at creation; the caller's
	 * is reached through on_record for the duration of this call. */
	poll_cb = cb;
	poll_ctx = ctx;
	int n = ring_buffer__consume(rb);
	poll_cb = NULL;
	poll_ctx = NULL;
	return n;
}

int netpolicy_epoll_fd(void)
{
	return rb ? ring_buffer__epoll_fd(rb) : -1;
}

void netpolicy_status(struct json_object *o)
{
	json_object_object_add(o, "attached", json_object_new_boolean(skel != NULL));
	json_object_object_add(o, "cgroup", json_object_new_string(cg_path));
	json_object_object_add(o, "rules", json_object_new_int64(nrules));
	json_object_object_add(o, "max_rules", json_object_new_int(WK_NP_MAX_RULES));
	uint64_t denied = skel ? percpu_sum(skel->maps.wk_np_counts, WK_NP_CNT_DENIED) : 0;
	uint64_t drops = skel ? percpu_sum(skel->maps.wk_np_counts, WK_NP_CNT_DROPS) : 0;
	json_object_object_add(o, "enforcements", json_object_new_uint64(denied));
	json_object_object_add(o, "drops", json_object_new_uint64(drops));
	struct json_object *hits = json_object_new_array();
	for (uint32_t i = 0; skel && i < nslots(); i++) {
		if (rules[i].id == 0)
			continue;
		struct json_object *h = json_object_new_object();
		json_object_object_add(h, "id", json_object_new_int64(rules[i].id));
		json_object_object_add(h, "client", json_object_new_int64(rules[i].client_id));
		json_object_object_add(h, "hits", json_object_new_uint64(percpu_sum(skel->maps.wk_np_hits, i)));
		json_object_array_add(hits, h);
	}
	json_object_object_add(o, "rule_hits", hits);
}
