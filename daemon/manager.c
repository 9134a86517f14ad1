/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include "build-config.h"
#include "bus-errors.h"
#include "lease.h"
#include "log.h"
#include "manager.h"
#include "names.h"
#include "netlink.h"
#include "pci.h"
#include "sysfs.h"
#include "udev.h"

/* How long start-up waits for the PFs present at boot before it reports READY=1 anyway; creating
 * 64 VFs takes about 20 s on a real NIC. */
#define READY_TIMEOUT_USEC_DEFAULT (90 * 1000000ULL)

static const char *const manager_state_table[_MANAGER_STATE_MAX] = {
        [MANAGER_STARTING] = "starting",
        [MANAGER_RUNNING] = "running",
        [MANAGER_DEGRADED] = "degraded",
};

DEFINE_STRING_TABLE_LOOKUP(manager_state, ManagerState);

Request *request_new(sd_bus_message *m, RequestDone done, void *userdata) {
        Request *r = calloc(1, sizeof *r);

        if (!r)
                return NULL;
        r->n_ref = 1;
        r->scope_vf = REQUEST_SCOPE_ALL;
        r->message = sd_bus_message_ref(m);
        r->done = done;
        r->userdata = userdata;
        return r;
}

Request *request_ref(Request *r) {
        if (r)
                r->n_ref++;
        return r;
}

Request *request_unref(Request *r) {
        if (!r || --r->n_ref > 0)
                return NULL;
        sd_bus_message_unref(r->message);
        free(r->error_message);
        free(r);
        return NULL;
}

void request_add(Request *r) {
        r->pending++;
}

static void request_finish(Request *r) {
        if (r->message) {
                if (r->error < 0)
                        (void) sd_bus_reply_method_errorf(r->message, sriovd_error_name_from_errno(r->error),
                                                          "%s", r->error_message ?: strerror(-r->error));
                else
                        (void) sd_bus_reply_method_return(r->message, NULL);
                r->message = sd_bus_message_unref(r->message);
        }
        if (r->done) {
                RequestDone done = r->done;
                r->done = NULL;
                done(r, r->error, r->error_message, r->userdata);
        }
}

void request_complete_one(Request *r, int error, const char *message) {
        if (error < 0) {
                if (r->error >= 0)
                        r->error = error;
                if (message) {
                        char *m = r->error_message ? strjoin(r->error_message, "; ", message)
                                                   : strdup(message);
                        if (m) {
                                free(r->error_message);
                                r->error_message = m;
                        }
                }
        }
        if (r->pending > 0)
                r->pending--;
        if (r->armed && r->pending == 0)
                request_finish(r);
}

void request_arm(Request *r) {
        r->armed = true;
        if (r->pending == 0)
                request_finish(r);
}

PhysicalFunction *manager_find_pf(Manager *m, const char *device) {
        char address[13];

        if (isempty(device))
                return NULL;
        if (pci_address_normalize(device, address) >= 0) {
                for (size_t i = 0; i < m->n_pfs; i++)
                        if (streq(m->pfs[i]->address, address))
                                return m->pfs[i];
                return NULL;
        }
        for (size_t i = 0; i < m->n_pfs; i++)
                if (streq_ptr(m->pfs[i]->interface, device))
                        return m->pfs[i];
        return NULL;
}

PhysicalFunction *manager_find_pf_by_path(Manager *m, const char *path) {
        for (size_t i = 0; i < m->n_pfs; i++)
                if (streq(m->pfs[i]->object_path, path))
                        return m->pfs[i];
        return NULL;
}

static PhysicalFunction *manager_find_pf_of_vf(Manager *m, const char *vf_address) {
        for (size_t i = 0; i < m->n_pfs; i++)
                for (size_t j = 0; j < m->pfs[i]->n_vfs; j++)
                        if (m->pfs[i]->vfs[j] && streq(m->pfs[i]->vfs[j]->address, vf_address))
                                return m->pfs[i];
        return NULL;
}

