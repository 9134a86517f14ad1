/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* A property value read from the bus, kept as the D-Bus type says plus two renderings: one for humans
 * and one as JSON, so that every verb prints any property the same way without knowing its type. */
typedef struct Property {
        char *name;
        char *signature;
        char *text; /* "yes"/"no" for booleans, array elements separated by spaces, "K=V ..." for dicts */
        char *json;
        int64_t integer; /* y n q i u x (t as far as it fits) */
        bool boolean;
        char *string; /* s o g */
        char **strv; /* as ao ag */
} Property;

typedef struct PropertyBag {
        Property *props;
        size_t n;
} PropertyBag;

void property_bag_done(PropertyBag *b);

/* Reads an a{sv} dictionary; a name already in the bag gets the new value. */
int property_bag_read_dict(sd_bus_message *m, PropertyBag *b);
/* Reads one "v" at the message's read pointer as the value of name. */
int property_bag_read_variant(sd_bus_message *m, const char *name, PropertyBag *b);
/* org.freedesktop.DBus.Properties.GetAll; error gets the daemon's message on failure. */
int property_bag_get_all(sd_bus *bus, const char *path, const char *interface, PropertyBag *ret,
                         sd_bus_error *error);

const Property *property_bag_find(const PropertyBag *b, const char *name);
const char *property_bag_string(const PropertyBag *b, const char *name); /* never NULL */
int64_t property_bag_int(const PropertyBag *b, const char *name, int64_t fallback);
bool property_bag_bool(const PropertyBag *b, const char *name);
char **property_bag_strv(const PropertyBag *b, const char *name); /* may be NULL */
/* Removes name; returns true if it was there. */
bool property_bag_remove(PropertyBag *b, const char *name);
/* Moves all properties of src into dst (replacing same names); src is empty afterwards. */
int property_bag_merge(PropertyBag *dst, PropertyBag *src);

/* Writes {"Name": value, ...} */
void property_bag_write_json(const PropertyBag *b, FILE *f);
