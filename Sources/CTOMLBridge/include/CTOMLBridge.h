#ifndef SITEWARDEN_CTOMLBRIDGE_H
#define SITEWARDEN_CTOMLBRIDGE_H

/*
 * A small C API over toml++'s parse tree, so Swift can read TOML without C++ interop.
 *
 * Ownership, in one place:
 * - sw_toml_parse() returns a document the caller owns and releases with sw_toml_document_free().
 *   It returns NULL only when memory runs out.
 * - Everything else is borrowed from that document: nodes, keys, strings and the error message
 *   stay valid until the document is freed, and must not be freed on their own.
 * - No C++ exception ever leaves these functions.
 *
 * Positions are 1-based; a line or column of 0 means toml++ did not record one.
 * Strings are UTF-8 with an explicit length: TOML strings and keys may contain NUL.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A parsed document, or the error that stopped the parse.
typedef struct sw_toml_document sw_toml_document;

/// One value in a document's tree, borrowed from the document.
typedef struct sw_toml_node sw_toml_node;

/// The kind of a node; SW_TOML_NONE only for a NULL node.
typedef enum sw_toml_type {
    SW_TOML_NONE = 0,
    SW_TOML_TABLE,
    SW_TOML_ARRAY,
    SW_TOML_STRING,
    SW_TOML_INTEGER,
    SW_TOML_FLOAT,
    SW_TOML_BOOLEAN,
    SW_TOML_DATE,
    SW_TOML_TIME,
    SW_TOML_DATE_TIME,
} sw_toml_type;

/// Where something starts in the source.
typedef struct sw_toml_position {
    uint32_t line;
    uint32_t column;
} sw_toml_position;

/// One key of a table with its value; key bytes are not NUL-terminated.
typedef struct sw_toml_entry {
    const char *key;
    size_t key_length;
    sw_toml_position key_position;
    const sw_toml_node *value;
} sw_toml_entry;

/// A date, a time or both; fields outside what the has_ flags say are zero.
typedef struct sw_toml_date_time {
    bool has_date;
    uint16_t year;
    uint8_t month;
    uint8_t day;
    bool has_time;
    uint8_t hour;
    uint8_t minute;
    uint8_t second;
    uint32_t nanosecond;
    bool has_offset;
    int16_t offset_minutes;
} sw_toml_date_time;

/// Parses `length` bytes; `source_path` (may be NULL) names the source in toml++'s own records.
sw_toml_document *sw_toml_parse(const char *bytes, size_t length, const char *source_path);

/// Frees a document and everything borrowed from it; NULL is ignored.
void sw_toml_document_free(sw_toml_document *document);

/// The parse error's description, or NULL when the parse succeeded; fills `position` if non-NULL.
const char *sw_toml_document_error(const sw_toml_document *document, sw_toml_position *position);

/// The root table, or NULL when the parse failed.
const sw_toml_node *sw_toml_document_root(const sw_toml_document *document);

/// The node's kind.
sw_toml_type sw_toml_node_type(const sw_toml_node *node);

/// Where the node's value starts.
sw_toml_position sw_toml_node_position(const sw_toml_node *node);

/// The number of entries of a table or elements of an array; 0 for anything else.
size_t sw_toml_node_count(const sw_toml_node *node);

/// Copies up to `capacity` entries of a table, in key order, and returns how many it copied.
size_t sw_toml_table_entries(const sw_toml_node *table, sw_toml_entry *entries, size_t capacity);

/// The array's element at `index`, or NULL when out of range or not an array.
const sw_toml_node *sw_toml_array_element(const sw_toml_node *array, size_t index);

/// Each getter returns false, leaving its output untouched, when the node is of another kind.
bool sw_toml_string(const sw_toml_node *node, const char **bytes, size_t *length);
bool sw_toml_integer(const sw_toml_node *node, int64_t *value);
bool sw_toml_float(const sw_toml_node *node, double *value);
bool sw_toml_boolean(const sw_toml_node *node, bool *value);
bool sw_toml_date_time_value(const sw_toml_node *node, sw_toml_date_time *value);

#ifdef __cplusplus
}
#endif

#endif
