// The one command-line parser of the `netobs` subcommands (check, stats,
// conns, trace and future ones): a Subcommand is a table (name, summary,
// flags with help, handler) that a collector's folder provides; the parser
// turns arguments into ParsedFlags, prints the usage text in one layout, and
// maps every usage error to exit code 2. Used on the command's thread only.
#pragma once

#include <signal.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace netobs {

// A bad command line; the command prints `message` and its usage, exits 2.
// Handlers throw it for values the parser cannot judge ("--port 70000").
class UsageError {
 public:
  explicit UsageError(std::string text) : message(std::move(text)) {}
  std::string message;
};

// One flag. `value` names the value in the usage text ("SECONDS"); empty
// for a switch, which then refuses `--switch=x`. `help` may hold '\n' for
// continuation lines.
struct Flag {
  std::string name;        // "--interval"
  std::string short_name;  // "-i", or empty
  std::string value;
  std::string help;
};

// Flags shown under one heading ("options:", "views:", "selection:").
struct FlagGroup {
  std::string title;
  std::vector<Flag> flags;
};

// The flags of one invocation, in the order given; each entry points into
// the Subcommand's table, so handlers compare `entry.flag->name`.
class ParsedFlags {
 public:
  struct Entry {
    const Flag* flag;
    std::string value;  // empty for a switch
  };
  const std::vector<Entry>& entries() const { return entries_; }
  bool has(std::string_view name) const;
  // The last value given for `name` (flags given twice: the last wins).
  std::optional<std::string> last(std::string_view name) const;
  void add(const Flag* flag, std::string value) { entries_.push_back({flag, std::move(value)}); }

 private:
  std::vector<Entry> entries_;
};

// One argument as a flag: "--name=value" splits at the first '='; anything
// else is the name alone. Shared with the exporter's own flags.
struct FlagArg {
  std::string name;
  std::optional<std::string> inline_value;
};
FlagArg split_flag_arg(const std::string& arg);

// Flag values every subcommand reads the same way; each throws UsageError
// naming the flag: `--count: expected a whole number from 1 to 10, got "x"`.
uint64_t parse_whole_flag(const std::string& flag, const std::string& text, uint64_t min,
                          uint64_t max);
double parse_seconds_flag(const std::string& flag, const std::string& text);  // > 0, finite

// A subcommand as a collector's descriptor lists it. `run` gets the parsed
// flags and returns the exit code (0 ok, 1 runtime failure; a UsageError it
// throws becomes exit 2 with the usage text).
struct Subcommand {
  std::string name;         // "stats": `netobs stats`
  std::string summary;      // one line for `netobs --help`
  std::string description;  // paragraphs under the usage line
  std::vector<FlagGroup> flag_groups;
  std::string epilog;  // examples, exit codes; may be empty
  std::function<int(const ParsedFlags&, std::ostream& out, std::ostream& err)> run;
};

// "usage: netobs NAME [flags]", the description, each group's flags in two
// columns, then `-h, --help`, then the epilog.
std::string subcommand_usage(const Subcommand& command);

// Parses `args` (after the subcommand's name): `--flag value`,
// `--flag=value`, `-f value`; unknown flags, missing values and values
// given to switches are usage errors. --help/-h is reported as nullopt.
std::optional<ParsedFlags> parse_subcommand_flags(const Subcommand& command,
                                                  const std::vector<std::string>& args);

// Parses and runs: --help prints the usage to `out` (exit 0); a usage error
// prints "netobs NAME: <message>" and the usage to `err` (exit 2).
int run_subcommand(const Subcommand& command, const std::vector<std::string>& args,
                   std::ostream& out, std::ostream& err);

// `netobs` with a table of subcommands: dispatches on the first argument;
// prints the list for --help (0), no or an unknown command (2).
int run_subcommands(const std::vector<Subcommand>& commands, const std::vector<std::string>& args,
                    std::ostream& out, std::ostream& err, std::string_view version_line);

// For subcommands that run until Ctrl-C: blocks SIGINT and SIGTERM (wait for
// them with sigwait/sigtimedwait on the returned set) and ignores SIGPIPE.
// Call before starting any thread, so every thread inherits the mask.
sigset_t block_stop_signals();

}  // namespace netobs
