/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sensors.c — see sensors.h.
 *
 * Order at start: with a pin directory, lock it (flock); choose the
 * backend (tracepoint ids from tracefs, or the raw dispatcher); open core,
 * process and the chosen build of each syscall family; size the scratch
 * slots and the ring buffer, set the scope flag; decide from the pinned
 * meta map and maps whether the pins can be taken over (same map layout)
 * or must go; load core (with a pin directory, libbpf reuses each
 * pinned wk_ map, or creates and pins it); point the other objects' maps at
 * core's (bpf_map__reuse_fd) and load them; reset what the previous wardd
 * set for itself (own pid, mutes); open the ring buffer (its consumer
 * position lives in the map, so reading resumes where the last reader
 * stopped); take the pinned links over into their slots; register the
 * sensors of the inherited mask (0 on a fresh start) and the always-on
 * ones (chdir and fchdir, for the cwd); attach the sys_exit dispatcher (raw
 * backend) and the process-lifecycle tracepoints unless they were taken
 * over; detach what the previous wardd had attached that this one
 * replaced.  Sensors follow the subscriptions (sensors_set_mask):
 * tracepoint backend, one perf link per watched syscall; raw backend, an
 * entry in the tail-call table.  Every link wardd makes is pinned as
 * links/<name> when pinning, and unpinned when it is detached.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <linux/perf_event.h>

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
static struct bpf_link *enter_link; /* raw backend: only while an enter sensor is registered */
static uint64_t cur_mask;

/* The links attached for the life of the sensors, by slot; the names are
 * their pin names (links/<name>). */
enum fixed_link { LK_DISPATCH_EXIT, LK_FORK, LK_EXEC, LK_EXIT, LK_ATTACH, LK_N };
static const char *const lk_name[LK_N] = {"dispatch_exit", "fork", "exec", "exit", "attach"};
static struct bpf_link *lk[LK_N];

/* BACKEND_TP: each sensor on its syscall's own tracepoint (unwatched
 * syscalls run no BPF).  BACKEND_RAW: one raw sys_exit/sys_enter tracepoint
 * dispatching by tail call (no tracefs needed).  The values are stored in
 * the pinned meta map: do not renumber. */
enum backend { BACKEND_RAW = 0, BACKEND_TP = 1 };
static enum backend backend;
static bool scoped;

/*
 * Pinning.  pin_dir[0] == '\0': nothing is pinned (and nothing below is
 * used).  The meta map, an array of u64 indexed by enum meta_key, tells
 * the next wardd what it would take over.
 */
enum meta_key {
	META_LAYOUT,  /* META_LAYOUT_V: this layout of pins and meta */
	META_BACKEND, /* enum backend */
	META_SCOPED,  /* the programs were loaded with wk_scoped set */
	META_BUILD,   /* hash of the BPF objects the programs came from */
	META_MASK,    /* the subscribed mask (sensors_set_mask) */
	META_PID,     /* the wardd that owns (owned) the pins */
	META_N = 8
};
#define META_LAYOUT_V 0x5741524450494e01ULL /* "WARDPIN" v1 */
#define META_NAME "meta"
#define LINKS_DIR "links"

static char pin_dir[PATH_MAX - 64];
static int pin_lock = -1; /* the pin directory, flock'ed while we run */
static int meta_fd = -1;
static bool fresh_pins;   /* no usable pins were found: a failed start removes ours */
static bool taken_over;
static bool replacing;    /* taken over, but the old programs must be replaced */
static uint64_t prev[META_N];
static uint64_t inherited_mask;
static int links_taken, links_replaced;
static bool have_pending;
static uint64_t pending_records, pending_bytes;

/* Links of the previous wardd that are to be detached once ours are
 * attached (other backend, scope or objects; names we do not know). */
static struct old_link {
	struct bpf_link *l;
	char name[NAME_MAX + 1];
} *old_links;
static int n_old, max_old;

static bool pinning(void)
{
	return pin_dir[0] != '\0';
}

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

/* ---- pins ---- */

