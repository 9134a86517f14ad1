/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <strings.h>

#include "bus-props.h"
#include "names.h"
#include "prometheus.h"
#include "sriovctl.h"
#include "table.h"

typedef struct BagList {
        PropertyBag *bags;
        size_t n;
} BagList;

static void bag_list_done(BagList *l) {
        for (size_t i = 0; i < l->n; i++)
                property_bag_done(&l->bags[i]);
        free(l->bags);
        *l = (BagList){};
}

/* Reads every object in paths with GetAll(interface). */
static int bag_list_load(sd_bus *bus, char **paths, const char *interface, BagList *ret) {
        _cleanup_(bag_list_done) BagList l = {};
        size_t n = strv_length(paths);

        l.bags = calloc(MAX(n, 1u), sizeof(PropertyBag));
        if (!l.bags)
                return log_error_errno(ENOMEM, "Out of memory.");
        /* Bags stay empty for objects that vanished; callers skip those. */
        l.n = n;

        for (size_t i = 0; i < n; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                int r;

                r = property_bag_get_all(bus, paths[i], interface, &l.bags[i], &error);
                if (r < 0) {
                        /* A device unplugged between listing and reading is gone, not an error. */
                        if (sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
                            sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_INTERFACE))
                                continue;
                        log_error("Failed to read properties of %s: %s", paths[i],
                                  bus_error_message(&error, r));
                        return r;
                }
        }

        *ret = l;
        l = (BagList){};
        return 0;
}

static int compare_pf(const void *a, const void *b) {
        return strcmp(property_bag_string(a, "PciAddress"), property_bag_string(b, "PciAddress"));
}

static int compare_vf(const void *a, const void *b) {
        int64_t x = property_bag_int(a, "Index", -1), y = property_bag_int(b, "Index", -1);

        return x < y ? -1 : x > y;
}

static char *model_string(const PropertyBag *pf) {
        const char *model = property_bag_string(pf, "Model");
        char *s;

        if (!isempty(model))
                return strdup(model);
        if (asprintf(&s, "%04" PRIx64 ":%04" PRIx64, property_bag_int(pf, "VendorId", 0),
                     property_bag_int(pf, "DeviceId", 0)) < 0)
                return NULL;
        return s;
}

static char *int_string(int64_t v, bool dash_if_negative) {
        char *s;

        if (dash_if_negative && v < 0)
                return strdup("");
        if (asprintf(&s, "%" PRIi64, v) < 0)
                return NULL;
        return s;
}

/* The bags of a list as a JSON array, skipping objects that vanished before they were read. */
static void bag_list_write_json(const BagList *l, FILE *f) {
        fputc('[', f);
        for (size_t i = 0, k = 0; i < l->n; i++) {
                if (l->bags[i].n == 0)
                        continue;
                if (k++ > 0)
                        fputs(", ", f);
                property_bag_write_json(&l->bags[i], f);
        }
        fputc(']', f);
}

/* JSON carries every property under its D-Bus name with its D-Bus type, as show does; the table's
 * columns are a human selection (libsmartcols would also lowercase the keys). */
static int print_pfs_json(const BagList *pfs) {
        fputs("{\"PhysicalFunctions\": ", stdout);
        bag_list_write_json(pfs, stdout);
        fputs("}\n", stdout);
        return fflush(stdout) == 0 ? 0 : log_error_errno(errno, "Failed to write output: %m");
}

