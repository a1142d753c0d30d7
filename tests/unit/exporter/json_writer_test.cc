// The one JSON escaper: every control character, quotes and backslashes,
// valid UTF-8 kept as is, invalid UTF-8 replaced by U+FFFD.
#include "exporter/json_writer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace netobs {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(JsonWriter, EscapesEveryControlCharacterAsU00XX) {
  for (int c = 0; c < 0x20; ++c) {
    char expected[8];
    std::snprintf(expected, sizeof expected, "\\u%04x", c);
    EXPECT_EQ(json_escape(std::string(1, static_cast<char>(c))), expected) << c;
  }
  EXPECT_EQ(json_escape("\x7f"), "\\u007f");
  EXPECT_EQ(json_escape(std::string("a\0b", 3)), "a\\u0000b");
  EXPECT_EQ(json_escape("line\nnext\ttab\r"), "line\\u000anext\\u0009tab\\u000d");
}

TEST(JsonWriter, EscapesQuoteAndBackslashOnly) {
  EXPECT_EQ(json_escape(R"(say "hi" \ bye)"), R"(say \"hi\" \\ bye)");
  EXPECT_EQ(json_escape("/path/ok"), "/path/ok");  // '/' may stay as is
  std::string printable;
  for (int c = 0x20; c < 0x7f; ++c) {
    if (c != '"' && c != '\\') printable.push_back(static_cast<char>(c));
  }
  EXPECT_EQ(json_escape(printable), printable);
}

TEST(JsonWriter, QuotesStrings) {
  EXPECT_EQ(json_string(""), "\"\"");
  EXPECT_EQ(json_string("a\"b"), "\"a\\\"b\"");
  std::string out = "x";
  append_json_string(out, "\x01");
  EXPECT_EQ(out, "x\"\\u0001\"");
}

TEST(JsonWriter, KeepsValidUtf8) {
  const std::string text =
      "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xED\x9F\xBF \xF4\x8F\xBF\xBF";
  EXPECT_EQ(json_escape(text), text);  // é, €, 😀, U+D7FF, U+10FFFF
}

TEST(JsonWriter, ReplacesInvalidUtf8) {
  // A stray continuation byte, and bytes that never appear in UTF-8.
  EXPECT_EQ(json_escape("a\x80z"), "a" + kFffd + "z");
  EXPECT_EQ(json_escape("\xC0\xC1\xF5\xFF"), kFffd + kFffd + kFffd + kFffd);
  // Overlong forms of '/' and of U+0800..; a surrogate; above U+10FFFF.
  EXPECT_EQ(json_escape("\xC0\xAF"), kFffd + kFffd);
  EXPECT_EQ(json_escape("\xE0\x80\xAF"), kFffd + kFffd + kFffd);
  EXPECT_EQ(json_escape("\xF0\x80\x80\xAF"), kFffd + kFffd + kFffd + kFffd);
  EXPECT_EQ(json_escape("\xED\xA0\x80"), kFffd + kFffd + kFffd);
  EXPECT_EQ(json_escape("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);
  // Truncated sequences, at the end and before an ASCII byte.
  EXPECT_EQ(json_escape("ok\xE2\x82"), "ok" + kFffd + kFffd);
  EXPECT_EQ(json_escape("\xE2\x82x"), kFffd + kFffd + "x");
  EXPECT_EQ(json_escape("\xF0\x9F\x98"), kFffd + kFffd + kFffd);
  // Valid text around a bad byte survives.
  EXPECT_EQ(json_escape("\xC3\xA9\xFF\xC3\xA9"), "\xC3\xA9" + kFffd + "\xC3\xA9");
}

// Whatever the bytes, the output is printable ASCII or valid UTF-8 with no
// raw control characters and no unescaped quote: a JSON string body.
TEST(JsonWriter, EveryByteSequenceGivesAValidStringBody) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; b += 7) {
      const std::string in = {static_cast<char>(a), static_cast<char>(b), '"'};
      const std::string out = json_escape(in);
      for (size_t i = 0; i < out.size(); ++i) {
        const auto c = static_cast<unsigned char>(out[i]);
        ASSERT_GE(c, 0x20) << a << " " << b;
        ASSERT_NE(c, 0x7f) << a << " " << b;
        if (c == '"') {
          ASSERT_TRUE(i > 0 && out[i - 1] == '\\') << a << " " << b;
        }
      }
    }
  }
}

}  // namespace
}  // namespace netobs
