/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <strings.h>

#include "bus-errors.h"
#include "policy.h"
#include "util.h"

static const char *const policy_key_table[_POLICY_KEY_MAX] = {
        [POLICY_MAC_ADDRESS] = "MACAddress",
        [POLICY_VLAN_ID] = "VLANId",
        [POLICY_QOS] = "QualityOfService",
        [POLICY_VLAN_PROTOCOL] = "VLANProtocol",
        [POLICY_MAC_SPOOF_CHECK] = "MACSpoofCheck",
        [POLICY_TRUST] = "Trust",
        [POLICY_LINK_STATE] = "LinkState",
        [POLICY_QUERY_RSS] = "QueryReceiveSideScaling",
        [POLICY_MIN_TX_RATE] = "MinTxRate",
        [POLICY_MAX_TX_RATE] = "MaxTxRate",
        [POLICY_DRIVER] = "Driver",
        [POLICY_MTU] = "MTU",
        [POLICY_NODE_GUID] = "NodeGUID",
        [POLICY_PORT_GUID] = "PortGUID",
};

static const char *const policy_key_short_table[_POLICY_KEY_MAX] = {
        [POLICY_MAC_ADDRESS] = "mac",
        [POLICY_VLAN_ID] = "vlan",
        [POLICY_QOS] = "qos",
        [POLICY_VLAN_PROTOCOL] = "vlan-proto",
        [POLICY_MAC_SPOOF_CHECK] = "spoofchk",
        [POLICY_TRUST] = "trust",
        [POLICY_LINK_STATE] = "state",
        [POLICY_QUERY_RSS] = "query-rss",
        [POLICY_MIN_TX_RATE] = "min-rate",
        [POLICY_MAX_TX_RATE] = "max-rate",
        [POLICY_DRIVER] = "driver",
        [POLICY_MTU] = "mtu",
        [POLICY_NODE_GUID] = "node-guid",
        [POLICY_PORT_GUID] = "port-guid",
};

static const char *const policy_key_signature_table[_POLICY_KEY_MAX] = {
        [POLICY_MAC_ADDRESS] = "s",   [POLICY_VLAN_ID] = "q",         [POLICY_QOS] = "u",
        [POLICY_VLAN_PROTOCOL] = "s", [POLICY_MAC_SPOOF_CHECK] = "b", [POLICY_TRUST] = "b",
        [POLICY_LINK_STATE] = "s",    [POLICY_QUERY_RSS] = "b",       [POLICY_MIN_TX_RATE] = "u",
        [POLICY_MAX_TX_RATE] = "u",   [POLICY_DRIVER] = "s",          [POLICY_MTU] = "u",
        [POLICY_NODE_GUID] = "s",     [POLICY_PORT_GUID] = "s",
};

static const char *const link_state_table[_LINK_STATE_MAX] = {
        [LINK_STATE_AUTO] = "auto",
        [LINK_STATE_ENABLE] = "enable",
        [LINK_STATE_DISABLE] = "disable",
};

static const char *const vlan_protocol_table[_VLAN_PROTOCOL_MAX] = {
        [VLAN_PROTOCOL_8021Q] = "802.1Q",
        [VLAN_PROTOCOL_8021AD] = "802.1ad",
};

const char *policy_key_to_string(PolicyKey k) {
        if (k < 0 || k >= _POLICY_KEY_MAX)
                return NULL;
        return policy_key_table[k];
}

PolicyKey policy_key_from_full_string(const char *s) {
        if (!s)
                return _POLICY_KEY_INVALID;
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++)
                if (streq(policy_key_table[k], s))
                        return k;
        return _POLICY_KEY_INVALID;
}

PolicyKey policy_key_from_string(const char *s) {
        PolicyKey k;

        k = policy_key_from_full_string(s);
        if (k >= 0 || !s)
                return k;
        for (k = 0; k < _POLICY_KEY_MAX; k++)
                if (streq(policy_key_short_table[k], s))
                        return k;
        return _POLICY_KEY_INVALID;
}