static int pf_table_add_row(struct libscols_table *tb, const PropertyBag *pf) {
        _cleanup_free_ char *model = NULL, *now = NULL, *desired = NULL, *total = NULL;
        struct libscols_line *line;

        model = model_string(pf);
        now = int_string(property_bag_int(pf, "NumVFs", 0), false);
        /* -1: sriovd does not manage the count. */
        desired = int_string(property_bag_int(pf, "DesiredNumVFs", -1), true);
        total = int_string(property_bag_int(pf, "TotalVFs", 0), false);
        line = scols_table_new_line(tb, NULL);
        if (!model || !now || !desired || !total || !line)
                return log_error_errno(ENOMEM, "Out of memory.");

        if (table_set_cell(line, 0, property_bag_string(pf, "PciAddress")) < 0 ||
            table_set_cell(line, 1, property_bag_string(pf, "Interface")) < 0 ||
            table_set_cell(line, 2, property_bag_string(pf, "Driver")) < 0 ||
            table_set_cell(line, 3, model) < 0 || table_set_cell(line, 4, now) < 0 ||
            table_set_cell(line, 5, desired) < 0 || table_set_cell(line, 6, total) < 0 ||
            table_set_cell(line, 7, property_bag_string(pf, "State")) < 0)
                return log_error_errno(ENOMEM, "Out of memory.");
        return 0;
}

static int print_pf_table(const BagList *pfs) {
        _cleanup_(scols_unref_tablep) struct libscols_table *tb = NULL;
        int r;

        if (table_new(&tb) < 0 || table_add_column(tb, "PF", 0) < 0 ||
            table_add_column(tb, "INTERFACE", 0) < 0 || table_add_column(tb, "DRIVER", 0) < 0 ||
            table_add_column(tb, "MODEL", SCOLS_FL_TRUNC) < 0 ||
            table_add_column(tb, "VFS", SCOLS_FL_RIGHT) < 0 ||
            table_add_column(tb, "DESIRED", SCOLS_FL_RIGHT) < 0 ||
            table_add_column(tb, "TOTAL", SCOLS_FL_RIGHT) < 0 || table_add_column(tb, "STATE", 0) < 0)
                return log_error_errno(ENOMEM, "Failed to set up the table: %m");

        for (size_t i = 0; i < pfs->n; i++) {
                if (pfs->bags[i].n == 0)
                        continue;
                r = pf_table_add_row(tb, &pfs->bags[i]);
                if (r < 0)
                        return r;
        }

        r = table_print(tb);
        if (r < 0)
                return log_error_errno(r, "Failed to print the table: %m");
        return 0;
}

/* Errors are long ("file:line: message"), so they go below the table, not into a column. */
static void print_pf_errors(const BagList *pfs) {
        bool first = true;

        for (size_t i = 0; i < pfs->n; i++) {
                const char *e = property_bag_string(&pfs->bags[i], "LastError");

                if (isempty(e))
                        continue;
                if (first)
                        putchar('\n');
                first = false;
                printf("%s: %s\n", property_bag_string(&pfs->bags[i], "PciAddress"), e);
        }
}

static int print_prometheus(sd_bus *bus, const BagList *pfs);

int verb_status(int argc, char *argv[]) {
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_(bag_list_done) BagList pfs = {};
        sd_bus *bus;
        int r;

        r = acquire_bus(&bus);
        if (r < 0)
                return r;

        r = manager_list(bus, "ListPhysicalFunctions", "physical functions", &paths);
        if (r < 0)
                return r;

        r = bag_list_load(bus, paths, SRIOVD_PF_INTERFACE, &pfs);
        if (r < 0)
                return r;
        qsort(pfs.bags, pfs.n, sizeof(PropertyBag), compare_pf);

        if (arg_json)
                return print_pfs_json(&pfs);
        if (arg_prometheus)
                return print_prometheus(bus, &pfs);

        r = print_pf_table(&pfs);
        if (r < 0)
                return r;

        /* With --no-legend only the rows remain, for scripts. */
        if (arg_legend) {
                print_pf_errors(&pfs);
                printf("\n%zu physical function%s listed.\n", pfs.n, pfs.n == 1 ? "" : "s");
        }
        return 0;
}

static void print_field(const char *name, const char *value) {
        printf("%18s: %s\n", name, isempty(value) ? "-" : value);
}

/* The policy keys whose desired value is not what the kernel reports: returns their number and, if ret
 * is not NULL, sets it to them as "Key=desired (is actual)" joined with ", " (NULL when everything is
 * in force), or -ENOMEM. Policy renders as "Key=value ..." and each VF property carries the same name
 * as its policy key. */
