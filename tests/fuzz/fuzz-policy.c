/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The policy a{sv} parser (common/policy.c: policy_from_bus_message()) on messages built from the
 * input. sd-bus has no public way to make a message from raw bytes, and raw bytes would mostly fail
 * its own checks before reaching the parser; so the input is read as a small program that appends
 * dictionary entries (known keys and others, values of right and wrong types, nested containers)
 * and, now and then, a body of another shape. The message is sealed as if received and parsed.
 * What the parser accepts must come back unchanged through policy_append_to_bus_message(); what it
 * refuses must carry a bus error. */
#include <sys/socket.h>

#include "fuzz.h"
#include "policy.h"

static sd_bus *bus;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        int fds[2];

        /* never connected to anything: enough to build and read messages */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 || sd_bus_new(&bus) < 0 ||
            sd_bus_set_fd(bus, fds[0], fds[0]) < 0 || sd_bus_start(bus) < 0)
                abort();
        return 0;
}

typedef struct Program {
        const uint8_t *p;
        size_t n;
} Program;

static uint8_t next_byte(Program *prog) {
        if (prog->n == 0)
                return 0;
        prog->n--;
        return *prog->p++;
}

static uint32_t next_u32(Program *prog) {
        uint32_t v = 0;

        for (unsigned i = 0; i < 4; i++)
                v = v << 8 | next_byte(prog);
        return v;
}

/* A length byte, then that many bytes as a string D-Bus can carry: no NUL, and bytes 0x80-0xff as
 * the UTF-8 of U+0080-U+00FF, so that the parser sees non-ASCII text too. */
static char *next_string(Program *prog) {
        size_t len = next_byte(prog) % 80, j = 0;
        char *s = malloc(2 * len + 1);

        if (!s)
                return NULL;
        for (size_t i = 0; i < len && prog->n > 0; i++) {
                uint8_t c = next_byte(prog);

                if (c == 0)
                        continue;
                if (c < 0x80)
                        s[j++] = (char) c;
                else {
                        s[j++] = (char) (0xc0 | c >> 6);
                        s[j++] = (char) (0x80 | (c & 0x3f));
                }
        }
        s[j] = 0;
        return s;
}

static const char *const keys[] = {
        "MACAddress",
        "VLANId",
        "QualityOfService",
        "VLANProtocol",
        "MACSpoofCheck",
        "Trust",
        "LinkState",
        "QueryReceiveSideScaling",
        "MinTxRate",
        "MaxTxRate",
        "Driver",
        "mac",
        "vlan",
        "driver",
        "",
        /* after the others, so that the seeds' indexes keep their keys */
        "MTU",
        "NodeGUID",
        "PortGUID",
};

static int append_value(sd_bus_message *m, Program *prog, unsigned depth);

/* One variant: a type chosen by the program, and its value. */
static int append_variant(sd_bus_message *m, Program *prog, unsigned depth) {
        _cleanup_free_ char *s = NULL;

        switch (next_byte(prog) % 12) {
        case 0:
        case 1:
        case 2:
                s = next_string(prog);
                if (!s)
                        return -ENOMEM;
                return sd_bus_message_append(m, "v", "s", s);
        case 3:
                return sd_bus_message_append(m, "v", "b", (int) (next_byte(prog) & 1));
        case 4:
                return sd_bus_message_append(m, "v", "q", (uint16_t) next_u32(prog));
        case 5:
        case 6:
                return sd_bus_message_append(m, "v", "u", next_u32(prog));
        case 7:
                return sd_bus_message_append(m, "v", "y", next_byte(prog));
        case 8:
                return sd_bus_message_append(m, "v", "i", (int32_t) next_u32(prog));
        case 9: {
                uint64_t t = (uint64_t) next_u32(prog) << 32;

                t |= next_u32(prog);
                return sd_bus_message_append(m, "v", "t", t);
        }
        case 10: {
                int r;

                /* a variant holding a variant */
                r = sd_bus_message_open_container(m, 'v', "v");
                if (r < 0)
                        return r;
                r = append_variant(m, prog, depth + 1);
                if (r < 0)
                        return r;
                return sd_bus_message_close_container(m);
        }
        default: {
                int r;

                s = next_string(prog);
                if (!s)
                        return -ENOMEM;
                r = sd_bus_message_open_container(m, 'v', "as");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(m, "as", 1, s);
                if (r < 0)
                        return r;
                return sd_bus_message_close_container(m);
        }
        }
}