const char *policy_key_short_name(PolicyKey k) {
        if (k < 0 || k >= _POLICY_KEY_MAX)
                return NULL;
        return policy_key_short_table[k];
}

const char *policy_key_signature(PolicyKey k) {
        if (k < 0 || k >= _POLICY_KEY_MAX)
                return NULL;
        return policy_key_signature_table[k];
}

const char *link_state_to_string(LinkState s) {
        if (s < 0 || s >= _LINK_STATE_MAX)
                return NULL;
        return link_state_table[s];
}

LinkState link_state_from_string(const char *s) {
        if (!s)
                return _LINK_STATE_INVALID;
        for (LinkState i = 0; i < _LINK_STATE_MAX; i++)
                if (strcasecmp(link_state_table[i], s) == 0)
                        return i;
        return _LINK_STATE_INVALID;
}

const char *vlan_protocol_to_string(VlanProtocol p) {
        if (p < 0 || p >= _VLAN_PROTOCOL_MAX)
                return NULL;
        return vlan_protocol_table[p];
}

VlanProtocol vlan_protocol_from_string(const char *s) {
        if (!s)
                return _VLAN_PROTOCOL_INVALID;
        /* The kernel and iproute2 spell them "802.1Q" and "802.1ad"; people write either case. */
        for (VlanProtocol i = 0; i < _VLAN_PROTOCOL_MAX; i++)
                if (strcasecmp(vlan_protocol_table[i], s) == 0)
                        return i;
        return _VLAN_PROTOCOL_INVALID;
}

int policy_parse_mac(const char *s, struct ether_addr *ret) {
        struct ether_addr a;

        if (!s || strlen(s) != 17)
                return -EINVAL;
        for (size_t i = 0; i < 6; i++) {
                const char *p = s + i * 3;
                char buf[3] = {p[0], p[1], 0};

                if (!isxdigit((unsigned char) p[0]) || !isxdigit((unsigned char) p[1]))
                        return -EINVAL;
                if (i < 5 && p[2] != ':')
                        return -EINVAL;
                a.ether_addr_octet[i] = (uint8_t) strtoul(buf, NULL, 16);
        }
        *ret = a;
        return 0;
}

char *policy_format_mac(const struct ether_addr *a, char buf[static 18]) {
        const uint8_t *o = a->ether_addr_octet;

        snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", o[0], o[1], o[2], o[3], o[4], o[5]);
        return buf;
}

static bool ether_addr_is_null(const struct ether_addr *a) {
        for (size_t i = 0; i < 6; i++)
                if (a->ether_addr_octet[i] != 0)
                        return false;
        return true;
}

char *policy_format_guid(uint64_t guid, char buf[static 24]) {
        snprintf(buf, 24, "%02x:%02x:%02x:%02x:%02x:%02x:%02x:%02x", (unsigned) (guid >> 56) & 0xff,
                 (unsigned) (guid >> 48) & 0xff, (unsigned) (guid >> 40) & 0xff,
                 (unsigned) (guid >> 32) & 0xff, (unsigned) (guid >> 24) & 0xff,
                 (unsigned) (guid >> 16) & 0xff, (unsigned) (guid >> 8) & 0xff, (unsigned) guid & 0xff);
        return buf;
}

bool policy_driver_name_is_valid(const char *s) {
        size_t l;

        if (!s)
                return false;
        l = strlen(s);
        if (l >= POLICY_DRIVER_MAX)
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char) *p) && *p != '_' && *p != '-')
                        return false;
        return true;
}

static int set_error(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int set_error(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0) {
                        *ret_error = NULL;
                        r = -ENOMEM;
                }
                va_end(ap);
        }
        return r;
}

#define GUID_FORMAT_HINT \
        "eight octets of two hexadecimal digits separated by colons, like 00:11:22:33:44:55:66:77"

/* The ip-link(8) syntax of node_guid and port_guid, but strictly two digits an octet, so that a
 * value written back is the value read. */
