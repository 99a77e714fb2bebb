// The C API over toml++ declared in CTOMLBridge.h.
//
// toml++ reports parse failures through parse_result instead of exceptions (TOML_EXCEPTIONS 0),
// so the only exception left is std::bad_alloc, caught where memory is allocated.
//
// toml++ bounds nested arrays and inline tables, but not dotted keys: `a.a.a…= 1` with 100k
// parts parses, then its recursive destructor overflows the stack (also when a later line
// fails to parse). A lexical pre-pass therefore refuses documents with too many key dots.

#define TOML_EXCEPTIONS 0
#define TOML_ENABLE_FORMATTERS 0

#include "CTOMLBridge.h"

#include <new>
#include <optional>
#include <string>
#include <toml++/toml.h>

struct sw_toml_document {
    toml::parse_result result;
    std::string error_message;
    sw_toml_position error_position;
};

namespace {

const toml::node *unwrap(const sw_toml_node *node) { return reinterpret_cast<const toml::node *>(node); }

const sw_toml_node *wrap(const toml::node *node) { return reinterpret_cast<const sw_toml_node *>(node); }

sw_toml_position position_of(const toml::source_region &region) {
    return sw_toml_position{region.begin.line, region.begin.column};
}

/// Dots outside strings and comments that may separate key parts; keeps nesting far from the stack limit.
constexpr size_t max_key_dots = 512;

/// Walks the text as TOML's lexer would for strings and comments and finds the first key dot over budget.
class KeyDotScanner {
  public:
    explicit KeyDotScanner(std::string_view text) : text_(text) {}

    /// The position of the first dot past max_key_dots, or nothing when the text stays within budget.
    std::optional<sw_toml_position> scan() {
        size_t dots = 0;
        while (index_ < text_.size()) {
            char c = text_[index_];
            if (c == '"' || c == '\'') {
                skip_string(c);
            } else if (c == '#') {
                skip_until_newline();
            } else if (c == '.' && !is_fraction_dot() && ++dots > max_key_dots) {
                return sw_toml_position{line_, column_};
            } else {
                advance();
            }
        }
        return std::nullopt;
    }

  private:
    std::string_view text_;
    size_t index_ = 0;
    uint32_t line_ = 1;
    uint32_t column_ = 1;

    static bool is_digit(char c) { return c >= '0' && c <= '9'; }

    bool starts_with(std::string_view prefix) const { return text_.substr(index_).substr(0, prefix.size()) == prefix; }

    /// Columns count code points, as toml++'s do.
    void advance() {
        char c = text_[index_++];
        if (c == '\n') {
            line_ += 1;
            column_ = 1;
        } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
            column_ += 1;
        }
    }

    /// A float's or a time's single dot sits between digits in a run of digits holding no other dot;
    /// digit-only dotted keys (`1.2.3`) still count all but their first dot.
    bool is_fraction_dot() const {
        if (index_ == 0 || index_ + 1 >= text_.size() || !is_digit(text_[index_ - 1]) || !is_digit(text_[index_ + 1])) {
            return false;
        }
        size_t start = index_ - 1;
        while (start > 0 && is_digit(text_[start - 1])) {
            start -= 1;
        }
        return start == 0 || text_[start - 1] != '.';
    }

    void skip_until_newline() {
        while (index_ < text_.size() && text_[index_] != '\n') {
            advance();
        }
    }

    /// Skips a basic or literal string, single- or multi-line; an unterminated one ends the scan
    /// or its line, where toml++ stops too.
    void skip_string(char quote) {
        const std::string_view triple = quote == '"' ? "\"\"\"" : "'''";
        const bool multiline = starts_with(triple);
        for (size_t i = 0; i < (multiline ? 3 : 1); i++) {
            advance();
        }
        while (index_ < text_.size()) {
            if (multiline ? starts_with(triple) : text_[index_] == quote) {
                for (size_t i = 0; i < (multiline ? 3 : 1); i++) {
                    advance();
                }
                return;
            }
            if (!multiline && text_[index_] == '\n') {
                return;
            }
            if (quote == '"' && text_[index_] == '\\' && index_ + 1 < text_.size()) {
                advance();
            }
            advance();
        }
    }
};

}  // namespace

extern "C" sw_toml_document *sw_toml_parse(const char *bytes, size_t length, const char *source_path) {
    try {
        std::string_view text = bytes != nullptr ? std::string_view(bytes, length) : std::string_view();
        std::string_view path = source_path != nullptr ? std::string_view(source_path) : std::string_view();
        if (auto dot = KeyDotScanner(text).scan()) {
            auto message = "too many dotted key parts: at most " + std::to_string(max_key_dots) + " dots may separate keys";
            return new sw_toml_document{toml::parse_result(), std::move(message), *dot};
        }
        auto *document = new sw_toml_document{toml::parse(text, path), {}, {}};
        if (!document->result) {
            document->error_message = std::string(document->result.error().description());
            document->error_position = position_of(document->result.error().source());
        }
        return document;
    } catch (...) {
        return nullptr;
    }
}

extern "C" void sw_toml_document_free(sw_toml_document *document) { delete document; }

