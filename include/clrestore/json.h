/* A small JSON reader (RFC 8259) for the configurations other programs
 * store, such as Keras's `model_config`. The whole text becomes a tree of
 * nodes; strings are decoded to UTF-8. Python's json module writes NaN,
 * Infinity and -Infinity, so those are accepted as numbers too. Bad input
 * (truncated, nested beyond CR_JSON_MAX_DEPTH, invalid escapes, control
 * characters in strings) is an error naming the line and column. */
#ifndef CLRESTORE_JSON_H
#define CLRESTORE_JSON_H

#include <stddef.h>

#include "clrestore/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CR_JSON_MAX_DEPTH 200

typedef enum cr_json_type {
    CR_JSON_NULL,
    CR_JSON_BOOL,
    CR_JSON_NUMBER,
    CR_JSON_STRING,
    CR_JSON_ARRAY,
    CR_JSON_OBJECT
} cr_json_type;

typedef struct cr_json {
    cr_json_type type;
    double number;         /* NUMBER; BOOL: 0 or 1 */
    char *string;          /* STRING: NUL-terminated UTF-8 (may hold "\u0000" as a NUL) */
    size_t length;         /* STRING: bytes; ARRAY, OBJECT: members */
    char *key;             /* member of an OBJECT: its name; else NULL */
    struct cr_json *child; /* ARRAY, OBJECT: first member */
    struct cr_json *next;  /* next member of the parent */
} cr_json;

/* Parses text[0..len); what names the source in errors
 * ("model.hdf5: model_config: JSON line 3, column 14: expected ':'"). */
cr_status cr_json_parse(const char *text, size_t len, const char *what, cr_json **out);
/* Accepts NULL. */
void cr_json_free(cr_json *j);

/* The member called key of an object (the last one when repeated, as
 * Python reads it); NULL when j is not an object or has no such member. */
const cr_json *cr_json_get(const cr_json *j, const char *key);
/* Element i of an array; NULL when j is not an array or i is out of range. */
const cr_json *cr_json_at(const cr_json *j, size_t i);
/* The string of a STRING node, else NULL. */
const char *cr_json_str(const cr_json *j);
/* 1 and *out when j is a number that is an integer in [lo, hi]; else 0. */
int cr_json_int(const cr_json *j, long lo, long hi, long *out);

#ifdef __cplusplus
}
#endif
#endif