int policy_parse_guid(const char *s, uint64_t *ret, char **ret_error) {
        uint64_t guid = 0;
        size_t l;

        if (!s)
                return -EINVAL;
        l = strlen(s);
        if (l != 23)
                return set_error(ret_error, -EINVAL,
                                 "'%s' has %zu characters, not 23: must be " GUID_FORMAT_HINT, s, l);
        for (size_t i = 0; i < 8; i++) {
                const char *p = s + i * 3;
                char buf[3] = {p[0], p[1], 0};

                if (!isxdigit((unsigned char) p[0]) || !isxdigit((unsigned char) p[1]))
                        return set_error(ret_error, -EINVAL,
                                         "octet %zu ('%s') of '%s' is not two hexadecimal digits: must "
                                         "be " GUID_FORMAT_HINT,
                                         i + 1, buf, s);
                if (i < 7 && p[2] != ':')
                        return set_error(ret_error, -EINVAL,
                                         "'%s' has '%c' after octet %zu, not ':': must be " GUID_FORMAT_HINT,
                                         s, p[2], i + 1);
                guid = (guid << 8) | strtoul(buf, NULL, 16);
        }
        *ret = guid;
        return 0;
}

static void policy_mark(VfPolicy *p, PolicyKey k) {
        p->set |= UINT32_C(1) << k;
}

/* Shared by the textual and the D-Bus parsers, so that both refuse the same values with the same words. */
static int policy_set_number(VfPolicy *p, PolicyKey k, uint32_t v, const char *text, char **ret_error) {
        switch (k) {
        case POLICY_VLAN_ID:
                if (v > 4095)
                        return set_error(ret_error, -ERANGE, "Invalid VLANId=%s: must be between 0 and 4095",
                                         text);
                p->vlan = (uint16_t) v;
                break;
        case POLICY_QOS:
                if (v > 7)
                        return set_error(ret_error, -ERANGE,
                                         "Invalid QualityOfService=%s: must be between 0 and 7", text);
                p->qos = v;
                break;
        case POLICY_MIN_TX_RATE:
                p->min_tx_rate = v;
                break;
        case POLICY_MAX_TX_RATE:
                p->max_tx_rate = v;
                break;
        case POLICY_MTU:
                if (v < POLICY_MTU_MIN || v > POLICY_MTU_MAX)
                        return set_error(ret_error, -ERANGE, "Invalid MTU=%s: must be between %u and %u",
                                         text, POLICY_MTU_MIN, POLICY_MTU_MAX);
                p->mtu = v;
                break;
        default:
                return -EINVAL;
        }
        policy_mark(p, k);
        return 0;
}

static int policy_set_bool(VfPolicy *p, PolicyKey k, bool b) {
        switch (k) {
        case POLICY_MAC_SPOOF_CHECK:
                p->spoof_check = b;
                break;
        case POLICY_TRUST:
                p->trust = b;
                break;
        case POLICY_QUERY_RSS:
                p->query_rss = b;
                break;
        default:
                return -EINVAL;
        }
        policy_mark(p, k);
        return 0;
}

