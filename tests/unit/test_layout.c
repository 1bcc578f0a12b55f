/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_layout.c — the structs in bpf/events.h cross from the BPF programs to
 * wardd.  This test reads their layout as clang compiled it for BPF (the BTF
 * inside the built objects) and checks every size and member offset against
 * what the host compiler made of the same header.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <bpf/btf.h>
#include <cmocka.h>

#include "events.h"

struct member {
	const char *type, *name;
	size_t offset, size;
};

#define M(s, f) {#s, #f, offsetof(struct s, f), sizeof(((struct s *)0)->f)}

static const struct member members[] = {
	M(wk_hdr, type), M(wk_hdr, size), M(wk_hdr, str_len), M(wk_hdr, str_rev),
	M(wk_hdr, ktime), M(wk_hdr, cgroup_id), M(wk_hdr, start_time), M(wk_hdr, pid),
	M(wk_hdr, tid), M(wk_hdr, ppid), M(wk_hdr, uid), M(wk_hdr, gid), M(wk_hdr, euid),
	M(wk_hdr, egid), M(wk_hdr, comm),
	M(wk_fork, child_pid), M(wk_fork, child_tid), M(wk_fork, child_start_time),
	M(wk_exec, old_pid), M(wk_exec, argv_truncated), M(wk_exec, dev), M(wk_exec, ino),
	M(wk_exec, size), M(wk_exec, mtime_ns), M(wk_exec, ctime_ns),
	M(wk_exit, status),
	M(wk_file, result), M(wk_file, arg), M(wk_file, owner_uid), M(wk_file, owner_gid),
	M(wk_file, flags), M(wk_file, mode), M(wk_file, fd), M(wk_file, dirfd), M(wk_file, syscall),
	M(wk_net, result), M(wk_net, fd), M(wk_net, family), M(wk_net, sock_type),
	M(wk_net, protocol), M(wk_net, local_port), M(wk_net, remote_port), M(wk_net, backlog),
	M(wk_net, local_addr), M(wk_net, remote_addr),
	M(wk_cred, result), M(wk_cred, syscall), M(wk_cred, target_pid), M(wk_cred, have_old),
	M(wk_cred, old_uid),
	M(wk_cred, old_gid), M(wk_cred, old_euid), M(wk_cred, old_egid), M(wk_cred, old_suid),
	M(wk_cred, new_uid), M(wk_cred, new_gid), M(wk_cred, new_euid), M(wk_cred, new_egid),
	M(wk_cred, new_suid), M(wk_cred, old_cap_eff), M(wk_cred, old_cap_prm),
	M(wk_cred, cap_eff), M(wk_cred, cap_prm), M(wk_cred, cap_inh),
	M(wk_target, result), M(wk_target, request), M(wk_target, pid), M(wk_target, tid),
	M(wk_target, sig), M(wk_target, syscall),
	M(wk_sys, result), M(wk_sys, flags), M(wk_sys, fd), M(wk_sys, cmd), M(wk_sys, prog_type),
	M(wk_sys, attach_type), M(wk_sys, insn_cnt), M(wk_sys, syscall),
};

static const struct {
	const char *name;
	size_t size;
	int kind;
} types[] = {
	{"wk_hdr", sizeof(struct wk_hdr), BTF_KIND_STRUCT},
	{"wk_fork", sizeof(struct wk_fork), BTF_KIND_STRUCT},
	{"wk_exec", sizeof(struct wk_exec), BTF_KIND_STRUCT},
	{"wk_exit", sizeof(struct wk_exit), BTF_KIND_STRUCT},
	{"wk_file", sizeof(struct wk_file), BTF_KIND_STRUCT},
	{"wk_net", sizeof(struct wk_net), BTF_KIND_STRUCT},
	{"wk_cred", sizeof(struct wk_cred), BTF_KIND_STRUCT},
	{"wk_target", sizeof(struct wk_target), BTF_KIND_STRUCT},
	{"wk_sys", sizeof(struct wk_sys), BTF_KIND_STRUCT},
	{"wk_payload", sizeof(union wk_payload), BTF_KIND_UNION},
};

static const char *const objects[] = {"layout"};

/* The type @name as BTF describes it in some sensor object, or NULL. */
static const struct btf_type *find(const char *name, int kind, struct btf **owner)
{
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s.bpf.o", BPF_OBJ_DIR, objects[i]);
		struct btf *btf = btf__parse_elf(path, NULL);
		assert_non_null(btf);
		int id = btf__find_by_name_kind(btf, name, kind);
		if (id > 0) {
			*owner = btf;
			return btf__type_by_id(btf, id);
		}
		btf__free(btf);
	}
	return NULL;
}

static void test_sizes_and_offsets(void **state)
{
	int checked_members = 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct btf *btf = NULL;
		const struct btf_type *t = find(types[i].name, types[i].kind, &btf);
		if (!t)
			fail_msg("%s is in no sensor object's BTF", types[i].name);
		if (t->size != types[i].size)
			fail_msg("%s: BPF size %u, host size %zu", types[i].name, t->size, types[i].size);
		const struct btf_member *m = btf_members(t);
		for (int k = 0; k < btf_vlen(t); k++, m++) {
			const char *mname = btf__name_by_offset(btf, m->name_off);
			for (size_t j = 0; j < sizeof(members) / sizeof(members[0]); j++) {
				if (strcmp(members[j].type, types[i].name) || strcmp(members[j].name, mname))
					continue;
				size_t bpf_off = btf_member_bit_offset(t, (uint32_t)k) / 8;
				if (bpf_off != members[j].offset)
					fail_msg("%s.%s: BPF offset %zu, host offset %zu", types[i].name, mname,
						 bpf_off, members[j].offset);
				checked_members++;
			}
		}
		btf__free(btf);
	}
	/* every member in the table was found in BTF */
	assert_int_equal(checked_members, sizeof(members) / sizeof(members[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_sizes_and_offsets)};
	return cmocka_run_group_tests_name("layout", tests, NULL, NULL);
}