static int policy_not_in_force(const PropertyBag *vf, char **ret) {
        _cleanup_free_ char *policy = strdup(property_bag_string(vf, "Policy")), *out = NULL;
        char *save = NULL;
        int n = 0;

        if (!policy)
                return -ENOMEM;
        for (char *kv = strtok_r(policy, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
                char *eq = strchr(kv, '=');
                const char *actual;

                if (!eq)
                        continue;
                *eq = 0;
                if (streq(kv, "Driver")) {
                        /* empty means the default driver, whatever its name */
                        if (isempty(eq + 1))
                                continue;
                        actual = property_bag_string(vf, "Driver");
                } else {
                        const Property *p = property_bag_find(vf, kv);
                        if (!p)
                                continue; /* not read back (QueryReceiveSideScaling) */
                        actual = p->text;
                }
                if (strcasecmp(strempty(actual), eq + 1) == 0)
                        continue;
                /* a VF without a netdev (vfio-pci) has no MTU: its policy waits for one, which is not
                 * counted as a key not in force (nothing is wrong), only shown */
                if (streq(kv, "MTU") && streq_ptr(actual, "0")) {
                        if (ret && strextend_sep(&out, ", ", "%s=%s (no netdev)", kv, eq + 1) < 0)
                                return -ENOMEM;
                        continue;
                }
                n++;
                if (!ret)
                        continue;
                if (isempty(actual))
                        actual = "unknown";
                if (strextend_sep(&out, ", ", "%s=%s (is %s)", kv, eq + 1, actual) < 0)
                        return -ENOMEM;
        }
        if (ret)
                *ret = TAKE_PTR(out);
        return n;
}

static int print_vf_table(BagList *vfs) {
        _cleanup_(scols_unref_tablep) struct libscols_table *tb = NULL;
        int r;

        if (table_new(&tb) < 0 || table_add_column(tb, "INDEX", SCOLS_FL_RIGHT) < 0 ||
            table_add_column(tb, "ADDRESS", 0) < 0 || table_add_column(tb, "INTERFACE", 0) < 0 ||
            table_add_column(tb, "DRIVER", 0) < 0 || table_add_column(tb, "MAC", 0) < 0 ||
            table_add_column(tb, "VLAN", SCOLS_FL_RIGHT) < 0 ||
            table_add_column(tb, "MTU", SCOLS_FL_RIGHT) < 0 ||
            table_add_column(tb, "IOMMU", SCOLS_FL_RIGHT) < 0 || table_add_column(tb, "STATE", 0) < 0 ||
            table_add_column(tb, "NOT IN FORCE", 0) < 0 || table_add_column(tb, "ERROR", 0) < 0)
                return log_error_errno(ENOMEM, "Failed to set up the table: %m");

        for (size_t i = 0; i < vfs->n; i++) {
                const PropertyBag *vf = &vfs->bags[i];
                _cleanup_free_ char *index = NULL, *vlan = NULL, *mtu = NULL, *group = NULL, *differs = NULL;
                struct libscols_line *line;
                int64_t v;

                if (vf->n == 0)
                        continue;

                index = int_string(property_bag_int(vf, "Index", 0), false);
                /* VLAN 0 is no VLAN, IOMMU group -1 is none. */
                v = property_bag_int(vf, "VLANId", 0);
                vlan = int_string(v == 0 ? -1 : v, true);
                /* MTU 0: no netdev */
                v = property_bag_int(vf, "MTU", 0);
                mtu = int_string(v == 0 ? -1 : v, true);
                group = int_string(property_bag_int(vf, "IommuGroup", -1), true);
                line = scols_table_new_line(tb, NULL);
                if (!index || !vlan || !mtu || !group || !line || policy_not_in_force(vf, &differs) < 0)
                        return log_error_errno(ENOMEM, "Out of memory.");

                if (table_set_cell(line, 0, index) < 0 ||
                    table_set_cell(line, 1, property_bag_string(vf, "PciAddress")) < 0 ||
                    table_set_cell(line, 2, property_bag_string(vf, "Interface")) < 0 ||
                    table_set_cell(line, 3, property_bag_string(vf, "Driver")) < 0 ||
                    table_set_cell(line, 4, property_bag_string(vf, "MACAddress")) < 0 ||
                    table_set_cell(line, 5, vlan) < 0 || table_set_cell(line, 6, mtu) < 0 ||
                    table_set_cell(line, 7, group) < 0 ||
                    table_set_cell(line, 8, property_bag_string(vf, "State")) < 0 ||
                    table_set_cell(line, 9, strempty(differs)) < 0 ||
                    table_set_cell(line, 10, property_bag_string(vf, "LastError")) < 0)
                        return log_error_errno(ENOMEM, "Out of memory.");
        }

        r = table_print(tb);
        if (r < 0)
                return log_error_errno(r, "Failed to print the table: %m");
        return 0;
}

/* What --format=prometheus prints beside the PFs' properties: the manager's, each PF's VFs, and the
 * consumer of each leased VF. */
typedef struct Inventory {
        PropertyBag manager;
        const BagList *pfs;
        BagList *vfs; /* per PF, as pfs */
        char ***consumers; /* per PF and VF: the lease's Consumer, NULL when free */
} Inventory;

static void inventory_done(Inventory *inv) {
        property_bag_done(&inv->manager);
        for (size_t i = 0; inv->pfs && i < inv->pfs->n; i++) {
                /* the consumers first: they are counted by the VFs */
                if (inv->consumers && inv->consumers[i]) {
                        for (size_t j = 0; inv->vfs && j < inv->vfs[i].n; j++)
                                free(inv->consumers[i][j]);
                        free(inv->consumers[i]);
                }
                if (inv->vfs)
                        bag_list_done(&inv->vfs[i]);
        }
        free(inv->vfs);
        free(inv->consumers);
        *inv = (Inventory){};
}

/* The consumer of the lease at path, "" when it vanished meanwhile. */
static int lease_consumer(sd_bus *bus, const char *path, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(property_bag_done) PropertyBag lease = {};
        int r;

        r = property_bag_get_all(bus, path, SRIOVD_LEASE_INTERFACE, &lease, &error);
        if (r < 0 && !sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_OBJECT)) {
                log_error("Failed to read properties of %s: %s", path, bus_error_message(&error, r));
                return r;
        }
        *ret = strdup(property_bag_string(&lease, "Consumer"));
        return *ret ? 0 : log_error_errno(ENOMEM, "Out of memory.");
}