static int policy_set_string(VfPolicy *p, PolicyKey k, const char *value, char **ret_error) {
        switch (k) {
        case POLICY_MAC_ADDRESS: {
                struct ether_addr a;

                if (policy_parse_mac(value, &a) < 0)
                        return set_error(ret_error, -EINVAL,
                                         "Invalid MACAddress=%s: must be an Ethernet address like "
                                         "02:00:00:00:00:01",
                                         value);
                if (ether_addr_is_null(&a))
                        return set_error(ret_error, -EINVAL, "Invalid MACAddress=%s: must not be all zeros",
                                         value);
                if (a.ether_addr_octet[0] & 0x01)
                        return set_error(ret_error, -EINVAL,
                                         "Invalid MACAddress=%s: must be a unicast address, not multicast",
                                         value);
                p->mac = a;
                break;
        }
        case POLICY_VLAN_PROTOCOL: {
                VlanProtocol v = vlan_protocol_from_string(value);
                if (v < 0)
                        return set_error(ret_error, -EINVAL,
                                         "Invalid VLANProtocol=%s: must be 802.1Q or 802.1ad", value);
                p->vlan_protocol = v;
                break;
        }
        case POLICY_LINK_STATE: {
                LinkState s = link_state_from_string(value);
                if (s < 0)
                        return set_error(ret_error, -EINVAL,
                                         "Invalid LinkState=%s: must be auto, enable or disable", value);
                p->link_state = s;
                break;
        }
        case POLICY_DRIVER:
                if (!policy_driver_name_is_valid(value))
                        return set_error(ret_error, -EINVAL,
                                         "Invalid Driver=%s: must be a kernel driver name (letters, digits, "
                                         "'_' and '-', at most %d characters) or empty for the default",
                                         value, POLICY_DRIVER_MAX - 1);
                strcpy(p->driver, value);
                break;
        case POLICY_NODE_GUID:
        case POLICY_PORT_GUID: {
                _cleanup_free_ char *why = NULL;
                uint64_t guid;
                int r;

                r = policy_parse_guid(value, &guid, &why);
                if (r == -ENOMEM || (r < 0 && !why))
                        return r == -ENOMEM ? r
                                            : set_error(ret_error, -EINVAL, "Invalid %s",
                                                        policy_key_to_string(k));
                if (r < 0)
                        return set_error(ret_error, -EINVAL, "Invalid %s=%s: %s", policy_key_to_string(k),
                                         value, why);
                if (k == POLICY_NODE_GUID)
                        p->node_guid = guid;
                else
                        p->port_guid = guid;
                break;
        }
        default:
                return -EINVAL;
        }
        policy_mark(p, k);
        return 0;
}

int policy_set_from_string(VfPolicy *p, PolicyKey k, const char *value, char **ret_error) {
        const char *name = policy_key_to_string(k);
        const char *sig = policy_key_signature(k);

        if (!p || !name || !value)
                return -EINVAL;

        switch (sig[0]) {
        case 's':
                return policy_set_string(p, k, value, ret_error);
        case 'b': {
                int b = parse_boolean(value);
                if (b < 0)
                        return set_error(ret_error, -EINVAL, "Invalid %s=%s: must be a boolean (yes/no)",
                                         name, value);
                return policy_set_bool(p, k, b);
        }
        case 'q':
        case 'u': {
                unsigned u;
                int r = safe_atou(value, &u);
                if (r == -ERANGE)
                        return set_error(ret_error, -ERANGE, "Invalid %s=%s: number too large", name, value);
                if (r < 0)
                        return set_error(ret_error, -EINVAL, "Invalid %s=%s: must be a non-negative number",
                                         name, value);
                return policy_set_number(p, k, u, value, ret_error);
        }
        }
        return -EINVAL;
}

