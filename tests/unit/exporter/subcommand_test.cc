// The one subcommand parser: flag forms, usage errors (exit 2 with the
// reason and the usage), --help per subcommand, the usage layout, and the
// `netobs` dispatcher.
#include "exporter/subcommand.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "collectors/snmp/stats_command.h"
#include "collectors/socket/trace_command.h"
#include "collectors/tcp/conns_command.h"
#include "exporter/cli_check.h"
#include "exporter/collector_registry.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A command that records what its handler saw.
struct Recorder {
  std::vector<std::pair<std::string, std::string>> seen;
  int calls = 0;
  Subcommand command() {
    Subcommand c;
    c.name = "demo";
    c.summary = "a demo command";
    c.description = "Shows how flags arrive.\n";
    c.flag_groups = {{"options:",
                      {{"--count", "-c", "N", "how many"},
                       {"--json", "", "", "JSON output"},
                       {"--config.file", "", "FILE", "a config\nsecond line"}}}};
    c.epilog = "examples:\n  netobs demo -c 3\n";
    c.run = [this](const ParsedFlags& flags, std::ostream& out, std::ostream&) {
      ++calls;
      for (const auto& [flag, value] : flags.entries()) seen.emplace_back(flag->name, value);
      if (flags.last("--count") == "bad") throw UsageError("--count: \"bad\" is not a number");
      out << "ran\n";
      return 0;
    };
    return c;
  }
};

struct CommandRun {
  int code;
  std::string out;
  std::string err;
};

CommandRun run(const Subcommand& command, const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = run_subcommand(command, args, out, err);
  return {code, out.str(), err.str()};
}

TEST(Subcommand, AcceptsEveryFlagForm) {
  Recorder r;
  CommandRun ok =
      run(r.command(), {"--count", "3", "-c", "4", "--count=5", "--json", "--config.file=a=b"});
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(ok.out, "ran\n");
  EXPECT_EQ(r.seen, (std::vector<std::pair<std::string, std::string>>{{"--count", "3"},
                                                                      {"--count", "4"},
                                                                      {"--count", "5"},
                                                                      {"--json", ""},
                                                                      {"--config.file", "a=b"}}));
  // A value may look like a flag: it is taken as the value.
  Recorder dash;
  EXPECT_EQ(run(dash.command(), {"--config.file", "--json"}).code, 0);
  EXPECT_EQ(dash.seen.at(0), std::make_pair(std::string("--config.file"), std::string("--json")));
}

TEST(Subcommand, UsageErrorsExitTwoWithTheReasonAndTheUsage) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--bogus"}, "unknown flag \"--bogus\""},
      {{"--bogus=1"}, "unknown flag \"--bogus=1\""},
      {{"-x"}, "unknown flag \"-x\""},
      {{"stray"}, "unexpected argument \"stray\""},
      {{"--count"}, "--count needs a value (N)"},
      {{"-c"}, "-c needs a value (N)"},
      {{"--json=yes"}, "--json takes no value"},
      {{"--count", "bad"}, "--count: \"bad\" is not a number"},  // thrown by the handler
  };
  for (const auto& [args, reason] : cases) {
    Recorder r;
    Subcommand command = r.command();
    CommandRun bad = run(command, args);
    EXPECT_EQ(bad.code, 2) << args[0];
    EXPECT_EQ(bad.err, "netobs demo: " + reason + "\n\n" + subcommand_usage(command)) << args[0];
    EXPECT_EQ(bad.out, "");
  }
}

TEST(Subcommand, HelpPrintsTheUsageAndRunsNothing) {
  for (const char* help : {"--help", "-h"}) {
    Recorder r;
    Subcommand command = r.command();
    CommandRun h = run(command, {"--count", "3", help, "--bogus"});
    EXPECT_EQ(h.code, 0);
    EXPECT_EQ(h.out, subcommand_usage(command));
    EXPECT_EQ(h.err, "");
    EXPECT_EQ(r.calls, 0);
  }
}