/* <pin_dir>/<name>, or <pin_dir>/links/<name> */
static void pin_path(char *buf, size_t n, bool link, const char *name)
{
	snprintf(buf, n, "%s/%s%s", pin_dir, link ? LINKS_DIR "/" : "", name);
}

/* Pinned maps: the wk_ maps of core (not .rodata and the like). */
static bool pinned_map(const struct bpf_map *m)
{
	const char *name = bpf_map__name(m);
	return strncmp(name, "wk_", 3) == 0 && !strchr(name, '.');
}

static int meta_set(enum meta_key k, uint64_t v)
{
	uint32_t key = k;
	if (meta_fd < 0)
		return 0;
	return bpf_map_update_elem(meta_fd, &key, &v, BPF_ANY) ? -errno : 0;
}

/* Create the pin directory and lock it against another wardd.  Returns 0,
 * -EBUSY when a live wardd holds it, or another negative errno. */
static int pin_dir_lock(const char *dir)
{
	if (strlen(dir) >= sizeof(pin_dir) || !dir[0]) {
		log_warnx("pin directory \"%s\": name too long or empty", dir);
		return -ENAMETOOLONG;
	}
	for (int tries = 0; tries < 3; tries++) {
		if (mkdir(dir, 0700) && errno != EEXIST) {
			int err = -errno;
			log_warn("pin directory %s", dir);
			return err;
		}
		struct statfs sf;
		if (statfs(dir, &sf) || sf.f_type != BPF_FS_MAGIC) {
			log_warnx("pin directory %s is not on a bpf filesystem", dir);
			return -EINVAL;
		}
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			int err = -errno;
			log_warn("pin directory %s", dir);
			return err;
		}
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			int err = errno == EWOULDBLOCK ? -EBUSY : -errno;
			close(fd);
			if (err == -EBUSY)
				log_warnx("pin directory %s is in use by another wardd", dir);
			else
				log_warnx("pin directory %s: flock: %s", dir, strerror(-err));
			return err;
		}
		/* A wardd that stopped while we waited removed the directory:
		 * the one we locked is gone; make it again. */
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(dir, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			char links[PATH_MAX];
			snprintf(links, sizeof(links), "%s/" LINKS_DIR, dir);
			if (mkdir(links, 0700) && errno != EEXIST) {
				int err = -errno;
				log_warn("%s", links);
				close(fd);
				return err;
			}
			pin_lock = fd;
			snprintf(pin_dir, sizeof(pin_dir), "%s", dir);
			return 0;
		}
		close(fd);
	}
	return -EAGAIN;
}

/* Remove the pins in @sub ("" or LINKS_DIR): every entry of links/; in
 * the pin directory itself the wk_ maps and the meta map (unlinking a pin
 * nobody else holds detaches that link, frees that map). */
static void unlink_pins(const char *sub)
{
	char dir[PATH_MAX], path[PATH_MAX + NAME_MAX + 2];
	snprintf(dir, sizeof(dir), "%s%s%s", pin_dir, sub[0] ? "/" : "", sub);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (!sub[0] && strncmp(e->d_name, "wk_", 3) && strcmp(e->d_name, META_NAME))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) && errno != ENOENT)
			log_warn("unpin %s", path);
	}
	closedir(d);
}

/* Whether anything of ours is pinned in the pin directory. */
static bool pins_exist(void)
{
	char dir[PATH_MAX];
	bool any = false;
	for (int links = 0; links < 2 && !any; links++) {
		snprintf(dir, sizeof(dir), "%s%s", pin_dir, links ? "/" LINKS_DIR : "");
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *e;
		while (!any && (e = readdir(d)))
			any = e->d_name[0] != '.' &&
			      (links || !strncmp(e->d_name, "wk_", 3) || !strcmp(e->d_name, META_NAME));
		closedir(d);
	}
	return any;
}

/* Whether the map pinned at @path is one libbpf will reuse for @m (the
 * test of libbpf's map_is_reuse_compat).  Logs why not. */
