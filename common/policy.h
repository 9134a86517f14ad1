/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <net/ethernet.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* The one vocabulary of per-VF policy keys, shared by D-Bus a{sv} dictionaries, the configuration
 * files, the state store and sriovctl. Names follow systemd.network's [SR-IOV] section. */
typedef enum PolicyKey {
        POLICY_MAC_ADDRESS,
        POLICY_VLAN_ID,
        POLICY_QOS,
        POLICY_VLAN_PROTOCOL,
        POLICY_MAC_SPOOF_CHECK,
        POLICY_TRUST,
        POLICY_LINK_STATE,
        POLICY_QUERY_RSS,
        POLICY_MIN_TX_RATE,
        POLICY_MAX_TX_RATE,
        POLICY_DRIVER,
        POLICY_MTU,
        POLICY_NODE_GUID,
        POLICY_PORT_GUID,
        _POLICY_KEY_MAX,
        _POLICY_KEY_INVALID = -EINVAL,
} PolicyKey;

typedef enum LinkState {
        LINK_STATE_AUTO,
        LINK_STATE_ENABLE,
        LINK_STATE_DISABLE,
        _LINK_STATE_MAX,
        _LINK_STATE_INVALID = -EINVAL,
} LinkState;

typedef enum VlanProtocol {
        VLAN_PROTOCOL_8021Q,
        VLAN_PROTOCOL_8021AD,
        _VLAN_PROTOCOL_MAX,
        _VLAN_PROTOCOL_INVALID = -EINVAL,
} VlanProtocol;

#define POLICY_DRIVER_MAX 64
/* What an Ethernet netdev can carry at least (IPv4's minimum) and what IFLA_MTU can say at most for
 * sriovd: the kernel's own per-device range (min_mtu, max_mtu) is narrower and refuses on its own. */
#define POLICY_MTU_MIN 68U
#define POLICY_MTU_MAX 65535U

typedef struct VfPolicy {
        uint32_t set; /* bit (1u << PolicyKey) for every key given */
        struct ether_addr mac;
        uint16_t vlan;
        uint32_t qos;
        VlanProtocol vlan_protocol;
        bool spoof_check;
        bool trust;
        LinkState link_state;
        bool query_rss;
        uint32_t min_tx_rate; /* Mbit/s */
        uint32_t max_tx_rate; /* Mbit/s */
        char driver[POLICY_DRIVER_MAX]; /* "" means the default driver */
        uint32_t mtu; /* of the VF's own netdev, not a setting of the PF */
        uint64_t node_guid; /* InfiniBand; the first octet written is the most significant */
        uint64_t port_guid;
} VfPolicy;

#define POLICY_HAS(p, k) (!!((p)->set & (UINT32_C(1) << (k))))

const char *policy_key_to_string(PolicyKey k);
/* Full names ("MACAddress") and the CLI's short ones ("mac", "vlan", "qos", "vlan-proto", "spoofchk",
 * "trust", "state", "query-rss", "min-rate", "max-rate", "driver", "mtu", "node-guid", "port-guid"). */
PolicyKey policy_key_from_string(const char *s);
/* The D-Bus signature of a key's value: "s", "q", "u" or "b". */
const char *policy_key_signature(PolicyKey k);
/* Full names only: what the configuration files and the D-Bus dictionaries accept. */
PolicyKey policy_key_from_full_string(const char *s);
/* The CLI's short alias of a key ("mac", "vlan", ...). */
const char *policy_key_short_name(PolicyKey k);

const char *link_state_to_string(LinkState s);
LinkState link_state_from_string(const char *s);
const char *vlan_protocol_to_string(VlanProtocol p); /* "802.1Q", "802.1ad" */
VlanProtocol vlan_protocol_from_string(const char *s);

/* "aa:bb:cc:dd:ee:ff", either case, any address (no unicast check); -EINVAL otherwise. */
int policy_parse_mac(const char *s, struct ether_addr *ret);
/* Lower case "aa:bb:cc:dd:ee:ff" into buf, which it returns. */
char *policy_format_mac(const struct ether_addr *a, char buf[static 18]);
/* "00:11:22:33:44:55:66:77": eight octets of two hex digits, either case; -EINVAL otherwise, and
 * *ret_error (if given) says what is wrong with it. */
int policy_parse_guid(const char *s, uint64_t *ret, char **ret_error);
/* Lower case "00:11:22:33:44:55:66:77" into buf, which it returns. */
char *policy_format_guid(uint64_t guid, char buf[static 24]);
/* [A-Za-z0-9_-], shorter than POLICY_DRIVER_MAX; "" (the default driver) is valid. */
bool policy_driver_name_is_valid(const char *s);

/* Parses a textual value for key k (files and CLI). On failure returns -EINVAL or -ERANGE and, if
 * ret_error is non-NULL, a message that names the key and the value. */
int policy_set_from_string(VfPolicy *p, PolicyKey k, const char *value, char **ret_error);
/* Formats a key's value as the files write it. */
int policy_value_to_string(const VfPolicy *p, PolicyKey k, char **ret);

/* Copies every key set in src over dst. */
void policy_merge(VfPolicy *dst, const VfPolicy *src);
/* Copies one key's value (and marks it set) from src to dst. */
void policy_copy_key(VfPolicy *dst, const VfPolicy *src, PolicyKey k);
/* Whether a and b hold the same value for k (whether or not it is set in either). */
bool policy_key_equal(const VfPolicy *a, const VfPolicy *b, PolicyKey k);
bool policy_equal(const VfPolicy *a, const VfPolicy *b);
void policy_unset(VfPolicy *p, PolicyKey k);
bool policy_is_empty(const VfPolicy *p);
/* Checks the keys against each other: MinTxRate must not exceed MaxTxRate when both are set and
 * MaxTxRate is not 0 (unlimited). -EINVAL with a message naming both keys. */
int policy_validate(const VfPolicy *p, char **ret_error);

/* Reads an a{sv} dictionary. An unknown key, a wrong type or an out-of-range value fails with
 * -EINVAL/-ERANGE and sets error (InvalidArgument/OutOfRange) naming the key; ret is untouched then. */
int policy_from_bus_message(sd_bus_message *m, VfPolicy *ret, sd_bus_error *error);
/* Reads the variant of one dictionary entry whose key was already read, for dictionaries that mix
 * policy keys with others. Same errors as policy_from_bus_message(). */
int policy_read_bus_value(sd_bus_message *m, const char *key, VfPolicy *p, sd_bus_error *error);
/* Appends the keys set in p as an a{sv} dictionary. */
int policy_append_to_bus_message(sd_bus_message *m, const VfPolicy *p);
