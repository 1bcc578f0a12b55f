// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * layout.bpf.c — never loaded.  One global of every struct that crosses to
 * user space, so that their layout as compiled for BPF is in this object's
 * BTF, where tests/unit/test_layout.c compares it with the host's.
 */
#include "common.bpf.h"

struct wk_hdr wk_layout_hdr;
union wk_payload wk_layout_payload;
struct wk_fork wk_layout_fork;
struct wk_exec wk_layout_exec;
struct wk_exit wk_layout_exit;
struct wk_file wk_layout_file;
struct wk_net wk_layout_net;
struct wk_cred wk_layout_cred;
struct wk_target wk_layout_target;
struct wk_sys wk_layout_sys;

char LICENSE[] SEC("license") = "Dual BSD/GPL";