int policy_value_to_string(const VfPolicy *p, PolicyKey k, char **ret) {
        char buf[32];
        const char *s;
        char *c;

        if (!p || k < 0 || k >= _POLICY_KEY_MAX)
                return -EINVAL;

        switch (k) {
        case POLICY_MAC_ADDRESS:
                s = policy_format_mac(&p->mac, buf);
                break;
        case POLICY_VLAN_ID:
                snprintf(buf, sizeof buf, "%" PRIu16, p->vlan);
                s = buf;
                break;
        case POLICY_QOS:
                snprintf(buf, sizeof buf, "%" PRIu32, p->qos);
                s = buf;
                break;
        case POLICY_VLAN_PROTOCOL:
                s = vlan_protocol_to_string(p->vlan_protocol);
                break;
        case POLICY_MAC_SPOOF_CHECK:
                s = p->spoof_check ? "yes" : "no";
                break;
        case POLICY_TRUST:
                s = p->trust ? "yes" : "no";
                break;
        case POLICY_LINK_STATE:
                s = link_state_to_string(p->link_state);
                break;
        case POLICY_QUERY_RSS:
                s = p->query_rss ? "yes" : "no";
                break;
        case POLICY_MIN_TX_RATE:
                snprintf(buf, sizeof buf, "%" PRIu32, p->min_tx_rate);
                s = buf;
                break;
        case POLICY_MAX_TX_RATE:
                snprintf(buf, sizeof buf, "%" PRIu32, p->max_tx_rate);
                s = buf;
                break;
        case POLICY_DRIVER:
                s = p->driver;
                break;
        case POLICY_MTU:
                snprintf(buf, sizeof buf, "%" PRIu32, p->mtu);
                s = buf;
                break;
        case POLICY_NODE_GUID:
                s = policy_format_guid(p->node_guid, buf);
                break;
        case POLICY_PORT_GUID:
                s = policy_format_guid(p->port_guid, buf);
                break;
        default:
                return -EINVAL;
        }
        if (!s)
                return -EINVAL;
        c = strdup(s);
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

void policy_copy_key(VfPolicy *dst, const VfPolicy *src, PolicyKey k) {
        switch (k) {
        case POLICY_MAC_ADDRESS:
                dst->mac = src->mac;
                break;
        case POLICY_VLAN_ID:
                dst->vlan = src->vlan;
                break;
        case POLICY_QOS:
                dst->qos = src->qos;
                break;
        case POLICY_VLAN_PROTOCOL:
                dst->vlan_protocol = src->vlan_protocol;
                break;
        case POLICY_MAC_SPOOF_CHECK:
                dst->spoof_check = src->spoof_check;
                break;
        case POLICY_TRUST:
                dst->trust = src->trust;
                break;
        case POLICY_LINK_STATE:
                dst->link_state = src->link_state;
                break;
        case POLICY_QUERY_RSS:
                dst->query_rss = src->query_rss;
                break;
        case POLICY_MIN_TX_RATE:
                dst->min_tx_rate = src->min_tx_rate;
                break;
        case POLICY_MAX_TX_RATE:
                dst->max_tx_rate = src->max_tx_rate;
                break;
        case POLICY_DRIVER:
                memcpy(dst->driver, src->driver, sizeof dst->driver);
                break;
        case POLICY_MTU:
                dst->mtu = src->mtu;
                break;
        case POLICY_NODE_GUID:
                dst->node_guid = src->node_guid;
                break;
        case POLICY_PORT_GUID:
                dst->port_guid = src->port_guid;
                break;
        default:
                return;
        }
        policy_mark(dst, k);
}

void policy_merge(VfPolicy *dst, const VfPolicy *src) {
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++)
                if (POLICY_HAS(src, k))
                        policy_copy_key(dst, src, k);
}

bool policy_key_equal(const VfPolicy *a, const VfPolicy *b, PolicyKey k) {
        switch (k) {
        case POLICY_MAC_ADDRESS:
                return memcmp(&a->mac, &b->mac, sizeof a->mac) == 0;
        case POLICY_VLAN_ID:
                return a->vlan == b->vlan;
        case POLICY_QOS:
                return a->qos == b->qos;
        case POLICY_VLAN_PROTOCOL:
                return a->vlan_protocol == b->vlan_protocol;
        case POLICY_MAC_SPOOF_CHECK:
                return a->spoof_check == b->spoof_check;
        case POLICY_TRUST:
                return a->trust == b->trust;
        case POLICY_LINK_STATE:
                return a->link_state == b->link_state;
        case POLICY_QUERY_RSS:
                return a->query_rss == b->query_rss;
        case POLICY_MIN_TX_RATE:
                return a->min_tx_rate == b->min_tx_rate;
        case POLICY_MAX_TX_RATE:
                return a->max_tx_rate == b->max_tx_rate;
        case POLICY_DRIVER:
                return streq(a->driver, b->driver);
        case POLICY_MTU:
                return a->mtu == b->mtu;
        case POLICY_NODE_GUID:
                return a->node_guid == b->node_guid;
        case POLICY_PORT_GUID:
                return a->port_guid == b->port_guid;
        default:
                return true;
        }
}