void manager_update_state(Manager *m) {
        ManagerState state = MANAGER_RUNNING;

        if (!m->ready)
                state = MANAGER_STARTING;
        else
                for (size_t i = 0; i < m->n_pfs; i++)
                        if (m->pfs[i]->state == PF_STATE_FAILED) {
                                state = MANAGER_DEGRADED;
                                break;
                        }
        if (state == m->state)
                return;
        m->state = state;
        if (m->bus)
                (void) sd_bus_emit_properties_changed(m->bus, SRIOVD_MANAGER_PATH, SRIOVD_MANAGER_INTERFACE,
                                                      "State", NULL);
}

void manager_assign_config(Manager *m, PhysicalFunction *pf) {
        _cleanup_free_ char *errors = NULL;
        PfMatchInfo info;

        pf_match_info(pf, &info);
        pf->config = m->config ? config_set_find(m->config, &info) : NULL;

        for (size_t i = 0; m->config && i < m->config->n_errors; i++) {
                const ConfigError *e = m->config->errors + i;
                char *s;

                if (!e->partial || !pf_config_matches(e->partial, &info))
                        continue;
                s = errors ? strjoin(errors, "; ", e->message) : strdup(e->message);
                if (!s)
                        break;
                free(errors);
                errors = s;
        }
        if (errors)
                log_pf(LOG_ERR, 0, pf, "Refused configuration meant for this PF: %s", errors);
        free(pf->config_error);
        pf->config_error = TAKE_PTR(errors);
}

static void manager_load_stored(Manager *m, PhysicalFunction *pf) {
        Store *stores[] = {m->store, m->runtime_store};
        PfConfig **targets[] = {&pf->persisted, &pf->runtime};

        for (size_t i = 0; i < ELEMENTSOF(stores); i++) {
                _cleanup_free_ char *error = NULL;
                PfConfig *c = NULL;
                int r;

                if (!stores[i])
                        continue;
                r = store_load_pf(stores[i], pf->address, &c, &error);
                if (r == -EBADMSG) {
                        /* the count stays as it is; a corrupt file never means 0 VFs */
                        log_pf(LOG_ERR, r, pf, "%s", strempty(error));
                        if (error) {
                                char *s = pf->config_error ? strjoin(pf->config_error, "; ", error)
                                                           : strdup(error);
                                if (s) {
                                        free(pf->config_error);
                                        pf->config_error = s;
                                }
                        }
                        continue;
                }
                if (r < 0) {
                        log_pf(LOG_ERR, r, pf, "Failed to load stored state, ignoring: %m");
                        continue;
                }
                pf_config_free(*targets[i]);
                *targets[i] = r > 0 ? c : NULL;
        }
}

static int manager_add_pf(Manager *m, struct udev_device *d, PhysicalFunction **ret) {
        _cleanup_(pf_freep) PhysicalFunction *pf = NULL;
        PhysicalFunction **a;
        int r;

        r = pf_new(m, udev_device_get_sysname(d), udev_device_get_syspath(d), &pf);
        if (r < 0)
                return log_error_errno(r, "Failed to create PF %s: %m", udev_device_get_sysname(d));

        a = reallocarray(m->pfs, m->n_pfs + 1, sizeof *a);
        if (!a)
                return log_oom();
        m->pfs = a;

        r = pf_refresh(pf);
        if (r < 0)
                return r;
        manager_load_stored(m, pf);
        manager_assign_config(m, pf);
        pf_update_desired(pf);
        pf->state = pf->desired_num_vfs < 0 && pf->config_error ? PF_STATE_FAILED : PF_STATE_UNMANAGED;
        free(pf->last_error);
        pf->last_error = pf->config_error ? strdup(pf->config_error) : NULL;

        m->pfs[m->n_pfs++] = pf;
        log_pf(LOG_INFO, 0, pf, "Found PF %s (%s %s, driver %s, %u of %u VFs), %s", pf->address,
               strempty(pf->vendor), strempty(pf->model), pf->driver ?: "none", pf->num_vfs, pf->total_vfs,
               pf->desired_num_vfs >= 0 ? "managed" : "unmanaged");

        if (m->bus) {
                (void) sd_bus_emit_object_added(m->bus, pf->object_path);
                for (size_t i = 0; i < pf->n_vfs; i++)
                        if (pf->vfs[i])
                                (void) sd_bus_emit_object_added(m->bus, pf->vfs[i]->object_path);
        }
        *ret = TAKE_PTR(pf);
        return 0;
}