static int inventory_load(sd_bus *bus, const BagList *pfs, Inventory *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(inventory_done) Inventory inv = {.pfs = pfs};
        int r;

        r = property_bag_get_all(bus, SRIOVD_MANAGER_PATH, SRIOVD_MANAGER_INTERFACE, &inv.manager, &error);
        if (r < 0) {
                log_error("Failed to read properties of sriovd: %s", bus_error_message(&error, r));
                return r;
        }

        inv.vfs = calloc(MAX(pfs->n, 1u), sizeof(BagList));
        inv.consumers = calloc(MAX(pfs->n, 1u), sizeof(char **));
        if (!inv.vfs || !inv.consumers)
                return log_error_errno(ENOMEM, "Out of memory.");

        for (size_t i = 0; i < pfs->n; i++) {
                BagList *vfs = &inv.vfs[i];

                r = bag_list_load(bus, property_bag_strv(&pfs->bags[i], "VirtualFunctions"),
                                  SRIOVD_VF_INTERFACE, vfs);
                if (r < 0)
                        return r;
                qsort(vfs->bags, vfs->n, sizeof(PropertyBag), compare_vf);

                inv.consumers[i] = calloc(MAX(vfs->n, 1u), sizeof(char *));
                if (!inv.consumers[i])
                        return log_error_errno(ENOMEM, "Out of memory.");
                for (size_t j = 0; j < vfs->n; j++) {
                        const char *lease = property_bag_string(&vfs->bags[j], "Lease");

                        if (isempty(lease) || streq(lease, "/"))
                                continue;
                        r = lease_consumer(bus, lease, &inv.consumers[i][j]);
                        if (r < 0)
                                return r;
                }
        }

        *ret = inv;
        inv = (Inventory){};
        return 0;
}

