/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>

#include "bus-props.h"
#include "json-out.h"
#include "names.h"
#include "util.h"

static void property_done(Property *p) {
        free(p->name);
        free(p->signature);
        free(p->text);
        free(p->json);
        free(p->string);
        strv_free(p->strv);
        *p = (Property){};
}

void property_bag_done(PropertyBag *b) {
        for (size_t i = 0; i < b->n; i++)
                property_done(&b->props[i]);
        free(b->props);
        *b = (PropertyBag){};
}

static bool type_is_basic(char t) {
        return t && strchr("ybnqiuxtdsogh", t);
}

static void fclose_memstream(FILE **f) {
        if (*f)
                fclose(*f);
}

typedef union BasicValue {
        uint8_t u8;
        int16_t s16;
        uint16_t u16;
        int32_t s32;
        uint32_t u32;
        int64_t s64;
        uint64_t u64;
        int b;
        double d;
        const char *s;
        int fd;
} BasicValue;

/* Renders a basic value for humans (t) and as JSON (j). Either stream may be NULL. */
static void render_basic(char type, const BasicValue *v, FILE *t, FILE *j) {
        char buf[64];

        switch (type) {
        case 'y':
                snprintf(buf, sizeof buf, "%" PRIu8, v->u8);
                break;
        case 'n':
                snprintf(buf, sizeof buf, "%" PRIi16, v->s16);
                break;
        case 'q':
                snprintf(buf, sizeof buf, "%" PRIu16, v->u16);
                break;
        case 'i':
                snprintf(buf, sizeof buf, "%" PRIi32, v->s32);
                break;
        case 'u':
                snprintf(buf, sizeof buf, "%" PRIu32, v->u32);
                break;
        case 'x':
                snprintf(buf, sizeof buf, "%" PRIi64, v->s64);
                break;
        case 't':
                snprintf(buf, sizeof buf, "%" PRIu64, v->u64);
                break;
        case 'h':
                snprintf(buf, sizeof buf, "%i", v->fd);
                break;
        case 'd':
                snprintf(buf, sizeof buf, "%g", v->d);
                break;
        case 'b':
                if (t)
                        fputs(v->b ? "yes" : "no", t);
                if (j)
                        fputs(v->b ? "true" : "false", j);
                return;
        default: /* s o g */
                if (t)
                        fputs(v->s, t);
                if (j)
                        json_write_string(j, v->s);
                return;
        }

        if (t)
                fputs(buf, t);
        if (j)
                fputs(buf, j);
}

static int render_complete_type(sd_bus_message *m, FILE *t, FILE *j);

/* Renders the elements of the container the read pointer is in, until its end. */
static int render_elements(sd_bus_message *m, bool dict, FILE *t, FILE *j) {
        bool first = true;
        int r;

        for (;;) {
                r = sd_bus_message_at_end(m, false);
                if (r < 0)
                        return r;
                if (r > 0)
                        return 0;

                if (!first) {
                        if (t)
                                fputc(' ', t);
                        if (j)
                                fputs(", ", j);
                }
                first = false;

                if (dict) {
                        const char *contents;
                        char type;
                        BasicValue key;
                        _cleanup_free_ char *keytext = NULL;
                        size_t keysize = 0;
                        FILE *k;

                        r = sd_bus_message_enter_container(m, 'e', NULL);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_peek_type(m, &type, &contents);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_read_basic(m, type, &key);
                        if (r < 0)
                                return r;

                        /* JSON keys are strings, whatever the D-Bus key type is. */
                        k = open_memstream(&keytext, &keysize);
                        if (!k)
                                return -ENOMEM;
                        render_basic(type, &key, k, NULL);
                        fclose(k);

                        if (t)
                                fprintf(t, "%s=", keytext);
                        if (j) {
                                json_write_string(j, keytext);
                                fputs(": ", j);
                        }

                        r = render_complete_type(m, t, j);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                } else {
                        r = render_complete_type(m, t, j);
                        if (r < 0)
                                return r;
                }
        }
}

