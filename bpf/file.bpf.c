// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * file.bpf.c — file sensors: open, create, unlink, rename, chmod, chown,
 * truncate, link, symlink.  Each program is the sys_exit sensor of one
 * syscall (wardd's table in daemon/sensors.c maps syscall numbers to them);
 * arguments come from the saved user registers, so no sys_enter is needed.
 * Attempts that fail are reported too, with the negative errno as result.
 *
 * Paths are reported as the caller passed them (str0/str1).  A relative path
 * of an *at() call with a real dirfd gets the directory's path from a dentry
 * walk (str2); wardd joins relative paths with that or the process's cwd.
 * Calls on a descriptor (fchmod, fchown, ftruncate) get the path from a
 * dentry walk of the descriptor's file.
 */
#include "common.bpf.h"

#define O_CREAT 0100
#define FMODE_CREATED (1u << 20)

/* Start a file event; NULL if unwanted. */
static __always_inline __u8 *file_begin(WK_CTX *ctx, __u16 type,
					 struct wk_file **out)
{
	__u8 *ev = wk_begin(type);
	if (!ev)
		return NULL;
	struct wk_file *p = &WK_PAYLOAD(ev)->file;
	p->result = WK_RET(ctx);
	p->fd = -1;
	p->dirfd = AT_FDCWD;
	p->syscall = WK_NR(WK_REGS(ctx));
	*out = p;
	return ev;
}

/* First byte of a user string (0 if unreadable). */
static __always_inline char first_char(const char *upath)
{
	char c = 0;
	bpf_probe_read_user(&c, 1, upath);
	return c;
}

/*
 * str0 = the path as passed; when it is relative to a real dirfd, str2 =
 * that directory (dentry walk).  An empty path with a real dirfd
 * (AT_EMPTY_PATH) names the dirfd itself: str0 = its path.
 */
static __always_inline void file_path_at(__u8 *ev, struct wk_file *p, int dirfd, const char *upath)
{
	p->dirfd = dirfd;
	if (dirfd == AT_FDCWD) {
		wk_user_str(ev, 0, upath); /* the common case: one read */
		return;
	}
	char first = first_char(upath);
	if (first == '\0' && dirfd >= 0) {
		p->fd = dirfd;
		wk_fd_path(ev, 0, dirfd);
		return;
	}
	wk_user_str(ev, 0, upath);
	if (first != '/')
		wk_fd_path(ev, 2, dirfd); /* slot 1 stays empty */
}

/* ---- open / create ---- */

static __always_inline int do_open(WK_CTX *ctx, int dirfd,
				   const char *upath, __u32 flags, __u32 mode)
{
	long ret = WK_RET(ctx);
	struct wk_file *p;
	__u8 *ev = file_begin(ctx, WARD_EV_OPEN, &p);
	if (ev) {
		p->flags = flags;
		p->mode = mode;
		file_path_at(ev, p, dirfd, upath);
		wk_submit(ev);
	}
	if (ret < 0 || !(flags & O_CREAT))
		return 0;
	struct file *f = wk_fd_file((int)ret);
	if (!f || !(BPF_CORE_READ(f, f_mode) & FMODE_CREATED))
		return 0;
	ev = file_begin(ctx, WARD_EV_CREATE, &p);
	if (ev) {
		p->flags = flags;
		p->mode = mode;
		p->fd = (int)ret;
		file_path_at(ev, p, dirfd, upath);
		wk_submit(ev);
	}
	return 0;
}

WK_SYS_EXIT
int wk_open_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_open(ctx, AT_FDCWD, (const char *)WK_ARG1(r), WK_ARG2(r), WK_ARG3(r));
}

WK_SYS_EXIT
int wk_creat_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	/* creat(path, mode) is open(path, O_CREAT|O_WRONLY|O_TRUNC, mode) */
	return do_open(ctx, AT_FDCWD, (const char *)WK_ARG1(r), O_CREAT | 01 | 01000, WK_ARG2(r));
}

WK_SYS_EXIT
int wk_openat_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_open(ctx, (int)WK_ARG1(r), (const char *)WK_ARG2(r), WK_ARG3(r), WK_ARG4(r));
}

WK_SYS_EXIT
int wk_openat2_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	struct open_how how = {};
	bpf_probe_read_user(&how, sizeof(how), (void *)WK_ARG3(r));
	return do_open(ctx, (int)WK_ARG1(r), (const char *)WK_ARG2(r), how.flags, how.mode);
}

/* mkdir(path, mode), mkdirat(dirfd, path, mode), mknod(path, mode, dev),
 * mknodat(dirfd, path, mode, dev): reported as create, on success only. */