static void manager_remove_pf(Manager *m, PhysicalFunction *pf) {
        log_pf(LOG_INFO, 0, pf, "PF %s removed", pf->address);

        if (m->bus) {
                for (size_t i = 0; i < pf->n_vfs; i++)
                        if (pf->vfs[i])
                                (void) sd_bus_emit_object_removed(m->bus, pf->vfs[i]->object_path);
                (void) sd_bus_emit_object_removed(m->bus, pf->object_path);
        }
        for (size_t i = 0; i < m->n_pfs; i++)
                if (m->pfs[i] == pf) {
                        memmove(m->pfs + i, m->pfs + i + 1, (m->n_pfs - i - 1) * sizeof *m->pfs);
                        m->n_pfs--;
                        break;
                }
        pf_free(pf);
        manager_update_state(m);
}

/* A VF appeared, went, or changed driver: a reset VF comes back with default settings, so a PF with
 * VF policy is applied again, once per burst. */
static void manager_vf_changed(Manager *m, PhysicalFunction *pf) {
        (void) pf_refresh(pf);
        pf_check_drift(pf);
        if (!pf->job && pf->state != PF_STATE_DRIFT && pf_has_vf_policy(pf))
                (void) pf_schedule_reconcile(pf, EVENT_COALESCE_USEC);
}

/* A uevent of the PF or of its netdev. A PF driver that was (re)loaded has no VFs: put them back. The
 * driver registers the PF's netdev (a "net" add uevent) before the PCI "bind" uevent is sent, so
 * whichever of the two refreshes the PF first must notice the new driver. */
static void manager_pf_changed(Manager *m, PhysicalFunction *pf) {
        _cleanup_free_ char *old_driver = pf->driver ? strdup(pf->driver) : NULL;

        (void) pf_refresh(pf);
        if (!streq_ptr(old_driver, pf->driver) && pf->driver && pf->desired_num_vfs >= 0) {
                log_pf(LOG_INFO, 0, pf, "Driver %s bound, enforcing", pf->driver);
                /* a new driver is worth another try of a count the old one refused */
                pf->count_failed = false;
                (void) pf_schedule_reconcile(pf, 0);
        } else
                pf_check_drift(pf);
}

/* Coldplug (action NULL) and every uevent go through here. */
static void manager_handle_device(struct udev_device *d, const char *action, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *physfn = NULL;
        PhysicalFunction *pf;
        const char *subsystem = udev_device_get_subsystem(d), *sysname;
        int r;

        if (streq_ptr(subsystem, "net")) {
                /* interface names of PFs and VFs follow their netdevs */
                struct udev_device *parent = udev_device_pci_parent(d);
                const char *name = parent ? udev_device_get_sysname(parent) : NULL;

                if (!name)
                        return;
                pf = manager_find_pf(m, name);
                if (pf) {
                        manager_pf_changed(m, pf);
                        return;
                }
                pf = manager_find_pf_of_vf(m, name);
                if (pf) {
                        /* a VF's netdev going away may be the first sign that its VF went */
                        (void) pf_refresh(pf);
                        pf_check_drift(pf);
                }
                return;
        }
        if (!streq_ptr(subsystem, "pci"))
                return;

        sysname = udev_device_get_sysname(d);
        pf = manager_find_pf(m, sysname);

        if (streq_ptr(action, "remove")) {
                if (pf) {
                        manager_remove_pf(m, pf);
                        return;
                }
                pf = manager_find_pf_of_vf(m, sysname);
                if (pf)
                        manager_vf_changed(m, pf);
                return;
        }

        if (!pf && sysfs_attr_exists(udev_device_get_syspath(d), SYSFS_SRIOV_TOTALVFS)) {
                r = manager_add_pf(m, d, &pf);
                if (r < 0)
                        return;
                /* on coldplug the start-up request reconciles every PF at once */
                if (action)
                        (void) pf_schedule_reconcile(pf, 0);
                return;
        }
        if (pf) {
                manager_pf_changed(m, pf);
                return;
        }

        /* a VF: its PF's count or its own driver changed */
        if (sysfs_read_link_name(udev_device_get_syspath(d), SYSFS_PHYSFN, &physfn) >= 0) {
                pf = manager_find_pf(m, physfn);
                if (pf)
                        manager_vf_changed(m, pf);
        }
}

