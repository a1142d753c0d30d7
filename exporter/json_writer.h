// The one JSON string escaper of netobs, used by the event sinks, `netobs
// stats --json`, `netobs conns --json` and every other JSON output. Pure
// functions; any thread.
#pragma once

#include <string>
#include <string_view>

namespace netobs {

// Appends `text` escaped for the inside of a JSON string literal (no quotes):
// `"` and `\` get a backslash, every control character (U+0000..U+001F and
// DEL) becomes \u00XX, and bytes that are not valid UTF-8 (stray
// continuation bytes, overlong forms, surrogates, values above U+10FFFF,
// truncated sequences) become U+FFFD, so the output is always valid JSON
// even when the input is a process name or a DNS label the kernel copied.
void append_json_escaped(std::string& out, std::string_view text);

// The same, between double quotes.
void append_json_string(std::string& out, std::string_view text);

// Returns append_json_escaped's output (no quotes).
std::string json_escape(std::string_view text);

// Returns append_json_string's output (with quotes).
std::string json_string(std::string_view text);

}  // namespace netobs
