// FamilyBuilder output, checked as the serialized exposition text.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <random>

#include "exporter/metric_builder.h"
#include "exporter/text_format.h"

namespace netobs {
namespace {

std::string render(prometheus::MetricFamily family) {
  return render_text_format({std::move(family)});
}

TEST(MetricBuilderTest, CounterWithSortedLabels) {
  auto family = FamilyBuilder("netobs_x_total", "Help text.", prometheus::MetricType::Counter)
                    .counter({{"b", "2"}, {"a", "1"}}, 7)
                    .build();
  EXPECT_EQ(render(std::move(family)),
            "# HELP netobs_x_total Help text.\n"
            "# TYPE netobs_x_total counter\n"
            "netobs_x_total{a=\"1\",b=\"2\"} 7\n");
}

TEST(MetricBuilderTest, HistogramBucketsAreCumulativeWithInf) {
  // log2 slots in nanoseconds -> seconds: slot 0 [0,1ns), slot 1 [1,2ns), slot 2 [2,4ns).
  std::vector<double> bounds = log2_upper_bounds(3, 1e-9);
  ASSERT_EQ(bounds.size(), 3u);
  EXPECT_DOUBLE_EQ(bounds[0], 1e-9);
  EXPECT_DOUBLE_EQ(bounds[2], 4e-9);
  auto family = FamilyBuilder("netobs_y_seconds", "Latency.", prometheus::MetricType::Histogram)
                    .histogram({{"op", "send"}}, {0.5, 1, 2}, {1, 0, 3, 2}, 9.5)
                    .build();
  EXPECT_EQ(render(std::move(family)),
            "# HELP netobs_y_seconds Latency.\n"
            "# TYPE netobs_y_seconds histogram\n"
            "netobs_y_seconds_bucket{op=\"send\",le=\"0.5\"} 1\n"
            "netobs_y_seconds_bucket{op=\"send\",le=\"1\"} 1\n"
            "netobs_y_seconds_bucket{op=\"send\",le=\"2\"} 4\n"
            "netobs_y_seconds_bucket{op=\"send\",le=\"+Inf\"} 6\n"
            "netobs_y_seconds_sum{op=\"send\"} 9.5\n"
            "netobs_y_seconds_count{op=\"send\"} 6\n");
}

TEST(MetricBuilderTest, GaugeWithoutLabels) {
  auto family =
      FamilyBuilder("netobs_z", "Gauge.", prometheus::MetricType::Gauge).gauge({}, -1).build();
  EXPECT_EQ(render(std::move(family)),
            "# HELP netobs_z Gauge.\n# TYPE netobs_z gauge\nnetobs_z -1\n");
}

TEST(TextFormatTest, EscapesAndSpecialValues) {
  std::vector<prometheus::MetricFamily> families;
  FamilyBuilder("netobs_e", "Line one\nback\\slash.", prometheus::MetricType::Gauge)
      .gauge({{"v", "a\"b\\c\nd"}}, std::numeric_limits<double>::infinity())
      .gauge({{"v", "big"}}, 18446744073709551615.0)
      .gauge({{"v", "small"}}, 1e-6)
      .append_to(families);
  FamilyBuilder("netobs_empty", "No series.", prometheus::MetricType::Gauge).append_to(families);
  EXPECT_EQ(render_text_format(families),
            "# HELP netobs_e Line one\\nback\\\\slash.\n"
            "# TYPE netobs_e gauge\n"
            "netobs_e{v=\"a\\\"b\\\\c\\nd\"} +Inf\n"
            "netobs_e{v=\"big\"} 18446744073709551616\n"
            "netobs_e{v=\"small\"} 1e-06\n");
}

// Whole numbers take a faster path than std::to_chars(double); the text must
// be the same, including where the shortest form is scientific ("1e+08").
TEST(TextFormatTest, WholeNumbersAreFormattedAsToChars) {
  std::vector<double> values = {0,
                                1,
                                9,
                                10,
                                99,
                                100,
                                1000,
                                12345,
                                100000,
                                1000000,
                                1e7,
                                1e8,
                                1.5e8,
                                123e9,
                                1e15,
                                4503599627370496.0,
                                9007199254740991.0,
                                9007199254740992.0,
                                18446744073709551615.0,
                                -0.0,
                                -1,
                                -100};
  for (int exponent = 0; exponent < 16; ++exponent) {
    const double power = std::pow(10.0, exponent);
    for (double mantissa : {1.0, 2.0, 12.0, 123.0, 1234.0, 12345.0, 999999.0}) {
      values.push_back(power * mantissa);
      values.push_back(power * mantissa + 1);
    }
  }
  std::mt19937_64 random(16);
  for (int i = 0; i < 20000; ++i) {
    values.push_back(static_cast<double>(random() >> (11 + i % 50)));
  }
  for (double value : values) {
    char buffer[32];
    const std::string expected(buffer, std::to_chars(buffer, buffer + sizeof buffer, value).ptr);
    const std::string text = render_text_format(
        {FamilyBuilder("netobs_n", "N.", prometheus::MetricType::Gauge).gauge({}, value).build()});
    ASSERT_EQ(text, "# HELP netobs_n N.\n# TYPE netobs_n gauge\nnetobs_n " + expected + "\n")
        << "value " << value;
  }
}

TEST(TextFormatTest, GzipRoundTripsThroughGunzip) {
  const std::string text(100000, 'x');
  GzipCompressor compressor;
  std::string compressed;
  ASSERT_TRUE(compressor.compress(text, compressed));
  ASSERT_FALSE(compressed.empty());
  EXPECT_LT(compressed.size(), text.size() / 50);
  EXPECT_EQ(static_cast<unsigned char>(compressed[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(compressed[1]), 0x8b);
}

}  // namespace
}  // namespace netobs