TEST(Subcommand, UsageLayout) {
  Recorder r;
  EXPECT_EQ(subcommand_usage(r.command()),
            "usage: netobs demo [flags]\n"
            "\n"
            "Shows how flags arrive.\n"
            "\n"
            "options:\n"
            "  -c, --count N        how many\n"
            "  --json               JSON output\n"
            "  --config.file FILE   a config\n"
            "                       second line\n"
            "  -h, --help           this text\n"
            "\n"
            "examples:\n"
            "  netobs demo -c 3\n");
}

TEST(Subcommand, DispatcherListsCommandsAndRejectsUnknownOnes) {
  Recorder r;
  const std::vector<Subcommand> commands = {r.command()};
  auto dispatch = [&](const std::vector<std::string>& args) {
    std::ostringstream out, err;
    int code = run_subcommands(commands, args, out, err, "netobs version 1");
    return CommandRun{code, out.str(), err.str()};
  };
  CommandRun none = dispatch({});
  EXPECT_EQ(none.code, 2);
  EXPECT_THAT(none.err, HasSubstr("  demo      a demo command\n"));
  CommandRun help = dispatch({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, StartsWith("usage: netobs <command> [flags]\n"));
  CommandRun version = dispatch({"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_EQ(version.out, "netobs version 1\n");
  CommandRun unknown = dispatch({"frobnicate"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.err, StartsWith("netobs: unknown command \"frobnicate\"\n"));
  CommandRun sub = dispatch({"demo", "--json"});
  EXPECT_EQ(sub.code, 0);
  EXPECT_EQ(sub.out, "ran\n");
  CommandRun sub_help = dispatch({"demo", "--help"});
  EXPECT_EQ(sub_help.code, 0);
  EXPECT_THAT(sub_help.out, StartsWith("usage: netobs demo [flags]\n"));
}

// Every real subcommand: --help exits 0 with its usage, an unknown flag and
// a missing value exit 2, and a config file is always --config.file.
TEST(Subcommand, EveryNetobsSubcommandFollowsTheSameRules) {
  std::vector<Subcommand> commands = {check_subcommand()};
  for (const CollectorDescriptor& descriptor : builtin_registry().all()) {
    if (!descriptor.subcommands) continue;
    for (Subcommand& c : descriptor.subcommands()) commands.push_back(std::move(c));
  }
  ASSERT_EQ(commands.size(), 6u);  // check, stats, trace, conns, drops, topology
  for (const Subcommand& c : commands) {
    CommandRun help = run(c, {"--help"});
    EXPECT_EQ(help.code, 0) << c.name;
    EXPECT_THAT(help.out, StartsWith("usage: netobs " + c.name + " [flags]\n")) << c.name;
    EXPECT_THAT(help.out, HasSubstr("  --config.file FILE   ")) << c.name;
    EXPECT_THAT(help.out, Not(HasSubstr("--config "))) << c.name;
    CommandRun unknown = run(c, {"--no-such-flag"});
    EXPECT_EQ(unknown.code, 2) << c.name;
    EXPECT_THAT(unknown.err, StartsWith("netobs " + c.name + ": unknown flag")) << c.name;
    CommandRun missing = run(c, {"--config.file"});
    EXPECT_EQ(missing.code, 2) << c.name;
    EXPECT_THAT(missing.err, HasSubstr("--config.file needs a value")) << c.name;
    CommandRun old_trace_flag = run(c, {"--config", "x.yaml"});
    EXPECT_EQ(old_trace_flag.code, 2) << c.name;
  }
}

TEST(Subcommand, SplitsFlagArguments) {
  EXPECT_EQ(split_flag_arg("--a=b=c").name, "--a");
  EXPECT_EQ(split_flag_arg("--a=b=c").inline_value, "b=c");
  EXPECT_EQ(split_flag_arg("--a=").inline_value, "");
  EXPECT_EQ(split_flag_arg("--a").inline_value, std::nullopt);
  EXPECT_EQ(split_flag_arg("-a=b").name, "-a=b");  // short flags take no '=' form
}

}  // namespace
}  // namespace netobs