static bool pin_compatible(const struct bpf_map *m, const char *path)
{
	int fd = bpf_obj_get(path);
	if (fd < 0) {
		log_warnx("pinned map %s: %s", path, strerror(errno));
		return false;
	}
	struct bpf_map_info info = {0};
	uint32_t len = sizeof(info);
	int err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err) {
		log_warnx("pinned map %s: not a map (%s)", path, strerror(errno));
		return false;
	}
	if (info.type != (uint32_t)bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
	    info.value_size != bpf_map__value_size(m) || info.max_entries != bpf_map__max_entries(m) ||
	    info.map_flags != bpf_map__map_flags(m) || info.map_extra != bpf_map__map_extra(m)) {
		log_warnx("pinned map %s: type %u, key %u, value %u, %u entries, flags %#x; "
			  "this wardd needs type %u, key %u, value %u, %u entries, flags %#x",
			  path, info.type, info.key_size, info.value_size, info.max_entries, info.map_flags,
			  (unsigned)bpf_map__type(m), bpf_map__key_size(m), bpf_map__value_size(m),
			  bpf_map__max_entries(m), bpf_map__map_flags(m));
		return false;
	}
	return true;
}

/* Read the meta map, if one is pinned and has our layout: 1, else 0. */
static int meta_read(void)
{
	char path[PATH_MAX];
	pin_path(path, sizeof(path), false, META_NAME);
	int fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	struct bpf_map_info info = {0};
	uint32_t len = sizeof(info);
	bool ok = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == BPF_MAP_TYPE_ARRAY &&
		  info.key_size == 4 && info.value_size == 8 && info.max_entries == META_N;
	for (uint32_t k = 0; ok && k < META_N; k++)
		ok = bpf_map_lookup_elem(fd, &k, &prev[k]) == 0;
	if (!ok || prev[META_LAYOUT] != META_LAYOUT_V) {
		log_warnx("%s: not a meta map of this wardd's layout", path);
		close(fd);
		return 0;
	}
	meta_fd = fd;
	return 1;
}

/* A hash of every BPF object this wardd carries: programs taken over must
 * come from the same objects (the same record layout, the same maps). */
static uint64_t build_hash(void)
{
	const void *(*elf[])(size_t *) = {
		wk_core_bpf__elf_bytes, wk_process_bpf__elf_bytes,
		wk_file_bpf__elf_bytes, wk_file_tp_bpf__elf_bytes,
		wk_net_bpf__elf_bytes, wk_net_tp_bpf__elf_bytes,
		wk_priv_bpf__elf_bytes, wk_priv_tp_bpf__elf_bytes,
		wk_system_bpf__elf_bytes, wk_system_tp_bpf__elf_bytes,
	};
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	for (size_t i = 0; i < sizeof(elf) / sizeof(elf[0]); i++) {
		size_t n;
		const uint8_t *p = elf[i](&n);
		for (size_t j = 0; j < n; j++)
			h = (h ^ p[j]) * 0x100000001b3ULL;
	}
	return h;
}

static const char *backend_name(uint64_t b)
{
	return b == BACKEND_TP ? "tp" : b == BACKEND_RAW ? "raw" : "unknown";
}

/*
 * Decide what to do with the pins in the (locked) pin directory, once the
 * skeletons are open and sized: take them over (taken_over; replacing when
 * the previous programs must give way to ours), or remove them and start
 * afresh.  Then point core's wk_ maps at their pin paths, so that loading
 * reuses or creates and pins them.
 */