static int render_complete_type(sd_bus_message *m, FILE *t, FILE *j) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0)
                return -EBADMSG;

        if (type_is_basic(type)) {
                BasicValue v;

                r = sd_bus_message_read_basic(m, type, &v);
                if (r < 0)
                        return r;
                render_basic(type, &v, t, j);
                return 0;
        }

        switch (type) {
        case 'v':
                r = sd_bus_message_enter_container(m, 'v', contents);
                if (r < 0)
                        return r;
                r = render_complete_type(m, t, j);
                if (r < 0)
                        return r;
                return sd_bus_message_exit_container(m);

        case 'a': {
                bool dict = contents[0] == '{';

                r = sd_bus_message_enter_container(m, 'a', contents);
                if (r < 0)
                        return r;
                if (j)
                        fputc(dict ? '{' : '[', j);
                r = render_elements(m, dict, t, j);
                if (r < 0)
                        return r;
                if (j)
                        fputc(dict ? '}' : ']', j);
                return sd_bus_message_exit_container(m);
        }

        case 'r':
                r = sd_bus_message_enter_container(m, 'r', contents);
                if (r < 0)
                        return r;
                if (t)
                        fputc('(', t);
                if (j)
                        fputc('[', j);
                r = render_elements(m, false, t, j);
                if (r < 0)
                        return r;
                if (t)
                        fputc(')', t);
                if (j)
                        fputc(']', j);
                return sd_bus_message_exit_container(m);

        default:
                return -EBADMSG;
        }
}

/* The D-Bus signature of the value a variant holds, from its peeked type and contents. */
static char *value_signature(char type, const char *contents) {
        if (type_is_basic(type))
                return strndup(&type, 1);
        if (type == 'a')
                return strjoin("a", contents);
        if (type == 'r')
                return strjoin("(", contents, ")");
        return strdup("v");
}

/* Keeps a basic value typed in p: integers widened to int64_t (t capped), booleans, strings copied. */
static int property_set_basic(Property *p, char type, const BasicValue *v) {
        switch (type) {
        case 'y':
                p->integer = v->u8;
                break;
        case 'n':
                p->integer = v->s16;
                break;
        case 'q':
                p->integer = v->u16;
                break;
        case 'i':
                p->integer = v->s32;
                break;
        case 'u':
                p->integer = v->u32;
                break;
        case 'x':
                p->integer = v->s64;
                break;
        case 't':
                p->integer = (int64_t) MIN(v->u64, (uint64_t) INT64_MAX);
                break;
        case 'b':
                p->boolean = v->b;
                break;
        case 's':
        case 'o':
        case 'g':
                p->string = strdup(v->s);
                if (!p->string)
                        return -ENOMEM;
                break;
        default:
                break;
        }
        return 0;
}

/* Reads a basic value into p, and renders it. */
static int property_read_basic(sd_bus_message *m, char type, Property *p, FILE *t, FILE *j) {
        BasicValue v;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        r = property_set_basic(p, type, &v);
        if (r < 0)
                return r;
        render_basic(type, &v, t, j);
        return 0;
}

/* Reads an as, ao or ag into p->strv, and renders it from the list: sd_bus_message_read_strv()
 * consumes the array. */
static int property_read_strv(sd_bus_message *m, Property *p, FILE *t, FILE *j) {
        int r;

        r = sd_bus_message_read_strv(m, &p->strv);
        if (r < 0)
                return r;

        fputc('[', j);
        for (char **s = p->strv; s && *s; s++) {
                if (s != p->strv) {
                        fputc(' ', t);
                        fputs(", ", j);
                }
                fputs(*s, t);
                json_write_string(j, *s);
        }
        fputc(']', j);
        return 0;
}

/* Reads the variant at the read pointer as the value of name: typed where the type is basic or a list
 * of strings, and rendered for humans and as JSON whatever the type. */