static int monitor_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;

        for (;;) {
                struct udev_device *d = udev_monitor_receive_device(m->monitor);
                if (!d)
                        break;
                log_debug("uevent %s %s", strempty(udev_device_get_action(d)), udev_device_get_syspath(d));
                manager_handle_device(d, udev_device_get_action(d), m);
                udev_device_unref(d);
        }
        return 0;
}

static void link_changed(const char *ifname, void *userdata) {
        PhysicalFunction *pf = manager_find_pf(userdata, ifname);

        /* only PFs carry VF settings; their notification says something changed, not what */
        if (pf)
                (void) pf_schedule_readback(pf);
}

static int link_monitor_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        int r;

        r = netlink_monitor_dispatch(m->link_monitor);
        if (r < 0) {
                /* notifications were lost (the socket overran): read every PF back */
                log_warning_errno(r, "Failed to read link notifications, reading every PF back: %m");
                for (size_t i = 0; i < m->n_pfs; i++)
                        (void) pf_schedule_readback(m->pfs[i]);
        }
        return 0;
}

bool manager_udev_settled(Manager *m) {
        return !m->udev_queue || udev_queue_get_queue_is_empty(m->udev_queue) != 0;
}

/* PFs that start-up left waiting for a driver are failed once udev is idle, or start-up is over. */
static void manager_stop_waiting_for_drivers(Manager *m) {
        for (size_t i = 0; i < m->n_pfs; i++) {
                PhysicalFunction *pf = m->pfs[i];

                if (!pf->job && !pf->driver && pf->state == PF_STATE_CONVERGING)
                        (void) pf_schedule_reconcile(pf, 0);
        }
}

static int udev_queue_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;

        (void) udev_queue_flush(m->udev_queue);
        if (!manager_udev_settled(m))
                return 0;
        m->udev_queue_source = sd_event_source_disable_unref(m->udev_queue_source);
        manager_stop_waiting_for_drivers(m);
        return 0;
}

static void manager_watch_udev_queue(Manager *m) {
        int fd;

        m->udev_queue = udev_queue_new(m->udev);
        if (!m->udev_queue)
                return;
        fd = udev_queue_get_fd(m->udev_queue);
        if (fd < 0 ||
            sd_event_add_io(m->event, &m->udev_queue_source, fd, EPOLLIN, udev_queue_handler, m) < 0) {
                /* without a way to see udev go idle, do not wait for drivers at all */
                m->udev_queue = udev_queue_unref(m->udev_queue);
                return;
        }
        (void) sd_event_source_set_description(m->udev_queue_source, "udev-queue");
}

static void manager_notify_status(Manager *m) {
        size_t managed = 0, enforced = 0, failed = 0;

        for (size_t i = 0; i < m->n_pfs; i++) {
                PhysicalFunction *pf = m->pfs[i];
                if (pf->desired_num_vfs >= 0)
                        managed++;
                if (pf->state == PF_STATE_ENFORCED)
                        enforced++;
                if (pf->state == PF_STATE_FAILED)
                        failed++;
        }
        (void) sd_notifyf(false, "STATUS=%zu PFs, %zu managed, %zu enforced, %zu failed", m->n_pfs, managed,
                          enforced, failed);
}