static int pins_examine(void)
{
	char path[PATH_MAX];
	struct bpf_map *m;
	bool usable = meta_read();
	if (!usable && pins_exist())
		log_warnx("pins in %s without a usable meta map (a start that never finished?): removing them",
			  pin_dir);
	bpf_object__for_each_map(m, objs[FAM_CORE]) {
		if (!usable || !pinned_map(m))
			continue;
		pin_path(path, sizeof(path), false, bpf_map__name(m));
		if (!pin_compatible(m, path)) {
			log_warnx("the pins in %s do not fit this wardd: removing them, starting afresh "
				  "(the events the previous sensors recorded and nobody read are lost)",
				  pin_dir);
			usable = false;
		}
	}
	if (usable) {
		taken_over = true;
		inherited_mask = prev[META_MASK];
		const char *why = prev[META_BACKEND] != backend		? "another backend"
				  : prev[META_SCOPED] != (uint64_t)scoped ? "another scope setting"
				  : prev[META_BUILD] != build_hash()	? "other BPF objects"
									: NULL;
		replacing = why != NULL;
		log_info("taking over the sensors pinned in %s by wardd pid %llu (backend %s, mask %#llx)%s%s%s",
			 pin_dir, (unsigned long long)prev[META_PID], backend_name(prev[META_BACKEND]),
			 (unsigned long long)inherited_mask, why ? "; they ran with " : "", why ? why : "",
			 why ? ": attaching ours first, then detaching theirs" : "");
	} else {
		if (meta_fd >= 0)
			close(meta_fd);
		meta_fd = -1;
		unlink_pins(LINKS_DIR);
		unlink_pins("");
		fresh_pins = true;
	}
	bpf_object__for_each_map(m, objs[FAM_CORE]) {
		if (!pinned_map(m))
			continue;
		pin_path(path, sizeof(path), false, bpf_map__name(m));
		int err = bpf_map__set_pin_path(m, path);
		if (err)
			return err;
	}
	return 0;
}

/* After load: a fresh start pins its meta map; a takeover records the new
 * owner.  The rest of meta is written once the links are in place. */
static int meta_init(void)
{
	if (meta_fd < 0) {
		char path[PATH_MAX];
		meta_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "wk_meta", 4, 8, META_N, NULL);
		if (meta_fd < 0)
			return -errno;
		for (uint32_t k = 0; k < META_N; k++)
			meta_set(k, 0);
		meta_set(META_LAYOUT, META_LAYOUT_V);
		meta_set(META_BACKEND, backend);
		meta_set(META_SCOPED, scoped);
		meta_set(META_BUILD, build_hash());
		pin_path(path, sizeof(path), false, META_NAME);
		if (bpf_obj_pin(meta_fd, path)) {
			int err = -errno;
			log_warn("pin %s", path);
			return err;
		}
	}
	return meta_set(META_PID, (uint64_t)getpid());
}

/* Empty a hash map (at most @max entries). */
static void map_clear(int fd, size_t key_size, uint32_t max)
{
	uint8_t key[16];
	if (fd < 0 || key_size > sizeof(key))
		return;
	for (uint32_t i = 0; i <= max && bpf_map_get_next_key(fd, NULL, key) == 0; i++)
		bpf_map_delete_elem(fd, key);
}

/*
 * Records waiting in the ring buffer (written while nobody read), counted
 * from the map's own pages: consumer position, producer position, and each
 * record's 8-byte header from one to the other.
 */