static const char *const pf_states[] = {"unmanaged", "converging", "enforced", "drift", "failed"};
static const char *const vf_states[] = {"ok", "drift", "failed"};
static const char *const manager_states[] = {"starting", "running", "degraded"};

/* One sample per state of an enumeration, 1 for the current one, as node exporter's
 * node_systemd_unit_state does; labels has room for one more, the state. */
static void prom_write_state_set(FILE *f, const char *name, PromLabel *labels, size_t n_labels,
                                 const char *const *states, size_t n_states, const char *current) {
        labels[n_labels].name = "state";
        for (size_t i = 0; i < n_states; i++) {
                labels[n_labels].value = states[i];
                prom_write_sample(f, name, labels, n_labels + 1, streq(current, states[i]) ? "1" : "0");
        }
}

static void prom_write_int(FILE *f, const char *name, const PromLabel *labels, size_t n_labels, int64_t v) {
        char buf[DECIMAL_STR_MAX(int64_t)];

        snprintf(buf, sizeof buf, "%" PRIi64, v);
        prom_write_sample(f, name, labels, n_labels, buf);
}

/* The metrics of the PFs: one family after the other, each with one sample per PF. */
static void print_prometheus_pfs(FILE *f, const BagList *pfs) {
        enum { PF_INFO, PF_VFS, PF_DESIRED, PF_TOTAL, PF_MANAGED, PF_STATE, PF_ERROR_TIME, _PF_MAX };
        static const char *const families[_PF_MAX][2] = {
                [PF_INFO] = {"sriovd_pf_info",
                             "A physical function sriovd knows (value 1): driver, PCI ids, where its "
                             "configuration comes from."},
                [PF_VFS] = {"sriovd_pf_vfs", "The number of VFs the kernel has now (sriov_numvfs)."},
                [PF_DESIRED] =
                        {"sriovd_pf_desired_vfs",
                         "The number of VFs sriovd keeps; absent for a PF whose count it does not manage."},
                [PF_TOTAL] = {"sriovd_pf_total_vfs", "The most VFs the device supports (sriov_totalvfs)."},
                [PF_MANAGED] = {"sriovd_pf_managed", "1 when sriovd manages the PF's VF count, else 0."},
                [PF_STATE] = {"sriovd_pf_state", "The PF's state: 1 for the current one, 0 for the others."},
                [PF_ERROR_TIME] = {"sriovd_pf_last_error_timestamp_seconds",
                                   "When the PF's LastError last changed to its current text, in seconds "
                                   "since the epoch; 0 without an error."},
        };

        for (int k = 0; k < _PF_MAX; k++) {
                prom_write_family(f, families[k][0], "gauge", families[k][1]);
                for (size_t i = 0; i < pfs->n; i++) {
                        const PropertyBag *pf = &pfs->bags[i];
                        char vendor[8], device[8], when[2 * DECIMAL_STR_MAX(uint64_t)];
                        PromLabel l[8] = {
                                {"pf", property_bag_string(pf, "PciAddress")},
                                {"interface", property_bag_string(pf, "Interface")},
                        };
                        int64_t desired = property_bag_int(pf, "DesiredNumVFs", -1), t;

                        if (pf->n == 0)
                                continue;
                        switch (k) {
                        case PF_INFO:
                                snprintf(vendor, sizeof vendor, "%04" PRIx64,
                                         property_bag_int(pf, "VendorId", 0));
                                snprintf(device, sizeof device, "%04" PRIx64,
                                         property_bag_int(pf, "DeviceId", 0));
                                l[2] = (PromLabel){"driver", property_bag_string(pf, "Driver")};
                                l[3] = (PromLabel){"vendor_id", vendor};
                                l[4] = (PromLabel){"device_id", device};
                                l[5] = (PromLabel){"config_source", property_bag_string(pf, "ConfigSource")};
                                prom_write_sample(f, families[k][0], l, 6, "1");
                                break;
                        case PF_VFS:
                                prom_write_int(f, families[k][0], l, 2, property_bag_int(pf, "NumVFs", 0));
                                break;
                        case PF_DESIRED:
                                if (desired >= 0)
                                        prom_write_int(f, families[k][0], l, 2, desired);
                                break;
                        case PF_TOTAL:
                                prom_write_int(f, families[k][0], l, 2, property_bag_int(pf, "TotalVFs", 0));
                                break;
                        case PF_MANAGED:
                                prom_write_int(f, families[k][0], l, 2, desired >= 0);
                                break;
                        case PF_STATE:
                                prom_write_state_set(f, families[k][0], l, 2, pf_states,
                                                     ELEMENTSOF(pf_states),
                                                     property_bag_string(pf, "State"));
                                break;
                        case PF_ERROR_TIME:
                                /* µs since the epoch on the bus; seconds with their fraction here */
                                t = property_bag_int(pf, "LastErrorTimestamp", 0);
                                snprintf(when, sizeof when, "%" PRIi64 ".%06" PRIi64, t / 1000000,
                                         t % 1000000);
                                prom_write_sample(f, families[k][0], l, 2, when);
                                break;
                        }
                }
        }
}