static __always_inline int do_mkobj(WK_CTX *ctx, int dirfd,
				    const char *upath, __u32 mode)
{
	if (WK_RET(ctx) < 0)
		return 0;
	struct wk_file *p;
	__u8 *ev = file_begin(ctx, WARD_EV_CREATE, &p);
	if (!ev)
		return 0;
	p->mode = mode;
	file_path_at(ev, p, dirfd, upath);
	wk_submit(ev);
	return 0;
}

WK_SYS_EXIT
int wk_mkdir_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_mkobj(ctx, AT_FDCWD, (const char *)WK_ARG1(r), WK_ARG2(r) | 0040000);
}

WK_SYS_EXIT
int wk_mkdirat_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_mkobj(ctx, (int)WK_ARG1(r), (const char *)WK_ARG2(r), WK_ARG3(r) | 0040000);
}

WK_SYS_EXIT
int wk_mknod_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_mkobj(ctx, AT_FDCWD, (const char *)WK_ARG1(r), WK_ARG2(r));
}

WK_SYS_EXIT
int wk_mknodat_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_mkobj(ctx, (int)WK_ARG1(r), (const char *)WK_ARG2(r), WK_ARG3(r));
}

/* ---- unlink ---- */

static __always_inline int do_unlink(WK_CTX *ctx, int dirfd,
				     const char *upath, __u32 flags)
{
	struct wk_file *p;
	__u8 *ev = file_begin(ctx, WARD_EV_UNLINK, &p);
	if (!ev)
		return 0;
	p->flags = flags;
	file_path_at(ev, p, dirfd, upath);
	wk_submit(ev);
	return 0;
}

WK_SYS_EXIT
int wk_unlink_exit(WK_CTX *ctx)
{
	return do_unlink(ctx, AT_FDCWD, (const char *)WK_ARG1(WK_REGS(ctx)), 0);
}

WK_SYS_EXIT
int wk_rmdir_exit(WK_CTX *ctx)
{
	/* AT_REMOVEDIR, as unlinkat would say it */
	return do_unlink(ctx, AT_FDCWD, (const char *)WK_ARG1(WK_REGS(ctx)), 0x200);
}

WK_SYS_EXIT
int wk_unlinkat_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_unlink(ctx, (int)WK_ARG1(r), (const char *)WK_ARG2(r), WK_ARG3(r));
}

/* ---- rename, link, symlink: two paths ---- */

/* Two paths, each relative to its own dirfd: str0/str1 as passed, str2/str3
 * the directories they are relative to when those are not the cwd. */
static __always_inline int do_two_paths(WK_CTX *ctx, __u16 type,
					int dirfd0, const char *p0, int dirfd1, const char *p1,
					__u32 flags)
{
	struct wk_file *p;
	__u8 *ev = file_begin(ctx, type, &p);
	if (!ev)
		return 0;
	p->flags = flags;
	p->dirfd = dirfd0;
	wk_user_str(ev, 0, p0);
	wk_user_str(ev, 1, p1);
	if (dirfd0 != AT_FDCWD && p0 && first_char(p0) != '/')
		wk_fd_path(ev, 2, dirfd0);
	if (dirfd1 != AT_FDCWD && p1 && first_char(p1) != '/')
		wk_fd_path(ev, 3, dirfd1);
	wk_submit(ev);
	return 0;
}

WK_SYS_EXIT
int wk_rename_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_two_paths(ctx, WARD_EV_RENAME, AT_FDCWD, (void *)WK_ARG1(r), AT_FDCWD,
			    (void *)WK_ARG2(r), 0);
}

WK_SYS_EXIT
int wk_renameat_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_two_paths(ctx, WARD_EV_RENAME, (int)WK_ARG1(r), (void *)WK_ARG2(r),
			    (int)WK_ARG3(r), (void *)WK_ARG4(r), 0);
}

WK_SYS_EXIT
int wk_renameat2_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_two_paths(ctx, WARD_EV_RENAME, (int)WK_ARG1(r), (void *)WK_ARG2(r),
			    (int)WK_ARG3(r), (void *)WK_ARG4(r), WK_ARG5(r));
}

WK_SYS_EXIT
int wk_link_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_two_paths(ctx, WARD_EV_LINK, AT_FDCWD, (void *)WK_ARG1(r), AT_FDCWD,
			    (void *)WK_ARG2(r), 0);
}

WK_SYS_EXIT
int wk_linkat_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_two_paths(ctx, WARD_EV_LINK, (int)WK_ARG1(r), (void *)WK_ARG2(r),
			    (int)WK_ARG3(r), (void *)WK_ARG4(r), WK_ARG5(r));
}

/* symlink(target, linkpath): str0 = linkpath (the new file), str1 = target */
WK_SYS_EXIT
int wk_symlink_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_two_paths(ctx, WARD_EV_SYMLINK, AT_FDCWD, (void *)WK_ARG2(r), AT_FDCWD,
			    (void *)WK_ARG1(r), 0);
}