static void ring_pending(int fd, uint32_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len = 2 * (size_t)page + 2 * (size_t)size;
	if (page <= 0 || !size || (size & (size - 1)))
		return;
	uint8_t *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return;
	uint64_t cons = __atomic_load_n((uint64_t *)m, __ATOMIC_ACQUIRE);
	uint64_t prod = __atomic_load_n((uint64_t *)(m + page), __ATOMIC_ACQUIRE);
	const uint8_t *data = m + 2 * page;
	uint64_t n = 0, pos = cons;
	while (pos < prod && n <= size / BPF_RINGBUF_HDR_SZ) {
		uint32_t hdr = __atomic_load_n((const uint32_t *)(data + (pos & (size - 1))), __ATOMIC_ACQUIRE);
		if (hdr & BPF_RINGBUF_BUSY_BIT)
			break; /* being written */
		if (!(hdr & BPF_RINGBUF_DISCARD_BIT))
			n++;
		hdr &= ~(uint32_t)(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
		pos += (hdr + BPF_RINGBUF_HDR_SZ + 7) & ~7ULL;
	}
	munmap(m, len);
	pending_records = n;
	pending_bytes = prod - cons;
	have_pending = true;
}

/* ---- links ---- */

/* The slot a pinned link named @name belongs in with this backend and
 * scope, or NULL. */
static struct bpf_link **link_slot(const char *name)
{
	for (int i = 0; i < LK_N; i++)
		if (strcmp(name, lk_name[i]) == 0) {
			if ((i == LK_DISPATCH_EXIT && backend != BACKEND_RAW) || (i == LK_ATTACH && !scoped))
				return NULL;
			return &lk[i];
		}
	if (strcmp(name, "dispatch_enter") == 0)
		return backend == BACKEND_RAW ? &enter_link : NULL;
	bool enter = strncmp(name, "enter_", 6) == 0;
	if (backend != BACKEND_TP || (!enter && strncmp(name, "exit_", 5) != 0))
		return NULL;
	const char *sysname = name + (enter ? 6 : 5);
	for (size_t i = 0; i < NSYS; i++) {
		if (strcmp(sys_table[i].name, sysname) || exit_tp_id[i] < 0)
			continue;
		if (enter)
			return sys_table[i].enter_prog ? &enter_tp_link[i] : NULL;
		return &exit_tp_link[i];
	}
	return NULL;
}

/* Open every link pinned in links/: into its slot when it can be kept,
 * else into old_links (detached once ours are attached). */
static int links_take_over(void)
{
	char dir[PATH_MAX], path[PATH_MAX + NAME_MAX + 2];
	snprintf(dir, sizeof(dir), "%s/" LINKS_DIR, pin_dir);
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct bpf_link *l = bpf_link__open(path);
		if (!l) {
			log_warnx("pinned link %s: %s: removing it", path, strerror(errno));
			unlink(path);
			continue;
		}
		struct bpf_link **slot = replacing ? NULL : link_slot(e->d_name);
		if (slot && !*slot) {
			*slot = l;
			links_taken++;
			continue;
		}
		if (n_old == max_old) {
			int n = max_old ? 2 * max_old : 64;
			struct old_link *p = realloc(old_links, (size_t)n * sizeof(*p));
			if (!p) {
				bpf_link__destroy(l);
				closedir(d);
				return -ENOMEM;
			}
			old_links = p;
			max_old = n;
		}
		old_links[n_old].l = l;
		snprintf(old_links[n_old].name, sizeof(old_links[n_old].name), "%s", e->d_name);
		n_old++;
	}
	closedir(d);
	return 0;
}

/* Detach a link; with @unpin, remove its pin too (else it stays attached
 * through the pin). */
static void link_drop(struct bpf_link **l, bool unpin)
{
	if (!*l)
		return;
	if (unpin && bpf_link__pin_path(*l))
		bpf_link__unpin(*l);
	bpf_link__destroy(*l);
	*l = NULL;
}

/* A pin of the previous wardd named @name gives way to ours: its link
 * stays attached through our fd until the old links are dropped. */
static void old_unpin(const char *name)
{
	for (int i = 0; i < n_old; i++)
		if (strcmp(old_links[i].name, name) == 0 && bpf_link__pin_path(old_links[i].l))
			bpf_link__unpin(old_links[i].l);
}

/* Pin a new link as links/@name (when pinning).  Returns 0 or -errno. */
static int link_pin(struct bpf_link *l, const char *name)
{
	char path[PATH_MAX];
	if (!pinning())
		return 0;
	pin_path(path, sizeof(path), true, name);
	old_unpin(name);
	int err = bpf_link__pin(l, path);
	if (err == -EEXIST) {
		log_warnx("%s: pinned by nobody we know: replacing it", path);
		unlink(path);
		err = bpf_link__pin(l, path);
	}
	if (err)
		log_warnx("pin %s: %s", path, strerror(-err));
	return err;
}