static int append_entries(sd_bus_message *m, Program *prog, unsigned depth) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (unsigned i = 0; i < 32 && prog->n > 0; i++) {
                _cleanup_free_ char *own = NULL;
                uint8_t k = next_byte(prog);
                const char *key;

                if (k < 0xe0)
                        key = keys[k % ELEMENTSOF(keys)];
                else {
                        own = next_string(prog);
                        if (!own)
                                return -ENOMEM;
                        key = own;
                }
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(m, "s", key);
                if (r < 0)
                        return r;
                r = append_value(m, prog, depth);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

static int append_value(sd_bus_message *m, Program *prog, unsigned depth) {
        int r;

        /* mostly a plain value; sometimes a dictionary in the variant */
        if (depth < 3 && next_byte(prog) == 0xff) {
                r = sd_bus_message_open_container(m, 'v', "a{sv}");
                if (r < 0)
                        return r;
                r = append_entries(m, prog, depth + 1);
                if (r < 0)
                        return r;
                return sd_bus_message_close_container(m);
        }
        return append_variant(m, prog, depth);
}

/* The body: mostly one a{sv}; the first byte picks another shape now and then. */
static int append_body(sd_bus_message *m, Program *prog) {
        _cleanup_free_ char *s = NULL;

        switch (next_byte(prog)) {
        case 0xf0:
                return 0; /* no body at all */
        case 0xf1:
                s = next_string(prog);
                if (!s)
                        return -ENOMEM;
                return sd_bus_message_append(m, "s", s);
        case 0xf2:
                s = next_string(prog);
                if (!s)
                        return -ENOMEM;
                return sd_bus_message_append(m, "a{ss}", 1, "MACAddress", s);
        case 0xf3: {
                uint32_t a = next_u32(prog), b = next_u32(prog);

                return sd_bus_message_append(m, "au", 2, a, b);
        }
        case 0xf4: {
                int r = append_entries(m, prog, 0);
                if (r < 0)
                        return r;
                /* a second dictionary after the first: the parser must read one only */
                return append_entries(m, prog, 0);
        }
        default:
                return append_entries(m, prog, 0);
        }
}

static sd_bus_message *new_message(void) {
        sd_bus_message *m = NULL;

        if (sd_bus_message_new_method_call(bus, &m, "io.sriovd", "/io/sriovd/pf/0000_3b_00_0/vf/0",
                                           "io.sriovd1.VirtualFunction", "SetPolicy") < 0)
                return NULL;
        return m;
}

/* Seals m as if it had been received, so that it reads from the start. */
static int seal(sd_bus_message *m) {
        int r = sd_bus_message_seal(m, 1, 0);
        if (r < 0)
                return r;
        return sd_bus_message_rewind(m, true);
}

static void check_round_trip(const VfPolicy *p) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();
        VfPolicy again;
        int r;

        if (!m)
                return;
        r = policy_append_to_bus_message(m, p);
        if (r == -ENOMEM)
                return;
        FUZZ_ASSERT(r >= 0);
        FUZZ_ASSERT(seal(m) >= 0);
        r = policy_from_bus_message(m, &again, &error);
        if (r < 0)
                fprintf(stderr, "a policy it accepted and wrote is refused: %s\n", strempty(error.message));
        FUZZ_ASSERT(r >= 0);
        FUZZ_ASSERT(policy_equal(p, &again));
        FUZZ_ASSERT(p->set == again.set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Program prog = {data, size};
        VfPolicy p = {.vlan = 0x5a5a};
        int r;

        m = new_message();
        if (!m)
                return 0;
        /* a program that makes sd-bus refuse what it appends is no input for the parser */
        if (append_body(m, &prog) < 0 || seal(m) < 0)
                return 0;

        r = policy_from_bus_message(m, &p, &error);
        if (r < 0) {
                /* refused: with words for the caller, and ret untouched */
                FUZZ_ASSERT(r == -ENOMEM || sd_bus_error_is_set(&error));
                FUZZ_ASSERT(r == -ENOMEM || r == -EINVAL || r == -ERANGE);
                FUZZ_ASSERT(p.vlan == 0x5a5a && p.set == 0);
                return 0;
        }
        FUZZ_ASSERT(!sd_bus_error_is_set(&error));
        FUZZ_ASSERT(p.set < (UINT32_C(1) << _POLICY_KEY_MAX));
        FUZZ_ASSERT(policy_validate(&p, NULL) >= 0);
        FUZZ_ASSERT(policy_driver_name_is_valid(p.driver));
        check_round_trip(&p);
        return 0;
}
