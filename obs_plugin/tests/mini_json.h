/* A minimal JSON reader for the test suite (the golden vectors' NAME.json): enough for plain ASCII
 * JSON with no NaN/Infinity, which is what tests/vectors/README.md promises. Not for the plugin.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum mj_type { MJ_NULL, MJ_BOOL, MJ_NUM, MJ_STR, MJ_ARR, MJ_OBJ };

struct mj {
	enum mj_type type;
	bool b;
	double num;
	bool num_is_int; /* written without '.' or exponent */
	char *str;       /* MJ_STR value */
	size_t n;        /* MJ_ARR / MJ_OBJ length */
	struct mj **items;
	char **keys;     /* MJ_OBJ */
};

static const char *mj_ws(const char *p)
{
	while (*p && isspace((unsigned char)*p))
		p++;
	return p;
}

static struct mj *mj_parse_value(const char **pp);

static char *mj_parse_string(const char **pp)
{
	const char *p = *pp + 1;
	size_t cap = 16, len = 0;
	char *out = malloc(cap);
	while (*p && *p != '"') {
		char c = *p++;
		if (c == '\\') {
			c = *p++;
			if (c == 'n')
				c = '\n';
			else if (c == 't')
				c = '\t';
			else if (c == 'u') { /* ASCII files: keep \u escapes as '?' */
				p += 4;
				c = '?';
			}
		}
		if (len + 2 > cap)
			out = realloc(out, cap *= 2);
		out[len++] = c;
	}
	out[len] = '\0';
	*pp = *p ? p + 1 : p;
	return out;
}

static struct mj *mj_parse_value(const char **pp)
{
	const char *p = mj_ws(*pp);
	struct mj *v = calloc(1, sizeof(*v));
	if (*p == '{' || *p == '[') {
		bool obj = *p == '{';
		char close = obj ? '}' : ']';
		v->type = obj ? MJ_OBJ : MJ_ARR;
		p = mj_ws(p + 1);
		while (*p && *p != close) {
			v->items = realloc(v->items, (v->n + 1) * sizeof(*v->items));
			if (obj) {
				v->keys = realloc(v->keys, (v->n + 1) * sizeof(*v->keys));
				v->keys[v->n] = mj_parse_string(&p);
				p = mj_ws(p);
				p++; /* ':' */
			}
			v->items[v->n++] = mj_parse_value(&p);
			p = mj_ws(p);
			if (*p == ',')
				p = mj_ws(p + 1);
		}
		*pp = *p ? p + 1 : p;
	} else if (*p == '"') {
		v->type = MJ_STR;
		v->str = mj_parse_string(&p);
		*pp = p;
	} else if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
		v->type = MJ_BOOL;
		v->b = *p == 't';
		*pp = p + (v->b ? 4 : 5);
	} else if (!strncmp(p, "null", 4)) {
		v->type = MJ_NULL;
		*pp = p + 4;
	} else {
		char *end;
		v->type = MJ_NUM;
		v->num = strtod(p, &end);
		v->num_is_int = strcspn(p, ".eE,]} \n") >= (size_t)(end - p);
		*pp = end;
	}
	return v;
}

static struct mj *mj_get(const struct mj *obj, const char *key)
{
	if (!obj || obj->type != MJ_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return obj->items[i];
	return NULL;
}

static void mj_free(struct mj *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		mj_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}