/* Attach @p (by its section) and pin the link as @name. */
static struct bpf_link *attach_pinned(struct bpf_program *p, const char *name)
{
	struct bpf_link *l = bpf_program__attach(p);
	if (!l) {
		int err = -errno;
		log_warnx("attach %s: %s", bpf_program__name(p), strerror(-err));
		errno = -err;
		return NULL;
	}
	int err = link_pin(l, name);
	if (err) {
		bpf_link__destroy(l);
		errno = -err;
		return NULL;
	}
	return l;
}

/* A fixed link, unless one was taken over. */
static int attach_fixed(enum fixed_link k, struct bpf_program *p)
{
	if (lk[k])
		return 0;
	lk[k] = attach_pinned(p, lk_name[k]);
	return lk[k] ? 0 : -errno;
}

/*
 * Tracepoint backend, pinning: attach @p to tracepoint @id as a BPF perf
 * link (BPF_LINK_TYPE_PERF_EVENT, which holds the perf event), pin it as
 * links/@name, and keep it as a plain link opened from the pin.  Not
 * libbpf's perf link: destroying that one disables the perf event, which
 * would silence a link that stays pinned (sensors_release).
 */
static struct bpf_link *tp_attach_pinned(struct bpf_program *p, int id, const char *name)
{
	char path[PATH_MAX];
	pin_path(path, sizeof(path), true, name);
	int pfd = tracepoint_perf_fd(id);
	if (pfd < 0)
		return NULL;
	int lfd = bpf_link_create(bpf_program__fd(p), pfd, BPF_PERF_EVENT, NULL);
	int err = lfd < 0 ? -errno : 0;
	if (!err && ioctl(pfd, PERF_EVENT_IOC_ENABLE, 0))
		err = -errno;
	close(pfd); /* the link holds the event */
	if (!err) {
		old_unpin(name);
		if (bpf_obj_pin(lfd, path)) {
			err = -errno;
			if (err == -EEXIST) {
				log_warnx("%s: pinned by nobody we know: replacing it", path);
				unlink(path);
				err = bpf_obj_pin(lfd, path) ? -errno : 0;
			}
		}
	}
	struct bpf_link *l = NULL;
	if (!err && !(l = bpf_link__open(path))) {
		err = -errno;
		unlink(path);
	}
	if (lfd >= 0)
		close(lfd);
	if (err) {
		log_warnx("attach %s as pinned link %s: %s", bpf_program__name(p), path, strerror(-err));
		errno = -err;
	}
	return l;
}