static void print_prometheus_vfs(FILE *f, const Inventory *inv) {
        enum { VF_INFO, VF_STATE, VF_LEASED, VF_NOT_IN_FORCE, _VF_MAX };
        static const char *const families[_VF_MAX][2] = {
                [VF_INFO] = {"sriovd_vf_info",
                             "A virtual function (value 1): its PCI address, interface and driver."},
                [VF_STATE] = {"sriovd_vf_state", "The VF's state: 1 for the current one, 0 for the others; "
                                                 "drift: changed behind sriovd's back, being put back."},
                [VF_LEASED] = {"sriovd_vf_leased",
                               "1 when a lease holds the VF (consumer: who asked for it), else 0."},
                [VF_NOT_IN_FORCE] = {"sriovd_vf_policy_keys_not_in_force",
                                     "How many keys of the VF's policy the kernel does not report as "
                                     "desired (drift or refused)."},
        };

        for (int k = 0; k < _VF_MAX; k++) {
                prom_write_family(f, families[k][0], "gauge", families[k][1]);
                for (size_t i = 0; i < inv->pfs->n; i++)
                        for (size_t j = 0; j < inv->vfs[i].n; j++) {
                                const PropertyBag *vf = &inv->vfs[i].bags[j];
                                char index[DECIMAL_STR_MAX(int64_t)];
                                const char *consumer = inv->consumers[i][j];
                                PromLabel l[6] = {
                                        {"pf", property_bag_string(&inv->pfs->bags[i], "PciAddress")},
                                        {"vf", index},
                                };

                                if (vf->n == 0)
                                        continue;
                                snprintf(index, sizeof index, "%" PRIi64, property_bag_int(vf, "Index", 0));
                                switch (k) {
                                case VF_INFO:
                                        l[2] = (PromLabel){"address", property_bag_string(vf, "PciAddress")};
                                        l[3] = (PromLabel){"interface",
                                                           property_bag_string(vf, "Interface")};
                                        l[4] = (PromLabel){"driver", property_bag_string(vf, "Driver")};
                                        prom_write_sample(f, families[k][0], l, 5, "1");
                                        break;
                                case VF_STATE:
                                        prom_write_state_set(f, families[k][0], l, 2, vf_states,
                                                             ELEMENTSOF(vf_states),
                                                             property_bag_string(vf, "State"));
                                        break;
                                case VF_LEASED:
                                        l[2] = (PromLabel){"consumer", strempty(consumer)};
                                        prom_write_sample(f, families[k][0], l, 3, consumer ? "1" : "0");
                                        break;
                                case VF_NOT_IN_FORCE:
                                        prom_write_int(f, families[k][0], l, 2,
                                                       MAX(policy_not_in_force(vf, NULL), 0));
                                        break;
                                }
                        }
        }
}