extern "C" const char *sw_toml_document_error(const sw_toml_document *document, sw_toml_position *position) {
    if (document == nullptr || document->result) {
        return nullptr;
    }
    if (position != nullptr) {
        *position = document->error_position;
    }
    return document->error_message.c_str();
}

extern "C" const sw_toml_node *sw_toml_document_root(const sw_toml_document *document) {
    if (document == nullptr || !document->result) {
        return nullptr;
    }
    return wrap(&document->result.table());
}

extern "C" sw_toml_type sw_toml_node_type(const sw_toml_node *node) {
    if (node == nullptr) {
        return SW_TOML_NONE;
    }
    switch (unwrap(node)->type()) {
    case toml::node_type::table: return SW_TOML_TABLE;
    case toml::node_type::array: return SW_TOML_ARRAY;
    case toml::node_type::string: return SW_TOML_STRING;
    case toml::node_type::integer: return SW_TOML_INTEGER;
    case toml::node_type::floating_point: return SW_TOML_FLOAT;
    case toml::node_type::boolean: return SW_TOML_BOOLEAN;
    case toml::node_type::date: return SW_TOML_DATE;
    case toml::node_type::time: return SW_TOML_TIME;
    case toml::node_type::date_time: return SW_TOML_DATE_TIME;
    default: return SW_TOML_NONE;
    }
}

extern "C" sw_toml_position sw_toml_node_position(const sw_toml_node *node) {
    if (node == nullptr) {
        return sw_toml_position{0, 0};
    }
    return position_of(unwrap(node)->source());
}

extern "C" size_t sw_toml_node_count(const sw_toml_node *node) {
    if (node == nullptr) {
        return 0;
    }
    if (const auto *table = unwrap(node)->as_table()) {
        return table->size();
    }
    if (const auto *array = unwrap(node)->as_array()) {
        return array->size();
    }
    return 0;
}

extern "C" size_t sw_toml_table_entries(const sw_toml_node *table, sw_toml_entry *entries, size_t capacity) {
    const auto *node = table != nullptr ? unwrap(table)->as_table() : nullptr;
    if (node == nullptr || entries == nullptr) {
        return 0;
    }
    size_t count = 0;
    for (auto &&[key, value] : *node) {
        if (count == capacity) {
            break;
        }
        std::string_view name = key.str();
        entries[count++] = sw_toml_entry{name.data(), name.size(), position_of(key.source()), wrap(&value)};
    }
    return count;
}

extern "C" const sw_toml_node *sw_toml_array_element(const sw_toml_node *array, size_t index) {
    const auto *node = array != nullptr ? unwrap(array)->as_array() : nullptr;
    if (node == nullptr || index >= node->size()) {
        return nullptr;
    }
    return wrap(node->get(index));
}

extern "C" bool sw_toml_string(const sw_toml_node *node, const char **bytes, size_t *length) {
    const auto *value = node != nullptr ? unwrap(node)->as_string() : nullptr;
    if (value == nullptr || bytes == nullptr || length == nullptr) {
        return false;
    }
    *bytes = value->get().data();
    *length = value->get().size();
    return true;
}

extern "C" bool sw_toml_integer(const sw_toml_node *node, int64_t *out) {
    const auto *value = node != nullptr ? unwrap(node)->as_integer() : nullptr;
    if (value == nullptr || out == nullptr) {
        return false;
    }
    *out = value->get();
    return true;
}

extern "C" bool sw_toml_float(const sw_toml_node *node, double *out) {
    const auto *value = node != nullptr ? unwrap(node)->as_floating_point() : nullptr;
    if (value == nullptr || out == nullptr) {
        return false;
    }
    *out = value->get();
    return true;
}

extern "C" bool sw_toml_boolean(const sw_toml_node *node, bool *out) {
    const auto *value = node != nullptr ? unwrap(node)->as_boolean() : nullptr;
    if (value == nullptr || out == nullptr) {
        return false;
    }
    *out = value->get();
    return true;
}

namespace {

void fill_date(sw_toml_date_time *out, const toml::date &date) {
    out->has_date = true;
    out->year = date.year;
    out->month = date.month;
    out->day = date.day;
}

void fill_time(sw_toml_date_time *out, const toml::time &time) {
    out->has_time = true;
    out->hour = time.hour;
    out->minute = time.minute;
    out->second = time.second;
    out->nanosecond = time.nanosecond;
}

}  // namespace

extern "C" bool sw_toml_date_time_value(const sw_toml_node *node, sw_toml_date_time *out) {
    if (node == nullptr || out == nullptr) {
        return false;
    }
    sw_toml_date_time result{};
    if (const auto *date = unwrap(node)->as_date()) {
        fill_date(&result, date->get());
    } else if (const auto *time = unwrap(node)->as_time()) {
        fill_time(&result, time->get());
    } else if (const auto *date_time = unwrap(node)->as_date_time()) {
        fill_date(&result, date_time->get().date);
        fill_time(&result, date_time->get().time);
        if (date_time->get().offset) {
            result.has_offset = true;
            result.offset_minutes = date_time->get().offset->minutes;
        }
    } else {
        return false;
    }
    *out = result;
    return true;
}