bool policy_equal(const VfPolicy *a, const VfPolicy *b) {
        if (a->set != b->set)
                return false;
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++)
                if (POLICY_HAS(a, k) && !policy_key_equal(a, b, k))
                        return false;
        return true;
}

void policy_unset(VfPolicy *p, PolicyKey k) {
        VfPolicy zero = {};

        if (k < 0 || k >= _POLICY_KEY_MAX)
                return;
        policy_copy_key(p, &zero, k);
        p->set &= ~(UINT32_C(1) << k);
}

bool policy_is_empty(const VfPolicy *p) {
        return !p || p->set == 0;
}

int policy_validate(const VfPolicy *p, char **ret_error) {
        /* MaxTxRate=0 means "no limit", so only a real ceiling below the floor is a contradiction; the
         * kernel would refuse it with a bare EINVAL. */
        if (POLICY_HAS(p, POLICY_MIN_TX_RATE) && POLICY_HAS(p, POLICY_MAX_TX_RATE) && p->max_tx_rate > 0 &&
            p->min_tx_rate > p->max_tx_rate)
                return set_error(ret_error, -EINVAL,
                                 "Invalid MinTxRate=%" PRIu32 ": must not exceed MaxTxRate=%" PRIu32,
                                 p->min_tx_rate, p->max_tx_rate);
        return 0;
}

/* sd_bus_error_set() returns the errno registered for a name; return ours explicitly so the result
 * does not depend on whether the caller registered sriovd_error_map yet. */
static int invalid(sd_bus_error *error, const char *msg) {
        (void) sd_bus_error_set(error, SRIOVD_ERROR_INVALID_ARGUMENT, msg);
        return -EINVAL;
}

static int invalidf(sd_bus_error *error, const char *fmt, ...) _printf_(2, 3);
static int invalidf(sd_bus_error *error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) sd_bus_error_setfv(error, SRIOVD_ERROR_INVALID_ARGUMENT, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* The contract refuses every bad policy value, out-of-range ones too, with InvalidArgument naming the
 * key; OutOfRange is kept for counts and VF indexes beyond what the device has. */
static int bus_error_from(sd_bus_error *error, int r, const char *msg) {
        if (r == -ENOMEM)
                return r;
        (void) invalid(error, msg);
        return r == -ERANGE ? -ERANGE : -EINVAL;
}

static int policy_read_entry(sd_bus_message *m, VfPolicy *p, sd_bus_error *error) {
        const char *key;
        int r;

        r = sd_bus_message_read(m, "s", &key);
        if (r < 0)
                return invalid(error, "Policy must be a{sv}");
        return policy_read_bus_value(m, key, p, error);
}

int policy_read_bus_value(sd_bus_message *m, const char *key, VfPolicy *p, sd_bus_error *error) {
        _cleanup_free_ char *msg = NULL;
        const char *contents;
        PolicyKey k;
        char type;
        int r;

        k = policy_key_from_full_string(key);
        if (k < 0)
                return invalidf(error, "Unknown policy key '%s'", key);
        if (POLICY_HAS(p, k))
                return invalidf(error, "Policy key %s given twice", key);

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0 || type != SD_BUS_TYPE_VARIANT)
                return invalid(error, "Policy must be a{sv}");
        if (!streq(contents, policy_key_signature(k)))
                return invalidf(error, "Policy key %s expects type %s, got %s", key, policy_key_signature(k),
                                contents);

        switch (contents[0]) {
        case 's': {
                const char *s;

                r = sd_bus_message_read(m, "v", "s", &s);
                if (r < 0)
                        return r;
                r = policy_set_string(p, k, s, &msg);
                break;
        }
        case 'b': {
                int b;

                r = sd_bus_message_read(m, "v", "b", &b);
                if (r < 0)
                        return r;
                r = policy_set_bool(p, k, b);
                break;
        }
        case 'q': {
                char text[16];
                uint16_t q;

                r = sd_bus_message_read(m, "v", "q", &q);
                if (r < 0)
                        return r;
                snprintf(text, sizeof text, "%" PRIu16, q);
                r = policy_set_number(p, k, q, text, &msg);
                break;
        }
        case 'u': {
                char text[16];
                uint32_t u;

                r = sd_bus_message_read(m, "v", "u", &u);
                if (r < 0)
                        return r;
                snprintf(text, sizeof text, "%" PRIu32, u);
                r = policy_set_number(p, k, u, text, &msg);
                break;
        }
        default:
                r = -EINVAL;
        }
        if (r < 0)
                return bus_error_from(error, r, msg ?: "Invalid policy value");
        return 0;
}

