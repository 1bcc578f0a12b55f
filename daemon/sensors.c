/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sensors.c — see sensors.h.
 *
 * Order at start: choose the backend (tracepoint ids from tracefs, or the
 * raw dispatcher); open core, process and the chosen build of each syscall
 * family; size the scratch slots and the ring buffer, set the scope flag;
 * load core; point the other objects' maps at core's (bpf_map__reuse_fd) and
 * load them; attach the process-lifecycle tracepoints (and, raw backend, the
 * sys_exit dispatcher); register the always-on syscall sensors (chdir and
 * fchdir, for the cwd).  Sensors follow the subscriptions (sensors_set_mask):
 * tracepoint backend, one perf link per watched syscall; raw backend, an
 * entry in the tail-call table.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <linux/bpf.h>

#include <ward/ward.h>
#include "events.h"
#include "log.h"
#include "sensors.h"

#include "core.skel.h"
#include "file.skel.h"
#include "file_tp.skel.h"
#include "net.skel.h"
#include "net_tp.skel.h"
#include "priv.skel.h"
#include "priv_tp.skel.h"
#include "probe.skel.h"
#include "process.skel.h"
#include "system.skel.h"
#include "system_tp.skel.h"
#include "tracepoints.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

enum family { FAM_CORE, FAM_PROCESS, FAM_FILE, FAM_NET, FAM_PRIV, FAM_SYSTEM, FAM_N };

/* Skeletons: core and process always; of each syscall family, the build for
 * the chosen backend. */
static struct wk_core_bpf *core;
static struct wk_process_bpf *process;
static struct wk_file_bpf *file;
static struct wk_net_bpf *net;
static struct wk_priv_bpf *priv;
static struct wk_system_bpf *sys;
static struct wk_file_tp_bpf *file_tp;
static struct wk_net_tp_bpf *net_tp;
static struct wk_priv_tp_bpf *priv_tp;
static struct wk_system_tp_bpf *sys_tp;
static struct bpf_object *objs[FAM_N];
static struct ring_buffer *rb;
static struct bpf_link *links[8];
static int nlinks;
static struct bpf_link *enter_link; /* raw backend: only while an enter sensor is registered */
static uint64_t cur_mask;

/* BACKEND_TP: each sensor on its syscall's own tracepoint (unwatched
 * syscalls run no BPF).  BACKEND_RAW: one raw sys_exit/sys_enter tracepoint
 * dispatching by tail call (no tracefs needed). */
enum backend { BACKEND_RAW, BACKEND_TP };
static enum backend backend;

/*
 * Syscall -> sensor.  @type is the event type the sensor reports (0: always
 * registered, internal); @exit_prog / @enter_prog name programs in @fam.
 */
struct sys_sensor {
	int nr;
	const char *name;
	uint32_t type;
	uint32_t type2; /* a second type the same call reports (open -> create) */
	enum family fam;
	const char *exit_prog;
	const char *enter_prog;
	const char *tp; /* tracepoint name when not the syscall's ("umount" for umount2) */
};

