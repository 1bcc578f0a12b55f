/* SPDX-License-Identifier: Apache-2.0 */
/*
 * names.c — the tables that give event types and fields their names and
 * kinds.  These names are the JSON keys of `ward events` and the words of
 * docs/events.md; like the numbers, they are never changed once published.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <ward/ward.h>
#include "names.h"

size_t ward_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;
	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	if (c < 0xe0) {
		len = 2;
	} else if (c < 0xf0) {
		len = 3;
		lo = c == 0xe0 ? 0xa0 : lo; /* overlong */
		hi = c == 0xed ? 0x9f : hi; /* surrogates */
	} else {
		len = 4;
		lo = c == 0xf0 ? 0x90 : lo; /* overlong */
		hi = c == 0xf4 ? 0x8f : hi; /* beyond U+10FFFF */
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

enum ward_dec ward_dec_parse(const char *s, size_t len, uint64_t *out)
{
	if (len == 0)
		return WARD_DEC_NOT_NUMBER;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return WARD_DEC_NOT_NUMBER;
	if (len > 1 && s[0] == '0')
		return WARD_DEC_LEADING_ZERO;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (v > (uint64_t)INT64_MAX / 10)
			return WARD_DEC_TOO_LARGE;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > (uint64_t)INT64_MAX)
			return WARD_DEC_TOO_LARGE;
	}
	*out = v;
	return WARD_DEC_OK;
}