/* Detach the previous wardd's links that ours replaced. */
static void old_links_drop(bool unpin)
{
	for (int i = 0; i < n_old; i++)
		link_drop(&old_links[i].l, unpin);
	n_old = 0;
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

static void mutes_reset(void);

/* Detach and unload; with @unpin, remove every pin and the pin directory,
 * else leave the pins for the next wardd. */
static void teardown(bool unpin)
{
	link_drop(&enter_link, unpin);
	for (size_t i = 0; i < NSYS; i++) {
		link_drop(&exit_tp_link[i], unpin);
		link_drop(&enter_tp_link[i], unpin);
	}
	for (int k = 0; k < LK_N; k++)
		link_drop(&lk[k], unpin);
	old_links_drop(unpin);
	ring_buffer__free(rb);
	rb = NULL;
	if (pinning() && unpin) {
		unlink_pins(LINKS_DIR);
		unlink_pins("");
	}
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
	if (meta_fd >= 0)
		close(meta_fd);
	meta_fd = -1;
	if (pinning()) {
		/* Empty directories go either way; with @unpin, all of it. */
		char links[PATH_MAX];
		snprintf(links, sizeof(links), "%s/" LINKS_DIR, pin_dir);
		if (rmdir(links) && errno != ENOENT && unpin)
			log_warn("rmdir %s", links);
		if (rmdir(pin_dir) && errno != ENOENT && unpin)
			log_warn("rmdir %s", pin_dir);
		close(pin_lock);
		pin_lock = -1;
		pin_dir[0] = '\0';
	}
	free(old_links);
	old_links = NULL;
	max_old = 0;
	mutes_reset();
}

int sensors_start(const struct sensors_opts *o, sensors_event_fn fn, void *ctx)
{
	int err;
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	libbpf_set_print(libbpf_log);
	cur_mask = inherited_mask = 0;
	taken_over = replacing = fresh_pins = have_pending = false;
	links_taken = links_replaced = 0;
	pending_records = pending_bytes = 0;
	memset(prev, 0, sizeof(prev));
	scoped = o->scope_cgroup != NULL;
	if (o->pin_dir && (err = pin_dir_lock(o->pin_dir)))
		return err; /* nothing touched */
	if ((err = choose_backend(o)))
		goto fail;
	log_info("sensors: %s", backend == BACKEND_TP ? "one tracepoint per watched syscall"
						   : "raw syscall tracepoint with tail calls");
	if ((err = open_all(o)))
		goto fail;
	if (pinning() && (err = pins_examine()))
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
	if (pinning()) {
		if ((err = meta_init()))
			goto fail;
		/* What the previous wardd set up for itself: this one sets its
		 * own mutes.  (Its subscribed mask stays until set_mask.) */
		map_clear(map_fd("wk_muted_pids"), sizeof(uint32_t), 4096);
		map_clear(map_fd("wk_muted_cgroups"), sizeof(uint64_t), 4096);
		if ((err = config_set(WK_CFG_MUTING, 0)))
			goto fail;
	}
	if (o->scope_cgroup && (err = set_scope(o->scope_cgroup)))
		goto fail;
	if ((err = config_set(WK_CFG_SELF_TGID, (uint64_t)getpid())))
		goto fail;
	if (taken_over)
		ring_pending(map_fd("wk_events"), bpf_map__max_entries(core->maps.wk_events));
	/* libbpf reads the consumer position from the map: a ring taken over
	 * is read from where the previous reader stopped. */
	rb = ring_buffer__new(map_fd("wk_events"), (ring_buffer_sample_fn)fn, ctx, NULL);
	if (!rb) {
		err = -errno;
		goto fail;
	}
	if (taken_over && (err = links_take_over()))
		goto fail;
	if ((err = sensors_set_mask(inherited_mask)))
		goto fail;
	if (backend == BACKEND_RAW && (err = attach_fixed(LK_DISPATCH_EXIT, core->progs.wk_dispatch_exit)))
		goto fail;
	if ((err = attach_fixed(LK_FORK, process->progs.wk_fork)) ||
	    (err = attach_fixed(LK_EXEC, process->progs.wk_exec)) ||
	    (err = attach_fixed(LK_EXIT, process->progs.wk_exit)))
		goto fail;
	if (scoped && (err = attach_fixed(LK_ATTACH, process->progs.wk_attach)))
		goto fail;
	if (n_old) {
		/* ours are attached: now theirs may go */
		links_replaced = n_old;
		old_links_drop(true);
		log_info("detached %d links of the previous wardd, replaced by ours", links_replaced);
	}
	if (taken_over) {
		uint32_t zero = 0;
		if (!scoped)
			bpf_map_delete_elem(map_fd("wk_scope"), &zero);
		if (backend == BACKEND_TP && prev[META_BACKEND] != BACKEND_TP) {
			/* the raw backend's tail-call entries have no dispatcher now */
			for (size_t i = 0; i < NSYS; i++) {
				uint32_t key = (uint32_t)sys_table[i].nr;
				bpf_map_delete_elem(map_fd("wk_sys_exit"), &key);
				bpf_map_delete_elem(map_fd("wk_sys_enter"), &key);
			}
		}
		log_info("took over %s: %d links kept, %d replaced; %llu records (%llu bytes) were waiting",
			 pin_dir, links_taken, links_replaced, (unsigned long long)pending_records,
			 (unsigned long long)pending_bytes);
	}
	if (pinning() && ((err = meta_set(META_BACKEND, backend)) || (err = meta_set(META_SCOPED, scoped)) ||
			  (err = meta_set(META_BUILD, build_hash()))))
		goto fail;
	return 0;
fail:
	/* Pins we found stay for the next wardd; pins we made go. */
	teardown(fresh_pins);
	return err ? err : -EINVAL;
}

void sensors_stop(void)
{
	teardown(true);
}

void sensors_release(void)
{
	teardown(false);
}

bool sensors_taken_over(void)
{
	return taken_over;
}

uint64_t sensors_inherited_mask(void)
{
	return taken_over ? inherited_mask : 0;
}

static bool sensor_wanted(const struct sys_sensor *s, uint64_t mask)
{
	if (s->type == 0)
		return true;
	return ((mask >> s->type) & 1) || (s->type2 && ((mask >> s->type2) & 1));
}

/* Tracepoint backend: attach or detach one program on one tracepoint; the
 * link is pinned as @name when pinning. */
static int tp_want(struct bpf_link **link, enum family fam, const char *prog, int id, bool want,
		   const char *name)
{
	if (want && !*link) {
		struct bpf_program *p = bpf_object__find_program_by_name(objs[fam], prog);
		if (!p)
			return -ENOENT;
		*link = pinning() ? tp_attach_pinned(p, id, name) : tracepoint_attach(p, id);
		if (!*link)
			return -errno;
	} else if (!want && *link) {
		link_drop(link, true);
	}
	return 0;
}

static int set_mask_tp(uint64_t mask)
{
	char name[64];
	for (size_t i = 0; i < NSYS; i++) {
		const struct sys_sensor *s = &sys_table[i];
		if (exit_tp_id[i] < 0)
			continue; /* not in this kernel */
		bool want = sensor_wanted(s, mask);
		snprintf(name, sizeof(name), "exit_%s", s->name);
		int err = tp_want(&exit_tp_link[i], s->fam, s->exit_prog, exit_tp_id[i], want, name);
		snprintf(name, sizeof(name), "enter_%s", s->name);
		if (!err && s->enter_prog)
			err = tp_want(&enter_tp_link[i], s->fam, s->enter_prog, enter_tp_id[i], want, name);
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
	/* An update replaces an entry atomically: a tail call finds the old
	 * program or the new one, never none (the maps may be shared with
	 * a previous wardd's dispatchers, through the pins). */
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
		enter_link = attach_pinned(core->progs.wk_dispatch_enter, "dispatch_enter");
		if (!enter_link)
			return -errno;
	} else if (!any_enter && enter_link) {
		link_drop(&enter_link, true);
	}
	return 0;
}

int sensors_set_mask(uint64_t mask)
{
	/* Publish the mask first so a newly registered sensor sees it. */
	int err = config_set(WK_CFG_SUBSCRIBED, mask);
	if (!err)
		err = backend == BACKEND_TP ? set_mask_tp(mask) : set_mask_raw(mask);
	if (!err) {
		cur_mask = mask;
		err = meta_set(META_MASK, mask);
	}
	return err;
}

static uint64_t muting; /* WK_MUTING_* bits published in wk_config */

/* The muted pids, mirrored here: the lifecycle sensors report them anyway
 * (see wk_begin_lifecycle), and the pipeline must deliver those to nobody. */
#define MUTED_PIDS_MAX 1024
static uint32_t muted_pids[MUTED_PIDS_MAX];
static size_t n_muted_pids;

static void mutes_reset(void)
{
	muting = 0;
	n_muted_pids = 0;
}

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
	json_object_object_add(o, "pin_dir", pinning() ? json_object_new_string(pin_dir) : NULL);
	json_object_object_add(o, "taken_over", json_object_new_boolean(taken_over));
	if (!taken_over)
		return;
	json_object_object_add(o, "inherited_mask", json_object_new_uint64(inherited_mask));
	json_object_object_add(o, "links_taken_over", json_object_new_int(links_taken));
	json_object_object_add(o, "links_replaced", json_object_new_int(links_replaced));
	if (have_pending) {
		json_object_object_add(o, "records_pending_at_takeover", json_object_new_uint64(pending_records));
		json_object_object_add(o, "bytes_pending_at_takeover", json_object_new_uint64(pending_bytes));
	}
}
