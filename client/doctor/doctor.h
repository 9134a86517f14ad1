/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "util.h"

/* The checks of `sriovctl doctor`: everything on a host that decides whether SR-IOV passthrough
 * works. They read /sys, /proc, /etc and /lib below a root directory (so that tests run them on
 * fixture trees) and never change anything. */

typedef enum DoctorStatus {
        DOCTOR_OK,
        DOCTOR_INFO, /* worth knowing, never a problem ("sriovd is not running") */
        DOCTOR_SKIP, /* could not be checked here, or does not apply */
        DOCTOR_WARN, /* works, but should be changed; has a fix */
        DOCTOR_FAIL, /* SR-IOV passthrough does not work, or tools fight; has a fix */
        _DOCTOR_STATUS_MAX,
        _DOCTOR_STATUS_INVALID = -EINVAL,
} DoctorStatus;

const char *doctor_status_to_string(DoctorStatus s);
DoctorStatus doctor_status_from_string(const char *s);

typedef enum DoctorSection {
        DOCTOR_SECTION_HOST,
        DOCTOR_SECTION_PF,
        DOCTOR_SECTION_DAEMON,
} DoctorSection;

typedef struct DoctorResult {
        DoctorSection section;
        char *check; /* stable identifier: "iommu", "kernel-cmdline", "conflict", ... */
        char *device; /* the PF's PCI address, NULL for the host */
        DoctorStatus status;
        char *summary; /* one line */
        char *fix; /* what to do, possibly several lines; set for warn and fail only */
} DoctorResult;

typedef struct DoctorDevice {
        char *address;
        char *description; /* "enp1s0, igb" */
} DoctorDevice;

typedef struct Doctor {
        char *root; /* NULL: the real root */
        char *kernel_release;

        DoctorResult *results;
        size_t n_results;
        DoctorDevice *devices;
        size_t n_devices;
} Doctor;

/* root: NULL or "/" for the running host, else a directory holding sys/, proc/, etc/, lib/.
 * kernel_release: NULL for uname -r. */
int doctor_new(const char *root, const char *kernel_release, Doctor **ret);
Doctor *doctor_free(Doctor *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Doctor *, doctor_free);

/* Runs every check that reads the host's files. -ENOMEM is the only error; what cannot be read
 * becomes a result. */
int doctor_check_host(Doctor *d);

/* Asks sriovd about the PFs it manages. bus NULL (no system bus) or io.sriovd not on the bus is
 * reported as information, not as a failure. */
int doctor_check_daemon(Doctor *d, sd_bus *bus);

size_t doctor_count(const Doctor *d, DoctorStatus s);

/* Human output grouped by host, PF and daemon; utf8 picks the status symbols. */
int doctor_print(const Doctor *d, FILE *f, bool utf8, bool legend);
/* [{"check": ..., "device": ... or null, "status": ..., "summary": ..., "fix": ... or null}, ...] */
int doctor_print_json(const Doctor *d, FILE *f);