#define S(sys, t, f, prog) {SYS_##sys, #sys, t, 0, f, prog, NULL}
static const struct sys_sensor sys_table[] = {
	{SYS_chdir, "chdir", 0, 0, FAM_FILE, "wk_chdir_exit", NULL},
	{SYS_fchdir, "fchdir", 0, 0, FAM_FILE, "wk_chdir_exit", NULL},
	{SYS_open, "open", WARD_EV_OPEN, WARD_EV_CREATE, FAM_FILE, "wk_open_exit", NULL},
	{SYS_creat, "creat", WARD_EV_OPEN, WARD_EV_CREATE, FAM_FILE, "wk_creat_exit", NULL},
	{SYS_openat, "openat", WARD_EV_OPEN, WARD_EV_CREATE, FAM_FILE, "wk_openat_exit", NULL},
	{SYS_openat2, "openat2", WARD_EV_OPEN, WARD_EV_CREATE, FAM_FILE, "wk_openat2_exit", NULL},
	S(mkdir, WARD_EV_CREATE, FAM_FILE, "wk_mkdir_exit"),
	S(mkdirat, WARD_EV_CREATE, FAM_FILE, "wk_mkdirat_exit"),
	S(mknod, WARD_EV_CREATE, FAM_FILE, "wk_mknod_exit"),
	S(mknodat, WARD_EV_CREATE, FAM_FILE, "wk_mknodat_exit"),
	S(unlink, WARD_EV_UNLINK, FAM_FILE, "wk_unlink_exit"),
	S(unlinkat, WARD_EV_UNLINK, FAM_FILE, "wk_unlinkat_exit"),
	S(rmdir, WARD_EV_UNLINK, FAM_FILE, "wk_rmdir_exit"),
	S(rename, WARD_EV_RENAME, FAM_FILE, "wk_rename_exit"),
	S(renameat, WARD_EV_RENAME, FAM_FILE, "wk_renameat_exit"),
	S(renameat2, WARD_EV_RENAME, FAM_FILE, "wk_renameat2_exit"),
	S(chmod, WARD_EV_CHMOD, FAM_FILE, "wk_chmod_exit"),
	S(fchmod, WARD_EV_CHMOD, FAM_FILE, "wk_fchmod_exit"),
	S(fchmodat, WARD_EV_CHMOD, FAM_FILE, "wk_fchmodat_exit"),
	S(fchmodat2, WARD_EV_CHMOD, FAM_FILE, "wk_fchmodat_exit"),
	S(chown, WARD_EV_CHOWN, FAM_FILE, "wk_chown_exit"),
	S(lchown, WARD_EV_CHOWN, FAM_FILE, "wk_lchown_exit"),
	S(fchown, WARD_EV_CHOWN, FAM_FILE, "wk_fchown_exit"),
	S(fchownat, WARD_EV_CHOWN, FAM_FILE, "wk_fchownat_exit"),
	S(truncate, WARD_EV_TRUNCATE, FAM_FILE, "wk_truncate_exit"),
	S(ftruncate, WARD_EV_TRUNCATE, FAM_FILE, "wk_ftruncate_exit"),
	S(link, WARD_EV_LINK, FAM_FILE, "wk_link_exit"),
	S(linkat, WARD_EV_LINK, FAM_FILE, "wk_linkat_exit"),
	S(symlink, WARD_EV_SYMLINK, FAM_FILE, "wk_symlink_exit"),
	S(symlinkat, WARD_EV_SYMLINK, FAM_FILE, "wk_symlinkat_exit"),
	S(connect, WARD_EV_CONNECT, FAM_NET, "wk_connect_exit"),
	S(bind, WARD_EV_BIND, FAM_NET, "wk_bind_exit"),
	S(listen, WARD_EV_LISTEN, FAM_NET, "wk_listen_exit"),
	S(accept, WARD_EV_ACCEPT, FAM_NET, "wk_accept_exit"),
	S(accept4, WARD_EV_ACCEPT, FAM_NET, "wk_accept_exit"),
#define SETID(sys) {SYS_##sys, #sys, WARD_EV_SETUID, 0, FAM_PRIV, "wk_setid_exit", "wk_setid_enter"}
	SETID(setuid), SETID(setgid), SETID(setreuid), SETID(setregid),
	SETID(setresuid), SETID(setresgid), SETID(setfsuid), SETID(setfsgid),
	{SYS_capset, "capset", WARD_EV_CAPSET, 0, FAM_PRIV, "wk_capset_exit", "wk_capset_enter"},
	S(ptrace, WARD_EV_PTRACE, FAM_PRIV, "wk_ptrace_exit"),
	S(kill, WARD_EV_SIGNAL, FAM_PRIV, "wk_kill_exit"),
	S(tkill, WARD_EV_SIGNAL, FAM_PRIV, "wk_tkill_exit"),
	S(tgkill, WARD_EV_SIGNAL, FAM_PRIV, "wk_tgkill_exit"),
	S(init_module, WARD_EV_MODULE_LOAD, FAM_SYSTEM, "wk_init_module_exit"),
	S(finit_module, WARD_EV_MODULE_LOAD, FAM_SYSTEM, "wk_finit_module_exit"),
	S(bpf, WARD_EV_BPF, FAM_SYSTEM, "wk_bpf_exit"),
	S(mount, WARD_EV_MOUNT, FAM_SYSTEM, "wk_mount_exit"),
	S(move_mount, WARD_EV_MOUNT, FAM_SYSTEM, "wk_move_mount_exit"),
	{SYS_umount2, "umount2", WARD_EV_UMOUNT, 0, FAM_SYSTEM, "wk_umount_exit", NULL, "umount"},
	S(memfd_create, WARD_EV_MEMFD_CREATE, FAM_SYSTEM, "wk_memfd_create_exit"),
};
#define NSYS (sizeof(sys_table) / sizeof(sys_table[0]))