/* symlinkat(target, newdirfd, linkpath) */
WK_SYS_EXIT
int wk_symlinkat_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	/* the target is stored as is, never resolved: no dirfd for str1 */
	return do_two_paths(ctx, WARD_EV_SYMLINK, (int)WK_ARG2(r), (void *)WK_ARG3(r), AT_FDCWD,
			    (void *)WK_ARG1(r), 0);
}

/* ---- chmod, chown, truncate: a path or a descriptor ---- */

/* Fill the path of a call that names a file by @upath (relative to @dirfd)
 * or, when @upath is NULL, by descriptor @fd. */
static __always_inline void file_target(__u8 *ev, struct wk_file *p, int dirfd,
					const char *upath, int fd)
{
	if (upath) {
		file_path_at(ev, p, dirfd, upath);
	} else {
		p->fd = fd;
		wk_fd_path(ev, 0, fd);
	}
}

static __always_inline int do_chmod(WK_CTX *ctx, int dirfd,
				    const char *upath, int fd, __u32 mode, __u32 flags)
{
	struct wk_file *p;
	__u8 *ev = file_begin(ctx, WARD_EV_CHMOD, &p);
	if (!ev)
		return 0;
	p->mode = mode;
	p->flags = flags;
	file_target(ev, p, dirfd, upath, fd);
	wk_submit(ev);
	return 0;
}

WK_SYS_EXIT
int wk_chmod_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_chmod(ctx, AT_FDCWD, (void *)WK_ARG1(r), -1, WK_ARG2(r), 0);
}

WK_SYS_EXIT
int wk_fchmod_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_chmod(ctx, AT_FDCWD, NULL, (int)WK_ARG1(r), WK_ARG2(r), 0);
}

/* fchmodat(dirfd, path, mode) and fchmodat2(dirfd, path, mode, flags) */
WK_SYS_EXIT
int wk_fchmodat_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	__u32 flags = WK_NR(r) == 452 ? WK_ARG4(r) : 0;
	return do_chmod(ctx, (int)WK_ARG1(r), (void *)WK_ARG2(r), -1, WK_ARG3(r), flags);
}

static __always_inline int do_chown(WK_CTX *ctx, int dirfd,
				    const char *upath, int fd, int uid, int gid, __u32 flags)
{
	struct wk_file *p;
	__u8 *ev = file_begin(ctx, WARD_EV_CHOWN, &p);
	if (!ev)
		return 0;
	p->owner_uid = uid;
	p->owner_gid = gid;
	p->flags = flags;
	file_target(ev, p, dirfd, upath, fd);
	wk_submit(ev);
	return 0;
}

/* chown(path, uid, gid) and lchown (flags says AT_SYMLINK_NOFOLLOW) */
WK_SYS_EXIT
int wk_chown_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_chown(ctx, AT_FDCWD, (void *)WK_ARG1(r), -1, WK_ARG2(r), WK_ARG3(r), 0);
}

WK_SYS_EXIT
int wk_lchown_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_chown(ctx, AT_FDCWD, (void *)WK_ARG1(r), -1, WK_ARG2(r), WK_ARG3(r), 0x100);
}

WK_SYS_EXIT
int wk_fchown_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_chown(ctx, AT_FDCWD, NULL, (int)WK_ARG1(r), WK_ARG2(r), WK_ARG3(r), 0);
}

WK_SYS_EXIT
int wk_fchownat_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_chown(ctx, (int)WK_ARG1(r), (void *)WK_ARG2(r), -1, WK_ARG3(r), WK_ARG4(r),
			WK_ARG5(r));
}

static __always_inline int do_truncate(WK_CTX *ctx, const char *upath,
				       int fd, long length)
{
	struct wk_file *p;
	__u8 *ev = file_begin(ctx, WARD_EV_TRUNCATE, &p);
	if (!ev)
		return 0;
	p->arg = length;
	file_target(ev, p, AT_FDCWD, upath, fd);
	wk_submit(ev);
	return 0;
}

WK_SYS_EXIT
int wk_truncate_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_truncate(ctx, (void *)WK_ARG1(r), -1, WK_ARG2(r));
}

WK_SYS_EXIT
int wk_ftruncate_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_truncate(ctx, NULL, (int)WK_ARG1(r), WK_ARG2(r));
}

/* ---- chdir / fchdir: keep wardd's idea of the cwd current (internal event) ---- */
WK_SYS_EXIT
int wk_chdir_exit(WK_CTX *ctx)
{
	if (WK_RET(ctx) != 0)
		return 0;
	__u8 *ev = wk_begin_lifecycle(WK_CWD);
	if (!ev)
		return 0;
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct fs_struct *fs = BPF_CORE_READ(t, fs);
	wk_path_str(ev, 0, BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt));
	wk_submit(ev);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
