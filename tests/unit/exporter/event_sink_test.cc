// Event sinks (exporter/events): CSV quoting, JSON lines, rotation by size
// with a header in every CSV file, durability on flush, the seed-002
// directory layout and its errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "exporter/events/event_sink.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;

const EventSchema kSchema{
    "ev",
    {{"Name", "name", EventFieldType::kString}, {"Count", "count", EventFieldType::kInteger}}};

TEST(EventSinkTest, CsvQuotesOnlyWhenNeeded) {
  EXPECT_EQ(format_csv_header(kSchema), "Name,Count\n");
  EXPECT_EQ(format_csv_row(kSchema, {"plain", "3"}), "plain,3\n");
  EXPECT_EQ(format_csv_row(kSchema, {"a,b", ""}), "\"a,b\",\n");
  EXPECT_EQ(format_csv_row(kSchema, {"say \"hi\"", "1"}), "\"say \"\"hi\"\"\",1\n");
  EXPECT_EQ(format_csv_row(kSchema, {"two\nlines", "1"}), "\"two\nlines\",1\n");
}

TEST(EventSinkTest, JsonLinesTypeAndEscape) {
  EXPECT_EQ(format_json_line(kSchema, {"x", "42"}), "{\"name\":\"x\",\"count\":42}\n");
  EXPECT_EQ(format_json_line(kSchema, {"", ""}), "{\"name\":null,\"count\":null}\n");
  EXPECT_EQ(format_json_line(kSchema, {"q\"\\\x01", "4x"}),
            "{\"name\":\"q\\\"\\\\\\u0001\",\"count\":\"4x\"}\n");
}

TEST(EventSinkTest, StreamSinkWritesHeaderOnce) {
  std::ostringstream out;
  StreamEventSink sink(out, EventFormat::kCsv, kSchema);
  ASSERT_TRUE(sink.write({"a", "1"}));
  ASSERT_TRUE(sink.write({"b", "2"}));
  EXPECT_EQ(out.str(), "Name,Count\na,1\nb,2\n");
  EXPECT_EQ(sink.rows_written(), 2u);
}

TEST(EventSinkTest, RotatesBySizeWithHeaderInEveryFile) {
  testing::TempDir dir;
  auto sink = RotatingFileEventSink::open(
      {.directory = dir.path() + "/a/b", .format = EventFormat::kCsv, .rotate_bytes = 40}, kSchema);
  ASSERT_TRUE(sink) << sink.message();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*sink)->write({"row" + std::to_string(i), "1"}));
  ASSERT_TRUE((*sink)->flush(true));
  const auto files = (*sink)->files();
  ASSERT_GE(files.size(), 3u);
  EXPECT_EQ(std::filesystem::path(files[0]).filename(), "ev_000001.csv");
  size_t rows = 0;
  for (const auto& file : files) {
    std::ifstream in(file);
    std::string line;
    ASSERT_TRUE(std::getline(in, line));
    EXPECT_EQ(line, "Name,Count");
    while (std::getline(in, line)) ++rows;
    EXPECT_LE(std::filesystem::file_size(file), 40u) << file;
  }
  EXPECT_EQ(rows, 10u);
  EXPECT_EQ((*sink)->rows_written(), 10u);
}

TEST(EventSinkTest, OversizedRowGetsItsOwnFile) {
  testing::TempDir dir;
  auto sink = RotatingFileEventSink::open(
      {.directory = dir.path(), .format = EventFormat::kJson, .rotate_bytes = 10}, kSchema);
  ASSERT_TRUE(sink);
  ASSERT_TRUE((*sink)->write({"a long name", "1"}));
  ASSERT_TRUE((*sink)->write({"another", "2"}));
  ASSERT_TRUE((*sink)->flush(false));
  EXPECT_EQ((*sink)->files().size(), 2u);
  EXPECT_EQ(std::filesystem::path((*sink)->files()[1]).extension(), ".jsonl");
  EXPECT_EQ(testing::read_file((*sink)->files()[1]), "{\"name\":\"another\",\"count\":2}\n");
}

TEST(EventSinkTest, UnwritableDirectoryIsAClearError) {
  testing::TempDir dir;
  testing::TempDir blocker;
  const std::string file = blocker.write("file", "x");
  auto sink = RotatingFileEventSink::open({.directory = file + "/sub"}, kSchema);
  ASSERT_FALSE(sink);
  EXPECT_THAT(sink.message(), HasSubstr("cannot create event directory " + file + "/sub"));
}

TEST(EventSinkTest, RunDirectoryFollowsTheSeedLayout) {
  testing::TempDir dir;
  const std::string id = dir.write("machine-id", "3d1219c7c4c5404aaa1f6d2a48adfda4\n");
  auto path = event_run_directory("/var/trace", "nw", 1700000000, id);
  ASSERT_TRUE(path) << path.message();
  EXPECT_EQ(*path, "/var/trace/3d1219c7c4c5404aaa1f6d2a48adfda4/20231114T221320Z/nw");
  auto missing = event_run_directory("/var/trace", "nw", 0, dir.path() + "/nope");
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.message(), HasSubstr("cannot read the machine ID from"));
  const std::string bad = dir.write("bad-id", "../../etc\n");
  auto rejected = event_run_directory("/var/trace", "nw", 0, bad);
  ASSERT_FALSE(rejected);
  EXPECT_THAT(rejected.message(), HasSubstr("does not hold a hexadecimal machine ID"));
}

TEST(EventSinkTest, TimestampFormat) {
  EXPECT_EQ(format_event_timestamp(1700000000123456789ULL), "2023-11-14 22:13:20.123456");
  EXPECT_EQ(format_event_timestamp(0), "1970-01-01 00:00:00.000000");
}

}  // namespace
}  // namespace netobs