/* Tracepoint backend: ids of each sensor's sys_exit_ / sys_enter_
 * tracepoint, and the links while it is attached. */
static int exit_tp_id[NSYS], enter_tp_id[NSYS];
static struct bpf_link *exit_tp_link[NSYS], *enter_tp_link[NSYS];

const char *sensors_syscall_name(uint32_t nr)
{
	for (size_t i = 0; i < NSYS; i++)
		if ((uint32_t)sys_table[i].nr == nr)
			return sys_table[i].name;
	return NULL;
}

static int prog_fd(enum family fam, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(objs[fam], name);
	return p ? bpf_program__fd(p) : -1;
}

static int map_fd(const char *name)
{
	return bpf_object__find_map_fd_by_name(objs[FAM_CORE], name);
}

/* Point every map of @obj at the map of the same name in core. */
static int reuse_core_maps(struct bpf_object *obj)
{
	struct bpf_map *m;
	bpf_object__for_each_map(m, obj) {
		const char *name = bpf_map__name(m);
		if (strncmp(name, "wk_", 3) != 0 || strchr(name, '.'))
			continue; /* .rodata and the like stay per object */
		int fd = map_fd(name);
		if (fd < 0) {
			log_warnx("map %s has no twin in the core object", name);
			return -ENOENT;
		}
		int err = bpf_map__reuse_fd(m, fd);
		if (err)
			return err;
	}
	return 0;
}

static int attach(struct bpf_program *p)
{
	struct bpf_link *l = bpf_program__attach(p);
	if (!l) {
		int err = -errno;
		log_warnx("attach %s: %s", bpf_program__name(p), strerror(-err));
		return err;
	}
	links[nlinks++] = l;
	return 0;
}

static int open_all(const struct sensors_opts *o)
{
	bool scoped = o->scope_cgroup != NULL;
#define OPEN(var, skel, fam)                          \
	do {                                          \
		var = skel##__open();                 \
		if (!var)                             \
			return -errno;                \
		var->rodata->wk_scoped = scoped;      \
		objs[fam] = var->obj;                 \
	} while (0)
	OPEN(core, wk_core_bpf, FAM_CORE);
	OPEN(process, wk_process_bpf, FAM_PROCESS);
	if (backend == BACKEND_TP) {
		OPEN(file_tp, wk_file_tp_bpf, FAM_FILE);
		OPEN(net_tp, wk_net_tp_bpf, FAM_NET);
		OPEN(priv_tp, wk_priv_tp_bpf, FAM_PRIV);
		OPEN(sys_tp, wk_system_tp_bpf, FAM_SYSTEM);
	} else {
		OPEN(file, wk_file_bpf, FAM_FILE);
		OPEN(net, wk_net_bpf, FAM_NET);
		OPEN(priv, wk_priv_bpf, FAM_PRIV);
		OPEN(sys, wk_system_bpf, FAM_SYSTEM);
	}
#undef OPEN
	/* Nothing is attached by its section name: wardd decides. */
	for (int f = 0; f < FAM_N; f++) {
		struct bpf_program *p;
		bpf_object__for_each_program(p, objs[f])
			bpf_program__set_autoattach(p, false);
	}
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	int err = bpf_map__set_max_entries(core->maps.wk_scratch_map, (uint32_t)ncpu);
	return err ? err : bpf_map__set_max_entries(core->maps.wk_events, o->ring_bytes);
}