static int property_read(sd_bus_message *m, const char *name, Property *ret) {
        _cleanup_(property_done) Property p = {};
        _cleanup_(fclose_memstream) FILE *t = NULL, *j = NULL;
        size_t tsize = 0, jsize = 0;
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_enter_container(m, 'v', NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;

        p.name = strdup(name);
        p.signature = value_signature(type, contents);
        if (!p.name || !p.signature)
                return -ENOMEM;

        t = open_memstream(&p.text, &tsize);
        j = open_memstream(&p.json, &jsize);
        if (!t || !j)
                return -ENOMEM;

        if (type_is_basic(type))
                r = property_read_basic(m, type, &p, t, j);
        else if (type == 'a' && contents && strchr("sog", contents[0]) && contents[1] == 0)
                r = property_read_strv(m, &p, t, j);
        else
                r = render_complete_type(m, t, j);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        fclose(TAKE_PTR(t));
        fclose(TAKE_PTR(j));
        if (!p.text || !p.json)
                return -ENOMEM;

        *ret = p;
        p = (Property){};
        return 0;
}

static int property_bag_put(PropertyBag *b, Property *p) {
        Property *n;

        for (size_t i = 0; i < b->n; i++)
                if (streq(b->props[i].name, p->name)) {
                        property_done(&b->props[i]);
                        b->props[i] = *p;
                        *p = (Property){};
                        return 0;
                }

        n = realloc(b->props, sizeof(Property) * (b->n + 1));
        if (!n)
                return -ENOMEM;
        b->props = n;
        b->props[b->n++] = *p;
        *p = (Property){};
        return 0;
}

int property_bag_read_variant(sd_bus_message *m, const char *name, PropertyBag *b) {
        _cleanup_(property_done) Property p = {};
        int r;

        r = property_read(m, name, &p);
        if (r < 0)
                return r;
        return property_bag_put(b, &p);
}

int property_bag_read_dict(sd_bus_message *m, PropertyBag *b) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;

        for (;;) {
                const char *name;

                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                r = property_bag_read_variant(m, name, b);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }

        return sd_bus_message_exit_container(m);
}

int property_bag_get_all(sd_bus *bus, const char *path, const char *interface, PropertyBag *ret,
                         sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(property_bag_done) PropertyBag b = {};
        int r;

        r = sd_bus_call_method(bus, SRIOVD_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
                               error, &reply, "s", interface);
        if (r < 0)
                return r;

        r = property_bag_read_dict(reply, &b);
        if (r < 0)
                return r;

        *ret = b;
        b = (PropertyBag){};
        return 0;
}

const Property *property_bag_find(const PropertyBag *b, const char *name) {
        for (size_t i = 0; i < b->n; i++)
                if (streq(b->props[i].name, name))
                        return &b->props[i];
        return NULL;
}

const char *property_bag_string(const PropertyBag *b, const char *name) {
        const Property *p = property_bag_find(b, name);

        if (!p)
                return "";
        return p->string ?: p->text;
}

int64_t property_bag_int(const PropertyBag *b, const char *name, int64_t fallback) {
        const Property *p = property_bag_find(b, name);

        if (!p || !p->signature || !strchr("ynqiuxt", p->signature[0]) || p->signature[1])
                return fallback;
        return p->integer;
}

bool property_bag_bool(const PropertyBag *b, const char *name) {
        const Property *p = property_bag_find(b, name);

        return p && p->boolean;
}

char **property_bag_strv(const PropertyBag *b, const char *name) {
        const Property *p = property_bag_find(b, name);

        return p ? p->strv : NULL;
}

bool property_bag_remove(PropertyBag *b, const char *name) {
        for (size_t i = 0; i < b->n; i++)
                if (streq(b->props[i].name, name)) {
                        property_done(&b->props[i]);
                        memmove(b->props + i, b->props + i + 1, sizeof(Property) * (b->n - i - 1));
                        b->n--;
                        return true;
                }
        return false;
}

int property_bag_merge(PropertyBag *dst, PropertyBag *src) {
        int r;

        for (size_t i = 0; i < src->n; i++) {
                r = property_bag_put(dst, &src->props[i]);
                if (r < 0)
                        return r;
        }
        property_bag_done(src);
        return 0;
}

void property_bag_write_json(const PropertyBag *b, FILE *f) {
        fputc('{', f);
        for (size_t i = 0; i < b->n; i++) {
                if (i > 0)
                        fputs(", ", f);
                json_write_string(f, b->props[i].name);
                fputs(": ", f);
                fputs(b->props[i].json, f);
        }
        fputc('}', f);
}
