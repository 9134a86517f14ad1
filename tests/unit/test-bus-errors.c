/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "bus-errors.h"
#include "util.h"

static const struct {
        const char *name;
        int error;
} table[] = {
        {SRIOVD_ERROR_NO_SUCH_DEVICE, ENODEV},
        {SRIOVD_ERROR_INVALID_ARGUMENT, EINVAL},
        {SRIOVD_ERROR_OUT_OF_RANGE, ERANGE},
        {SRIOVD_ERROR_NOT_SUPPORTED, EOPNOTSUPP},
        {SRIOVD_ERROR_BUSY, EBUSY},
        {SRIOVD_ERROR_NO_FREE_FUNCTION, ENOSPC},
        {SRIOVD_ERROR_CONFIG_INVALID, EBADMSG},
        {SRIOVD_ERROR_FAILED, EIO},
};

static void setup(void) {
        ck_assert_int_ge(sriovd_bus_errors_register(), 0);
}

START_TEST(test_register_idempotent) {
        ck_assert_int_ge(sriovd_bus_errors_register(), 0);
        ck_assert_int_ge(sriovd_bus_errors_register(), 0);
}
END_TEST

/* What the client sees: a reply's error name turns back into the errno. */
START_TEST(test_name_to_errno) {
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                sd_bus_error e = SD_BUS_ERROR_NULL;

                ck_assert_int_lt(sd_bus_error_set(&e, table[i].name, "message"), 0);
                ck_assert_msg(sd_bus_error_get_errno(&e) == table[i].error, "%s gave %d, expected %d",
                              table[i].name, sd_bus_error_get_errno(&e), table[i].error);
                ck_assert_str_eq(e.message, "message");
                ck_assert_int_eq(sd_bus_error_has_name(&e, table[i].name), 1);
                sd_bus_error_free(&e);
        }
}
END_TEST

START_TEST(test_errno_to_name) {
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                ck_assert_str_eq(sriovd_error_name_from_errno(table[i].error), table[i].name);
                ck_assert_str_eq(sriovd_error_name_from_errno(-table[i].error), table[i].name);
        }
        ck_assert_str_eq(sriovd_error_name_from_errno(ENOTSUP), SRIOVD_ERROR_NOT_SUPPORTED);
        ck_assert_str_eq(sriovd_error_name_from_errno(-ETIMEDOUT), SRIOVD_ERROR_FAILED);
        ck_assert_str_eq(sriovd_error_name_from_errno(0), SRIOVD_ERROR_FAILED);
}
END_TEST

/* Both directions through the map: errno -> name (the daemon) -> errno (the client). */
START_TEST(test_round_trip) {
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                int r;

                r = sd_bus_error_setf(&e, sriovd_error_name_from_errno(-table[i].error), "VF %d is busy", 3);
                ck_assert_int_eq(r, -table[i].error);
                ck_assert_str_eq(e.name, table[i].name);
                ck_assert_str_eq(e.message, "VF 3 is busy");
                ck_assert_int_eq(sd_bus_error_get_errno(&e), table[i].error);
                sd_bus_error_free(&e);
        }
}
END_TEST

/* sd-bus consults registered maps only from name to errno; sd_bus_error_set_errno() picks names from
 * its own fixed table ("System.Error.EBUSY", "org.freedesktop.DBus.Error.InvalidArgs"). This pins that
 * down: replies must be built with sriovd_error_name_from_errno(), and a method handler must not just
 * return -EBUSY with the error unset. */
START_TEST(test_set_errno_bypasses_map) {
        sd_bus_error e = SD_BUS_ERROR_NULL;

        sd_bus_error_set_errno(&e, EBUSY);
        ck_assert_str_ne(e.name, SRIOVD_ERROR_BUSY);
        ck_assert_int_eq(sd_bus_error_get_errno(&e), EBUSY);
        sd_bus_error_free(&e);
}
END_TEST

START_TEST(test_access_denied) {
        sd_bus_error e = SD_BUS_ERROR_NULL;

        ck_assert_int_eq(sd_bus_error_set_errno(&e, EACCES), -EACCES);
        ck_assert_str_eq(e.name, "org.freedesktop.DBus.Error.AccessDenied");
        ck_assert_int_eq(sd_bus_error_get_errno(&e), EACCES);
        sd_bus_error_free(&e);

        ck_assert_int_eq(sd_bus_error_set_errno(&e, EPERM), -EPERM);
        ck_assert_str_eq(e.name, SD_BUS_ERROR_ACCESS_DENIED);
        sd_bus_error_free(&e);

        sd_bus_error_set(&e, SD_BUS_ERROR_ACCESS_DENIED, "Only root may change SR-IOV settings");
        ck_assert_int_eq(sd_bus_error_get_errno(&e), EACCES);
        sd_bus_error_free(&e);
}
END_TEST

static Suite *bus_errors_suite(void) {
        Suite *s = suite_create("bus-errors");
        TCase *tc = tcase_create("map");

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_register_idempotent);
        tcase_add_test(tc, test_name_to_errno);
        tcase_add_test(tc, test_errno_to_name);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_set_errno_bypasses_map);
        tcase_add_test(tc, test_access_denied);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(bus_errors_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