/* Tracepoint backend possible?  Reads every sensor's tracepoint ids.
 * Returns 0, or -ENOENT naming the first missing tracepoint. */
static int probe_tracepoints(const char *scratch_dir)
{
	const char *names[2 * NSYS];
	char buf[2 * NSYS][64];
	int ids[2 * NSYS];
	for (size_t i = 0; i < NSYS; i++) {
		const char *tp = sys_table[i].tp ? sys_table[i].tp : sys_table[i].name;
		snprintf(buf[2 * i], 64, "sys_exit_%s", tp);
		snprintf(buf[2 * i + 1], 64, "sys_enter_%s", tp);
		names[2 * i] = buf[2 * i];
		names[2 * i + 1] = buf[2 * i + 1];
	}
	int err = tracepoint_ids(scratch_dir, names, (int)(2 * NSYS), ids);
	if (err) {
		log_info("syscall tracepoints unavailable (tracefs: %s)", strerror(-err));
		return err;
	}
	size_t missing = 0;
	for (size_t i = 0; i < NSYS; i++) {
		exit_tp_id[i] = ids[2 * i];
		enter_tp_id[i] = ids[2 * i + 1];
		if (exit_tp_id[i] < 0 || (sys_table[i].enter_prog && enter_tp_id[i] < 0)) {
			/* A syscall this kernel does not implement (init_module
			 * without module support) has no tracepoint: it cannot
			 * happen, so there is nothing to watch. */
			log_info("no tracepoint for %s: not implemented by this kernel", sys_table[i].name);
			exit_tp_id[i] = -1;
			missing++;
		}
	}
	return missing == NSYS ? -ENOENT : 0;
}

static int choose_backend(const struct sensors_opts *o)
{
	const char *want = o->backend ? o->backend : "auto";
	if (strcmp(want, "raw") == 0) {
		backend = BACKEND_RAW;
		return 0;
	}
	if (strcmp(want, "tp") != 0 && strcmp(want, "auto") != 0) {
		log_warnx("unknown backend \"%s\" (auto, tp or raw)", want);
		return -EINVAL;
	}
	int err = probe_tracepoints(o->scratch_dir);
	if (err && strcmp(want, "tp") == 0)
		return err;
	backend = err ? BACKEND_RAW : BACKEND_TP;
	return 0;
}

static int set_scope(const char *dir)
{
	int cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		int err = -errno;
		log_warn("scope cgroup %s", dir);
		return err;
	}
	uint32_t zero = 0;
	int err = bpf_map_update_elem(map_fd("wk_scope"), &zero, &cg, BPF_ANY) ? -errno : 0;
	close(cg);
	if (err)
		log_warnx("scope cgroup %s: %s (is it a cgroup v2 directory?)", dir, strerror(-err));
	return err;
}

static int config_set(uint32_t key, uint64_t v)
{
	return bpf_map_update_elem(map_fd("wk_config"), &key, &v, BPF_ANY) ? -errno : 0;
}

/* libbpf's own messages: shown with -v; wardd reports the failures that
 * matter itself (the start-up probes fail by design on some kernels). */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!log_verbose || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int sensors_start(const struct sensors_opts *o, sensors_event_fn fn, void *ctx)
{
	int err;
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	libbpf_set_print(libbpf_log);
	if ((err = choose_backend(o)))
		return err;
	log_info("sensors: %s", backend == BACKEND_TP ? "one tracepoint per watched syscall"
						   : "raw syscall tracepoint with tail calls");
	if ((err = open_all(o)))
		goto fail;
	if ((err = bpf_object__load(objs[FAM_CORE]))) {
		log_warnx("load core sensors: %s", strerror(-err));
		goto fail;
	}
	for (int f = FAM_PROCESS; f < FAM_N; f++) {
		if ((err = reuse_core_maps(objs[f])) || (err = bpf_object__load(objs[f]))) {
			log_warnx("load %s sensors: %s", bpf_object__name(objs[f]), strerror(-err));
			goto fail;
		}
	}
	if (o->scope_cgroup && (err = set_scope(o->scope_cgroup)))
		goto fail;
	if ((err = config_set(WK_CFG_SELF_TGID, (uint64_t)getpid())))
		goto fail;
	rb = ring_buffer__new(map_fd("wk_events"), (ring_buffer_sample_fn)fn, ctx, NULL);
	if (!rb) {
		err = -errno;
		goto fail;
	}
	if ((err = sensors_set_mask(0)))
		goto fail;
	if (backend == BACKEND_RAW && (err = attach(core->progs.wk_dispatch_exit)))
		goto fail;
	if ((err = attach(process->progs.wk_fork)) || (err = attach(process->progs.wk_exec)) ||
	    (err = attach(process->progs.wk_exit)))
		goto fail;
	if (o->scope_cgroup && (err = attach(process->progs.wk_attach)))
		goto fail;
	return 0;
fail:
	sensors_stop();
	return err ? err : -EINVAL;
}

