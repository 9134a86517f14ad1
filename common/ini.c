/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ini.h"

int ini_lexer_init(IniLexer *lexer, const char *text) {
        char *buffer = strdup(strempty(text));

        if (!buffer)
                return -ENOMEM;
        *lexer = (IniLexer){
                .buffer = buffer,
                .next = buffer,
        };
        return 0;
}

void ini_lexer_done(IniLexer *lexer) {
        free(lexer->buffer);
        *lexer = (IniLexer){};
}

static void ini_lexer_cut(IniLexer *lexer, char *line, IniLine *ret) {
        char *s = strstrip(line), *eq;
        size_t n = strlen(s);

        *ret = (IniLine){.number = lexer->number, .text = s};
        if (s[0] == '[') {
                if (n < 2 || s[n - 1] != ']') {
                        ret->type = INI_BAD_SECTION;
                        lexer->section = NULL;
                        return;
                }
                s[n - 1] = 0;
                ret->type = INI_SECTION;
                ret->section = lexer->section = s + 1;
                ret->text = NULL;
                return;
        }

        eq = strchr(s, '=');
        if (!eq) {
                ret->type = INI_BAD_LINE;
                return;
        }
        *eq = 0;
        ret->type = INI_ASSIGNMENT;
        ret->section = lexer->section;
        ret->key = strstrip(s);
        ret->value = strstrip(eq + 1);
        ret->text = NULL;
}

int ini_lexer_next(IniLexer *lexer, IniLine *ret) {
        while (lexer->next) {
                char *line = lexer->next, *nl = strchr(line, '\n'), *s;

                if (nl)
                        *nl = 0;
                lexer->next = nl ? nl + 1 : NULL;
                lexer->number++;

                s = line + strspn(line, " \t\r\n");
                if (*s == 0 || *s == '#' || *s == ';')
                        continue;
                ini_lexer_cut(lexer, line, ret);
                return 1;
        }
        return 0;
}