static int print_prometheus(sd_bus *bus, const BagList *pfs) {
        _cleanup_(inventory_done) Inventory inv = {};
        PromLabel l[2] = {};
        int r;

        r = inventory_load(bus, pfs, &inv);
        if (r < 0)
                return r;

        l[0] = (PromLabel){"version", property_bag_string(&inv.manager, "Version")};
        prom_write_family(stdout, "sriovd_info", "gauge",
                          "sriovd answers on the bus (value 1), and its version.");
        prom_write_sample(stdout, "sriovd_info", l, 1, "1");
        prom_write_family(
                stdout, "sriovd_state", "gauge",
                "sriovd's state: 1 for the current one, 0 for the others; degraded: a managed PF failed.");
        prom_write_state_set(stdout, "sriovd_state", l, 0, manager_states, ELEMENTSOF(manager_states),
                             property_bag_string(&inv.manager, "State"));

        print_prometheus_pfs(stdout, pfs);
        print_prometheus_vfs(stdout, &inv);
        return fflush(stdout) == 0 ? 0 : log_error_errno(errno, "Failed to write output: %m");
}

int verb_show(int argc, char *argv[]) {
        _cleanup_(property_bag_done) PropertyBag pf = {};
        _cleanup_(bag_list_done) BagList vfs = {};
        _cleanup_free_ char *model = NULL, *vfcount = NULL;
        const char *device = argv[1];
        int64_t desired;
        sd_bus *bus;
        int r;

        r = acquire_pf(device, &bus, NULL, &pf);
        if (r < 0)
                return r;

        r = bag_list_load(bus, property_bag_strv(&pf, "VirtualFunctions"), SRIOVD_VF_INTERFACE, &vfs);
        if (r < 0)
                return r;
        qsort(vfs.bags, vfs.n, sizeof(PropertyBag), compare_vf);

        if (arg_json) {
                /* One document: the PF's properties and its VFs', keyed by their D-Bus names. */
                fputs("{\"PhysicalFunction\": ", stdout);
                property_bag_write_json(&pf, stdout);
                fputs(", \"VirtualFunctions\": ", stdout);
                bag_list_write_json(&vfs, stdout);
                fputs("}\n", stdout);
                return fflush(stdout) == 0 ? 0 : log_error_errno(errno, "Failed to write output: %m");
        }

        model = model_string(&pf);
        desired = property_bag_int(&pf, "DesiredNumVFs", -1);
        if (desired < 0)
                r = asprintf(&vfcount, "%" PRIi64 " (unmanaged, total %" PRIi64 ")",
                             property_bag_int(&pf, "NumVFs", 0), property_bag_int(&pf, "TotalVFs", 0));
        else
                r = asprintf(&vfcount, "%" PRIi64 " (desired %" PRIi64 ", total %" PRIi64 ")",
                             property_bag_int(&pf, "NumVFs", 0), desired,
                             property_bag_int(&pf, "TotalVFs", 0));
        if (r < 0 || !model)
                return log_error_errno(ENOMEM, "Out of memory.");

        print_field("PCI Address", property_bag_string(&pf, "PciAddress"));
        print_field("Interface", property_bag_string(&pf, "Interface"));
        print_field("Driver", property_bag_string(&pf, "Driver"));
        print_field("Vendor", property_bag_string(&pf, "Vendor"));
        print_field("Model", model);
        print_field("VFs", vfcount);
        print_field("Drivers Autoprobe", property_bag_bool(&pf, "DriversAutoprobe") ? "yes" : "no");
        print_field("State", property_bag_string(&pf, "State"));
        print_field("Last Error", property_bag_string(&pf, "LastError"));
        print_field("Config Source", property_bag_string(&pf, "ConfigSource"));

        if (vfs.n == 0)
                return 0;

        putchar('\n');
        return print_vf_table(&vfs);
}
