/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every bus name, object path, sysfs attribute, environment variable and journal field sriovd uses. */

#define SRIOVD_BUS_NAME "io.sriovd"
#define SRIOVD_MANAGER_PATH "/io/sriovd"
#define SRIOVD_PF_PREFIX "/io/sriovd/pf"
#define SRIOVD_LEASE_PREFIX "/io/sriovd/lease"
#define SRIOVD_MANAGER_INTERFACE "io.sriovd1.Manager"
#define SRIOVD_PF_INTERFACE "io.sriovd1.PhysicalFunction"
#define SRIOVD_VF_INTERFACE "io.sriovd1.VirtualFunction"
#define SRIOVD_LEASE_INTERFACE "io.sriovd1.Lease"

/* SetNumVFs() and SetPolicy() flags */
#define SRIOVD_FLAG_RUNTIME UINT64_C(0x1)
#define SRIOVD_FLAG_FORCE UINT64_C(0x2)
#define SRIOVD_FLAG_WAIT UINT64_C(0x4)
#define SRIOVD_NUMVFS_FLAGS_ALL (SRIOVD_FLAG_RUNTIME | SRIOVD_FLAG_FORCE | SRIOVD_FLAG_WAIT)
#define SRIOVD_POLICY_FLAGS_ALL (SRIOVD_FLAG_RUNTIME)
/* SetNumVFsWithOptions() options; how long lease holders get to release with the wait flag */
#define SRIOVD_OPTION_WAIT_USEC "WaitUSec"
#define SRIOVD_WAIT_USEC_DEFAULT (UINT64_C(60) * 1000000)
#define SRIOVD_WAIT_USEC_MAX (UINT64_C(3600) * 1000000)
#define SRIOVD_WAIT_SEC_MAX 3600

/* Default directories; each configuration directory holds pf.d/ */
#define SRIOVD_CONFIG_DIR_ETC "/etc/sriovd"
#define SRIOVD_CONFIG_DIR_RUN "/run/sriovd"
#define SRIOVD_CONFIG_DIR_LIB "/usr/lib/sriovd"
#define SRIOVD_CONFIG_SUBDIR "pf.d"
#define SRIOVD_CONFIG_SUFFIX ".conf"
#define SRIOVD_STATE_DIR "/var/lib/sriovd"
#define SRIOVD_RUNTIME_DIR "/run/sriovd"
#define SRIOVD_STORE_VERSION "1"
/* In the runtime directory: one empty file per VF (named by its PCI address) whose netdev is sriovd's;
 * udev/70-sriovd.rules marks such netdevs unmanaged for NetworkManager and systemd-networkd. */
#define SRIOVD_MANAGED_VF_SUBDIR "managed-vf"

/* sysfs, relative to a PCI device's directory */
#define SYSFS_PCI_DEVICES "/sys/bus/pci/devices"
#define SYSFS_SRIOV_TOTALVFS "sriov_totalvfs"
#define SYSFS_SRIOV_NUMVFS "sriov_numvfs"
#define SYSFS_SRIOV_DRIVERS_AUTOPROBE "sriov_drivers_autoprobe"
#define SYSFS_DRIVER_OVERRIDE "driver_override"
#define SYSFS_DRIVERS_PROBE "/sys/bus/pci/drivers_probe"
#define SYSFS_VIRTFN_PREFIX "virtfn"
#define SYSFS_PHYSFN "physfn"
#define SYSFS_IOMMU_GROUP "iommu_group"
#define SYSFS_DRIVER "driver"
#define SYSFS_NET "net"
#define SYSFS_UEVENT "uevent"
#define SYSFS_VENDOR "vendor"
#define SYSFS_DEVICE "device"

#define DRIVER_VFIO_PCI "vfio-pci"

/* Environment */
#define ENV_SRIOVD_READY_TIMEOUT_SEC "SRIOVD_READY_TIMEOUT_SEC"
#define ENV_SRIOVD_KERNEL_TIMEOUT_SEC "SRIOVD_KERNEL_TIMEOUT_SEC"
#define ENV_SRIOVD_UEVENT_BUFFER_BYTES "SRIOVD_UEVENT_BUFFER_BYTES"
#define ENV_SRIOVD_LOG_LEVEL "SRIOVD_LOG_LEVEL"
/* test builds only (SRIOVD_TEST_HOOKS): another diagnostics helper, another time limit for it */
#define ENV_SRIOVD_DOCTOR_HELPER "SRIOVD_DOCTOR_HELPER"
#define ENV_SRIOVD_DOCTOR_TIMEOUT_SEC "SRIOVD_DOCTOR_TIMEOUT_SEC"
/* test builds only: another wait between re-reads of every PF after lost uevents */
#define ENV_SRIOVD_RESYNC_INTERVAL_MSEC "SRIOVD_RESYNC_INTERVAL_MSEC"

/* The diagnostics helper, in LIBEXECDIR */
#define SRIOVD_DOCTOR_HELPER_NAME "sriovd-doctor"

/* Journal fields */
#define FIELD_PF "SRIOV_PF="
#define FIELD_VF "SRIOV_VF="
#define FIELD_INTERFACE "INTERFACE="
