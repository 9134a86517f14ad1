/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* netplan's network.ethernets.<id>.virtual-function-count sets the VF count of the PF that <id> names
 * (or that its match: name/macaddress/driver selects) on every boot and netplan apply. The files are
 * read with libyaml, as netplan reads them: block and flow style, quoted keys, anchors and aliases. */
#include <yaml.h>

#include "doctor-internal.h"

static void netplan_vf_count_done(NetplanVfCount *v) {
        free(v->path);
        free(v->id);
        free(v->count);
        free(v->match_name);
        free(v->match_mac);
        strv_free(v->match_drivers);
}

void netplan_vf_counts_done(NetplanVfCounts *c) {
        for (size_t i = 0; i < c->n; i++)
                netplan_vf_count_done(&c->items[i]);
        free(c->items);
        *c = (NetplanVfCounts){};
}

static const char *yaml_scalar(const yaml_node_t *node) {
        return node && node->type == YAML_SCALAR_NODE ? (const char *) node->data.scalar.value : NULL;
}

/* The value of key in a mapping, NULL if node is no mapping or has no such key. */
static yaml_node_t *yaml_mapping_get(yaml_document_t *doc, const yaml_node_t *node, const char *key) {
        if (!node || node->type != YAML_MAPPING_NODE)
                return NULL;
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++)
                if (streq_ptr(yaml_scalar(yaml_document_get_node(doc, p->key)), key))
                        return yaml_document_get_node(doc, p->value);
        return NULL;
}

/* A copy of the scalar, NULL for any other node. */
static int yaml_strdup(const yaml_node_t *node, char **ret) {
        const char *s = yaml_scalar(node);
        char *c = NULL;

        if (s && !(c = strdup(s)))
                return -ENOMEM;
        *ret = c;
        return 0;
}

/* match: driver: takes one glob or a list of them. */
static int yaml_globs(yaml_document_t *doc, const yaml_node_t *node, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;

        if (yaml_scalar(node)) {
                if (strv_extend(&l, yaml_scalar(node)) < 0)
                        return -ENOMEM;
        } else if (node && node->type == YAML_SEQUENCE_NODE)
                for (yaml_node_item_t *i = node->data.sequence.items.start;
                     i < node->data.sequence.items.top; i++) {
                        const char *s = yaml_scalar(yaml_document_get_node(doc, *i));

                        if (s && strv_extend(&l, s) < 0)
                                return -ENOMEM;
                }
        *ret = TAKE_PTR(l);
        return 0;
}

static int netplan_vf_counts_add(NetplanVfCounts *c, const char *path, yaml_document_t *doc, const char *id,
                                 const yaml_node_t *count, const yaml_node_t *match) {
        _cleanup_(netplan_vf_count_done) NetplanVfCount v = {};
        NetplanVfCount *items;

        v.path = strdup(path);
        v.id = strdup(id);
        if (!v.path || !v.id || yaml_strdup(count, &v.count) < 0 ||
            yaml_strdup(yaml_mapping_get(doc, match, "name"), &v.match_name) < 0 ||
            yaml_strdup(yaml_mapping_get(doc, match, "macaddress"), &v.match_mac) < 0 ||
            yaml_globs(doc, yaml_mapping_get(doc, match, "driver"), &v.match_drivers) < 0)
                return -ENOMEM;

        items = realloc(c->items, (c->n + 1) * sizeof(NetplanVfCount));
        if (!items)
                return -ENOMEM;
        c->items = items;
        c->items[c->n++] = v;
        v = (NetplanVfCount){};
        return 0;
}