int policy_from_bus_message(sd_bus_message *m, VfPolicy *ret, sd_bus_error *error) {
        _cleanup_free_ char *msg = NULL;
        VfPolicy p = {};
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return invalid(error, "Policy must be a{sv}");

        for (;;) {
                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv");
                if (r < 0)
                        return invalid(error, "Policy must be a{sv}");
                if (r == 0)
                        break;

                r = policy_read_entry(m, &p, error);
                if (r < 0)
                        return r;

                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }

        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        r = policy_validate(&p, &msg);
        if (r < 0)
                return bus_error_from(error, r, msg ?: "Invalid policy");

        *ret = p;
        return 0;
}

int policy_append_to_bus_message(sd_bus_message *m, const VfPolicy *p) {
        char buf[24];
        int r;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;

        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                const char *name = policy_key_to_string(k);

                if (!POLICY_HAS(p, k))
                        continue;

                switch (k) {
                case POLICY_MAC_ADDRESS:
                        r = sd_bus_message_append(m, "{sv}", name, "s", policy_format_mac(&p->mac, buf));
                        break;
                case POLICY_VLAN_ID:
                        r = sd_bus_message_append(m, "{sv}", name, "q", p->vlan);
                        break;
                case POLICY_QOS:
                        r = sd_bus_message_append(m, "{sv}", name, "u", p->qos);
                        break;
                case POLICY_VLAN_PROTOCOL:
                        r = sd_bus_message_append(m, "{sv}", name, "s",
                                                  vlan_protocol_to_string(p->vlan_protocol));
                        break;
                case POLICY_MAC_SPOOF_CHECK:
                        r = sd_bus_message_append(m, "{sv}", name, "b", (int) p->spoof_check);
                        break;
                case POLICY_TRUST:
                        r = sd_bus_message_append(m, "{sv}", name, "b", (int) p->trust);
                        break;
                case POLICY_LINK_STATE:
                        r = sd_bus_message_append(m, "{sv}", name, "s", link_state_to_string(p->link_state));
                        break;
                case POLICY_QUERY_RSS:
                        r = sd_bus_message_append(m, "{sv}", name, "b", (int) p->query_rss);
                        break;
                case POLICY_MIN_TX_RATE:
                        r = sd_bus_message_append(m, "{sv}", name, "u", p->min_tx_rate);
                        break;
                case POLICY_MAX_TX_RATE:
                        r = sd_bus_message_append(m, "{sv}", name, "u", p->max_tx_rate);
                        break;
                case POLICY_DRIVER:
                        r = sd_bus_message_append(m, "{sv}", name, "s", p->driver);
                        break;
                case POLICY_MTU:
                        r = sd_bus_message_append(m, "{sv}", name, "u", p->mtu);
                        break;
                case POLICY_NODE_GUID:
                        r = sd_bus_message_append(m, "{sv}", name, "s",
                                                  policy_format_guid(p->node_guid, buf));
                        break;
                case POLICY_PORT_GUID:
                        r = sd_bus_message_append(m, "{sv}", name, "s",
                                                  policy_format_guid(p->port_guid, buf));
                        break;
                default:
                        r = -EINVAL;
                }
                if (r < 0)
                        return r;
        }

        return sd_bus_message_close_container(m);
}