bool ward_name_valid(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

static const char *const type_names[WARD_EV_MAX_] = {
	[WARD_EV_FORK] = "fork",
	[WARD_EV_EXEC] = "exec",
	[WARD_EV_EXIT] = "exit",
	[WARD_EV_OPEN] = "open",
	[WARD_EV_CREATE] = "create",
	[WARD_EV_UNLINK] = "unlink",
	[WARD_EV_RENAME] = "rename",
	[WARD_EV_CHMOD] = "chmod",
	[WARD_EV_CHOWN] = "chown",
	[WARD_EV_TRUNCATE] = "truncate",
	[WARD_EV_LINK] = "link",
	[WARD_EV_SYMLINK] = "symlink",
	[WARD_EV_CONNECT] = "connect",
	[WARD_EV_BIND] = "bind",
	[WARD_EV_LISTEN] = "listen",
	[WARD_EV_ACCEPT] = "accept",
	[WARD_EV_SETUID] = "setuid",
	[WARD_EV_CAPSET] = "capset",
	[WARD_EV_PTRACE] = "ptrace",
	[WARD_EV_SIGNAL] = "signal",
	[WARD_EV_MODULE_LOAD] = "module_load",
	[WARD_EV_BPF] = "bpf",
	[WARD_EV_MOUNT] = "mount",
	[WARD_EV_UMOUNT] = "umount",
	[WARD_EV_MEMFD_CREATE] = "memfd_create",
	[WARD_EV_AUTH_EXEC] = "auth_exec",
	[WARD_EV_AUTH_OPEN] = "auth_open",
	[WARD_EV_AUTH_CONNECT] = "auth_connect",
	[WARD_EV_AUTH_BIND] = "auth_bind",
	[WARD_EV_CLIENT_STATE] = "client_state",
	[WARD_EV_TAMPER] = "tamper",
	[WARD_EV_CONTENT] = "content",
};

struct field_info {
	const char *name;
	int kind;
};

static const struct field_info fields[WARD_F_MAX_] = {
	[WARD_F_PID] = {"pid", WARD_KIND_U64},
	[WARD_F_PPID] = {"ppid", WARD_KIND_U64},
	[WARD_F_UID] = {"uid", WARD_KIND_U64},
	[WARD_F_GID] = {"gid", WARD_KIND_U64},
	[WARD_F_EUID] = {"euid", WARD_KIND_U64},
	[WARD_F_EGID] = {"egid", WARD_KIND_U64},
	[WARD_F_COMM] = {"comm", WARD_KIND_STR},
	[WARD_F_EXE] = {"exe", WARD_KIND_STR},
	[WARD_F_ARGV] = {"argv", WARD_KIND_STRV},
	[WARD_F_CWD] = {"cwd", WARD_KIND_STR},
	[WARD_F_START_TIME] = {"start_time", WARD_KIND_U64},
	[WARD_F_CGROUP_ID] = {"cgroup_id", WARD_KIND_U64},
	[WARD_F_CONTAINER_ID] = {"container_id", WARD_KIND_STR},
	[WARD_F_TID] = {"tid", WARD_KIND_U64},
	[WARD_F_RESULT] = {"result", WARD_KIND_I64},
	[WARD_F_PATH] = {"path", WARD_KIND_STR},
	[WARD_F_NEW_PATH] = {"new_path", WARD_KIND_STR},
	[WARD_F_LINK_TARGET] = {"target", WARD_KIND_STR},
	[WARD_F_FLAGS] = {"flags", WARD_KIND_U64},
	[WARD_F_MODE] = {"mode", WARD_KIND_U64},
	[WARD_F_OWNER_UID] = {"uid", WARD_KIND_I64},
	[WARD_F_OWNER_GID] = {"gid", WARD_KIND_I64},
	[WARD_F_LENGTH] = {"length", WARD_KIND_I64},
	[WARD_F_FD] = {"fd", WARD_KIND_I64},
	[WARD_F_FAMILY] = {"family", WARD_KIND_U64},
	[WARD_F_PROTOCOL] = {"protocol", WARD_KIND_U64},
	[WARD_F_SOCK_TYPE] = {"sock_type", WARD_KIND_U64},
	[WARD_F_LOCAL_ADDR] = {"local_addr", WARD_KIND_STR},
	[WARD_F_LOCAL_PORT] = {"local_port", WARD_KIND_U64},
	[WARD_F_REMOTE_ADDR] = {"remote_addr", WARD_KIND_STR},
	[WARD_F_REMOTE_PORT] = {"remote_port", WARD_KIND_U64},
	[WARD_F_BACKLOG] = {"backlog", WARD_KIND_U64},
	[WARD_F_TARGET_PID] = {"pid", WARD_KIND_I64},
	[WARD_F_TARGET_TID] = {"tid", WARD_KIND_I64},
	[WARD_F_SIGNAL] = {"signal", WARD_KIND_U64},
	[WARD_F_REQUEST] = {"request", WARD_KIND_U64},
	[WARD_F_OLD_UID] = {"old_uid", WARD_KIND_U64},
	[WARD_F_OLD_GID] = {"old_gid", WARD_KIND_U64},
	[WARD_F_OLD_EUID] = {"old_euid", WARD_KIND_U64},
	[WARD_F_OLD_EGID] = {"old_egid", WARD_KIND_U64},
	[WARD_F_NEW_UID] = {"new_uid", WARD_KIND_U64},
	[WARD_F_NEW_GID] = {"new_gid", WARD_KIND_U64},
	[WARD_F_NEW_EUID] = {"new_euid", WARD_KIND_U64},
	[WARD_F_NEW_EGID] = {"new_egid", WARD_KIND_U64},
	[WARD_F_SYSCALL] = {"syscall", WARD_KIND_STR},
	[WARD_F_CAP_EFFECTIVE] = {"effective", WARD_KIND_U64},
	[WARD_F_CAP_PERMITTED] = {"permitted", WARD_KIND_U64},
	[WARD_F_CAP_INHERITABLE] = {"inheritable", WARD_KIND_U64},
	[WARD_F_OLD_CAP_EFFECTIVE] = {"old_effective", WARD_KIND_U64},
	[WARD_F_OLD_CAP_PERMITTED] = {"old_permitted", WARD_KIND_U64},
	[WARD_F_NAME] = {"name", WARD_KIND_STR},
	[WARD_F_ARGS] = {"args", WARD_KIND_STR},
	[WARD_F_BPF_CMD] = {"cmd", WARD_KIND_U64},
	[WARD_F_PROG_TYPE] = {"prog_type", WARD_KIND_U64},
	[WARD_F_ATTACH_TYPE] = {"attach_type", WARD_KIND_U64},
	[WARD_F_INSN_COUNT] = {"insn_count", WARD_KIND_U64},
	[WARD_F_SOURCE] = {"source", WARD_KIND_STR},
	[WARD_F_FSTYPE] = {"fstype", WARD_KIND_STR},
	[WARD_F_CHILD_PID] = {"pid", WARD_KIND_U64},
	[WARD_F_EXIT_CODE] = {"code", WARD_KIND_U64},
	[WARD_F_EXIT_SIGNAL] = {"signal", WARD_KIND_U64},
	[WARD_F_CORE_DUMPED] = {"core_dumped", WARD_KIND_U64},
	[WARD_F_FILENAME] = {"filename", WARD_KIND_STR},
	[WARD_F_TARGET_COMM] = {"comm", WARD_KIND_STR},
	[WARD_F_OLD_SUID] = {"old_suid", WARD_KIND_U64},
	[WARD_F_NEW_SUID] = {"new_suid", WARD_KIND_U64},
	[WARD_F_ARGV_TRUNCATED] = {"argv_truncated", WARD_KIND_U64},
	[WARD_F_AUTH_ID] = {"auth_id", WARD_KIND_U64},
	[WARD_F_DEADLINE] = {"deadline", WARD_KIND_U64},
	[WARD_F_VERDICT] = {"verdict", WARD_KIND_U64},
	[WARD_F_DECIDED_BY] = {"decided_by", WARD_KIND_STR},
	[WARD_F_REASON] = {"reason", WARD_KIND_STR},
	[WARD_F_LATENCY_NS] = {"latency_ns", WARD_KIND_U64},
	[WARD_F_SHA256] = {"sha256", WARD_KIND_STR},
	[WARD_F_RULE_ID] = {"rule_id", WARD_KIND_U64},
	[WARD_F_RULE_CLIENT] = {"rule_client", WARD_KIND_STR},
	[WARD_F_DEV] = {"dev", WARD_KIND_U64},
	[WARD_F_INO] = {"ino", WARD_KIND_U64},
	[WARD_F_STATE] = {"state", WARD_KIND_STR},
	[WARD_F_RESTARTS] = {"restarts", WARD_KIND_U64},
	[WARD_F_PREVENTED] = {"prevented", WARD_KIND_U64},
	[WARD_F_VERSION] = {"version", WARD_KIND_U64},
	[WARD_F_FROM_VERSION] = {"from_version", WARD_KIND_U64},
	[WARD_F_CHANNEL] = {"channel", WARD_KIND_STR},
};

const char *ward_event_type_name(uint32_t type)
{
	return type < WARD_EV_MAX_ ? type_names[type] : NULL;
}

uint32_t ward_event_type_from_name(const char *name)
{
	if (!name)
		return WARD_EV_INVALID;
	for (uint32_t t = 1; t < WARD_EV_MAX_; t++)
		if (type_names[t] && strcmp(type_names[t], name) == 0)
			return t;
	return WARD_EV_INVALID;
}

const char *ward_field_name(uint32_t f)
{
	return f < WARD_F_MAX_ ? fields[f].name : NULL;
}

int ward_field_kind(uint32_t f)
{
	return f < WARD_F_MAX_ && fields[f].name ? fields[f].kind : WARD_KIND_NONE;
}

int ward_field_is_process(uint32_t f)
{
	return f >= WARD_F_PID && f <= WARD_F_TID;
}

const char *ward_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0: return "success";
	case ENOENT: return "wardd is not running (no socket in the runtime directory)";
	case ECONNREFUSED: return "wardd is not accepting connections";
	case EPROTO: return "protocol error between libward and wardd";
	case EPIPE: return "wardd closed the connection";
	case EINVAL: return "invalid argument";
	case EPERM: case EACCES: return "not permitted";
	case ENOMEM: return "out of memory";
	case ETIMEDOUT: return "timed out";
	default: return strerror(err);
	}
}
