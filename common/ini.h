/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "util.h"

/* The line syntax of sriovd's .conf files, which is the common part of systemd's unit and .link files
 * and of NetworkManager's keyfiles: "[Section]" headers, "Key=Value" assignments with blanks around
 * both stripped, whole-line comments starting with '#' or ';', and blank lines. There are no
 * continuation lines and no quoting: a value is the rest of its line, '#' and all. What the keys mean,
 * and whether a malformed line is an error, is the caller's business. */

typedef enum IniLineType {
        INI_SECTION, /* "[name]" */
        INI_ASSIGNMENT, /* "key=value"; the key may be empty */
        INI_BAD_SECTION, /* starts with '[' but does not end with ']' */
        INI_BAD_LINE, /* neither a header nor has a '=' */
} IniLineType;

typedef struct IniLine {
        IniLineType type;
        unsigned number; /* from 1 */
        /* INI_SECTION: its name. INI_ASSIGNMENT: the section it is in; NULL before the first header
         * and after a malformed one. */
        const char *section;
        const char *key;
        const char *value;
        const char *text; /* INI_BAD_*: the whole line, stripped */
} IniLine;

/* Cuts a copy of the text into lines; the strings of every line it returns stay valid until
 * ini_lexer_done(). */
typedef struct IniLexer {
        char *buffer;
        char *next;
        const char *section;
        unsigned number;
} IniLexer;

int ini_lexer_init(IniLexer *lexer, const char *text);
void ini_lexer_done(IniLexer *lexer);
/* Returns 1 and the next line that is neither blank nor a comment, or 0 at the end. */
int ini_lexer_next(IniLexer *lexer, IniLine *ret);