static int netplan_document(yaml_document_t *doc, const char *path, NetplanVfCounts *c) {
        yaml_node_t *ethernets = yaml_mapping_get(
                doc, yaml_mapping_get(doc, yaml_document_get_root_node(doc), "network"), "ethernets");

        if (!ethernets || ethernets->type != YAML_MAPPING_NODE)
                return 0;

        for (yaml_node_pair_t *p = ethernets->data.mapping.pairs.start;
             p < ethernets->data.mapping.pairs.top; p++) {
                const char *id = yaml_scalar(yaml_document_get_node(doc, p->key));
                yaml_node_t *eth = yaml_document_get_node(doc, p->value), *count;
                int r;

                count = yaml_mapping_get(doc, eth, "virtual-function-count");
                if (!id || !yaml_scalar(count))
                        continue;
                r = netplan_vf_counts_add(c, path, doc, id, count, yaml_mapping_get(doc, eth, "match"));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Adds the settings of every document in the file; -EBADMSG with the parser's message if the file is
 * no valid YAML. */
static int netplan_parse(const ConfigFile *file, NetplanVfCounts *c, char **ret_error) {
        yaml_parser_t parser;
        int r = 0;

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) file->text, strlen(file->text));

        for (;;) {
                yaml_document_t doc;
                bool end;

                if (!yaml_parser_load(&parser, &doc)) {
                        if (parser.error == YAML_MEMORY_ERROR)
                                r = -ENOMEM;
                        else if (asprintf_safe(ret_error, "%s at line %zu", strempty(parser.problem),
                                               parser.problem_mark.line + 1) < 0)
                                r = -ENOMEM;
                        else
                                r = -EBADMSG;
                        break;
                }
                /* The end of the stream is a document without a root. */
                end = !yaml_document_get_root_node(&doc);
                if (!end)
                        r = netplan_document(&doc, file->path, c);
                yaml_document_delete(&doc);
                if (end || r < 0)
                        break;
        }

        yaml_parser_delete(&parser);
        return r;
}

int netplan_load(Doctor *d, const ConfigFiles *files, NetplanVfCounts *ret) {
        _cleanup_(netplan_vf_counts_done) NetplanVfCounts c = {};

        for (size_t i = 0; i < files->n; i++) {
                _cleanup_free_ char *error = NULL;
                int r;

                if (!strstr(files->files[i].text, "virtual-function-count"))
                        continue;
                r = netplan_parse(&files->files[i], &c, &error);
                if (r == -EBADMSG)
                        /* netplan refuses all its files then, but the file may be fixed any time. */
                        ADD(d, DOCTOR_SECTION_HOST, "conflict", NULL, DOCTOR_WARN,
                            doctor_fixf("Correct %s (netplan generate says what it refuses), then run "
                                        "sriovctl doctor again\n"
                                        "to check its virtual-function-count settings.",
                                        files->files[i].path),
                            "Cannot parse netplan file %s: %s", files->files[i].path, error);
                else if (r < 0)
                        return r;
        }

        *ret = c;
        c = (NetplanVfCounts){};
        return 0;
}

static bool netplan_vf_count_refers(const NetplanVfCount *v, const PfInfo *pf) {
        if (!v->match_name && !v->match_mac && !v->match_drivers)
                return strv_contains(pf->ifnames, v->id);
        return (!v->match_name || pf_has_ifname_match(pf, STRV_MAKE(v->match_name))) &&
               (!v->match_mac || mac_equal(v->match_mac, pf->mac)) &&
               (!v->match_drivers || glob_list_matches(v->match_drivers, pf->driver));
}

int netplan_check_pf(Doctor *d, const PfInfo *pf, const NetplanVfCounts *c, size_t *n_found) {
        for (size_t i = 0; i < c->n; i++) {
                const NetplanVfCount *v = &c->items[i];

                if (!netplan_vf_count_refers(v, pf))
                        continue;

                (*n_found)++;
                ADD(d, DOCTOR_SECTION_PF, "conflict", pf->address, DOCTOR_FAIL,
                    doctor_fixf("netplan sets the VF count of this PF on every boot and netplan apply.\n"
                                "Remove virtual-function-count (and the VFs that name %s in link:) from\n"
                                "%s, then run netplan apply; or leave this PF to netplan and remove\n"
                                "sriovd's configuration for it.",
                                v->id, v->path),
                    "netplan file %s sets virtual-function-count: %s for %s", v->path, v->count, v->id);
        }
        return 0;
}