void sensors_stop(void)
{
	bpf_link__destroy(enter_link);
	enter_link = NULL;
	for (size_t i = 0; i < NSYS; i++) {
		bpf_link__destroy(exit_tp_link[i]);
		bpf_link__destroy(enter_tp_link[i]);
		exit_tp_link[i] = enter_tp_link[i] = NULL;
	}
	for (int i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	nlinks = 0;
	ring_buffer__free(rb);
	rb = NULL;
	wk_system_bpf__destroy(sys);
	wk_priv_bpf__destroy(priv);
	wk_net_bpf__destroy(net);
	wk_file_bpf__destroy(file);
	wk_system_tp_bpf__destroy(sys_tp);
	wk_priv_tp_bpf__destroy(priv_tp);
	wk_net_tp_bpf__destroy(net_tp);
	wk_file_tp_bpf__destroy(file_tp);
	sys_tp = NULL, priv_tp = NULL, net_tp = NULL, file_tp = NULL;
	wk_process_bpf__destroy(process);
	wk_core_bpf__destroy(core);
	sys = NULL, priv = NULL, net = NULL, file = NULL, process = NULL, core = NULL;
	memset(objs, 0, sizeof(objs));
}

static bool sensor_wanted(const struct sys_sensor *s, uint64_t mask)
{
	if (s->type == 0)
		return true;
	return ((mask >> s->type) & 1) || (s->type2 && ((mask >> s->type2) & 1));
}

/* Tracepoint backend: attach or detach one program on one tracepoint. */
static int tp_want(struct bpf_link **link, enum family fam, const char *prog, int id, bool want)
{
	if (want && !*link) {
		struct bpf_program *p = bpf_object__find_program_by_name(objs[fam], prog);
		if (!p)
			return -ENOENT;
		*link = tracepoint_attach(p, id);
		if (!*link)
			return -errno;
	} else if (!want && *link) {
		bpf_link__destroy(*link);
		*link = NULL;
	}
	return 0;
}

static int set_mask_tp(uint64_t mask)
{
	for (size_t i = 0; i < NSYS; i++) {
		const struct sys_sensor *s = &sys_table[i];
		if (exit_tp_id[i] < 0)
			continue; /* not in this kernel */
		bool want = sensor_wanted(s, mask);
		int err = tp_want(&exit_tp_link[i], s->fam, s->exit_prog, exit_tp_id[i], want);
		if (!err && s->enter_prog)
			err = tp_want(&enter_tp_link[i], s->fam, s->enter_prog, enter_tp_id[i], want);
		if (err) {
			log_warnx("attach %s sensor: %s", s->name, strerror(-err));
			return err;
		}
	}
	return 0;
}

static int set_mask_raw(uint64_t mask)
{
	int exit_map = map_fd("wk_sys_exit"), enter_map = map_fd("wk_sys_enter");
	bool any_enter = false;
	for (size_t i = 0; i < NSYS; i++) {
		const struct sys_sensor *s = &sys_table[i];
		uint32_t key = (uint32_t)s->nr;
		bool want = sensor_wanted(s, mask);
		if (want) {
			int fd = prog_fd(s->fam, s->exit_prog);
			if (fd < 0 || bpf_map_update_elem(exit_map, &key, &fd, BPF_ANY))
				return -errno ? -errno : -ENOENT;
		} else {
			bpf_map_delete_elem(exit_map, &key);
		}
		if (!s->enter_prog)
			continue;
		if (want) {
			int fd = prog_fd(s->fam, s->enter_prog);
			if (fd < 0 || bpf_map_update_elem(enter_map, &key, &fd, BPF_ANY))
				return -errno ? -errno : -ENOENT;
			any_enter = true;
		} else {
			bpf_map_delete_elem(enter_map, &key);
		}
	}
	/* The enter dispatcher costs every syscall a program run: attach it only
	 * while a sensor needs it. */
	if (any_enter && !enter_link) {
		enter_link = bpf_program__attach(core->progs.wk_dispatch_enter);
		if (!enter_link)
			return -errno;
	} else if (!any_enter && enter_link) {
		bpf_link__destroy(enter_link);
		enter_link = NULL;
	}
	return 0;
}

int sensors_set_mask(uint64_t mask)
{
	/* Publish the mask first so a newly registered sensor sees it. */
	int err = config_set(WK_CFG_SUBSCRIBED, mask);
	if (!err)
		err = backend == BACKEND_TP ? set_mask_tp(mask) : set_mask_raw(mask);
	if (!err)
		cur_mask = mask;
	return err;
}

static uint64_t muting; /* WK_MUTING_* bits published in wk_config */

/* The muted pids, mirrored here: the lifecycle sensors report them anyway
 * (see wk_begin_lifecycle), and the pipeline must deliver those to nobody. */
#define MUTED_PIDS_MAX 1024
static uint32_t muted_pids[MUTED_PIDS_MAX];
static size_t n_muted_pids;

int sensors_pid_muted(uint32_t pid)
{
	for (size_t i = 0; i < n_muted_pids; i++)
		if (muted_pids[i] == pid)
			return 1;
	return 0;
}

int sensors_mute_pid(uint32_t pid)
{
	uint8_t one = 1;
	if (!sensors_pid_muted(pid) && n_muted_pids == MUTED_PIDS_MAX)
		return -ENOSPC;
	if (bpf_map_update_elem(map_fd("wk_muted_pids"), &pid, &one, BPF_ANY))
		return -errno;
	if (!sensors_pid_muted(pid))
		muted_pids[n_muted_pids++] = pid;
	muting |= WK_MUTING_PIDS;
	return config_set(WK_CFG_MUTING, muting);
}

int sensors_unmute_pid(uint32_t pid)
{
	if (bpf_map_delete_elem(map_fd("wk_muted_pids"), &pid) && errno != ENOENT)
		return -errno;
	for (size_t i = 0; i < n_muted_pids; i++)
		if (muted_pids[i] == pid) {
			muted_pids[i] = muted_pids[--n_muted_pids];
			break;
		}
	return 0;
}

int sensors_mute_cgroup(const char *dir)
{
	/* A cgroup v2 id is the inode number of its directory. */
	struct stat st;
	if (stat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	uint64_t id = st.st_ino;
	uint8_t one = 1;
	if (bpf_map_update_elem(map_fd("wk_muted_cgroups"), &id, &one, BPF_ANY))
		return -errno;
	muting |= WK_MUTING_CGROUPS;
	return config_set(WK_CFG_MUTING, muting);
}

int sensors_epoll_fd(void)
{
	return ring_buffer__epoll_fd(rb);
}

int sensors_consume(void)
{
	return ring_buffer__consume(rb);
}

uint64_t sensors_drops(uint32_t type)
{
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0 || !core)
		return 0;
	uint64_t vals[ncpu], sum = 0;
	if (bpf_map_lookup_elem(map_fd("wk_drops"), &type, vals))
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

/* ---- what this kernel allows ---- */

static void probe_prog(struct json_object *o, const char *key, enum bpf_prog_type t)
{
	json_object_object_add(o, key, json_object_new_boolean(libbpf_probe_bpf_prog_type(t, NULL) == 1));
}

static bool file_has_word(const char *path, const char *word)
{
	char buf[512] = "";
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, word) != NULL;
}

/* Load and attach one program of probe.bpf.c, alone; say how far it got:
 * "attached", or which step the kernel refused and why. */
static struct json_object *probe_attach(const char *prog)
{
	char buf[128];
	struct wk_probe_bpf *skel = wk_probe_bpf__open();
	if (!skel)
		return json_object_new_string("probe object did not open");
	struct bpf_program *p;
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, strcmp(bpf_program__name(p), prog) == 0);
	int err = wk_probe_bpf__load(skel);
	if (err) {
		snprintf(buf, sizeof(buf), "load refused: %s", strerror(-err));
	} else {
		struct bpf_link *l = bpf_program__attach(bpf_object__find_program_by_name(skel->obj, prog));
		if (l)
			snprintf(buf, sizeof(buf), "attached");
		else
			snprintf(buf, sizeof(buf), "attach refused: %s", strerror(errno));
		bpf_link__destroy(l);
	}
	wk_probe_bpf__destroy(skel);
	return json_object_new_string(buf);
}