static void manager_maybe_ready(Manager *m, bool timed_out) {
        if (m->ready)
                return;
        if (!timed_out && (!m->coldplug_done || !m->name_acquired))
                return;

        m->ready = true;
        m->ready_timeout = sd_event_source_disable_unref(m->ready_timeout);
        m->udev_queue_source = sd_event_source_disable_unref(m->udev_queue_source);
        manager_stop_waiting_for_drivers(m);
        if (timed_out)
                log_warning("PFs still converging after %" PRIu64 " s, reporting ready anyway",
                            m->ready_timeout_usec / 1000000);
        manager_update_state(m);
        manager_notify_status(m);
        (void) sd_notify(false, "READY=1");
        log_info("sriovd " PACKAGE_VERSION " ready, %zu PFs", m->n_pfs);
}

static void startup_done(Request *req, int error, const char *message, void *userdata) {
        Manager *m = userdata;

        if (error < 0)
                log_warning("Not every PF converged at start-up: %s", strempty(message));
        m->coldplug_done = true;
        manager_maybe_ready(m, false);
}

static int ready_timeout_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_maybe_ready(userdata, true);
        return 0;
}

static int name_acquired_handler(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e) {
                log_error("Failed to acquire bus name " SRIOVD_BUS_NAME ": %s", e->message);
                (void) sd_event_exit(m->event, -EEXIST);
                return 0;
        }
        m->name_acquired = true;
        manager_maybe_ready(m, false);
        return 0;
}

int manager_reload(Manager *m, Request *req) {
        _cleanup_(config_set_freep) ConfigSet *c = NULL;
        ConfigSet *old;
        int r;

        r = config_load(m->config_dirs, &c);
        if (r < 0)
                return log_error_errno(r, "Failed to load configuration: %m");
        for (size_t i = 0; i < c->n_errors; i++)
                log_error("%s", c->errors[i].message);

        old = m->config;
        m->config = TAKE_PTR(c);
        for (size_t i = 0; i < m->n_pfs; i++) {
                manager_assign_config(m, m->pfs[i]);
                pf_update_desired(m->pfs[i]);
        }
        config_set_free(old);
        return manager_apply(m, req);
}

int manager_apply(Manager *m, Request *req) {
        for (size_t i = 0; i < m->n_pfs; i++)
                (void) pf_reconcile(m->pfs[i], req);
        manager_notify_status(m);
        return 0;
}

static int signal_handler(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (si->ssi_signo == SIGHUP) {
                log_info("Reloading configuration");
                (void) manager_reload(m, NULL);
                return 0;
        }
        log_info("Received %s, exiting; VFs stay as they are", strsignal((int) si->ssi_signo));
        (void) sd_event_exit(m->event, 0);
        return 0;
}

static uint64_t ready_timeout_from_env(void) {
        const char *e = getenv(ENV_SRIOVD_READY_TIMEOUT_SEC);
        unsigned sec;

        if (e && safe_atou(e, &sec) >= 0)
                return sec * 1000000ULL;
        return READY_TIMEOUT_USEC_DEFAULT;
}

