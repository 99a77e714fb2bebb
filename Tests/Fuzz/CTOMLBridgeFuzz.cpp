// libFuzzer harness for CTOMLBridge: parses each input, walks the whole tree through the C API,
// and frees it, under AddressSanitizer and UndefinedBehaviorSanitizer. Not part of `swift test`.
//
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
//     -DTOML_HEADER_ONLY=1 -ISources/CTOMLBridge/include \
//     Tests/Fuzz/CTOMLBridgeFuzz.cpp Sources/CTOMLBridge/bridge.cpp -o /tmp/ctoml-fuzz
//   mkdir -p /tmp/ctoml-corpus && cp config.example.toml /tmp/ctoml-corpus/
//   /tmp/ctoml-fuzz -max_total_time=600 -max_len=4096 /tmp/ctoml-corpus
//
// It found the toml++ 3.3.0 defects that bridge.cpp works around.

#include "CTOMLBridge.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

/// Keeps the reads from being optimized away.
size_t sink;

void walk(const sw_toml_node *node) {
    sw_toml_position position = sw_toml_node_position(node);
    sink += position.line + position.column;
    size_t count = sw_toml_node_count(node);
    if (sw_toml_node_type(node) == SW_TOML_TABLE) {
        std::vector<sw_toml_entry> entries(count);
        size_t copied = sw_toml_table_entries(node, entries.data(), entries.size());
        for (size_t i = 0; i < copied; i++) {
            sink += entries[i].key_length > 0 ? static_cast<unsigned char>(entries[i].key[entries[i].key_length - 1]) : 0;
            walk(entries[i].value);
        }
        return;
    }
    if (sw_toml_node_type(node) == SW_TOML_ARRAY) {
        for (size_t i = 0; i <= count; i++) {  // one past the end must answer NULL
            walk(sw_toml_array_element(node, i));
        }
        return;
    }
    const char *bytes;
    size_t length;
    int64_t integer;
    double number;
    bool boolean;
    sw_toml_date_time date_time;
    if (sw_toml_string(node, &bytes, &length) && length > 0) {
        sink += static_cast<unsigned char>(bytes[length - 1]);
    }
    sink += sw_toml_integer(node, &integer) ? static_cast<size_t>(integer) : 0;
    sink += sw_toml_float(node, &number) && number == number;
    sink += sw_toml_boolean(node, &boolean) && boolean;
    sink += sw_toml_date_time_value(node, &date_time) ? date_time.year + date_time.nanosecond : 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sw_toml_document *document = sw_toml_parse(reinterpret_cast<const char *>(data), size, "fuzz.toml");
    sw_toml_position position;
    if (const char *error = sw_toml_document_error(document, &position)) {
        sink += static_cast<unsigned char>(error[0]);
    } else {
        walk(sw_toml_document_root(document));
    }
    sw_toml_document_free(document);
    return 0;
}