void sensors_probe_kernel(struct json_object *o)
{
	/* libbpf's own probes say only whether a program type loads at all */
	probe_prog(o, "bpf_raw_tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT);
	probe_prog(o, "bpf_tracing_fentry_tp_btf", BPF_PROG_TYPE_TRACING);
	probe_prog(o, "bpf_lsm", BPF_PROG_TYPE_LSM);
	probe_prog(o, "bpf_kprobe", BPF_PROG_TYPE_KPROBE);
	probe_prog(o, "bpf_cgroup_sock_addr", BPF_PROG_TYPE_CGROUP_SOCK_ADDR);
	/* what a prevention backend needs, tried for real */
	json_object_object_add(o, "lsm_bpf_file_open", probe_attach("wk_probe_lsm"));
	json_object_object_add(o, "fentry_do_sys_openat2", probe_attach("wk_probe_fentry"));
	json_object_object_add(o, "bpf_ringbuf",
			       json_object_new_boolean(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1));
	json_object_object_add(o, "bpf_loop",
			       json_object_new_boolean(libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT,
									       BPF_FUNC_loop, NULL) == 1));
	json_object_object_add(o, "btf", json_object_new_boolean(access("/sys/kernel/btf/vmlinux", R_OK) == 0));
	json_object_object_add(o, "kprobes_built",
			       json_object_new_boolean(access("/sys/bus/event_source/devices/kprobe", F_OK) == 0));
	json_object_object_add(o, "lsm_list_has_bpf",
			       json_object_new_boolean(file_has_word("/sys/kernel/security/lsm", "bpf")));
	int fan = (int)syscall(SYS_fanotify_init, 0x00000004 /* FAN_CLASS_CONTENT */, O_RDONLY);
	json_object_object_add(o, "fanotify_permission", json_object_new_boolean(fan >= 0));
	if (fan >= 0)
		close(fan);
	const char *cg2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "unified"
			  : access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0 ? "hybrid"
			  : "v1";
	json_object_object_add(o, "cgroup_layout", json_object_new_string(cg2));
}

void sensors_status(struct json_object *o)
{
	json_object_object_add(o, "backend", json_object_new_string(backend == BACKEND_TP ? "syscall-tracepoints"
												 : "raw-syscall-dispatch"));
	bool entering = enter_link != NULL;
	for (size_t i = 0; i < NSYS; i++)
		entering = entering || enter_tp_link[i] != NULL;
	json_object_object_add(o, "sys_enter_attached", json_object_new_boolean(entering));
	struct json_object *absent = json_object_new_array();
	for (size_t i = 0; backend == BACKEND_TP && i < NSYS; i++)
		if (exit_tp_id[i] < 0)
			json_object_array_add(absent, json_object_new_string(sys_table[i].name));
	json_object_object_add(o, "syscalls_not_in_kernel", absent);
	json_object_object_add(o, "subscribed_mask", json_object_new_uint64(cur_mask));
}