int manager_new(char **config_dirs, const char *state_dir, const char *runtime_dir, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_free_ char *runtime_state = NULL;
        sigset_t mask;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return log_oom();
        m->state = MANAGER_STARTING;
        m->ready_timeout_usec = ready_timeout_from_env();
        for (char **d = config_dirs; d && *d; d++)
                if (strv_extend(&m->config_dirs, *d) < 0)
                        return log_oom();

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate event loop: %m");
        (void) sd_event_set_watchdog(m->event, true);

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        r = sd_event_add_signal(m->event, NULL, SIGTERM, signal_handler, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, signal_handler, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, signal_handler, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add signal handlers: %m");

        r = store_open(state_dir, &m->store);
        if (r < 0)
                log_error_errno(r, "Failed to open state directory %s, persisting is disabled: %m",
                                state_dir);
        runtime_state = path_join(runtime_dir, "state");
        if (!runtime_state)
                return log_oom();
        r = store_open(runtime_state, &m->runtime_store);
        if (r < 0)
                log_error_errno(
                        r, "Failed to open runtime state directory %s, runtime changes are disabled: %m",
                        runtime_state);

        r = config_load(m->config_dirs, &m->config);
        if (r < 0)
                return log_error_errno(r, "Failed to load configuration: %m");
        for (size_t i = 0; i < m->config->n_errors; i++)
                log_error("%s", m->config->errors[i].message);

        r = pci_names_open(&m->pci_access);
        if (r < 0)
                log_warning_errno(r, "Failed to set up libpci, vendor and model names are unavailable: %m");

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        /* leases stay in their journal: the next sriovd keeps or restores them */
        for (size_t i = 0; i < m->n_leases; i++)
                lease_free(m->leases[i]);
        free(m->leases);
        for (size_t i = 0; i < m->n_pfs; i++)
                pf_free(m->pfs[i]);
        free(m->pfs);
        sd_event_source_disable_unref(m->monitor_source);
        sd_event_source_disable_unref(m->ready_timeout);
        manager_free_auth_queries(m);
        sd_event_source_disable_unref(m->link_monitor_source);
        if (m->link_monitor)
                nl_socket_free(m->link_monitor);
        sd_event_source_disable_unref(m->udev_queue_source);
        udev_queue_unref(m->udev_queue);
        udev_monitor_unref(m->monitor);
        udev_unref(m->udev);
        sd_bus_flush_close_unref(m->bus);
        config_set_free(m->config);
        store_free(m->store);
        store_free(m->runtime_store);
        strv_free(m->config_dirs);
        pci_names_close(m->pci_access);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

int manager_start(Manager *m) {
        _cleanup_(request_unrefp) Request *startup = NULL;
        uint64_t now_usec;
        int r;

        (void) sd_notify(false, "STATUS=Connecting to the system bus");
        r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        r = sd_bus_attach_event(m->bus, m->event, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to attach bus to event loop: %m");
        r = manager_bus_setup(m);
        if (r < 0)
                return r;

        m->udev = udev_new();
        if (!m->udev)
                return log_error_errno(errno, "Failed to create udev context: %m");
        r = udev_monitor_setup(m->udev, &m->monitor);
        if (r < 0)
                return log_error_errno(r, "Failed to set up udev monitor: %m");
        r = sd_event_add_io(m->event, &m->monitor_source, udev_monitor_get_fd(m->monitor), EPOLLIN,
                            monitor_handler, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch udev monitor: %m");
        (void) sd_event_source_set_description(m->monitor_source, "udev-monitor");

        r = netlink_monitor_open(link_changed, m, &m->link_monitor);
        if (r < 0)
                log_warning_errno(r, "Failed to watch link notifications, VF settings changed by others are "
                                     "seen at the next apply only: %m");
        else {
                r = sd_event_add_io(m->event, &m->link_monitor_source, nl_socket_get_fd(m->link_monitor),
                                    EPOLLIN, link_monitor_handler, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch link notifications: %m");
                (void) sd_event_source_set_description(m->link_monitor_source, "link-monitor");
        }

        manager_watch_udev_queue(m);

        (void) sd_notify(false, "STATUS=Enumerating SR-IOV devices");
        r = udev_enumerate_pfs(m->udev, manager_handle_device, m);
        if (r < 0)
                return log_error_errno(r, "Failed to enumerate PCI devices: %m");

        r = manager_load_leases(m);
        if (r < 0)
                return r;

        r = sd_bus_request_name_async(m->bus, NULL, SRIOVD_BUS_NAME, 0, name_acquired_handler, m);
        if (r < 0)
                return log_error_errno(r, "Failed to request bus name: %m");

        r = sd_event_now(m->event, CLOCK_MONOTONIC, &now_usec);
        if (r >= 0)
                r = sd_event_add_time(m->event, &m->ready_timeout, CLOCK_MONOTONIC,
                                      now_usec + m->ready_timeout_usec, 0, ready_timeout_handler, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add start-up timeout: %m");

        (void) sd_notifyf(false, "STATUS=Enforcing VF counts on %zu PFs", m->n_pfs);
        startup = request_new(NULL, startup_done, m);
        if (!startup)
                return log_oom();
        for (size_t i = 0; i < m->n_pfs; i++)
                (void) pf_reconcile(m->pfs[i], startup);
        request_arm(startup);
        return 0;
}

int manager_run(Manager *m) {
        int r = sd_event_loop(m->event);

        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down");
        return r;
}
