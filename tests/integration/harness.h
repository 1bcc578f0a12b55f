/* SPDX-License-Identifier: Apache-2.0 */
/*
 * harness.h — integration tests on the real kernel.  The harness starts a
 * private wardd (own runtime directory, scoped with --cgroup to a fresh test
 * cgroup v2 directory so the sensors report nothing else), connects one
 * libward client subscribed to every type, and runs each test's actions in a
 * child process that first moves itself into the test cgroup.
 *
 * wardd is also told to mute "<test cgroup>/muted" (run_child_muted).
 *
 * Safety: every wait has a timeout; at exit and after a failed assertion
 * wardd is stopped (SIGTERM, then SIGKILL), leftover children killed and
 * the cgroups removed; on a fatal signal wardd is sent SIGTERM (it detaches
 * everything itself); an alarm bounds the whole run.  scripts/run_tests.py
 * runs each test in its own process group and kills the group on a timeout.
 */
#ifndef WARD_TEST_HARNESS_H
#define WARD_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ward/ward.h>

#define EVENT_TIMEOUT_MS 5000

/* A copied event (the ring's copy is released as the test reads on). */
struct tev {
	const ward_event *ev; /* points into this allocation */
};

/* Before harness_start(): run in a private mount namespace with a tmpfs at
 * harness_auth_dir(), and start wardd with --auth-fs on it. */
void harness_use_auth_mount(void);
const char *harness_auth_dir(void);
/* Before harness_start(): one more wardd option (up to 16; a later one
 * overrides an earlier one, and the harness's own come first). */
void harness_wardd_option(const char *opt);
/* Forget the options harness_wardd_option() added (between two starts). */
void harness_clear_options(void);

/* Start wardd and the client.  Returns 0 or -1 (with a message on stderr). */
int harness_start(void);
void harness_stop(void);
/* The same as cmocka group setup and teardown. */
int harness_group_setup(void **state);
int harness_group_teardown(void **state);
/* SIGKILL wardd (the harness's client goes too); its pins and journal
 * stay.  0 or -1. */
int harness_kill_wardd(void);
/* Start wardd again with the same options and reconnect the harness's
 * client (subscribed to every type).  0 or -1. */
int harness_restart_wardd(void);
/* Path of wardd's log (its stderr). */
const char *harness_wardd_log(void);
const char *harness_runtime_dir(void);
const char *harness_cgroup_dir(void);
pid_t harness_wardd_pid(void);
ward_client *harness_client(void);

/* Run @fn(@arg) in a child inside the test cgroup; the child exits with
 * fn's return value.  Waits (bounded) for it.  Returns the child's pid and
 * stores its wait status in *status (may be NULL); -1 on failure. */
pid_t run_child(int (*fn)(void *), void *arg, int *status);

/* As run_child, without waiting: returns the child's pid (or -1); collect
 * it with wait_child (bounded wait; kills it after 20 s). */
pid_t start_child(int (*fn)(void *), void *arg);
int wait_child(pid_t pid, int *status);

/* As run_child, in a child cgroup of the test cgroup that wardd was started
 * with --mute-cgroup for: the kernel must drop all of its events. */
pid_t run_child_muted(int (*fn)(void *), void *arg, int *status);

/* Wait for the next event of @type whose process pid is @pid (0: any) and,
 * if @path is not NULL, whose WARD_F_PATH equals it.  Events that do not
 * match are kept for later calls.  Returns a copy the caller frees with
 * free(), or NULL after EVENT_TIMEOUT_MS. */
const ward_event *expect_event(uint32_t type, pid_t pid, const char *path);
/* How many received, not yet taken events match (does not wait). */
int kept_count(uint32_t type, pid_t pid);
/* Forget every event received so far. */
void drain_events(void);

/* Field helpers that fail the current test when the field is missing. */
uint64_t ev_u64(const ward_event *ev, uint32_t f);
int64_t ev_i64(const ward_event *ev, uint32_t f);
const char *ev_str(const ward_event *ev, uint32_t f);
int ev_has(const ward_event *ev, uint32_t f);

/* Create (or empty) the file @path; fails the test if it cannot. */
void touch(const char *path);
/* The event's argv is exactly @want (@size bytes, NULs included). */
void assert_argv(const ward_event *ev, const char *want, size_t size);

/* A fresh directory for a test's files (removed at harness_stop). */
const char *test_dir(void);

#endif
